#!/bin/sh
# Slow and greedy clients: connections beyond http.max_connections are
# not accepted until others close, idle or slow ones are closed after http.connection_timeout,
# and heraldd serves again once they are gone.
. "$top_srcdir/tests/web/lib.sh"

HTTP_EXTRA='max_connections = 4; connection_timeout = 2; threads = 1;' start_web
make_list 1 || fail "make_list"
run_web

$PY - 127.0.0.1 "$HP" <<'PY' || fail "connection limits"
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])

def conn():
    s = socket.create_connection((host, port), timeout=5)
    return s

def closed(s, within):
    """True when the server closes s (recv gives b'' or a reset)."""
    s.settimeout(within)
    try:
        return s.recv(4096) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False

# Four idle clients, each having sent half a request line: slowloris.
idle = []
for i in range(4):
    s = conn()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    idle.append(s)
time.sleep(0.3)
# The fifth is over the limit: it waits (not accepted) until the slow
# ones are cut off after connection_timeout (2 s), and only then served.
t0 = time.time()
extra = conn()
extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
extra.settimeout(10)
reply = extra.recv(4096)
waited = time.time() - t0
assert reply.startswith(b"HTTP/1.1 200"), reply[:40]
assert waited >= 1.2, "served after %.2f s: beyond max_connections" % waited
assert waited < 8, "served after %.2f s: slow clients held it" % waited
# The slow ones were closed by then.
for s in idle:
    assert closed(s, 3), "a slow client was not closed"
# A client that trickles its headers byte by byte is cut off too.
s = conn()
t0 = time.time()
cut = False
for ch in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
    try:
        s.sendall(bytes([ch]))
    except OSError:
        cut = True
        break
    time.sleep(0.5)
    if time.time() - t0 > 12:
        break
if not cut:
    cut = closed(s, 3)
assert cut, "a trickling client was never cut off"
PY
# And normal service resumes.
[ "$(code GET "$B/healthz")" = 200 ] || fail "/healthz not 200 after the slow clients"
kill -0 "$HPID" || fail "heraldd died"
finish
