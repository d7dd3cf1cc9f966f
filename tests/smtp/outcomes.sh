#!/bin/sh
# Every row of SMTP-NOTES.md's outcome table, against a real SMTP server
# told to fail in each way, plus the timeout and connect-time faults.
. "${top_srcdir:-.}/tests/smtp/lib.sh"

start_server faults
URL="smtp://127.0.0.1:$PORT"

# 250 after DATA: sent, and the server stored the bytes and the envelope.
send ok -f bounce+x=y@herald.test -r "r%d@example.org" -n 2 "$URL"
expect ok 1 sent 250 0 stage=dot data=1
expect ok 2 sent 250 0
[ -s "$DIR/mail/000002.eml" ] || fail "message 2 not stored"
grep -q '"mail_from": "bounce+x=y@herald.test"' "$DIR/mail/000001.json" ||
    fail "VERP envelope sender not used"
grep -q '"rcpt_tos": \["r1@example.org"\]' "$DIR/mail/000002.json" ||
    fail "wrong recipient stored"
grep -q '^\.\.line of filler' "$DIR/mail/000001.eml" &&
    fail "dot-stuffing not undone by the server"
grep -q '^\.line of filler' "$DIR/mail/000001.eml" || fail "body not stored"

# Message files: a canonical one goes out byte for byte; one with a bare
# LF (an SMTP smuggling vector) is refused before anything is sent.
printf 'Subject: file\r\n\r\nline one\r\n.\r\nafter a lone dot\r\n' > "$T/good.eml"
printf 'Subject: bad\r\n\r\nline\n.\nsmuggled\r\n' > "$T/bare.eml"
m0=$(stat messages)
send files "$URL" "$T/good.eml" "$T/bare.eml"
expect files 1 sent 250 0
expect files 2 refused 0 0 "reply=message"
[ "$(stat messages)" -eq $((m0 + 1)) ] || fail "files: want exactly 1 more message stored"
cmp -s "$T/good.eml" "$DIR/mail/$(printf %06d $((m0 + 1))).eml" ||
    fail "files: stored bytes differ from the file sent"

# 550 at RCPT: a hard bounce, only for the matching recipient.
control '{"rcpt": "550 5.1.1 no such user", "rcpt_match": "^bad"}'
send r550 -r "bad%d@example.org" -n 1 "$URL"
expect r550 1 failed 550 55 stage=rcpt data=0 enhanced=5.1.1 backoff=0
send r550b -r "good%d@example.org" -n 1 "$URL"
expect r550b 1 sent 250 0

# 451 at RCPT: the reply code, not the CURLcode, tells 4xx from 5xx.
control '{"rcpt": "451 4.7.1 greylisted"}'
send r451 -n 1 "$URL"
expect r451 1 deferred 451 55 stage=rcpt policy=0

# 451 only for the first attempt: the next message goes through.
control '{"rcpt": "451 4.7.1 greylisted", "rcpt_times": 2}'
send rtimes -n 3 "$URL"
expect rtimes 2 deferred 451 55
expect rtimes 3 sent 250 0

# 554 after the dot: failed; 5.7.1 is reported as policy.
control '{"dot": "554 5.7.1 rejected by policy"}'
send d554 -n 1 "$URL"
expect d554 1 failed 554 8 stage=dot data=1 policy=1 enhanced=5.7.1

# 452 after the dot: deferred.
control '{"dot": "452 4.3.1 insufficient storage"}'
send d452 -n 1 "$URL"
expect d452 1 deferred 452 8 stage=dot policy=0

# Closed after the dot, no reply: in doubt (libcurl still says 354).
control '{"drop": "dot"}'
send ddot -n 1 "$URL"
expect ddot 1 indoubt 354 56 stage=dot data=1

# Closed at DATA before any byte of the body: deferred, nothing sent.
control '{"drop": "data"}'
send ddata -n 1 "$URL"
expect ddata 1 deferred 250 56 data=0

# 421 at connect: deferred, back off from the server.
control '{"connect": "421 4.3.2 too busy"}'
send c421 -n 1 "$URL"
expect c421 1 deferred 421 8 stage=connect backoff=1

# 421 at MAIL FROM on a reused connection: resent at once on a fresh
# connection inside smtp.c, so both messages are sent on 1 + 2 connections.
control '{"mail": "421 4.3.2 closing", "mail_reused": true}'
c0=$(stat connections)
send m421 -n 2 "$URL"
expect m421 1 sent 250 0 retried=0
expect m421 2 sent 250 0 retried=1
c1=$(stat connections)
[ $((c1 - c0)) -eq 2 ] || fail "421 at MAIL: want 2 connections, got $((c1 - c0))"

# A refused sender on a fresh connection is not a bounce: deferred.
control '{"mail": "550 5.7.1 sender not allowed"}'
send m550 -n 1 "$URL"
expect m550 1 deferred 550 55 stage=mail policy=1 backoff=1

# A slow server: the per-command response timeout fires (28), deferred.
control '{"delay": 3}'
send slow -T 1 -n 1 "$URL"
expect slow 1 deferred 0 28 backoff=1

# No reply to the dot within the timeout: in doubt, not deferred (the
# server may have queued it).
control '{"dot_delay": 3}'
send slowdot -T 1 -n 1 "$URL"
expect slowdot 1 indoubt 354 28 stage=dot data=1
control '{}'

# Nobody listening: 7, deferred, back off.
kill "$(cat "$DIR/pid")"
sleep 0.3
send refused -n 1 "$URL"
expect refused 1 deferred 0 7 stage=connect backoff=1

finish
