#!/bin/sh
# The dot gate (gate_dot), which bounds heraldd's duplicates after a
# crash: while no result is recorded, exactly as many messages as there
# are connections are delivered and the rest wait; with every result
# recorded at once, all go.  Without the gate all ten would go.
. "${top_srcdir:-.}/tests/smtp/lib.sh"

start_server gate
URL="smtp://127.0.0.1:$PORT"

for c in 1 3; do
	m0=$(stat messages)
	timeout 4 "$SEND" -q -G -c $c -n 10 -s 2000 "$URL" >"$T/G$c" 2>&1
	rc=$?
	[ $rc -eq 124 ] || fail "-G -c $c: want it stopped by timeout (124), got $rc"
	got=$(( $(stat messages) - m0 ))
	if [ "$got" -eq $c ]; then
		echo "ok: nothing recorded, $c connection(s): $got delivered"
	else
		fail "-G -c $c: nothing recorded, want $c delivered, got $got"
	fi
done

m0=$(stat messages)
send acked -q -g -c 3 -n 30 -s 2000 "$URL" || fail "-g: not all sent"
got=$(( $(stat messages) - m0 ))
if [ "$got" -eq 30 ]; then
	echo "ok: every result recorded: $got delivered"
else
	fail "-g: every result recorded, want 30 delivered, got $got"
fi
finish
