#!/bin/sh
# heraldd through a relay that wants STARTTLS and AUTH, with VERP: every
# message goes over TLS, authenticated, with a return path
# bounces+TOKEN@domain that names its subscriber; a relay without
# STARTTLS gets nothing when STARTTLS is required.
. "$top_srcdir/tests/daemon/lib.sh"
command -v openssl >/dev/null || { echo "skip: openssl command not found"; exit 77; }

start_server secure --tls starttls --auth "herald:s3cret pass"
(umask 077; printf 's3cret pass\n' > "$T/smtp-pass")
SMTP_HOST=localhost SMTP_EXTRA="tls = \"starttls\"; ca_file = \"$DIR/cert.pem\";
    username = \"herald\"; password_file = \"$T/smtp-pass\";" \
    DELIVERY_EXTRA='verp = true; bounce_domain = "bounces.r2p.example";' \
    write_conf "$PORT"
make_list 12 || fail "make_list"
tiny_issue "$T/tiny.yaml"
id=$(queue_issue "$T/tiny.yaml" --at now)
start_heraldd
wait_state "$id" sent 30 || fail "issue $id is $(issue_state "$id"), not sent"
stop_heraldd || fail "heraldd exit $? after SIGTERM"

# Each return path's token checks with the secret (tests/web/webtool.py,
# independent of herald's C) and names the recipient.
n=0
for f in "$DIR"/mail/*.json; do
	set -- $($PY -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["rcpt_tos"][0], m["tls"], m["authenticated"], m["mail_from"])' "$f")
	[ "$2 $3" = "True True" ] || fail "$1: tls=$2 authenticated=$3"
	tok=${4#bounces+}
	tok=${tok%@bounces.r2p.example}
	[ "bounces+$tok@bounces.r2p.example" = "$4" ] || fail "$1: return path $4"
	set -- "$1" $($PY "$top_srcdir/tests/web/webtool.py" decode "$T/secret" "$tok") ||
	    fail "$1: the token does not check"
	[ "$3" = 4 ] || fail "$1: token purpose $3, not bounce (4)"
	[ "$4" = "$(sql "SELECT id FROM subscribers WHERE email='$1'")" ] ||
	    fail "$1: the token names subscriber $4"
	n=$((n + 1))
done
[ $n -eq 12 ] || fail "$n messages, not 12"

# The same relay without STARTTLS: required TLS sends nothing at all.
start_server plain
sed -i "s|smtp://localhost:[0-9]*|smtp://localhost:$PORT|" "$T/herald.conf"
id2=$(queue_issue "$T/tiny.yaml" --at now)
start_heraldd
wait_count "$id2" deferred 1 15 || fail "no deferral without STARTTLS"
stop_heraldd
[ "$(stat messages)" -eq 0 ] || fail "a message went out in plaintext"
[ "$(issue_count "$id2" sent)" = 0 ] || fail "sent without TLS"
finish
