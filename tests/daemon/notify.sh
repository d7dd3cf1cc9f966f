#!/bin/sh
# The systemd notification protocol, without systemd: heraldd talks to a
# datagram socket named by NOTIFY_SOCKET, as it would under Type=notify.
# READY=1 at start, STATUS= with progress, WATCHDOG=1 every half of
# WATCHDOG_USEC, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM.
. "$top_srcdir/tests/daemon/lib.sh"

start_server sink
write_conf "$PORT"
make_list 3 || fail "make_list"
$PY - "$T/notify.sock" "$T/notify.log" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "a") as log:
    while True:
        try:
            data = s.recv(4096).decode()
        except socket.timeout:
            break
        for line in data.split("\n"):
            if line:
                log.write("%.3f %s\n" % (time.time(), line))
                log.flush()
PY
NPID=$!
PIDS="$PIDS $NPID"
i=0
while [ ! -S "$T/notify.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000 start_heraldd
wait_n() {	# wait_n PATTERN N SECONDS: until N lines match
	i=0
	while [ "$(grep -c -- "$1" "$T/notify.log" 2>/dev/null)" -lt "$2" ]; do
		i=$((i + 1))
		[ $i -ge $(($3 * 10)) ] && return 1
		sleep 0.1
	done
}
wait_n ' READY=1' 1 10 || fail "no READY=1"
id=$(queue_issue "$SAMPLE" --at now)
wait_state "$id" sent 30 || fail "issue $id not sent"
wait_n ' STATUS=' 2 10 || fail "no STATUS= lines"
wait_n ' WATCHDOG=1' 4 10 || fail "fewer than 4 WATCHDOG=1 in time"
kill -HUP "$HPID"
wait_n ' RELOADING=1' 1 10 || fail "no RELOADING=1 on SIGHUP"
wait_n ' READY=1' 2 10 || fail "no READY=1 after the reload"
stop_heraldd || fail "heraldd exit $? on SIGTERM"
wait_n ' STOPPING=1' 1 10 || fail "no STOPPING=1 on SIGTERM"
# Order: READY before RELOADING before the second READY before STOPPING.
$PY - "$T/notify.log" <<'PY' || fail "notifications out of order"
import sys
kinds = [l.split(" ", 1)[1].split("=")[0] for l in open(sys.argv[1])]
seq = [k for k in kinds if k in ("READY", "RELOADING", "STOPPING")]
assert seq == ["READY", "RELOADING", "READY", "STOPPING"], seq
PY
grep ' STATUS=' "$T/notify.log" | tail -n 1
# The watchdog pings come every 200 ms or so (half of WATCHDOG_USEC).
$PY - "$T/notify.log" <<'PY' || fail "watchdog pings not every half period"
import sys
t = [float(l.split()[0]) for l in open(sys.argv[1]) if " WATCHDOG=1" in l]
gaps = [b - a for a, b in zip(t, t[1:])]
assert gaps and max(gaps) < 0.4, gaps
PY
kill "$NPID" 2>/dev/null
finish
