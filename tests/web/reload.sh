#!/bin/sh
# SIGHUP reloads the pages and their words; a broken template or strings
# file is refused with its file and line, and the pages stay as they were.
. "$top_srcdir/tests/web/lib.sh"

start_web
cp -R "$top_srcdir/templates" "$T/templates"
sed -i "s|^templates = .*|templates = \"$T/templates\";|" "$T/herald.conf"
make_list 1 || fail "make_list"
run_web
get "$B/s/spotlight" >/dev/null
grep -q 'Receive each issue by email' "$T/body" || fail "no intro before the reload"

# A new word: used after SIGHUP.
sed -i 's|subscribe_intro = "Receive each issue by email.|subscribe_intro = "Get every issue by email.|' \
    "$T/templates/web/strings.conf"
kill -HUP "$HPID"
wait_log 'configuration reloaded' 10 || fail "no reload"
get "$B/s/spotlight" >/dev/null
grep -q 'Get every issue by email' "$T/body" || fail "the new word is not used"

# A broken template: refused with where, and the pages stay.
printf '{{#unclosed}}\n' >> "$T/templates/web/subscribe.mustache"
kill -HUP "$HPID"
wait_log 'not reloaded' 10 || fail "a broken template was not refused"
grep 'not reloaded' "$T/heraldd.log" | grep -q 'subscribe.mustache' ||
    fail "the refusal does not name the file"
[ "$(get "$B/s/spotlight")" = 200 ] || fail "the page is gone after a bad reload"
grep -q 'Get every issue by email' "$T/body" || fail "the old pages did not stay"

# A broken strings file: the same.
cp "$top_srcdir/templates/web/subscribe.mustache" "$T/templates/web/subscribe.mustache"
printf 'km = { oops }\n' >> "$T/templates/web/strings.conf"
n=$(grep -c 'not reloaded' "$T/heraldd.log")
kill -HUP "$HPID"
i=0
while [ "$(grep -c 'not reloaded' "$T/heraldd.log")" -le "$n" ] && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
grep 'not reloaded' "$T/heraldd.log" | tail -n 1 | grep -q 'strings.conf:[0-9]' ||
    fail "a broken strings.conf was not refused with its line"
[ "$(get "$B/s/spotlight")" = 200 ] || fail "the page is gone after a bad strings file"
grep -q 'Get every issue by email' "$T/body" || fail "the old words did not stay"
kill -0 "$HPID" || fail "heraldd died"
finish
