#!/bin/sh
# Every row of SMTP-NOTES.md's outcome table, through heraldd, checked in
# the database: sent, hard bounce, 4xx at RCPT and after the dot retried
# with backoff, 5xx after the dot failed, a lost reply resent with the
# same Message-ID, a relay down then up, 421 on a reused connection; and
# expiry after max_age, then heraldctl retry.
. "$top_srcdir/tests/daemon/lib.sh"

N=4
tiny_issue "$T/tiny.yaml"

# scenario NAME [smtpd.py flags]: fresh database, server and heraldd;
# queues the tiny issue, sets ID.
scenario() {
	name=$1
	shift
	[ -n "${HPID:-}" ] && stop_heraldd
	rm -f "$T"/herald.db* "$T/heraldd.log"
	start_server "$name" "$@"
	write_conf "$PORT"
	make_list $N >/dev/null || fail "$name: make_list"
	ID=$(queue_issue "$T/tiny.yaml" --at now)
	[ -n "$ID" ] || fail "$name: queue printed no id"
	start_heraldd
}
dstate() { sql "SELECT d.state FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email = '$1'"; }
dcol() { sql "SELECT d.$2 FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email = '$1'"; }
check_all_sent() {	# NAME: the issue is sent, every delivery too
	wait_state "$ID" sent 30 || { fail "$1: issue is $(issue_state "$ID"), not sent"; return; }
	[ "$(issue_count "$ID" sent)" = $N ] || fail "$1: $(issue_count "$ID" sent) sent, not $N"
	[ "$(mail_count "$DIR")" -ge $N ] || fail "$1: $(mail_count "$DIR") captured"
	per_rcpt "$DIR" | awk -v n=$N 'END { if (NR != n) exit 1 }' ||
	    fail "$1: not every recipient got a message"
	echo "ok: $1"
}

# 250: sent.
scenario ok
check_all_sent "250"

# 550 at RCPT: failed, a hard bounce on the subscriber.
scenario bounce --rcpt "550 5.1.1 unknown user" --rcpt-match '^r1@'
wait_state "$ID" sent 30 || fail "550: issue is $(issue_state "$ID")"
[ "$(dstate r1@example.org)" = failed ] || fail "550: r1 is $(dstate r1@example.org)"
[ "$(dcol r1@example.org last_code)" = 550 ] || fail "550: last_code $(dcol r1@example.org last_code)"
[ "$(sql "SELECT bounces FROM subscribers WHERE email='r1@example.org'")" = 1 ] ||
    fail "550: subscribers.bounces is not 1"
[ "$(sql "SELECT count(*) FROM events WHERE kind='bounce' AND detail LIKE '%550%'")" -ge 1 ] ||
    fail "550: no bounce event"
[ "$(issue_count "$ID" sent)" = $((N - 1)) ] || fail "550: others not sent"
[ "$(issue_count "$ID" failed)" = 1 ] || fail "550: failed count"
grep -q "rcpt=r1@example.org .*code=550 result=bounced" "$T/heraldd.log" || fail "550: no log line"
echo "ok: 550 at RCPT"

# 451 at RCPT, twice: deferred, retried with backoff, then sent.
scenario rcpt451 --rcpt "451 4.3.0 try later" --rcpt-match '^r1@' --rcpt-times 2
check_all_sent "451 at RCPT"
[ "$(dcol r1@example.org attempts)" = 3 ] || fail "451: r1 attempts $(dcol r1@example.org attempts), not 3"
[ "$(grep -c "rcpt=r1@example.org .*code=451 result=deferred" "$T/heraldd.log")" = 2 ] ||
    fail "451: not two deferred log lines"
[ "$(sql "SELECT bounces FROM subscribers WHERE email='r1@example.org'")" = 0 ] ||
    fail "451: counted as a bounce"
# Backoff: BACKOFF=1 then 2 s, so the three attempts span at least 3 s.
span=$(sql "SELECT max(updated) - (SELECT started FROM issues WHERE id=$ID) FROM deliveries WHERE issue_id=$ID")
[ "$span" -ge 2 ] || fail "451: retries came too soon (span ${span}s)"

