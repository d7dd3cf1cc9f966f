#!/bin/sh
# The main job on embedded defaults (`make demo`): a demo database under
# the build tree with the demo list and its sample subscribers, shown at
# the end.  Everything it makes lives in $builddir/demo.
set -eu

srcdir=${srcdir:-.}
builddir=${builddir:-.}
heraldctl="$builddir/heraldctl"
demo="$builddir/demo"

rm -rf "$demo"
mkdir -p "$demo"
db="$demo/herald.db"

echo "==> demo database: $db"
"$heraldctl" -d "$db" list create spotlight \
	--title "Spotlight on R2P" \
	--from "bulletin@r2p-cambodia.example" \
	--from-name "Friends of R2P-Cambodia" \
	--optin double
"$heraldctl" -d "$db" import spotlight "$srcdir/etc/demo-subscribers.csv"
echo
echo "==> lists"
"$heraldctl" -d "$db" list ls
echo
echo "==> the spotlight list"
"$heraldctl" -d "$db" list show spotlight
echo
echo "==> its subscribers"
"$heraldctl" -d "$db" sub ls spotlight
echo
echo "Demo database ready: $db"
echo "Try: $heraldctl -d $db sub show sokha.chan@example.org"
