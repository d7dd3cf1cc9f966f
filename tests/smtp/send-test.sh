#!/bin/sh
# heraldctl send-test: renders an issue and sends it at once to the given
# addresses only, with "[TEST]" before the subject; a refused address
# makes it exit 75 and say so.
. "$top_srcdir/tests/smtp/lib.sh"

start_server sink
umask 077
printf 'a test secret that signs links\n' > "$T/secret"
cat > "$T/herald.conf" <<CONF
database = "$T/herald.db";
templates = "$top_srcdir/templates";
sender = { from_address = "bulletin@r2p.example"; from_name = "Spotlight"; };
smtp = { url = "smtp://127.0.0.1:$PORT"; connections = 1; };
http = { base_url = "https://lists.r2p.example"; secret_file = "$T/secret"; };
CONF
ctl="$top_builddir/heraldctl -c $T/herald.conf"
sample="$top_srcdir/templates/spotlight/sample.yaml"

out=$($ctl send-test "$sample" --to a@example.org --to b@example.net 2>&1)
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: send-test exit $rc: $out"; FAILS=1; }
n=$(ls "$DIR/mail" 2>/dev/null | grep -c '\.eml$')
[ "$n" -eq 2 ] || { echo "FAIL: $n messages received, not 2"; FAILS=1; }
$PY - "$DIR/mail" <<'PY' || FAILS=1
import email, email.policy, glob, json, sys
rcpts = set()
for f in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    m = email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)
    env = json.load(open(f[:-4] + ".json"))
    assert str(m["Subject"]).startswith("[TEST] Spotlight on R2P"), m["Subject"]
    assert not m.defects, m.defects
    rcpts.update(env["rcpt_tos"])
assert rcpts == {"a@example.org", "b@example.net"}, rcpts
PY

# A refused recipient: reported, exit 75, the other still sent.
echo '{"rcpt": "550 5.1.1 no such user", "rcpt_match": "^bad@"}' > "$DIR/control"
out=$($ctl send-test "$sample" --to bad@example.org --to c@example.org 2>&1)
rc=$?
[ $rc -eq 75 ] || { echo "FAIL: exit $rc with a refused recipient: $out"; FAILS=1; }
echo "$out" | grep -q '^bad@example.org: failed' ||
    { echo "FAIL: no failure reported: $out"; FAILS=1; }
echo "$out" | grep -q '^c@example.org: sent' ||
    { echo "FAIL: c@ not sent: $out"; FAILS=1; }

# No --to: a usage error, nothing sent.
$ctl send-test "$sample" >/dev/null 2>&1
[ $? -eq 64 ] || { echo "FAIL: send-test without --to"; FAILS=1; }
[ $FAILS -eq 0 ] && echo PASS
exit $FAILS
