#!/bin/sh
# The web pages in a real browser: headless Chromium, driven over the
# DevTools protocol by tests/web/cdp.py, subscribes two readers (one in
# English, one in Khmer) with the form, confirms each through the link of
# the confirmation email captured by the test SMTP server, opens the
# issue each then receives (its HTML part with its inline images, and its
# archived page), follows its unsubscribe link and unsubscribes.  Every
# page is checked for console errors and CSP violations, <html lang>,
# labelled fields, loading images and working links, and the database
# for each change; a screenshot of each page is kept in
# $top_builddir/tests/web/screenshots/.
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
	echo "skip: $CHROMIUM is not installed (Debian package chromium)"
	exit 77
fi
export CHROMIUM
. "$top_srcdir/tests/web/lib.sh"
CDP="$top_srcdir/tests/web/cdp.py"
SHOTS="$top_builddir/tests/web/screenshots"
EN='ada@example.org|en|Ada Lovelace'
KM='sokha@example.net|km|សុខា ចាន់'

start_web
make_list 3 || fail "make_list"
run_web
started=$(date +%s)

# A hung browser must fail the test, not hang it: each step has its own
# deadline inside cdp.py, and the whole run one here.
timeout -k 5 180 $PY "$CDP" subscribe "$B" spotlight "$DIR/mail" \
    "$T/herald.db" "$T/shots" "$EN" "$KM"
rc=$?
[ $rc -eq 77 ] && exit 77
[ $rc -eq 0 ] || fail "the subscribe and confirm pages (cdp.py exit $rc)"

id=$(queue_issue "$SAMPLE" --at now)
wait_state "$id" sent 60 || fail "issue $id is $(issue_state "$id"), not sent"
for a in ada@example.org sokha@example.net; do
	[ "$(sql "SELECT count(*) FROM deliveries d JOIN subscribers u ON u.id = d.subscriber_id WHERE d.issue_id = $id AND u.email = '$a' AND d.state = 'sent'")" = 1 ] ||
	    fail "issue $id was not sent to $a"
done

timeout -k 5 180 $PY "$CDP" issue "$B" spotlight "$DIR/mail" \
    "$T/herald.db" "$T/shots" "$id" "$EN" "$KM"
rc=$?
[ $rc -eq 0 ] || fail "the issue and unsubscribe pages (cdp.py exit $rc)"
echo "browser steps took $(($(date +%s) - started)) s"

# The screenshots are the test's artifacts.
n=$(ls "$T/shots"/*.png 2>/dev/null | wc -l)
[ "$n" -eq 18 ] || fail "$n screenshots, expected 18"
mkdir -p "$SHOTS" || fail "cannot make $SHOTS"
rm -f "$SHOTS"/*.png
for f in "$T/shots"/*.png; do
	[ -f "$f" ] || continue
	cp "$f" "$SHOTS/" && echo "artifact: $SHOTS/${f##*/}"
done

# Nothing the browser did broke the daemon.
grep -q 'ada@example.org unsubscribed from spotlight (web)' "$T/heraldd.log" ||
    fail "heraldd did not log the web unsubscribe"
if grep -Ei 'fatal|assert|sanitizer' "$T/heraldd.log"; then
	fail "heraldd logged the above"
fi
stop_heraldd; rc=$?
[ $rc -eq 0 ] || fail "heraldd exit $rc after SIGTERM"
[ $FAILS -ne 0 ] && [ -s "$T/shots/chromium.log" ] &&
    { echo "--- chromium.log (tail)"; tail -n 20 "$T/shots/chromium.log"; }
finish
