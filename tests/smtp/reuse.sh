#!/bin/sh
# Connection reuse: each connection carries up to M messages, then a fresh
# one is made; N connections at most.  The server counts connections.
. "${top_srcdir:-.}/tests/smtp/lib.sh"

start_server reuse
URL="smtp://127.0.0.1:$PORT"

# One connection, no limit: 20 messages, 1 connection.
send one -q -c 1 -m 0 -n 20 -s 2000 "$URL" || fail "one: not all sent"
[ "$(stat connections)" -eq 1 ] || fail "M=0: want 1 connection, got $(stat connections)"

# One connection, M=10: 35 messages need exactly 4 connections.
c0=$(stat connections)
send ten -q -c 1 -m 10 -n 35 -s 2000 "$URL" || fail "ten: not all sent"
c=$(( $(stat connections) - c0 ))
[ "$c" -eq 4 ] || fail "M=10, 35 messages: want 4 connections, got $c"

# Two connections, M=50: 100 messages.  Each slot owns its connection,
# so no connection ever carries more than 50; the split between the two
# slots may be 51/49, so 2 or 3 connections.
c0=$(stat connections)
send two -q -c 2 -m 50 -n 100 -s 2000 "$URL" || fail "two: not all sent"
c=$(( $(stat connections) - c0 ))
[ "$c" -ge 2 ] && [ "$c" -le 3 ] ||
    fail "N=2 M=50, 100 messages: want 2..3 connections, got $c"
[ "$(stat messages)" -eq 155 ] || fail "want 155 messages stored, got $(stat messages)"

# Four connections, M=25, 400 messages: none carries more than 25, and
# all but at most 4 (each slot's last) carry exactly 25.
c0=$(stat connections)
send four -q -c 4 -m 25 -n 400 -s 2000 "$URL" || fail "four: not all sent"
$PY - "$DIR/mail" "$c0" <<'PYEOF' || fail "four: messages per connection"
import collections, glob, json, sys
per = collections.Counter()
for f in glob.glob(sys.argv[1] + "/*.json"):
    c = json.load(open(f))["connection"]
    if c > int(sys.argv[2]):          # the N=4 run's connections
        per[c] += 1
counts = sorted(per.values())
print("four: messages per connection:", counts)
sys.exit(0 if max(counts) <= 25 and sum(counts) == 400 and
         sum(1 for n in counts if n != 25) <= 4 else 1)
PYEOF

# Four connections at once really run in parallel: with a 0.2 s delay per
# reply, 8 messages take about 2 rounds, far less than 8 in a row.
control '{"delay": 0.2}'
start=$(date +%s.%N)
send par -q -c 4 -n 8 -s 2000 "$URL" || fail "par: not all sent"
end=$(date +%s.%N)
el=$(awk "BEGIN{print $end - $start}")
awk "BEGIN{exit !($el < 6)}" || fail "4 connections took ${el}s for 8 slow messages"
echo "ok: 8 slow messages over 4 connections in ${el}s"

# A slow reply to the dot holds up only its own connection: libcurl 7.88
# waits for it blocking, which is why each connection has its thread.
# 8 messages, 1 s before each 250: about 2 s over 4 connections, 8 s if
# the waits were serialised.
control '{"dot_delay": 1}'
start=$(date +%s.%N)
send dot -q -c 4 -n 8 -s 2000 "$URL" || fail "dot: not all sent"
end=$(date +%s.%N)
el=$(awk "BEGIN{print $end - $start}")
awk "BEGIN{exit !($el < 5)}" || fail "slow dots serialised: 8 took ${el}s"
echo "ok: 8 messages with a 1 s dot reply over 4 connections in ${el}s"
finish
