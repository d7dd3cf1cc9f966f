#!/bin/sh
# heraldctl queue, issues, status, pause, resume, cancel and retry on a
# temporary database, without heraldd: outputs, exit codes, and that a
# refused command changes nothing.
set -u
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
failed=0
fail() { echo "FAIL: $*"; failed=1; }
PY=/usr/bin/python3
unset HERALD_DB HERALD_TEMPLATES
(umask 077; echo "test secret" > "$tmp/secret")
cat > "$tmp/herald.conf" <<CONF
database = "$tmp/herald.db";
templates = "$top_srcdir/templates";
sender = { from_address = "bulletin@r2p.example"; };
http = { base_url = "https://lists.r2p.example"; secret_file = "$tmp/secret"; };
CONF
ctl() { $HERALDCTL -c "$tmp/herald.conf" "$@"; }
dump() { sqlite3 "$tmp/herald.db" .dump | grep -v '^INSERT INTO events' ; }
json() { $PY -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# A copy of the sample and its images: the stored issue must not need them.
mkdir "$tmp/issue"
cp -r "$top_srcdir/templates/spotlight/sample.yaml" \
    "$top_srcdir/templates/spotlight/images" "$tmp/issue/"

ctl list create spotlight --title "Spotlight on R2P" >/dev/null || fail "list create"

$HERALDCTL -d "$tmp/herald.db" -c "$tmp/none.conf" queue \
    "$tmp/issue/sample.yaml" --at now >/dev/null 2>&1
[ $? -eq 78 ] || fail "queue with a missing configuration is not 78"

before=$(dump)
ctl queue "$tmp/issue/sample.yaml" --at "tomorrow" >/dev/null 2>&1
[ $? -eq 64 ] || fail "queue --at tomorrow is not a usage error"
ctl queue "$tmp/issue/sample.yaml" >/dev/null 2>"$tmp/err"
[ $? -eq 64 ] || fail "queue without a time: $(cat "$tmp/err")"
grep -q "no send time" "$tmp/err" || fail "no 'no send time': $(cat "$tmp/err")"
ctl queue "$tmp/issue/sample.yaml" --list nosuch --at now >/dev/null 2>&1
[ $? -eq 65 ] || fail "queue to an unknown list is not 65"
[ "$before" = "$(dump)" ] || fail "a refused queue changed the database"

id=$(ctl --json queue "$tmp/issue/sample.yaml" --at 2030-01-01T09:00:00+07:00 | json 'd["id"]')
[ "$id" = 1 ] || fail "queue printed id '$id'"
rm -rf "$tmp/issue"
n=$(sqlite3 "$tmp/herald.db" "SELECT count(*) FROM issue_files WHERE issue_id = 1")
[ "$n" = 2 ] || fail "$n files stored with the issue, not 2"
st=$(ctl --json status 1 | json 'd["state"], d["send_at"], d["list"]')
[ "$st" = "queued 2030-01-01T02:00:00Z spotlight" ] || fail "status: $st"
ctl issues | grep -q "^1  *spotlight  *queued" || fail "issues: $(ctl issues)"
ctl --json issues | json 'len(d)' | grep -qx 1 || fail "issues --json"

ctl pause 1 | grep -q "is paused" || fail "pause"
[ "$(ctl --json status 1 | json 'd["state"]')" = paused ] || fail "not paused"
ctl resume 1 | grep -q "is queued" || fail "resume of an unstarted issue"
before=$(dump)
ctl retry 1 >/dev/null 2>&1
[ $? -eq 65 ] || fail "retry of a queued issue is not refused"
ctl status 99 >/dev/null 2>&1
[ $? -eq 65 ] || fail "status of no such issue is not 65"
ctl pause x >/dev/null 2>&1
[ $? -eq 64 ] || fail "pause x is not a usage error"
[ "$before" = "$(dump)" ] || fail "a refused command changed the database"
ctl cancel 1 | grep -q "is cancelled" || fail "cancel"
ctl resume 1 >/dev/null 2>"$tmp/err"
[ $? -eq 65 ] || fail "resume of a cancelled issue is not refused"
grep -q "cancelled" "$tmp/err" || fail "the refusal does not say why: $(cat "$tmp/err")"
for c in queue issues status pause resume cancel retry; do
	ctl "$c" --help >/dev/null || fail "$c --help"
done
[ $failed -eq 0 ] && echo PASS
exit $failed
