#!/bin/sh
# Another process holds the database write lock for longer than heraldd's
# busy_timeout (5 s) while it sends: heraldd logs, keeps its results,
# retries, and the issue finishes with nothing lost or doubled.  Then the
# SMTP server goes away for a while and comes back on the same port:
# deferred, then all sent.
. "$top_srcdir/tests/daemon/lib.sh"

N=150
CONNS=2
tiny_issue "$T/tiny.yaml"
start_server lock --delay 0.01
write_conf "$PORT"
make_list $N >/dev/null || fail "make_list"

# The write lock held for 6 s in the middle of a send.
ID=$(queue_issue "$T/tiny.yaml" --at now)
start_heraldd
wait_count "$ID" sent 10 15 || fail "nothing sent"
$PY - "$T/herald.db" <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
open(sys.argv[1] + ".locked", "w").close()
time.sleep(6)
db.execute("COMMIT")
PY
lpid=$!
PIDS="$PIDS $lpid"
while [ ! -e "$T/herald.db.locked" ]; do sleep 0.05; done
held=$(issue_count "$ID" sent)
wait "$lpid" || fail "the locking process failed"
kill -0 "$HPID" 2>/dev/null || fail "heraldd died while the database was locked"
grep -q "database: .*locked; [0-9]* results\{0,1\} kept, trying again" "$T/heraldd.log" ||
    fail "no log line says the database was locked"
wait_state "$ID" sent 60 || fail "after the lock: $(issue_state "$ID")"
[ "$(issue_count "$ID" sent)" = $N ] || fail "sent $(issue_count "$ID" sent), not $N"
per_rcpt -i "$ID" "$DIR" > "$T/per"
[ "$(wc -l < "$T/per")" = $N ] || fail "lock: $(wc -l < "$T/per") recipients got it"
[ "$(awk '$1 != 1' "$T/per" | wc -l)" = 0 ] || fail "lock: duplicates"
[ "$held" -lt $N ] || fail "the send ended before the lock"
echo "ok: write lock held 6 s after $held of $N sent"

# The server killed in the middle of a send, back 2 s later.
ID=$(queue_issue "$T/tiny.yaml" --at now)
wait_count "$ID" sent 10 15 || fail "issue 2: nothing sent"
stop_server
sleep 2
restart_server lock "$PORT" --delay 0.01
wait_state "$ID" sent 60 || fail "after the server came back: $(issue_state "$ID")"
grep -q "issue=$ID .*code=0 result=deferred" "$T/heraldd.log" ||
    fail "nothing deferred while the server was down"
[ "$(issue_count "$ID" sent)" = $N ] || fail "issue 2 sent $(issue_count "$ID" sent)"
per_rcpt -i "$ID" "$DIR" > "$T/per"
[ "$(wc -l < "$T/per")" = $N ] || fail "down: $(wc -l < "$T/per") recipients got it"
dups=$(awk '{ d += $1 - 1 } END { print d + 0 }' "$T/per")
[ "$dups" -le $CONNS ] || fail "down: $dups duplicates"
echo "ok: server down and back ($dups duplicates)"
stop_heraldd || fail "heraldd exit $?"
HPID=
finish
