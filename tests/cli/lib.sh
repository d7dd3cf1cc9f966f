# Shared set-up for the heraldctl tests: a temporary database removed on
# exit, and small assertions.  Source it; it sets $H, $T and HERALD_DB.
set -u
: "${HERALDCTL:?HERALDCTL is not set (run through make check)}"
PY=/usr/bin/python3
if [ ! -x "$PY" ]; then
	echo "skip: $PY is needed to check JSON output" >&2
	exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/herald-cli.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
trap 'exit 1' HUP INT TERM
HERALD_DB="$T/herald.db"
export HERALD_DB
# Never read a configuration installed on this machine.
unset HERALD_CONF 2>/dev/null || true
H="$HERALDCTL"
nfail=0

fail() {
	echo "FAIL: $*" >&2
	nfail=$((nfail + 1))
}

# run CODE CMD...: run CMD with output in $T/out and $T/err; check exit.
run() {
	want=$1
	shift
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$* exited $got, want $want; stderr: $(cat "$T/err")"
		return 1
	fi
	return 0
}

# out_has TEXT / err_has TEXT: the last run's stdout / stderr contains TEXT.
out_has() {
	grep -qF -- "$1" "$T/out" || fail "stdout lacks '$1': $(cat "$T/out")"
}
err_has() {
	grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1': $(cat "$T/err")"
}

# json_ok: the last run's stdout is one JSON document.
json_ok() {
	"$PY" -c 'import json,sys; json.load(sys.stdin)' <"$T/out" ||
	    fail "not JSON: $(cat "$T/out")"
}

# json_eq EXPR VALUE: python expression over document d equals VALUE.
json_eq() {
	got=$("$PY" -c 'import json,sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" <"$T/out") ||
	    { fail "bad JSON for $1: $(cat "$T/out")"; return; }
	[ "$got" = "$2" ] || fail "$1 is '$got', want '$2'"
}

# dump FILE: the whole database as SQL text, to compare before and after.
dump() {
	if command -v sqlite3 >/dev/null 2>&1; then
		sqlite3 "$HERALD_DB" .dump >"$1"
	else
		"$PY" -c 'import sqlite3,sys
for l in sqlite3.connect(sys.argv[1]).iterdump(): print(l)' \
		    "$HERALD_DB" >"$1"
	fi
}

# sql STATEMENT: run SQL on the test database (to forge issues).
sql() {
	"$PY" -c 'import sqlite3,sys
c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()' \
	    "$HERALD_DB" "$1"
}

finish() {
	if [ "$nfail" -ne 0 ]; then
		echo "$nfail check(s) failed" >&2
		exit 1
	fi
	exit 0
}
