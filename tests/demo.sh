#!/bin/sh
# The main job on embedded defaults (`make demo`): a capture SMTP server on
# 127.0.0.1, a demo configuration and database under $builddir/demo, the
# "Spotlight on R2P" list with its sample subscribers (some in Khmer), the
# shipped sample issue queued for now, and heraldd running until it is
# sent.  Then everything is stopped, and the captured messages and the
# issue's final status are shown.
set -eu

srcdir=$(cd "${srcdir:-.}" && pwd)
builddir=$(cd "${builddir:-.}" && pwd)
heraldctl="$builddir/heraldctl"
heraldd="$builddir/heraldd"
demo="$builddir/demo"
PY=/usr/bin/python3

if ! $PY -c 'import aiosmtpd' 2>/dev/null; then
	echo "demo: the capture server needs python3-aiosmtpd" >&2
	exit 1
fi
rm -rf "$demo"
mkdir -p "$demo/mail"
spid= hpid=
cleanup() {
	[ -n "$hpid" ] && kill "$hpid" 2>/dev/null
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# The capture server, on the first free port from 2525 up.
port=2525
while :; do
	$PY "$srcdir/tests/smtpd.py" --port "$port" --maildir "$demo/mail" \
	    --pidfile "$demo/smtpd.pid" 2>"$demo/smtpd.log" &
	spid=$!
	i=0
	while [ ! -s "$demo/smtpd.pid" ] && kill -0 "$spid" 2>/dev/null &&
	    [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	[ -s "$demo/smtpd.pid" ] && break
	port=$((port + 1))
	[ $port -lt 2600 ] || { echo "demo: no free port" >&2; exit 1; }
done
echo "==> capture SMTP server on 127.0.0.1:$port, messages in $demo/mail"

# The web endpoints on a free loopback port.
web=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s|@DEMO@|$demo|g" -e "s|@TEMPLATES@|$srcdir/templates|g" \
    -e "s|@PORT@|$port|g" -e "s|@WEB@|$web|g" "$srcdir/etc/demo.conf.in" \
    > "$demo/herald.conf"
(umask 077; head -c 32 /dev/urandom | base64 > "$demo/secret")
"$heraldd" -n -c "$demo/herald.conf"
ctl() { "$heraldctl" -c "$demo/herald.conf" "$@"; }

echo "==> the spotlight list and its subscribers"
ctl list create spotlight --title "Spotlight on R2P" \
    --from "bulletin@r2p-cambodia.example" \
    --from-name "Friends of R2P-Cambodia" --optin double
ctl import spotlight "$srcdir/etc/demo-subscribers.csv"
ctl sub ls spotlight

echo "==> the sample issue, queued for now"
ctl validate "$srcdir/templates/spotlight/sample.yaml"
id=$(ctl --json queue "$srcdir/templates/spotlight/sample.yaml" --at now |
    $PY -c 'import json, sys; print(json.load(sys.stdin)["id"])')
echo "queued issue $id"

echo "==> heraldd sends it"
"$heraldd" -c "$demo/herald.conf" 2>"$demo/heraldd.log" &
hpid=$!
# A second at a time, to notice if heraldd stops; at most a minute.
state=
i=0
while [ $i -lt 60 ]; do
	rc=0
	ctl wait "$id" --timeout 1s >/dev/null 2>&1 || rc=$?
	state=$(ctl --json status "$id" |
	    $PY -c 'import json, sys; print(json.load(sys.stdin)["state"])')
	[ $rc -eq 75 ] || break
	kill -0 "$hpid" 2>/dev/null || break
	i=$((i + 1))
done
if [ "$state" = sent ] && command -v curl >/dev/null; then
	echo "==> the web endpoints on http://127.0.0.1:$web"
	curl -s -o /dev/null -w "GET /healthz: %{http_code}\n" "http://127.0.0.1:$web/healthz"
	curl -s -o "$demo/archive.html" -w "GET /a/spotlight/: %{http_code}\n" \
	    "http://127.0.0.1:$web/a/spotlight/"
	curl -s -o "$demo/issue.html" -w "GET /a/spotlight/$id: %{http_code} (saved as $demo/issue.html)\n" \
	    "http://127.0.0.1:$web/a/spotlight/$id"
	curl -s "http://127.0.0.1:$web/metrics" | grep '^herald_messages'
fi
kill -TERM "$hpid"
wait "$hpid" || true
hpid=
tail -n 3 "$demo/heraldd.log"
[ "$state" = sent ] || { echo "demo: issue $id is $state, not sent; see $demo/heraldd.log" >&2; exit 1; }

echo
echo "==> issue $id"
ctl status "$id"
echo
n=$(ls "$demo/mail" | grep -c '\.eml$')
echo "$n messages captured in $demo/mail/ (one .eml file each)"
echo "heraldd's log: $demo/heraldd.log"
echo "Try: $heraldctl -c $demo/herald.conf issues"
