# Shared by tests/daemon/*.sh: a test SMTP server (tests/smtpd.py), a
# configuration, a database with a list, and heraldd itself, all under a
# temporary folder and stopped by PID from the trap.
. "$top_srcdir/tests/smtp/lib.sh"

HERALDCTL_BIN="$top_builddir/heraldctl"
HERALDD_BIN="$top_builddir/heraldd"
SAMPLE="$top_srcdir/templates/spotlight/sample.yaml"
unset HERALD_DB HERALD_TEMPLATES

# write_conf PORT [extra libconfig text]: $T/herald.conf and its secret.
write_conf() {
	(umask 077; printf 'a test secret that signs links\n' > "$T/secret")
	cat > "$T/herald.conf" <<CONF
database = "$T/herald.db";
templates = "$top_srcdir/templates";
log_level = "info";
sender = { from_address = "bulletin@r2p.example"; from_name = "Spotlight on R2P";
           postal_address = "Friends of R2P, Phnom Penh"; };
smtp = { url = "smtp://${SMTP_HOST:-127.0.0.1}:$1"; connections = ${CONNS:-2};
         messages_per_connection = ${PERCONN:-50};
         timeout = { connect = 5; response = ${RESPONSE:-10}; };
         rate = { per_second = ${PERSEC:-0}; per_minute = ${PERMIN:-0}; };
         ${SMTP_EXTRA:-} };
http = { base_url = "${BASE_URL:-https://lists.r2p.example}"; secret_file = "$T/secret";
         listen = "${HTTP_LISTEN:-none}"; ${HTTP_EXTRA:-} };
delivery = { backoff_initial = ${BACKOFF:-1}; backoff_max = ${BACKOFF_MAX:-4};
             max_age = ${MAXAGE:-3600}; shutdown_grace = ${GRACE:-10};
             pause_after_policy_failures = ${POLICY:-3}; ${DELIVERY_EXTRA:-} };
$2
CONF
}

ctl() { "$HERALDCTL_BIN" -c "${CTLCONF:-$T/herald.conf}" "$@"; }

