#!/bin/sh
# delivery.batch_size caps the results recorded in one transaction: at 1,
# every commit records one; at its default, results that arrive together
# (4 connections) share one.  heraldd -d logs each commit.
. "$top_srcdir/tests/daemon/lib.sh"

start_server sink
tiny_issue "$T/tiny.yaml"
for size in 1 100; do
	rm -f "$T"/herald.db*
	: > "$T/heraldd.log"
	CONNS=4 DELIVERY_EXTRA="batch_size = $size;" write_conf "$PORT"
	make_list 120 || fail "make_list"
	id=$(queue_issue "$T/tiny.yaml" --at now)
	"$HERALDD_BIN" -d -c "$T/herald.conf" >>"$T/heraldd.log" 2>&1 &
	HPID=$!
	PIDS="$PIDS $HPID"
	ctl wait "$id" --timeout 60 >/dev/null || fail "batch_size=$size: not sent"
	stop_heraldd || fail "heraldd exit status"
	sent=$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")
	[ "$sent" = 120 ] || fail "batch_size=$size: $sent of 120 sent"
	sed -n 's/.*database: \([0-9]*\) results\{0,1\} recorded.*/\1/p' \
	    "$T/heraldd.log" > "$T/sizes"
	total=$(awk '{ t += $1 } END { print t + 0 }' "$T/sizes")
	max=$(sort -n "$T/sizes" | tail -n 1)
	echo "batch_size=$size: $(wc -l < "$T/sizes") commits, $total results, largest $max"
	[ "$total" = 120 ] || fail "batch_size=$size: $total results logged"
	if [ $size = 1 ]; then
		[ "$max" = 1 ] || fail "batch_size=1: a commit recorded $max"
	else
		[ "${max:-0}" -gt 1 ] || fail "batch_size=100: no commit recorded more than one"
	fi
done
finish
