#!/bin/sh
# AUTH: the right password is accepted (PLAIN or LOGIN, libcurl picks),
# a wrong one is refused (67) and the message is deferred, not bounced.
. "${top_srcdir:-.}/tests/smtp/lib.sh"

start_server auth --auth "herald:s3cret pass"
URL="smtp://127.0.0.1:$PORT"
printf 's3cret pass\n' > "$T/pw_good"
printf 'wrong\n' > "$T/pw_bad"

send good -u herald -p "$T/pw_good" -n 2 "$URL"
expect good 1 sent 250 0
expect good 2 sent 250 0
grep -q '"authenticated": true' "$DIR/mail/000001.json" || fail "not authenticated"

send bad -u herald -p "$T/pw_bad" -n 1 "$URL"
expect bad 1 deferred 535 67 stage=connect backoff=1
send none -n 1 "$URL"
row=$(cat "$T/none")
case "$row" in
*" deferred 530 55 stage=mail "*) echo "ok: no AUTH: $row" ;;
*) fail "no AUTH: want deferred 530 at MAIL, got $row" ;;
esac
[ "$(stat messages)" -eq 2 ] || fail "want 2 messages stored, got $(stat messages)"
finish
