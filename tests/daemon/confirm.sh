#!/bin/sh
# Double opt-in confirmations: heraldctl sub add --confirm queues one,
# heraldd sends it ahead of a newsletter queued at the same time; the
# message parses with no defects, is transactional (no List-*,
# Auto-Submitted), in the subscriber's language, and its link carries a
# confirmation token that verifies under the secret; a 4xx makes it
# retried; the per-address daily limit holds; one left in flight by a
# crash is sent again with the same Message-ID.
. "$top_srcdir/tests/daemon/lib.sh"

start_server sink
# Two confirmation emails a day per address (the default is 3).
HTTP_EXTRA='subscribes_per_address_per_day = 2;' write_conf "$PORT"
make_list 200 || fail "make_list"

# A newsletter and two confirmations, queued while heraldd is stopped.
tiny_issue "$T/tiny.yaml"
id=$(queue_issue "$T/tiny.yaml" --at now)
[ -n "$id" ] || fail "queue printed no id"
out=$(ctl sub add spotlight new.en@example.org --confirm --name "New Reader") ||
    fail "sub add --confirm exit $?"
case $out in *pending*) ;; *) fail "sub add --confirm said: $out" ;; esac
ctl --json sub add spotlight new.km@example.org --confirm --lang km \
    > "$T/km.json" || fail "sub add --confirm --json exit $?"
grep -q '"outcome": *"queued"' "$T/km.json" || fail "json: $(cat "$T/km.json")"
[ "$(sql "SELECT u.state FROM subscriptions u JOIN subscribers s ON s.id = u.subscriber_id WHERE s.email = 'new.en@example.org'")" = pending ] ||
    fail "new.en is not pending"
# Already confirmed: nothing queued.
out=$(ctl sub add spotlight r1@example.org --confirm) || fail "exit $?"
case $out in *already*) ;; *) fail "confirmed again: $out" ;; esac
[ "$(sql "SELECT count(*) FROM mailq")" = 2 ] || fail "mailq has $(sql "SELECT count(*) FROM mailq") rows, not 2"

# For the retry below: faults apply to new connections only.
control '{"rcpt": "451 4.3.0 try again later", "rcpt_match": "^retry", "rcpt_times": 1}'
start_heraldd
wait_state "$id" sent 60 || fail "issue $id is $(issue_state "$id"), not sent"
i=0
while [ "$(sql "SELECT count(*) FROM mailq WHERE state = 'sent'")" != 2 ] &&
    [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(sql "SELECT count(*) FROM mailq WHERE state = 'sent'")" = 2 ] ||
    fail "confirmations: $(sql "SELECT state, last_reply FROM mailq")"
# Nothing for the pending ones in the newsletter.
[ "$(issue_count "$id" sent)" = 200 ] || fail "sent $(issue_count "$id" sent), not 200"

$PY - "$DIR/mail" "$T/secret" <<'PY' || FAILS=1
import base64, email, email.policy, glob, hashlib, hmac, json, re, sys, time
files = sorted(glob.glob(sys.argv[1] + "/*.eml"))
key = open(sys.argv[2], "rb").read().rstrip(b"\n")
assert len(files) == 202, len(files)
meta = [json.load(open(f[:-4] + ".json")) for f in files]
order = [m["rcpt_tos"][0] for m in meta]
for who in ("new.en@example.org", "new.km@example.org"):
    assert order.count(who) == 1, (who, order.count(who))
    # Sent first: the first message on its connection.  (Across the
    # connections the server's order also depends on which thread the
    # kernel runs first.)
    conn = meta[order.index(who)]["connection"]
    mine = [r for r, m in zip(order, meta) if m["connection"] == conn]
    assert mine[0] == who, (who, conn, mine[:4])
for f in files:
    env = json.load(open(f[:-4] + ".json"))
    rcpt = env["rcpt_tos"][0]
    if not rcpt.startswith("new."):
        continue
    m = email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)
    defects = list(m.defects) + [d for p in m.walk() for d in p.defects]
    assert not defects, (rcpt, defects)
    assert m.get_content_type() == "multipart/alternative", m.get_content_type()
    parts = [p.get_content_type() for p in m.iter_parts()]
    assert parts == ["text/plain", "text/html"], parts
    for h in ("List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"):
        assert m[h] is None, (h, m[h])
    assert m["Auto-Submitted"] == "auto-generated", m["Auto-Submitted"]
    assert m["To"].addresses[0].addr_spec == rcpt, m["To"]
    assert m["From"].addresses[0].addr_spec == "bulletin@r2p.example", m["From"]
    assert m["Date"] is not None and m["Message-ID"] is not None
    assert env["mail_from"] == "bulletin@r2p.example", env["mail_from"]
    text = m.get_body(("plain",)).get_content()
    html = m.get_body(("html",)).get_content()
    if rcpt.startswith("new.km"):
        assert m["Subject"] == "សូមបញ្ជាក់ការជាវ Spotlight on R2P", m["Subject"]
        assert "ដើម្បីបញ្ជាក់" in text, text
    else:
        assert m["Subject"] == "Confirm your subscription to Spotlight on R2P", m["Subject"]
        assert "Hello New Reader," in text, text
        assert "did not ask for this, ignore this email" in text, text
    assert "Friends of R2P, Phnom Penh" in text, text
    links = re.findall(r"https://lists\.r2p\.example/c/([A-Za-z0-9_-]+)", text)
    assert len(links) == 1 and len(links[0]) == 48, links
    assert ("https://lists.r2p.example/c/" + links[0]) in html
    raw = base64.urlsafe_b64decode(links[0])
    body, mac = raw[:20], raw[20:]
    assert hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest()[:16], mac), "bad MAC"
    assert body[0] == 1 and body[1] == 2, "not a version 1 confirm token"
    sub = int.from_bytes(body[2:10], "big")
    issued = int.from_bytes(body[14:20], "big")
    assert abs(issued - time.time()) < 120, issued
    print(rcpt, "subscriber", sub, "token ok")
