# Shared by tests/smtp/*.sh: start tests/smtpd.py servers on loopback, run
# the smtp_send driver, check its result lines.  Servers are stopped by PID
# from the trap.

PY=/usr/bin/python3
if ! $PY -c 'import aiosmtpd' 2>/dev/null; then
	echo "skip: python3-aiosmtpd is not installed"
	exit 77
fi
: "${top_srcdir:=.}" "${top_builddir:=.}"
SEND="$top_builddir/tests/unit/smtp_send"
SMTPD="$top_srcdir/tests/smtpd.py"
if [ ! -x "$SEND" ]; then
	echo "$SEND not built"
	exit 99
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/herald-smtp.XXXXXX")
PIDS=
FAILS=0
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
PORT_NEXT=$((20000 + $$ % 10000))

# start_server NAME [smtpd.py flags]: sets PORT and DIR (the server's files).
start_server() {
	name=$1
	shift
	DIR="$T/$name"
	mkdir -p "$DIR"
	tries=0
	while :; do
		PORT=$PORT_NEXT
		PORT_NEXT=$((PORT_NEXT + 1))
		[ $PORT_NEXT -ge 30000 ] && PORT_NEXT=20000
		$PY "$SMTPD" --port "$PORT" --maildir "$DIR/mail" \
		    --pidfile "$DIR/pid" --stats "$DIR/stats" \
		    --control "$DIR/control" --certdir "$DIR" "$@" \
		    2>"$DIR/log" &
		spid=$!
		PIDS="$PIDS $spid"
		i=0
		while [ ! -s "$DIR/pid" ] && kill -0 "$spid" 2>/dev/null &&
		    [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		[ -s "$DIR/pid" ] && return 0
		tries=$((tries + 1))
		if [ $tries -ge 5 ]; then
			echo "cannot start smtpd.py:"
			cat "$DIR/log"
			exit 99
		fi
	done
}

# control JSON: faults for the next connections of the last server.
control() {
	printf '%s\n' "$1" > "$DIR/control"
}

# stat KEY: a counter of the last server.
stat() {
	$PY -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" \
	    "$DIR/stats" "$1"
}

fail() {
	echo "FAIL: $*"
	FAILS=$((FAILS + 1))
}

# send OUT [smtp_send args]: run the driver, result lines in $T/OUT,
# sorted by message id (results come in completion order).
send() {
	out=$1
	shift
	"$SEND" "$@" >"$T/$out.raw" 2>"$T/$out.err"
	rc=$?
	sort -n -s -k1,1 "$T/$out.raw" >"$T/$out"
	return $rc
}

# expect OUT LINE OUTCOME CODE CURLCODE [field=value ...]: check line LINE
# (1-based) of a driver output.
expect() {
	out=$1 line=$2 outcome=$3 code=$4 cc=$5
	shift 5
	row=$(sed -n "${line}p" "$T/$out")
	set -- "$outcome" "$code" "$cc" "$@"
	got=$(printf '%s\n' "$row" | awk '{print $2, $3, $4}')
	if [ "$got" != "$1 $2 $3" ]; then
		fail "$out line $line: want '$1 $2 $3', got '$row'"
		return
	fi
	shift 3
	for kv in "$@"; do
		case " $row " in
		*" $kv "*) ;;
		*) fail "$out line $line: want $kv in '$row'" ;;
		esac
	done
	echo "ok: $out: $row"
}

finish() {
	if [ $FAILS -ne 0 ]; then
		echo "$FAILS failure(s)"
		exit 1
	fi
	exit 0
}