# make_list N: the spotlight list with N subscribers (every third km).
make_list() {
	ctl list create spotlight --title "Spotlight on R2P" >/dev/null || return 1
	$PY - "$T/subs.csv" "$1" <<'PY'
import csv, sys
with open(sys.argv[1], "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["email", "name", "lang", "city"])
    for i in range(int(sys.argv[2])):
        km = i % 3 == 0
        w.writerow([f"r{i}@example.org", (f"សុខ {i}" if km else f"Reader {i}"),
                    "km" if km else "en", f"City {i % 7}"])
PY
	ctl import spotlight "$T/subs.csv" >/dev/null
}

# start_heraldd: runs heraldd in the background, its log in $T/heraldd.log.
start_heraldd() {
	"$HERALDD_BIN" -c "$T/herald.conf" >>"$T/heraldd.log" 2>&1 &
	HPID=$!
	PIDS="$PIDS $HPID"
}

stop_heraldd() {	# sends TERM, waits; returns heraldd's exit code
	kill -TERM "$HPID" 2>/dev/null
	wait "$HPID"
}

# issue_state ID: its state; wait_state ID STATE SECONDS.
issue_state() { ctl --json status "$1" | $PY -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
issue_count() { ctl --json status "$1" | $PY -c "import json,sys; print(json.load(sys.stdin)['deliveries']['$2'])"; }
wait_state() {
	i=0
	while :; do
		[ "$(issue_state "$1")" = "$2" ] && return 0
		i=$((i + 1))
		[ $i -ge $(($3 * 10)) ] && return 1
		sleep 0.1
	done
}

fail() { echo "FAIL: $*"; FAILS=1; }
finish() {
	if [ $FAILS -ne 0 ]; then
		echo "--- heraldd.log (tail)"; tail -n 30 "$T/heraldd.log" 2>/dev/null
	else
		echo PASS
	fi
	exit $FAILS
}

# --- helpers for the daemon's fault tests ---

# tiny_issue FILE: a short issue for the spotlight list (small messages).
tiny_issue() {
	cat > "$1" <<'YAML'
list: spotlight
template: spotlight
subject: "Spotlight test"
title: Spotlight
headline: A short test
intro: "Hello."
YAML
}

# queue_issue FILE [heraldctl queue flags]: prints the new issue's id.
queue_issue() {
	f=$1
	shift
	ctl --json queue "$f" "$@" |
	    $PY -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}

# sql QUERY: one query on the database, rows printed with | between.
sql() {
	$PY - "$T/herald.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
for row in db.execute(sys.argv[2]).fetchall():
    print("|".join("" if v is None else str(v) for v in row))
db.commit()
PY
}

# wait_count ID STATE N SECONDS: until at least N deliveries are in STATE.
wait_count() {
	i=0
	while [ "$(issue_count "$1" "$2")" -lt "$3" ]; do
		i=$((i + 1))
		[ $i -ge $(($4 * 10)) ] && return 1
		sleep 0.1
	done
	return 0
}

# wait_log PATTERN SECONDS: until heraldd's log has a line matching it.
wait_log() {
	i=0
	while ! grep -q -- "$1" "$T/heraldd.log" 2>/dev/null; do
		i=$((i + 1))
		[ $i -ge $(($2 * 10)) ] && return 1
		sleep 0.1
	done
	return 0
}

# mail_count DIR: messages captured in DIR/mail.
mail_count() { ls "$1/mail" 2>/dev/null | grep -c '\.eml$'; }

# per_rcpt [-i ID] DIR...: "COUNT EMAIL" for every recipient captured in
# those servers' mail folders (of issue ID only, by its Message-ID).
per_rcpt() {
	issue=
	[ "$1" = -i ] && { issue=$2; shift 2; }
	$PY - "$issue" "$@" <<'PY'
import glob, json, re, sys
seen = {}
for d in sys.argv[2:]:
    for f in glob.glob(d + "/mail/*.json"):
        if sys.argv[1]:
            head = open(f[:-5] + ".eml", "rb").read().split(b"\r\n\r\n")[0]
            m = re.search(rb"(?im)^Message-ID:\s*<herald\.(\d+)\.", head)
            if not m or m.group(1).decode() != sys.argv[1]:
                continue
        for r in json.load(open(f))["rcpt_tos"]:
            seen[r] = seen.get(r, 0) + 1
for r in sorted(seen):
    print(seen[r], r)
PY
}

# restart_server NAME PORT [flags]: a server again on the same port (after
# the last one was killed), same folders.
restart_server() {
	name=$1 port=$2
	shift 2
	DIR="$T/$name"
	rm -f "$DIR/pid"
	i=0
	while :; do
		$PY "$SMTPD" --port "$port" --maildir "$DIR/mail" \
		    --pidfile "$DIR/pid" --stats "$DIR/stats" \
		    --control "$DIR/control" --certdir "$DIR" "$@" \
		    2>>"$DIR/log" &
		spid=$!
		PIDS="$PIDS $spid"
		j=0
		while [ ! -s "$DIR/pid" ] && kill -0 "$spid" 2>/dev/null &&
		    [ $j -lt 50 ]; do
			sleep 0.1
			j=$((j + 1))
		done
		[ -s "$DIR/pid" ] && { PORT=$port; return 0; }
		i=$((i + 1))
		[ $i -ge 20 ] && { echo "cannot restart smtpd.py on $port"; exit 99; }
		sleep 0.2
	done
}

# stop_server: kill the last server (by its PID) and wait for it.
stop_server() {
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
}

# issue_field ID KEY: one field of heraldctl --json status.
issue_field() {
	ctl --json status "$1" | $PY -c "import json,sys; v = json.load(sys.stdin)['$2']; print('' if v is None else v)"
}
