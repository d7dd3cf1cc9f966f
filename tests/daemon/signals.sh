#!/bin/sh
# Signals: HUP during a send reloads with nothing lost or doubled; a bad
# configuration on HUP keeps the old one, logs every error, and sending
# goes on; TERM during a send exits 0 and a restart finishes the issue
# (duplicates at most the connections); a second TERM exits at once;
# PIPE is ignored.
. "$top_srcdir/tests/daemon/lib.sh"

N=30
CONNS=2
tiny_issue "$T/tiny.yaml"
# Each reply 20 ms late: a send of N messages lasts a few seconds.
start_server sig --delay 0.02
write_conf "$PORT"
make_list $N >/dev/null || fail "make_list"
exactly_once() {	# WHAT: every recipient of the list got one message
	per_rcpt -i "$ID" "$DIR" > "$T/per"
	[ "$(wc -l < "$T/per")" = $N ] || fail "$1: $(wc -l < "$T/per") recipients, not $N"
	[ "$(awk '$1 != 1' "$T/per" | wc -l)" = 0 ] || fail "$1: duplicates: $(awk '$1 != 1' "$T/per" | head -3)"
}

# HUP twice during a send.
ID=$(queue_issue "$T/tiny.yaml" --at now)
start_heraldd
wait_count "$ID" sent 5 15 || fail "nothing sent"
kill -HUP "$HPID"
wait_log "configuration reloaded" 5 || fail "no reload logged"
kill -HUP "$HPID"
wait_state "$ID" sent 30 || fail "after HUP: $(issue_state "$ID")"
[ "$(grep -c "configuration reloaded" "$T/heraldd.log")" = 2 ] || fail "not two reloads logged"
[ "$(issue_count "$ID" sent)" = $N ] || fail "after HUP sent $(issue_count "$ID" sent)"
exactly_once "HUP"
kill -0 "$HPID" || fail "heraldd died on HUP"
echo "ok: HUP during a send"

# A bad configuration on HUP: the old one stays, every error is logged.
cp "$T/herald.conf" "$T/good.conf"
CTLCONF="$T/good.conf"	# heraldctl keeps the good one
rm -rf "$DIR/mail"; mkdir "$DIR/mail"
ID=$(queue_issue "$T/tiny.yaml" --at now)
wait_count "$ID" sent 5 15 || fail "issue 2: nothing sent"
sed -e 's/connections = [0-9]*/connections = 0/' \
    -e 's/log_level = "info"/log_level = "chatty"/' "$T/good.conf" > "$T/herald.conf"
kill -HUP "$HPID"
wait_log "configuration not reloaded" 5 || fail "bad reload not logged"
grep -q "configuration not reloaded: 2 errors; the old one stays" "$T/heraldd.log" ||
    fail "the error count is not logged: $(grep 'not reloaded' "$T/heraldd.log")"
grep -q "herald.conf:[0-9]*:.*log_level" "$T/heraldd.log" || fail "log_level error not logged"
grep -q "herald.conf:[0-9]*:.*connections" "$T/heraldd.log" || fail "connections error not logged"
wait_state "$ID" sent 30 || fail "after a bad HUP: $(issue_state "$ID")"
exactly_once "bad HUP"
kill -0 "$HPID" || fail "heraldd died on a bad HUP"
cp "$T/good.conf" "$T/herald.conf"
CTLCONF=
echo "ok: bad configuration on HUP"

# PIPE is ignored.
kill -PIPE "$HPID"
sleep 0.3
kill -0 "$HPID" 2>/dev/null || fail "heraldd died of SIGPIPE"
echo "ok: SIGPIPE ignored"

# TERM during a send: exit 0, the issue unfinished; a restart finishes it.
rm -rf "$DIR/mail"; mkdir "$DIR/mail"
ID=$(queue_issue "$T/tiny.yaml" --at now)
wait_count "$ID" sent 5 15 || fail "issue 3: nothing sent"
stop_heraldd; rc=$?
[ $rc -eq 0 ] || fail "heraldd exit $rc after one TERM"
[ "$(issue_state "$ID")" = sending ] || fail "after TERM the issue is $(issue_state "$ID")"
[ "$(issue_count "$ID" sending)" = 0 ] || fail "deliveries left sending after a clean stop"
n=$(issue_count "$ID" sent)
[ "$n" -lt $N ] || fail "all sent before TERM took effect"
grep -q "stopping: [0-9]* messages in flight" "$T/heraldd.log" || fail "no stopping line"
start_heraldd
wait_state "$ID" sent 30 || fail "after restart: $(issue_state "$ID")"
per_rcpt -i "$ID" "$DIR" > "$T/per"
[ "$(wc -l < "$T/per")" = $N ] || fail "TERM: $(wc -l < "$T/per") recipients, not $N"
dups=$(awk '{ d += $1 - 1 } END { print d + 0 }' "$T/per")
[ "$dups" -le $CONNS ] || fail "TERM: $dups duplicates, more than $CONNS connections"
echo "ok: TERM then restart ($n sent before, $dups duplicates)"

# A second TERM exits at once, even with a message waiting on its reply.
control '{"dot_delay": 8}'
rm -rf "$DIR/mail"; mkdir "$DIR/mail"
stop_heraldd
start_heraldd
ID=$(queue_issue "$T/tiny.yaml" --at now)
wait_log "issue=$ID started" 5 || fail "issue 4 not started"
sleep 0.5
kill -TERM "$HPID"
wait_log "stopping: [1-9][0-9]* messages in flight" 3 || fail "no message in flight at TERM"
t0=$($PY -c 'import time; print(int(time.time() * 1000))')
kill -TERM "$HPID"
wait "$HPID"; rc=$?
t1=$($PY -c 'import time; print(int(time.time() * 1000))')
[ $((t1 - t0)) -lt 1000 ] || fail "second TERM took $((t1 - t0)) ms"
[ $rc -ne 0 ] || fail "second TERM: exit 0, want non-zero"
echo "ok: second TERM exits at once, status $rc, after $((t1 - t0)) ms"
HPID=
finish
