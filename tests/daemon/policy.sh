#!/bin/sh
# Policy refusals: K consecutive 5.7.x replies after the dot pause the
# issue (state paused, a note and a log line saying why), nothing more is
# sent while it is paused, and a resume sends the rest.
. "$top_srcdir/tests/daemon/lib.sh"

N=20
tiny_issue "$T/tiny.yaml"
# The first three messages are refused for policy, the rest accepted.
start_server policy --dot "554 5.7.1 message refused by policy" --dot-times 3
POLICY=3 write_conf "$PORT"
make_list $N >/dev/null || fail "make_list"
ID=$(queue_issue "$T/tiny.yaml" --at now)
start_heraldd
wait_state "$ID" paused 15 || fail "issue is $(issue_state "$ID"), not paused"
note=$(issue_field "$ID" note)
case "$note" in
*"3 policy refusals"*"last: 554 5.7.1 message"*) echo "ok: paused: $note" ;;
*) fail "note does not say why: '$note'" ;;
esac
grep -q "issue=$ID paused after 3 policy refusals in a row" "$T/heraldd.log" ||
    fail "no log line says why it paused"
[ "$(issue_count "$ID" failed)" = 3 ] || fail "failed $(issue_count "$ID" failed), not 3"
# Paused: only messages already in flight may still arrive, then none.
sleep 1
before=$(mail_count "$DIR")
sleep 2
after=$(mail_count "$DIR")
[ "$before" = "$after" ] || fail "sent while paused ($before, then $after)"
[ "$after" -lt $((N - 3)) ] || fail "everything was sent despite the pause"
[ "$(issue_state "$ID")" = paused ] || fail "no longer paused"

ctl resume "$ID" >/dev/null || fail "resume"
wait_state "$ID" sent 20 || fail "after resume the issue is $(issue_state "$ID")"
[ "$(issue_count "$ID" sent)" = $((N - 3)) ] || fail "sent $(issue_count "$ID" sent), not $((N - 3))"
[ "$(mail_count "$DIR")" = $((N - 3)) ] || fail "captured $(mail_count "$DIR")"
[ "$(per_rcpt "$DIR" | awk '$1 != 1' | wc -l)" = 0 ] || fail "duplicates"
# Policy refusals are no hard bounces.
[ "$(sql "SELECT sum(bounces) FROM subscribers")" = 0 ] || fail "counted as bounces"
stop_heraldd || fail "heraldd exit $?"
finish
