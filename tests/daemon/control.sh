#!/bin/sh
# heraldctl pause, resume and cancel while heraldd sends are noticed
# within about a second; an issue queued for a time a few seconds ahead
# starts within a second of it; heraldctl works while heraldd is stopped.
. "$top_srcdir/tests/daemon/lib.sh"

N=60
tiny_issue "$T/tiny.yaml"
start_server ctl
# Ten messages a second: slow enough to act in the middle of a send.
PERSEC=10 write_conf "$PORT"
make_list $N >/dev/null || fail "make_list"
now_ms() { $PY -c 'import time; print(int(time.time() * 1000))'; }
log_lines() { wc -l < "$T/heraldd.log"; }

# Pause in the middle; heraldd stops taking new messages within a second.
ID=$(queue_issue "$T/tiny.yaml" --at now)
start_heraldd
wait_count "$ID" sent 10 15 || fail "nothing sent"
ctl pause "$ID" >/dev/null || fail "pause"
t0=$(now_ms)
wait_log "issue=$ID no longer sending" 3 || fail "pause not noticed"
t1=$(now_ms)
[ $((t1 - t0)) -le 1500 ] || fail "pause noticed after $((t1 - t0)) ms"
echo "ok: pause noticed after $((t1 - t0)) ms"
sleep 0.5	# what was in flight lands
settled=$(mail_count "$DIR")
sleep 2
[ "$(mail_count "$DIR")" = "$settled" ] ||
    fail "sent while paused ($settled, then $(mail_count "$DIR"))"
[ "$settled" -lt $N ] || fail "all sent despite the pause"
[ "$(issue_state "$ID")" = paused ] || fail "state $(issue_state "$ID")"
[ "$(issue_count "$ID" sending)" = 0 ] || fail "deliveries left sending while paused"

# Resume: the rest goes, each recipient once.
ctl resume "$ID" >/dev/null || fail "resume"
wait_state "$ID" sent 20 || fail "after resume: $(issue_state "$ID")"
[ "$(issue_count "$ID" sent)" = $N ] || fail "sent $(issue_count "$ID" sent)"
[ "$(mail_count "$DIR")" = $N ] || fail "captured $(mail_count "$DIR"), not $N"
[ "$(per_rcpt "$DIR" | awk '$1 != 1' | wc -l)" = 0 ] || fail "duplicates after resume"
echo "ok: pause and resume"

# Cancel in the middle: the rest stays unsent, the issue cancelled.
ID2=$(queue_issue "$T/tiny.yaml" --at now)
wait_count "$ID2" sent 10 15 || fail "issue 2: nothing sent"
ctl cancel "$ID2" >/dev/null || fail "cancel"
t0=$(now_ms)
wait_log "issue=$ID2 no longer sending" 3 || fail "cancel not noticed"
t1=$(now_ms)
[ $((t1 - t0)) -le 1500 ] || fail "cancel noticed after $((t1 - t0)) ms"
sleep 0.5
settled=$(mail_count "$DIR")
sleep 2
[ "$(mail_count "$DIR")" = "$settled" ] || fail "sent after the cancel"
[ "$(issue_state "$ID2")" = cancelled ] || fail "issue 2 is $(issue_state "$ID2")"
sent2=$(sql "SELECT count(*) FROM deliveries WHERE issue_id=$ID2 AND state='sent'")
[ "$sent2" -lt $N ] || fail "issue 2: all sent despite the cancel"
[ $((settled - N)) = "$sent2" ] || fail "issue 2: captured $((settled - N)), sent $sent2"
echo "ok: cancel after $sent2 of $N (noticed after $((t1 - t0)) ms)"

# From here on at full speed.
stop_heraldd || fail "heraldd exit $?"
write_conf "$PORT"
start_heraldd

# Queued three seconds ahead: starts within a second of that time.
at=$($PY -c 'import time; print(int(time.time()) + 3)')
atstr=$($PY -c 'import sys, time; print(time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(int(sys.argv[1]))))' "$at")
ID3=$(queue_issue "$T/tiny.yaml" --at "$atstr")
while [ "$(issue_state "$ID3")" = queued ]; do
	sleep 0.05
done
t=$(now_ms)
[ "$t" -ge $((at * 1000)) ] || fail "issue 3 started $((at * 1000 - t)) ms early"
[ "$t" -le $((at * 1000 + 1300)) ] || fail "issue 3 started $((t - at * 1000)) ms late"
echo "ok: queued for later started $((t - at * 1000)) ms after its time"
wait_state "$ID3" sent 20 || fail "issue 3: $(issue_state "$ID3")"

# heraldctl while heraldd is stopped: queue, pause, resume, status.
stop_heraldd || fail "heraldd exit $?"
ID4=$(queue_issue "$T/tiny.yaml" --at now)
[ -n "$ID4" ] || fail "queue with heraldd stopped"
ctl issues >/dev/null || fail "issues with heraldd stopped"
ctl cancel "$ID4" >/dev/null || fail "cancel with heraldd stopped"
ID5=$(queue_issue "$T/tiny.yaml" --at now)
ctl pause "$ID5" >/dev/null || fail "pause (hold) with heraldd stopped"
ID6=$(queue_issue "$T/tiny.yaml" --at now)
start_heraldd
wait_state "$ID6" sent 20 || fail "issue 6: $(issue_state "$ID6")"
[ "$(issue_state "$ID4")" = cancelled ] || fail "issue 4 is $(issue_state "$ID4")"
[ "$(sql "SELECT count(*) FROM deliveries WHERE issue_id=$ID4")" = 0 ] ||
    fail "the cancelled queued issue has deliveries"
[ "$(issue_state "$ID5")" = paused ] || fail "held issue 5 is $(issue_state "$ID5")"
[ "$(sql "SELECT count(*) FROM deliveries WHERE issue_id=$ID5")" = 0 ] ||
    fail "the held issue has deliveries"
ctl resume "$ID5" >/dev/null || fail "resume issue 5"
[ "$(issue_state "$ID5")" != sent ] || fail "issue 5 sent at once (with no deliveries?)"
wait_state "$ID5" sent 20 || fail "issue 5: $(issue_state "$ID5")"
[ "$(issue_count "$ID5" sent)" = $N ] || fail "issue 5 sent $(issue_count "$ID5" sent)"
echo "ok: heraldctl with heraldd stopped"
stop_heraldd || fail "heraldd exit $?"
finish