PY
# The token names the right subscriber and list.
for who in new.en new.km; do
	sid=$(sql "SELECT id FROM subscribers WHERE email = '$who@example.org'")
	lid=$(sql "SELECT id FROM lists WHERE name = 'spotlight'")
	$PY - "$DIR/mail" "$who@example.org" "$sid" "$lid" <<'PY' || fail "$who: token names another subscriber or list"
import base64, email, email.policy, glob, json, re, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    if json.load(open(f[:-4] + ".json"))["rcpt_tos"][0] != sys.argv[2]:
        continue
    m = email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)
    text = m.get_body(("plain",)).get_content()
    t = re.search(r"/c/([A-Za-z0-9_-]{48})", text).group(1)
    raw = base64.urlsafe_b64decode(t)
    assert int.from_bytes(raw[2:10], "big") == int(sys.argv[3])
    assert int.from_bytes(raw[10:14], "big") == int(sys.argv[4])
PY
done

# A 4xx at RCPT: deferred, then sent on the retry, same Message-ID.
# (The fault was set before heraldd connected: see above.)
ctl sub add spotlight retry@example.org --confirm >/dev/null || fail "sub add retry exit $?"
i=0
while [ "$(sql "SELECT m.state FROM mailq m JOIN subscribers s ON s.id = m.subscriber_id WHERE s.email = 'retry@example.org'")" != sent ] &&
    [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
row=$(sql "SELECT m.state, m.attempts, m.last_code FROM mailq m JOIN subscribers s ON s.id = m.subscriber_id WHERE s.email = 'retry@example.org'")
[ "$row" = "sent|2|250" ] || fail "retry row: $row (want sent|2|250)"
grep -q 'mailq=.*rcpt=retry@example.org.*code=451 result=deferred' "$T/heraldd.log" ||
    fail "no deferral logged"
mid=$(sql "SELECT m.message_id FROM mailq m JOIN subscribers s ON s.id = m.subscriber_id WHERE s.email = 'retry@example.org'")
$PY - "$DIR/mail" "$mid" <<'PY' || fail "retry: captured Message-ID is not the recorded $mid"
import email, email.policy, glob, json, sys
got = [email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)["Message-ID"]
       for f in sorted(glob.glob(sys.argv[1] + "/*.eml"))
       if json.load(open(f[:-4] + ".json"))["rcpt_tos"][0] == "retry@example.org"]
assert got == [sys.argv[2]], (got, sys.argv[2])
assert sys.argv[2].startswith("<herald.0."), sys.argv[2]
PY
[ "$(ls "$DIR/mail" | grep -c '\.eml$')" = 203 ] || fail "captured $(mail_count "$DIR"), not 203"

# The daily limit: two confirmations a day for an address, over lists.
ctl list create second --title "Second list" >/dev/null || fail "list create"
ctl sub add spotlight lim@example.org --confirm >/dev/null || fail "limit 1: exit $?"
ctl sub add second lim@example.org --confirm >/dev/null || fail "limit 2: exit $?"
ctl sub add spotlight lim@example.org --confirm 2>"$T/lim.err"; rc=$?
[ $rc -eq 75 ] || fail "limit 3: exit $rc, not 75"
grep -q "no confirmation was sent" "$T/lim.err" || fail "limit 3 said: $(cat "$T/lim.err")"
[ "$(sql "SELECT count(*) FROM mailq m JOIN subscribers s ON s.id = m.subscriber_id WHERE s.email = 'lim@example.org'")" = 2 ] ||
    fail "lim@ has more than 2 confirmations queued"
i=0
while [ "$(sql "SELECT count(*) FROM mailq WHERE state = 'sent'")" != 5 ] &&
    [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(sql "SELECT count(*) FROM mailq WHERE state = 'sent'")" = 5 ] ||
    fail "mailq: $(sql "SELECT id, state, last_reply FROM mailq")"

stop_heraldd; rc=$?
[ $rc -eq 0 ] || fail "heraldd exit $rc after SIGTERM"

# A crash after the message went to SMTP and before its result was
# committed leaves the row `sending`: the next start sends it again,
# with the same Message-ID.
sql "UPDATE mailq SET state = 'sending' WHERE subscriber_id = (SELECT id FROM subscribers WHERE email = 'new.en@example.org')" >/dev/null
start_heraldd
i=0
while [ "$(sql "SELECT m.state FROM mailq m JOIN subscribers s ON s.id = m.subscriber_id WHERE s.email = 'new.en@example.org'")" != sent ] &&
    [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
wait_log "recovered 1 messages" 5 || fail "no recovery logged"
$PY - "$DIR/mail" <<'PY' || fail "the resent confirmation has another Message-ID"
import email, email.policy, glob, json, sys
got = [email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)["Message-ID"]
       for f in sorted(glob.glob(sys.argv[1] + "/*.eml"))
       if json.load(open(f[:-4] + ".json"))["rcpt_tos"][0] == "new.en@example.org"]
assert len(got) == 2 and got[0] == got[1], got
PY
stop_heraldd; rc=$?
[ $rc -eq 0 ] || fail "heraldd exit $rc after SIGTERM (restart)"
finish
