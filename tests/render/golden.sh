#!/bin/sh
# The spotlight sample renders to exactly the bytes kept in tests/golden/
# (fixed time, zone and recipient).  After a deliberate change to the
# templates or the message format, look at the difference, then run
#   top_srcdir=. HERALDCTL=./heraldctl tests/render/golden.sh --update
set -u
. "$top_srcdir/tests/render/lib.sh"
export TZ=UTC SOURCE_DATE_EPOCH=1790000000
sample="$top_srcdir/templates/spotlight/sample.yaml"

render() {	# lang, name, email, output
	$HERALDCTL render "$sample" --lang "$1" --name "$2" --to "$3" -o "$4"
}
for v in "en|Chan Sokha|sokha.chan@example.org" \
    "km|ហេង ដារ៉ា|dara.heng@example.org"; do
	lang=${v%%|*}; rest=${v#*|}; name=${rest%%|*}; to=${rest#*|}
	golden="$top_srcdir/tests/golden/spotlight-$lang.eml"
	render "$lang" "$name" "$to" "$tmp/$lang.eml" || fail "render $lang"
	if [ "${1:-}" = "--update" ]; then
		cp "$tmp/$lang.eml" "$golden"
		echo "updated $golden"
		continue
	fi
	if ! cmp -s "$golden" "$tmp/$lang.eml"; then
		fail "spotlight-$lang.eml differs from the golden copy:"
		diff "$golden" "$tmp/$lang.eml" | head -n 40
	fi
done
finish
