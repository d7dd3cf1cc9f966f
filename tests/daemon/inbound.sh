#!/bin/sh
# heraldctl inbound, as a Postfix pipe transport runs it: mail to the
# List-Unsubscribe mailto (unsubscribe+TOKEN@) unsubscribes, failure
# reports to the VERP address (bounces+TOKEN@) count bounces; forged,
# altered or misdirected tokens exit 67 (EX_NOUSER) and change nothing.
. "$top_srcdir/tests/daemon/lib.sh"

write_conf 25
make_list 5 || fail "make_list"
BD=r2p.example		# delivery.bounce_domain: from the sender's domain

# tok PURPOSE EMAIL: a token as token.c makes them (1 unsubscribe, 4 bounce).
tok() {
	sid=$(sql "SELECT id FROM subscribers WHERE email = '$2'")
	lid=$(sql "SELECT id FROM lists WHERE name = 'spotlight'")
	$PY - "$T/secret" "$1" "$sid" "$lid" <<'PY'
import base64, hashlib, hmac, sys, time
key = open(sys.argv[1], "rb").read().rstrip(b"\n")
body = bytes([1, int(sys.argv[2])]) + int(sys.argv[3]).to_bytes(8, "big") + \
    int(sys.argv[4]).to_bytes(4, "big") + int(time.time()).to_bytes(6, "big")
mac = hmac.new(key, body, hashlib.sha256).digest()[:16]
print(base64.urlsafe_b64encode(body + mac).decode().rstrip("="))
PY
}
state() { sql "SELECT u.state FROM subscriptions u JOIN subscribers s ON s.id = u.subscriber_id WHERE s.email = '$1'"; }

# dsn STATUS: a failure report as an MTA sends it.
dsn() {
	printf 'From: MAILER-DAEMON@mx.example\r\nTo: bounces@%s\r\nSubject: Undelivered Mail\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; r2@example.org\r\nAction: failed\r\nStatus: %s\r\nDiagnostic-Code: smtp; 550 %s no such user\r\n--b--\r\n' "$BD" "$1" "$1"
}

# The List-Unsubscribe mailto.
t=$(tok 1 r1@example.org)
printf 'Subject: unsubscribe\r\n\r\n' | ctl inbound "unsubscribe+$t@$BD" > "$T/out" ||
    fail "unsubscribe: exit $?"
[ "$(state r1@example.org)" = unsubscribed ] || fail "r1 is $(state r1@example.org)"
grep -q '^unsubscribed' "$T/out" || fail "said: $(cat "$T/out")"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'unsubscribe' AND source = 'mailto' AND email = 'r1@example.org'")" = 1 ] ||
    fail "no unsubscribe event with source mailto"
# Again (a second click, a resent mail): harmless.
printf 'Subject: unsubscribe\r\n\r\n' | ctl inbound "unsubscribe+$t@$BD" > "$T/out" ||
    fail "repeat: exit $?"
grep -q 'already unsubscribed' "$T/out" || fail "repeat said: $(cat "$T/out")"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'unsubscribe' AND source = 'mailto'")" = 1 ] ||
    fail "a repeat wrote another event"

# Forged, altered, wrong purpose, wrong domain, no token: 67, no change.
t3=$(tok 1 r3@example.org)
bad=$(printf '%s' "$t3" | sed 's/^\(.\{10\}\)\(.\)/\1\2\2/; s/^\(.\{48\}\).*/\1/')
[ "$bad" != "$t3" ] || fail "could not alter the token"
for rcpt in "unsubscribe+$bad@$BD" "unsubscribe+$(tok 4 r3@example.org)@$BD" \
    "unsubscribe+$t3@elsewhere.example" "unsubscribe@$BD" "someone@$BD"; do
	echo x | ctl inbound "$rcpt" 2>"$T/err"; rc=$?
	[ $rc -eq 67 ] || fail "$rcpt: exit $rc, not 67"
	[ -s "$T/err" ] || fail "$rcpt: no message"
done
[ "$(state r3@example.org)" = confirmed ] || fail "r3 is $(state r3@example.org)"
# Usage.
ctl inbound </dev/null 2>/dev/null; rc=$?
[ $rc -eq 64 ] || fail "no recipient: exit $rc, not 64"

# The VERP return path: failure reports count, delays do not.
b=$(tok 4 r2@example.org)
dsn 4.4.1 | ctl inbound "bounces+$b@$BD" > "$T/out" || fail "delay: exit $?"
grep -q 'nothing recorded' "$T/out" || fail "delay said: $(cat "$T/out")"
[ "$(sql "SELECT bounces FROM subscribers WHERE email = 'r2@example.org'")" = 0 ] ||
    fail "a delay counted as a bounce"
for k in 1 2 3; do
	dsn 5.1.1 | ctl inbound "bounces+$b@$BD" > "$T/out" || fail "bounce $k: exit $?"
done
grep -q 'bounce recorded: 5.1.1 smtp; 550 5.1.1 no such user' "$T/out" ||
    fail "bounce said: $(cat "$T/out")"
[ "$(sql "SELECT bounces, state FROM subscribers WHERE email = 'r2@example.org'")" = "3|bounced" ] ||
    fail "r2: $(sql "SELECT bounces, state FROM subscribers WHERE email = 'r2@example.org'")"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'bounce' AND source = 'dsn' AND email = 'r2@example.org' AND detail LIKE '5.1.1%'")" = 3 ] ||
    fail "bounce events: $(sql "SELECT kind, source, detail FROM events WHERE email = 'r2@example.org'")"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'disable' AND email = 'r2@example.org'")" = 1 ] ||
    fail "no disable event"
# A bounce token does not unsubscribe, an unsubscribe token does not bounce.
echo x | ctl inbound "bounces+$(tok 1 r4@example.org)@$BD" 2>/dev/null; rc=$?
[ $rc -eq 67 ] || fail "unsubscribe token at bounces+: exit $rc"
finish
