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
smtp = { url = "smtp://127.0.0.1:$1"; connections = ${CONNS:-2};
         messages_per_connection = ${PERCONN:-50};
         timeout = { connect = 5; response = ${RESPONSE:-10}; };
         rate = { per_second = ${PERSEC:-0}; per_minute = ${PERMIN:-0}; }; };
http = { base_url = "https://lists.r2p.example"; secret_file = "$T/secret"; };
delivery = { backoff_initial = ${BACKOFF:-1}; backoff_max = ${BACKOFF_MAX:-4};
             max_age = ${MAXAGE:-3600}; shutdown_grace = ${GRACE:-10};
             pause_after_policy_failures = ${POLICY:-3}; };
$2
CONF
}

ctl() { "$HERALDCTL_BIN" -c "$T/herald.conf" "$@"; }

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
	while [ "$(issue_state "$1")" != "$2" ]; do
		i=$((i + 1))
		[ $i -ge $(($3 * 10)) ] && return 1
		sleep 0.1
	done
	return 0
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
