#!/bin/sh
# heraldctl wait: returns when the issue is sent (every message recorded
# by then), 1 when it ends paused or cancelled, 75 at its timeout; and
# heraldd runs its threads under SCHED_BATCH unless started under another
# policy, which it keeps.
. "$top_srcdir/tests/daemon/lib.sh"

# policies PID: the scheduling policy of each of the process's threads.
policies() {
	for t in /proc/"$1"/task/*; do
		chrt -p "${t##*/}" | sed -n 's/.*scheduling policy: //p'
	done | sort | uniq -c | sed 's/^ *//'
}

command -v chrt >/dev/null || { echo "SKIP: chrt (util-linux) missing"; exit 77; }

start_server sink
CONNS=3 write_conf "$PORT"
make_list 150 || fail "make_list"
tiny_issue "$T/tiny.yaml"
start_heraldd
# The threads: the loop, 3 connections (and any HTTP ones) exist once the
# connections are set up at start.
sleep 0.5
p=$(policies "$HPID")
if chrt --batch 0 true 2>/dev/null; then
	case "$p" in
	*SCHED_BATCH*) ;;
	*) fail "heraldd's threads are not SCHED_BATCH: $p" ;;
	esac
	echo "$p" | grep -v SCHED_BATCH | grep -q . &&
	    fail "a heraldd thread is not SCHED_BATCH: $p"
else
	echo "note: this system refuses SCHED_BATCH; policy not checked ($p)"
fi
[ "$(ls /proc/"$HPID"/task | wc -l)" -ge 4 ] ||
    fail "expected the loop and 3 connection threads"

# Sent: wait returns 0 after the last result, with every message recorded.
id=$(queue_issue "$T/tiny.yaml" --at now)
out=$(ctl wait "$id" --timeout 60); rc=$?
[ $rc -eq 0 ] || fail "wait on a sending issue: exit $rc ($out)"
[ "$out" = "issue $id is sent" ] || fail "wait printed: $out"
n=$(sql "SELECT count(*) FROM deliveries WHERE issue_id = $id AND state = 'sent'")
[ "$n" = 150 ] || fail "wait returned with $n of 150 recorded sent"
ctl --json wait "$id" | grep -q "\"id\":$id,\"state\":\"sent\",\"note\":null,\"timed_out\":false" ||
    fail "wait --json: $(ctl --json wait "$id")"

# Still queued at the timeout: 75, told on stderr, after about that long.
later=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
id2=$(queue_issue "$T/tiny.yaml" --at "$later")
t0=$(date +%s%N)
ctl wait "$id2" --timeout 1s >"$T/out" 2>"$T/err"; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $rc -eq 75 ] || fail "wait past its timeout: exit $rc"
grep -q "issue $id2 is still queued after 1 s" "$T/err" ||
    fail "timeout message: $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "timeout printed on stdout: $(cat "$T/out")"
[ $ms -ge 1000 ] && [ $ms -lt 5000 ] || fail "timeout of 1 s took $ms ms"

# Paused, then cancelled, while someone waits: 1, with the state.
ctl wait "$id2" >"$T/paused" 2>&1 &
wpid=$!
sleep 0.3
kill -0 $wpid 2>/dev/null || fail "wait returned on a queued issue"
ctl pause "$id2" >/dev/null || fail "pause"
wait $wpid; rc=$?
[ $rc -eq 1 ] || fail "wait on a paused issue: exit $rc"
grep -qx "issue $id2 is paused" "$T/paused" || fail "paused: $(cat "$T/paused")"
ctl cancel "$id2" >/dev/null || fail "cancel"
out=$(ctl wait "$id2"); rc=$?
[ $rc -eq 1 ] && [ "$out" = "issue $id2 is cancelled" ] ||
    fail "wait on a cancelled issue: exit $rc ($out)"

# Bad operands.
ctl wait 999 2>/dev/null; rc=$?
[ $rc -eq 65 ] || fail "wait on no such issue: exit $rc"
ctl wait "$id" --timeout soon 2>/dev/null; rc=$?
[ $rc -eq 64 ] || fail "wait --timeout soon: exit $rc"
stop_heraldd || fail "heraldd exit status"

# Started under another policy, heraldd keeps it.
if chrt --idle 0 true 2>/dev/null; then
	chrt --idle 0 "$HERALDD_BIN" -c "$T/herald.conf" >>"$T/heraldd.log" 2>&1 &
	HPID=$!
	PIDS="$PIDS $HPID"
	sleep 0.5
	p=$(policies "$HPID")
	case "$p" in
	*SCHED_BATCH*|"") fail "under chrt --idle: $p" ;;
	*SCHED_IDLE*) ;;
	*) fail "under chrt --idle: $p" ;;
	esac
	stop_heraldd || fail "heraldd exit status (idle)"
fi
finish
