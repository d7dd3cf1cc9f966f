#!/bin/sh
# End to end: queue the spotlight sample for a list, heraldd sends it;
# every captured message parses with no defects, carries its recipient's
# personalization, and none went to an unsubscribed or pending subscriber.
. "$top_srcdir/tests/daemon/lib.sh"

start_server sink
write_conf "$PORT"
make_list 30 || fail "make_list"
ctl sub rm spotlight r4@example.org >/dev/null || fail "sub rm"
# A pending subscriber (as from the web form) must not get it either.
$PY - "$T/herald.db" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE subscriptions SET state='pending' WHERE subscriber_id=(SELECT id FROM subscribers WHERE email='r5@example.org')")
db.commit()
PY
id=$(ctl --json queue "$SAMPLE" --at now | $PY -c 'import json,sys; print(json.load(sys.stdin)["id"])')
[ -n "$id" ] || fail "queue printed no id"
start_heraldd
wait_state "$id" sent 30 || fail "issue $id is $(issue_state "$id"), not sent"
stop_heraldd; rc=$?
[ $rc -eq 0 ] || fail "heraldd exit $rc after SIGTERM"

[ "$(issue_count "$id" sent)" = 28 ] || fail "sent $(issue_count "$id" sent), not 28"
$PY - "$DIR/mail" "$id" <<'PY' || FAILS=1
import email, email.policy, glob, json, re, sys
seen = {}
for f in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    raw = open(f, "rb").read()
    m = email.message_from_bytes(raw, policy=email.policy.default)
    env = json.load(open(f[:-4] + ".json"))
    rcpt = env["rcpt_tos"][0]
    assert len(env["rcpt_tos"]) == 1, env
    defects = list(m.defects) + [d for p in m.walk() for d in p.defects]
    assert not defects, (rcpt, defects)
    assert str(m["To"].addresses[0].addr_spec) == rcpt, (rcpt, m["To"])
    i = int(re.match(r"r(\d+)@", rcpt).group(1))
    name = f"សុខ {i}" if i % 3 == 0 else f"Reader {i}"
    assert m["To"].addresses[0].display_name == name, (rcpt, m["To"])
    text = m.get_body(("plain",)).get_content()
    assert name in text, (rcpt, "name not in the text body")
    # Khmer readers get the Khmer variant, the others English.
    assert ("ជម្រាបសួរ" in text) == (i % 3 == 0), (rcpt, "wrong language")
    mid = str(m["Message-ID"])
    assert re.match(r"<herald\.%s\.\d+\." % sys.argv[2], mid), mid
    seen[rcpt] = seen.get(rcpt, 0) + 1
assert "r4@example.org" not in seen, "sent to an unsubscribed subscriber"
assert "r5@example.org" not in seen, "sent to a pending subscriber"
assert len(seen) == 28, len(seen)
assert all(v == 1 for v in seen.values()), "duplicates"
PY
grep -q "issue=$id rcpt=r1@example.org relay=smtp://127.0.0.1:$PORT attempt=1 code=250 result=sent" "$T/heraldd.log" ||
    fail "no key=value delivery line in the log"
grep -q "issue=$id list=spotlight finished sent=28" "$T/heraldd.log" ||
    fail "no summary line in the log"
finish
