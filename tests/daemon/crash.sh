#!/bin/sh
# Crashes: SIGKILL heraldd at random moments while it sends to 1,000
# recipients, restart it, at least 20 times; at the end every recipient
# is sent exactly once in the database, got at least one message, and
# the duplicates are at most (kills x connections).
. "$top_srcdir/tests/daemon/lib.sh"

N=1000
KILLS=${KILLS:-20}
CONNS=4
tiny_issue "$T/tiny.yaml"
# Replies 5 ms late, so that the send lasts across the kills.
start_server crash --delay 0.005
write_conf "$PORT"
make_list $N >/dev/null || fail "make_list"
ID=$(queue_issue "$T/tiny.yaml" --at now)
start_heraldd
k=0
while [ $k -lt "$KILLS" ]; do
	sleep "$($PY -c 'import random; print(round(random.uniform(0.05, 0.6), 3))')"
	kill -KILL "$HPID"
	wait "$HPID" 2>/dev/null
	k=$((k + 1))
	start_heraldd
done
sent_at_last_kill=$(mail_count "$DIR")
echo "killed $k times; $sent_at_last_kill messages captured by then"
wait_state "$ID" sent 120 || fail "issue is $(issue_state "$ID") after the crashes"
stop_heraldd || fail "heraldd exit $?"
HPID=

[ "$(sql "SELECT count(*) FROM deliveries WHERE issue_id=$ID")" = $N ] ||
    fail "not one delivery per recipient"
[ "$(sql "SELECT count(DISTINCT subscriber_id) FROM deliveries WHERE issue_id=$ID AND state='sent'")" = $N ] ||
    fail "not every recipient sent: $(sql "SELECT state, count(*) FROM deliveries WHERE issue_id=$ID GROUP BY state")"
per_rcpt -i "$ID" "$DIR" > "$T/per"
[ "$(wc -l < "$T/per")" = $N ] || fail "$(wc -l < "$T/per") recipients got a message, not $N"
dups=$(awk '{ d += $1 - 1 } END { print d + 0 }' "$T/per")
echo "duplicates: $dups (bound $((k * CONNS)))"
[ "$dups" -le $((k * CONNS)) ] || fail "$dups duplicates, more than $k kills x $CONNS connections"
recovered=$(grep -c "recovered [0-9]* messages left in flight" "$T/heraldd.log")
[ "$recovered" -ge 1 ] || fail "no restart recovered anything: were the kills all idle?"
finish
