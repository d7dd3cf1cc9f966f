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

$PY - "$DIR/mail" "$T/secret" "$T/herald.db" <<'PY' || fail "TLS, AUTH or VERP"
import base64, glob, hashlib, hmac, json, re, sqlite3, struct, sys
key = open(sys.argv[2], "rb").read().rstrip(b"\r\n")
db = sqlite3.connect(sys.argv[3])
ids = dict(db.execute("SELECT email, id FROM subscribers"))
n = 0
for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    meta = json.load(open(f))
    rcpt = meta["rcpt_tos"][0]
    assert meta["tls"], (rcpt, "not over TLS")
    assert meta["authenticated"], (rcpt, "not authenticated")
    m = re.fullmatch(r"bounces\+([A-Za-z0-9_-]{48})@bounces\.r2p\.example",
                     meta["mail_from"])
    assert m, (rcpt, meta["mail_from"])
    raw = base64.urlsafe_b64decode(m.group(1) + "==")
    body, mac = raw[:20], raw[20:]
    assert hmac.compare_digest(
        hmac.new(key, body, hashlib.sha256).digest()[:16], mac), "bad MAC"
    ver, purpose, sub = struct.unpack(">BBQ", body[:10])
    assert purpose == 4, purpose           # TOKEN_BOUNCE
    assert sub == ids[rcpt], (rcpt, sub, "the token names another")
    n += 1
assert n == 12, n
PY

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
