#!/bin/sh
# TLS: required STARTTLS never falls back to plaintext; STARTTLS and
# smtps:// succeed with the CA file and fail on an unknown certificate.
. "${top_srcdir:-.}/tests/smtp/lib.sh"
if ! command -v openssl >/dev/null; then
	echo "skip: openssl command not found"
	exit 77
fi

start_server plain
PLAIN="smtp://127.0.0.1:$PORT"
PLAINDIR=$DIR
start_server starttls --tls starttls
STARTTLS="smtp://localhost:$PORT"
STDIR=$DIR
start_server implicit --tls implicit
SMTPS="smtps://localhost:$PORT"
IMDIR=$DIR

# Required STARTTLS against a server without it: 64, nothing stored.
send req_plain -t require -n 1 "$PLAIN"
expect req_plain 1 deferred 250 64 backoff=1
DIR=$PLAINDIR
[ "$(stat messages)" -eq 0 ] || fail "a message went out in plaintext"
# Opportunistic: plaintext is allowed.
send try_plain -t try -n 1 "$PLAIN"
expect try_plain 1 sent 250 0
grep -q '"tls": false' "$PLAINDIR/mail/000001.json" || fail "try: not plaintext"

# Required STARTTLS with the CA file: sent, and the server saw TLS.
send req_tls -t require -C "$STDIR/cert.pem" -n 2 "$STARTTLS"
expect req_tls 1 sent 250 0
expect req_tls 2 sent 250 0
grep -q '"tls": true' "$STDIR/mail/000001.json" || fail "STARTTLS: not TLS"
# A CA that did not sign the server's certificate: 60, nothing sent.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$T/other.key" -out "$T/other.pem" -days 1 -subj /CN=other \
    >/dev/null 2>&1 || fail "openssl could not make a second certificate"
send req_noca -t require -C "$T/other.pem" -n 1 "$STARTTLS"
expect req_noca 1 deferred 220 60 backoff=1
DIR=$STDIR
[ "$(stat messages)" -eq 2 ] || fail "STARTTLS: want 2 messages, got $(stat messages)"

# Host verification: a certificate from our CA, but for another name.
start_server othername --tls starttls --cert-name other.test
send req_host -t require -C "$DIR/cert.pem" -n 1 "smtp://127.0.0.1:$PORT"
expect req_host 1 deferred 220 60 backoff=1
[ "$(stat messages)" -eq 0 ] || fail "sent to a server with another name"

# Implicit TLS.
send smtps -C "$IMDIR/cert.pem" -n 1 "$SMTPS"
expect smtps 1 sent 250 0
grep -q '"tls": true' "$IMDIR/mail/000001.json" || fail "smtps: not TLS"
send smtps_noca -C "$T/other.pem" -n 1 "$SMTPS"
expect smtps_noca 1 deferred 0 60 backoff=1
finish