# 554 after the dot: failed, not a bounce.
scenario dot554 --dot "554 5.6.0 content rejected" --dot-times 1
wait_state "$ID" sent 30 || fail "554: issue is $(issue_state "$ID")"
[ "$(issue_count "$ID" failed)" = 1 ] || fail "554: failed $(issue_count "$ID" failed), not 1"
[ "$(issue_count "$ID" sent)" = $((N - 1)) ] || fail "554: sent count"
[ "$(sql "SELECT sum(bounces) FROM subscribers")" = 0 ] || fail "554: counted as a bounce"
[ "$(sql "SELECT last_code FROM deliveries WHERE state='failed'")" = 554 ] || fail "554: last_code"
echo "ok: 554 after the dot"

# 452 after the dot: deferred, then sent.
scenario dot452 --dot "452 4.3.1 insufficient storage" --dot-times 1
check_all_sent "452 after the dot"
[ "$(sql "SELECT count(*) FROM deliveries WHERE attempts = 2")" = 1 ] || fail "452: no retried delivery"
grep -q "code=452 result=deferred" "$T/heraldd.log" || fail "452: no deferred log line"

# Closed after the dot with no reply (the server had stored it): in
# doubt, resent later with the same Message-ID.
scenario indoubt --drop stored --drop-times 1
check_all_sent "no reply after the dot"
$PY - "$DIR/mail" <<'PY' || fail "in doubt: resend is not the same message"
import email, glob, json, sys
by = {}
for f in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    m = email.message_from_bytes(open(f, "rb").read())
    rcpt = json.load(open(f[:-4] + ".json"))["rcpt_tos"][0]
    by.setdefault(rcpt, []).append(m["Message-ID"])
twice = [r for r, v in by.items() if len(v) == 2]
assert len(twice) == 1, by
assert by[twice[0]][0] == by[twice[0]][1], by[twice[0]]
assert all(len(v) == 1 for r, v in by.items() if r not in twice), by
PY

# Nobody listening: deferred, sent once the server comes up.
start_server probe
PORT_DOWN=$PORT
stop_server
[ -n "${HPID:-}" ] && stop_heraldd
rm -f "$T"/herald.db* "$T/heraldd.log"
write_conf "$PORT_DOWN"
make_list $N >/dev/null
ID=$(queue_issue "$T/tiny.yaml" --at now)
start_heraldd
wait_log "result=deferred" 10 || fail "down: no deferral"
[ "$(issue_count "$ID" sent)" = 0 ] || fail "down: sent with no server"
restart_server probe "$PORT_DOWN"
check_all_sent "nobody listening, then up"

# 421 on a reused idle connection at MAIL FROM: nothing lost.
PERCONN=50 scenario reused --mail "421 4.3.2 closing idle" --mail-reused
check_all_sent "421 on a reused connection"
[ "$(issue_count "$ID" failed)" = 0 ] || fail "421: some failed"
[ "$(stat connections)" -gt 2 ] || fail "421: no reconnection happened"

# Expiry: a recipient deferred for ever ends failed once max_age passed.
# max_age cannot be under an hour, so the issue is made to have started
# an hour (less 3 s) ago, with heraldd stopped, and heraldd restarted.
scenario expire --rcpt "451 4.3.0 try later" --rcpt-match '^r2@'
wait_log "rcpt=r2@example.org .*result=deferred" 10 || fail "expiry: no deferral"
stop_heraldd
sql "UPDATE issues SET started = strftime('%s', 'now') - 3597 WHERE id = $ID"
sql "UPDATE deliveries SET next_attempt = 0 WHERE state = 'deferred'"
start_heraldd
wait_state "$ID" sent 30 || fail "expiry: issue is $(issue_state "$ID")"
[ "$(dstate r2@example.org)" = failed ] || fail "expiry: r2 is $(dstate r2@example.org)"
grep -q "rcpt=r2@example.org .*result=expired" "$T/heraldd.log" || fail "expiry: no expired log line"
[ "$(issue_count "$ID" sent)" = $((N - 1)) ] || fail "expiry: others not sent"
echo "ok: expiry"
# Then heraldctl retry, the fault gone, sends it.
control '{"rcpt": null}'
ctl retry "$ID" >/dev/null || fail "retry failed"
check_all_sent "retry"
[ "$(dstate r2@example.org)" = sent ] || fail "retry: r2 is $(dstate r2@example.org)"

stop_heraldd || fail "heraldd exit $? after SIGTERM"
HPID=
finish
