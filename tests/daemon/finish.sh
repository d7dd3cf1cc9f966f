#!/bin/sh
# An issue turns `sent` as soon as its last message is recorded, not at
# the next once-a-second tick: three small issues in a row, each timed
# from its last result to its state (before the fix the gap was anywhere
# in 0 to 1 s; three under 0.4 s by chance: 6 %).
. "$top_srcdir/tests/daemon/lib.sh"

start_server sink
write_conf "$PORT"
make_list 10 || fail "make_list"
tiny_issue "$T/tiny.yaml"
start_heraldd
for round in 1 2 3; do
	id=$(queue_issue "$T/tiny.yaml" --at now)
	[ -n "$id" ] || { fail "queue printed no id"; break; }
	$PY - "$T/herald.db" "$id" <<'PY' || fail "round $round (issue $id)"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30)
issue = int(sys.argv[2])
t_all = None
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    total, sent = db.execute(
        "SELECT count(*), count(*) FILTER (WHERE state = 'sent') "
        "FROM deliveries WHERE issue_id = ?", (issue,)).fetchone()
    state = db.execute("SELECT state FROM issues WHERE id = ?",
                       (issue,)).fetchone()[0]
    now = time.monotonic()
    if total > 0 and sent == total and t_all is None:
        t_all = now
    if state == "sent":
        if t_all is None:
            t_all = now
        gap = now - t_all
        print(f"issue {issue}: {sent} sent; state sent {gap * 1000:.0f} ms "
              f"after the last result")
        sys.exit(0 if sent == 10 and gap < 0.4 else 1)
    db.commit()
    time.sleep(0.005)
print(f"issue {issue}: not sent after 30 s (state {state}, {sent}/{total})")
sys.exit(1)
PY
done
stop_heraldd || fail "heraldd exit status"
finish
