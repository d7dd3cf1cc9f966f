#!/usr/bin/python3
"""smtpd.py: a real SMTP server (aiosmtpd) for herald's tests, with faults.

Every accepted message is stored in --maildir as NNNNNN.eml (the bytes as
received) and NNNNNN.json (envelope, connection number, receive time, and
mail_at: when its MAIL FROM came).
Counters go to --stats as JSON after every change.

Faults come from the command line and from --control FILE, a JSON object
re-read at each new connection (its keys override the flags), so a test
can change behaviour while the server runs:

  connect    "421 4.3.2 busy"      reply this at connect, then close
  mail       "421 4.3.2 bye"       reply this to MAIL FROM
  mail_reused true                 ... only on the 2nd and later MAIL of a connection
  rcpt       "550 5.1.1 unknown"   reply this to RCPT TO
  rcpt_match "^bad"                ... only for recipients matching this regex
  rcpt_times 2                     ... only for the first K attempts since
                                   the faults last changed (server-wide)
  dot        "554 5.7.1 policy"    reply this after the final dot
  dot_times  1                     ... only for the first K messages
  drop       "data" | "dot"        close without a reply at DATA, or after the dot
             "stored"              store the message, then close with no reply
  drop_times 1                     ... only for the first K drops
  delay      1.5                   seconds before each reply
  dot_delay  5                     seconds before the reply to the dot only
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

FAULT_KEYS = ("connect", "mail", "mail_reused", "rcpt", "rcpt_match",
              "rcpt_times", "dot", "dot_times", "drop", "drop_times", "delay",
              "dot_delay")


class State:
    def __init__(self, args):
        self.args = args
        self.connections = 0
        self.messages = 0
        self.rcpt_faults = 0
        self.dot_faults = 0
        self.drops = 0
        self.last = None
        self.base = {k: getattr(args, k) for k in FAULT_KEYS
                     if getattr(args, k) is not None}

    def faults(self):
        f = dict(self.base)
        path = self.args.control
        if path and os.path.exists(path):
            try:
                with open(path) as fp:
                    extra = json.load(fp)
            except (OSError, ValueError) as e:
                print(f"smtpd.py: {path}: {e}", file=sys.stderr)
                extra = {}
            for k, v in extra.items():
                if k not in FAULT_KEYS:
                    print(f"smtpd.py: {path}: unknown key {k!r}",
                          file=sys.stderr)
                    continue
                f[k] = v
        if f != self.last:
            # New faults: "the first K attempts" count from now.
            self.last = f
            self.rcpt_faults = 0
            self.dot_faults = 0
            self.drops = 0
        return f

    def save_stats(self):
        if not self.args.stats:
            return
        tmp = self.args.stats + ".tmp"
        with open(tmp, "w") as fp:
            json.dump({"connections": self.connections,
                       "messages": self.messages}, fp)
        os.replace(tmp, self.args.stats)


class Handler:
    def __init__(self, state):
        self.state = state

    async def _delay(self, server):
        d = server.faults.get("delay")
        if d:
            await asyncio.sleep(float(d))

    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        await self._delay(server)
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address,
                          mail_options):
        await self._delay(server)
        server.ntrans += 1
        f = server.faults
        if f.get("mail") and (not f.get("mail_reused") or server.ntrans > 1):
            return f["mail"]
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        envelope.mail_at = time.time()
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        await self._delay(server)
        f = server.faults
        if f.get("rcpt"):
            pat = f.get("rcpt_match")
            times = f.get("rcpt_times")
            if (pat is None or re.search(pat, address)) and \
                    (times is None or self.state.rcpt_faults < int(times)):
                self.state.rcpt_faults += 1
                return f["rcpt"]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        await self._delay(server)
        f = server.faults
        if f.get("dot_delay"):
            await asyncio.sleep(float(f["dot_delay"]))
        if f.get("drop") in ("dot", "stored") and \
                (f.get("drop_times") is None or
                 self.state.drops < int(f["drop_times"])):
            self.state.drops += 1
            if f["drop"] == "stored":
                self._store(server, session, envelope)
            server.transport.close()
            return "250 never seen"
        if f.get("dot"):
            times = f.get("dot_times")
            if times is None or self.state.dot_faults < int(times):
                self.state.dot_faults += 1
                return f["dot"]
        n = self._store(server, session, envelope)
        return f"250 2.0.0 OK queued as {n:06d}"

    def _store(self, server, session, envelope):
        st = self.state
        st.messages += 1
        n = st.messages
        base = os.path.join(st.args.maildir, f"{n:06d}")
        with open(base + ".eml.tmp", "wb") as fp:
            fp.write(envelope.original_content)
        os.replace(base + ".eml.tmp", base + ".eml")
        meta = {"mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "connection": server.conn_no,
                "received": time.time(),
                "mail_at": getattr(envelope, "mail_at", None),
                "tls": server.transport.get_extra_info("ssl_object")
                is not None,
                "authenticated": bool(session.authenticated)}
        with open(base + ".json.tmp", "w") as fp:
            json.dump(meta, fp)
        os.replace(base + ".json.tmp", base + ".json")
        st.save_stats()
        return n


class FaultSMTP(SMTP):
    def __init__(self, state, handler, **kw):
        self.state = state
        self.faults = {}
        self.ntrans = 0
        self.conn_no = 0
        self._counted = False
        super().__init__(handler, **kw)

    def connection_made(self, transport):
        if not self._counted:
            self._counted = True
            self.state.connections += 1
            self.conn_no = self.state.connections
            self.faults = self.state.faults()
            self.state.save_stats()
        super().connection_made(transport)

    async def _handle_client(self):
        f = self.faults
        if f.get("delay"):
            await asyncio.sleep(float(f["delay"]))
        if f.get("connect"):
            await self.push(f["connect"])
            self.transport.close()
            return
        await super()._handle_client()

    async def smtp_DATA(self, arg):
        if self.faults.get("drop") == "data" and self.envelope.rcpt_tos:
            self.transport.close()
            return
        await super().smtp_DATA(arg)


def make_cert(certdir, name):
    if shutil.which("openssl") is None:
        sys.exit("smtpd.py: openssl not found, cannot make a certificate")
    san = ("subjectAltName=DNS:localhost,IP:127.0.0.1" if name == "localhost"
           else "subjectAltName=DNS:" + name)
    cert = os.path.join(certdir, "cert.pem")
    key = os.path.join(certdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=" + name, "-addext", san],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--pidfile")
    ap.add_argument("--stats")
    ap.add_argument("--control")
    ap.add_argument("--tls", choices=("none", "starttls", "implicit"),
                    default="none")
    ap.add_argument("--certdir", help="where cert.pem (the CA) is written")
    ap.add_argument("--cert-name", default="localhost",
                    help="the certificate's name (localhost: also 127.0.0.1)")
    ap.add_argument("--auth", metavar="USER:PASS",
                    help="require AUTH PLAIN/LOGIN with these credentials")
    for k in FAULT_KEYS:
        if k in ("rcpt_times", "dot_times", "drop_times"):
            ap.add_argument("--" + k.replace("_", "-"), dest=k, type=int)
        elif k in ("delay", "dot_delay"):
            ap.add_argument("--" + k.replace("_", "-"), dest=k, type=float)
        elif k == "mail_reused":
            ap.add_argument("--mail-reused", dest=k, action="store_const",
                            const=True)
        else:
            ap.add_argument("--" + k.replace("_", "-"), dest=k)
    args = ap.parse_args()

    os.makedirs(args.maildir, exist_ok=True)
    state = State(args)
    tls = None
    if args.tls != "none":
        certdir = args.certdir or tempfile.mkdtemp(prefix="smtpd-cert.")
        os.makedirs(certdir, exist_ok=True)
        tls = make_cert(certdir, args.cert_name)

    kw = {"hostname": "smtpd.test", "data_size_limit": 64 * 1024 * 1024,
          "timeout": 60}
    if args.tls == "starttls":
        kw["tls_context"] = tls
    if args.auth:
        user, _, password = args.auth.partition(":")

        def authenticator(server, session, envelope, mechanism, data):
            ok = (isinstance(data, LoginPassword) and
                  data.login == user.encode() and
                  data.password == password.encode())
            return AuthResult(success=ok, handled=False)
        kw.update(authenticator=authenticator, auth_required=True,
                  auth_require_tls=False)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = Handler(state)
    server = loop.run_until_complete(loop.create_server(
        lambda: FaultSMTP(state, handler, loop=loop, **kw),
        host=args.host, port=args.port, reuse_address=True,
        ssl=tls if args.tls == "implicit" else None))
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    state.save_stats()
    if args.pidfile:
        with open(args.pidfile + ".tmp", "w") as fp:
            fp.write(f"{os.getpid()}\n")
        os.replace(args.pidfile + ".tmp", args.pidfile)
    try:
        loop.run_forever()
    finally:
        server.close()
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass


if __name__ == "__main__":
    main()
