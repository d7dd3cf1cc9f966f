#!/bin/sh
# The web endpoints, with curl against a running heraldd: every path and
# method, one-click unsubscribe exactly as RFC 8058 shows it, double
# opt-in through a captured confirmation email, bad, altered and expired
# tokens, oversized bodies, wrong methods, unknown paths, abuse limits,
# escaping, languages, the archive, the feed, /healthz and /metrics.
. "$top_srcdir/tests/web/lib.sh"

HTTP_EXTRA='max_body = "1k"; subscribes_per_ip_per_hour = 5;
    subscribes_per_address_per_day = 3;' start_web
make_list 6 || fail "make_list"
ctl list create single --title "Single list" --optin single >/dev/null ||
    fail "list create single"
run_web

# --- an issue goes out, so that there are unsubscribe links and an archive
id=$(queue_issue "$SAMPLE" --at now)
wait_state "$id" sent 30 || fail "issue $id is $(issue_state "$id"), not sent"

U=$($PY "$WEBTOOL" link "$DIR/mail" r1@example.org "$B/u/") ||
    fail "no unsubscribe link in the message to r1"
TOK=${U##*/}
[ ${#TOK} -eq 48 ] || fail "token '$TOK' is not 48 characters"
# The token is what DESIGN.md says: HMAC-SHA256 under the secret.
$PY "$WEBTOOL" decode "$T/secret" "$TOK" >/dev/null ||
    fail "the token's MAC does not check with the secret"

# --- GET /u/TOKEN: a page with one button; never a change
[ "$(get "$U")" = 200 ] || fail "GET /u/TOKEN not 200"
grep -q 'Spotlight on R2P' "$T/body" || fail "unsubscribe page lacks the list"
grep -q 'r1@example.org' "$T/body" || fail "unsubscribe page lacks the address"
grep -q "<form method=\"post\" action=\"$U\">" "$T/body" ||
    fail "unsubscribe page has no POST form to itself"
grep -qi '^Content-Security-Policy: default-src' "$T/head" || fail "no CSP"
grep -qi '^X-Content-Type-Options: nosniff' "$T/head" || fail "no nosniff"
grep -qi '^Referrer-Policy: no-referrer' "$T/head" || fail "no Referrer-Policy"
[ "$(code HEAD "$U" -I)" = 200 ] || fail "HEAD /u/TOKEN not 200"
[ "$(sub_state spotlight r1@example.org)" = confirmed ] ||
    fail "a GET changed the subscription"

# --- POST exactly as RFC 8058 section 8 shows it
rc=$(curl -s -o "$T/body" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-raw 'List-Unsubscribe=One-Click' "$U")
[ "$rc" = 200 ] || fail "one-click POST answered $rc"
[ "$(sub_state spotlight r1@example.org)" = unsubscribed ] ||
    fail "one-click POST did not unsubscribe"
[ "$(sql "SELECT source FROM events WHERE kind='unsubscribe' ORDER BY id DESC LIMIT 1")" = one-click ] ||
    fail "the event does not record source one-click"
# A repeat is harmless: 200, still unsubscribed, no second event.
[ "$(code POST "$U" --data-raw 'List-Unsubscribe=One-Click')" = 200 ] ||
    fail "a repeated one-click POST is not 200"
[ "$(sql "SELECT count(*) FROM events WHERE kind='unsubscribe' AND email='r1@example.org'")" = 1 ] ||
    fail "a repeated POST recorded a second event"
get "$U" >/dev/null
grep -q "$B/s/spotlight" "$T/body" || fail "GET after unsubscribing offers no way back"

# The form's POST (no one-click body) is source "web"; a Khmer reader
# (r3, lang km) gets the page in Khmer.
U3=$($PY "$WEBTOOL" link "$DIR/mail" r3@example.org "$B/u/")
get "$U3" >/dev/null
grep -q '<html lang="km"' "$T/body" || fail "a km subscriber's page is not in Khmer"
grep -q 'ឈប់ជាវ' "$T/body" || fail "no Khmer button text"
[ "$(code POST "$U3" -d '')" = 200 ] || fail "form POST not 200"
[ "$(sql "SELECT source FROM events WHERE kind='unsubscribe' ORDER BY id DESC LIMIT 1")" = web ] ||
    fail "form POST not recorded with source web"

# --- forged, truncated, altered tokens: 404 and nothing changes
before=$(sql "SELECT count(*), group_concat(state) FROM subscriptions")
evs=$(sql "SELECT count(*) FROM events")
U2=$($PY "$WEBTOOL" link "$DIR/mail" r2@example.org "$B/u/")
T2=${U2##*/}
last=$(printf %s "$T2" | cut -c48)
[ "$last" = A ] && alt=B || alt=A
altered=$(printf %s "$T2" | cut -c1-47)$alt
mid=$(printf %s "$T2" | cut -c1-20)$( [ "$(printf %s "$T2" | cut -c21)" = x ] && echo y || echo x)$(printf %s "$T2" | cut -c22-48)
for bad in "$altered" "$mid" "$(printf %s "$T2" | cut -c1-47)" "${T2}A" \
    "$($PY "$WEBTOOL" forge /dev/null 1 2 1 "$(date +%s)")" \
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" '..%2F..%2Fetc' \
    "$($PY "$WEBTOOL" forge "$T/secret" 2 2 1 "$(date +%s)")"; do
	for m in GET POST; do
		rc=$(code $m "$B/u/$bad" -d 'List-Unsubscribe=One-Click')
		[ "$rc" = 404 ] || fail "$m /u/$bad answered $rc, not 404"
	done
done
# A token made with the right key is accepted: the format is understood.
good=$($PY "$WEBTOOL" forge "$T/secret" 1 2 1 "$(date +%s)")
[ "$(code GET "$B/u/$good")" = 200 ] || fail "an independently made token is refused"
[ "$(sql "SELECT count(*), group_concat(state) FROM subscriptions")" = "$before" ] ||
    fail "bad tokens changed subscriptions"
[ "$(sql "SELECT count(*) FROM events")" = "$evs" ] || fail "bad tokens made events"

# --- subscribe with double opt-in
[ "$(get "$B/s/spotlight")" = 200 ] || fail "GET /s/spotlight not 200"
grep -q 'name="email"' "$T/body" || fail "no email field in the form"
grep -q 'name="lang"' "$T/body" || fail "no language field in the form"
rc=$(get "$B/s/spotlight" -H 'X-Forwarded-For: 198.51.100.1' \
    --data-urlencode 'email=new@example.org' --data-urlencode 'name=New Reader' -d lang=en)
[ "$rc" = 200 ] || fail "POST /s/spotlight answered $rc"
cp "$T/body" "$T/new.html"
[ "$(sub_state spotlight new@example.org)" = pending ] || fail "not pending after POST"
wait_mail new@example.org 1 15 || fail "no confirmation email captured"
C=$($PY "$WEBTOOL" link "$DIR/mail" new@example.org "$B/c/") ||
    fail "no /c/ link in the confirmation"
[ "$(get "$C")" = 200 ] || fail "GET /c/TOKEN not 200"
grep -q "action=\"$C\"" "$T/body" || fail "confirm page has no form"
[ "$(sub_state spotlight new@example.org)" = pending ] || fail "GET /c/ confirmed"
[ "$(code POST "$C")" = 200 ] || fail "POST /c/TOKEN not 200"
[ "$(sub_state spotlight new@example.org)" = confirmed ] || fail "POST /c/ did not confirm"
[ "$(code POST "$C")" = 200 ] || fail "a repeated confirm is not 200"

# The answer never says whether the address was known: an address
# already confirmed gets the same page, and no email.
n1=$($PY "$WEBTOOL" count "$DIR/mail" r2@example.org)
rc=$(get "$B/s/spotlight" -H 'X-Forwarded-For: 198.51.100.2' \
    --data-urlencode 'email=r2@example.org' -d lang=en)
[ "$rc" = 200 ] || fail "POST for a known address answered $rc"
sed 's/r2@example.org/ADDR/g' "$T/body" > "$T/known.html"
sed 's/new@example.org/ADDR/g' "$T/new.html" > "$T/new2.html"
cmp -s "$T/known.html" "$T/new2.html" || fail "the answer differs for a known address"
sleep 2
[ "$($PY "$WEBTOOL" count "$DIR/mail" r2@example.org)" = "$n1" ] ||
    fail "a confirmed subscriber got a confirmation email"

# Per-address limit: at most 3 confirmations a day to one address.
for i in 1 2 3 4 5; do
	code POST "$B/s/spotlight" -H "X-Forwarded-For: 198.51.100.1$i" \
	    --data-urlencode 'email=many@example.org' >/dev/null
done
sleep 3
n=$($PY "$WEBTOOL" count "$DIR/mail" many@example.org)
[ "$n" -le 3 ] && [ "$n" -ge 1 ] || fail "$n confirmations to one address (limit 3)"

# Per-IP limit: 5 an hour from one client (behind the proxy).
for i in 1 2 3 4 5; do
	rc=$(code POST "$B/s/spotlight" -H 'X-Forwarded-For: 203.0.113.7' \
	    --data-urlencode "email=ip$i@example.org")
	[ "$rc" = 200 ] || fail "request $i from one IP answered $rc"
done
rc=$(get "$B/s/spotlight" -H 'X-Forwarded-For: 203.0.113.7' \
    --data-urlencode 'email=ip6@example.org')
[ "$rc" = 429 ] || fail "the 6th request from one IP answered $rc, not 429"
grep -qi '^Retry-After:' "$T/head" || fail "429 without Retry-After"
[ -z "$(sub_state spotlight ip6@example.org)" ] || fail "a refused request subscribed"

# Bad input: a clear message, the form again, nothing stored.
rc=$(get "$B/s/spotlight" -H 'X-Forwarded-For: 198.51.100.50' \
    --data-urlencode 'email=<script>x@@example.org')
[ "$rc" = 400 ] || fail "a bad address answered $rc"
grep -q 'not valid' "$T/body" || fail "no message for a bad address"
grep -q '<script>' "$T/body" && fail "the typed address is not escaped"
grep -q 'value="&lt;script&gt;x@@example.org"' "$T/body" ||
    fail "the typed address is not kept (escaped) in the form"
[ "$(code POST "$B/s/spotlight" -H 'X-Forwarded-For: 198.51.100.51' -d 'email=')" = 400 ] ||
    fail "an empty address is not 400"
[ "$(sql "SELECT count(*) FROM subscribers WHERE email LIKE '%script%'")" = 0 ] ||
    fail "a bad address was stored"
# A quoted local part is valid and comes back escaped.
rc=$(get "$B/s/spotlight" -H 'X-Forwarded-For: 198.51.100.52' \
    --data-urlencode 'email="<b>odd"@example.org')
[ "$rc" = 200 ] || fail "a quoted local part answered $rc"
grep -q '&lt;b&gt;odd' "$T/body" || fail "the address is not HTML-escaped"

# The robot trap: a filled hidden field gets the same page, and nothing.
rc=$(code POST "$B/s/spotlight" -H 'X-Forwarded-For: 198.51.100.53' \
    --data-urlencode 'email=robot@example.org' -d 'website=http://spam')
[ "$rc" = 200 ] || fail "trap answered $rc"
[ -z "$(sub_state spotlight robot@example.org)" ] || fail "the trap subscribed"

# A single opt-in list confirms at once, without email.
rc=$(code POST "$B/s/single" -H 'X-Forwarded-For: 198.51.100.54' \
    --data-urlencode 'email=one@example.org')
[ "$rc" = 200 ] || fail "single opt-in answered $rc"
[ "$(sub_state single one@example.org)" = confirmed ] || fail "single opt-in not confirmed"

# Expired and forged confirmation tokens.
sid=$(sql "SELECT id FROM subscribers WHERE email='many@example.org'")
lid=$(sql "SELECT id FROM lists WHERE name='spotlight'")
old=$($PY "$WEBTOOL" forge "$T/secret" 2 "$sid" "$lid" $(($(date +%s) - 8 * 86400)))
[ "$(get "$B/c/$old")" = 410 ] || fail "an expired token is not 410"
grep -q "$B/s/spotlight" "$T/body" || fail "the expired page does not offer to subscribe again"
[ "$(code POST "$B/c/$old")" = 410 ] || fail "POST with an expired token is not 410"
[ "$(sub_state spotlight many@example.org)" = pending ] || fail "an expired token confirmed"
fresh=$($PY "$WEBTOOL" forge "$T/secret" 2 "$sid" "$lid" $(($(date +%s) - 6 * 86400)))
[ "$(code GET "$B/c/$fresh")" = 200 ] || fail "a 6-day-old token is refused"
[ "$(code POST "$B/c/$($PY "$WEBTOOL" forge /dev/null 2 "$sid" "$lid" "$(date +%s)")")" = 404 ] ||
    fail "a forged confirmation token is not 404"
[ "$(code POST "$B/c/$TOK")" = 404 ] || fail "an unsubscribe token confirms"
[ "$(sub_state spotlight many@example.org)" = pending ] || fail "a bad token confirmed"
# An old link does not resubscribe someone who left.
uc=$($PY "$WEBTOOL" forge "$T/secret" 2 "$(sql "SELECT id FROM subscribers WHERE email='r1@example.org'")" "$lid" "$(date +%s)")
[ "$(code POST "$B/c/$uc")" = 409 ] || fail "confirming an unsubscribed address is not 409"
[ "$(sub_state spotlight r1@example.org)" = unsubscribed ] || fail "a confirm link resubscribed"

# --- sizes, methods, paths
big=$(head -c 2000 /dev/zero | tr '\0' a)
[ "$(code POST "$B/s/spotlight" -d "email=$big@example.org")" = 413 ] ||
    fail "a 2 kB body (max_body 1k) is not 413"
[ "$(printf 'email=%s' "$big" | curl -s -o /dev/null -w '%{http_code}' \
    -H 'Transfer-Encoding: chunked' --data-binary @- "$B/s/spotlight")" = 413 ] ||
    fail "a chunked 2 kB body is not 413"
for p in "/u/$TOK" "/c/$TOK" /s/spotlight; do
	for m in PUT DELETE PATCH; do
		[ "$(code $m "$B$p")" = 405 ] || fail "$m $p not 405"
	done
done
curl -s -D "$T/head" -o /dev/null -X PUT "$B/u/$TOK"
grep -qi '^Allow: GET, HEAD, POST' "$T/head" || fail "405 without Allow"
for p in /healthz /metrics /a/spotlight/ "/a/spotlight/$id" /a/spotlight/feed.atom; do
	[ "$(code POST "$B$p")" = 405 ] || fail "POST $p not 405"
done
for p in / /nope /u/ /u /s/ /s/nolist /s/Bad_Name /a/nolist/ /a/nolist/feed.atom \
    "/a/spotlight/999" "/a/spotlight/0$id" /a/spotlight/x "/u/$TOK/x" \
    "/a/single/$id" "/a/spotlight/$id/nothing.png" /healthz/x; do
	[ "$(code GET "$B$p")" = 404 ] || fail "GET $p not 404"
done

[ "$(code GET "$B/favicon.ico")" = 204 ] || fail "/favicon.ico is not 204"

# --- the archive
[ "$(get "$B/a/spotlight")" = 301 ] || fail "/a/spotlight does not redirect"
grep -qi "^Location: $B/a/spotlight/" "$T/head" || fail "bad redirect"
[ "$(get "$B/a/spotlight/")" = 200 ] || fail "archive index not 200"
grep -q "href=\"$B/a/spotlight/$id\"" "$T/body" || fail "the index lacks issue $id"
[ "$(get "$B/a/spotlight/$id")" = 200 ] || fail "archived issue not 200"
grep -q "/u/" "$T/body" && fail "the archived issue has an unsubscribe link"
grep -q "cid:" "$T/body" && fail "the archived issue has cid: images"
img=$(grep -o "$B/a/spotlight/$id/[^\"]*" "$T/body" | head -1)
[ -n "$img" ] || fail "the archived issue has no image"
[ "$(get "$img")" = 200 ] || fail "image $img not 200"
grep -qi '^Content-Type: image/' "$T/head" || fail "image served without an image type"
[ "$(get "$B/a/spotlight/$id" -H 'Accept-Language: km')" = 200 ] || fail "km archive"
grep -q 'ជម្រាបសួរ\|lang="km"' "$T/body" || fail "the Khmer variant is not served for km"
# The "view online" link of every email points here.
V=$($PY "$WEBTOOL" link "$DIR/mail" r2@example.org "$B/a/spotlight/$id") ||
    fail "no view-online link in the message"
[ "$(code GET "$V")" = 200 ] || fail "the view-online link $V is not 200"
[ "$(get "$B/a/spotlight/feed.atom")" = 200 ] || fail "feed not 200"
grep -qi '^Content-Type: application/atom+xml' "$T/head" || fail "feed type"
$PY "$WEBTOOL" feed "$T/body" 1 "$B" > "$T/links"; rc=$?
[ $rc -eq 77 ] && { echo "skip: python3-feedparser is not installed"; exit 77; }
[ $rc -eq 0 ] || fail "feedparser refused the feed"
grep -q "$B/a/spotlight/$id" "$T/links" || fail "the feed entry does not link the issue"

# --- languages
get "$B/s/spotlight" -H 'Accept-Language: km-KH,km;q=0.9,en;q=0.8' >/dev/null
grep -q '<html lang="km"' "$T/body" || fail "Accept-Language km not honoured"
get "$B/s/spotlight" -H 'Accept-Language: fr, en;q=0.5, km;q=0.4' >/dev/null
grep -q '<html lang="en"' "$T/body" || fail "Accept-Language weights not honoured"
get "$B/s/spotlight?lang=km" -H 'Accept-Language: en' >/dev/null
grep -q '<html lang="km"' "$T/body" || fail "?lang=km not honoured"

# --- health and metrics
[ "$(get "$B/healthz")" = 200 ] || fail "/healthz not 200"
[ "$(get "$B/metrics")" = 200 ] || fail "/metrics not 200"
m="$T/body"
grep -q '^herald_build_info{version="' "$m" || fail "no build info"
grep -q "^herald_messages{issue=\"$id\",list=\"spotlight\",relay=\"127.0.0.1\",state=\"sent\"} 6$" "$m" ||
    fail "no count of sent messages for issue $id"
grep -q '^herald_subscribers{list="spotlight",state="unsubscribed"} 2$' "$m" ||
    fail "no count of unsubscribed subscribers"
grep -q '^herald_queue_depth{queue="newsletter"} 0$' "$m" || fail "no queue depth"
grep -q '^herald_confirmations{state="sent"} [1-9]' "$m" ||
    fail "no count of confirmations sent"
grep -q '^herald_http_requests_total{path="/u",code="404"} [1-9]' "$m" ||
    fail "no count of 404s on /u"
grep -q '^herald_http_requests_total{path="/s",code="429"} 1$' "$m" ||
    fail "no count of 429s on /s"

# The sending loop still works and nothing was lost: stop cleanly.
stop_heraldd; rc=$?
[ $rc -eq 0 ] || fail "heraldd exit $rc after SIGTERM"
grep -q 'web: listening on' "$T/heraldd.log" || fail "no listening line in the log"
finish
