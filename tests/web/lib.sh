# Shared by tests/web/*.sh: heraldd with its web endpoints on a free
# loopback port, a capture SMTP server, and curl.
. "$top_srcdir/tests/daemon/lib.sh"

command -v curl >/dev/null || { echo "skip: curl is not installed"; exit 77; }
WEBTOOL="$top_srcdir/tests/web/webtool.py"

# free_port: a TCP port on 127.0.0.1 nobody listens on now.
free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_web [extra config]: SMTP server, configuration, heraldd; sets
# HP (the HTTP port) and B (the base URL) and waits for /healthz.
start_web() {
	start_server sink
	HP=$(free_port)
	B="http://127.0.0.1:$HP"
	BASE_URL=$B HTTP_LISTEN="127.0.0.1:$HP" write_conf "$PORT" "$1"
}

run_web() {
	start_heraldd
	i=0
	until [ "$(curl -s -o /dev/null -w '%{http_code}' "$B/healthz")" = 200 ]; do
		i=$((i + 1))
		if [ $i -ge 100 ] || ! kill -0 "$HPID" 2>/dev/null; then
			echo "heraldd did not answer /healthz:"
			cat "$T/heraldd.log"
			exit 99
		fi
		sleep 0.1
	done
}

# code METHOD URL [curl args]: the status code only.
code() {
	m=$1 u=$2
	shift 2
	curl -s -o /dev/null -w '%{http_code}' -X "$m" "$@" "$u"
}

# get URL [curl args]: the body into $T/body, headers into $T/head, the
# status code printed.
get() {
	u=$1
	shift
	curl -s -D "$T/head" -o "$T/body" -w '%{http_code}' "$@" "$u"
}

# wait_mail RCPT N SECONDS: until N messages to RCPT were captured.
wait_mail() {
	i=0
	while [ "$($PY "$WEBTOOL" count "$DIR/mail" "$1")" -lt "$2" ]; do
		i=$((i + 1))
		[ $i -ge $(($3 * 10)) ] && return 1
		sleep 0.1
	done
	return 0
}

# sub_state LIST EMAIL: the subscription's state.
sub_state() {
	sql "SELECT s.state FROM subscriptions s JOIN lists l ON l.id=s.list_id JOIN subscribers u ON u.id=s.subscriber_id WHERE l.name='$1' AND u.email='$2'"
}
