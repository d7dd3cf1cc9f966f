"""Helpers of the web tests: links in captured mail, tokens, feeds.

  webtool.py link MAILDIR RCPT PREFIX   the first URL starting with PREFIX
                                        in the newest message to RCPT
  webtool.py count MAILDIR RCPT         messages captured for RCPT
  webtool.py forge SECRET PURPOSE SUB LIST ISSUED
                                        a token made here, independently
                                        of herald (DESIGN.md layout)
  webtool.py decode SECRET TOKEN        check a token's MAC, print fields
  webtool.py feed FILE N BASE           parse an Atom feed with feedparser
"""
import base64, email, email.policy, glob, hashlib, hmac, json, os, re
import struct, sys


def messages(maildir, rcpt):
    out = []
    for f in sorted(glob.glob(os.path.join(maildir, "*.eml"))):
        env = json.load(open(f[:-4] + ".json"))
        if rcpt in env["rcpt_tos"]:
            out.append(f)
    return out


def link(maildir, rcpt, prefix):
    files = messages(maildir, rcpt)
    if not files:
        sys.exit("no message to %s" % rcpt)
    m = email.message_from_bytes(open(files[-1], "rb").read(),
                                 policy=email.policy.default)
    defects = list(m.defects) + [d for p in m.walk() for d in p.defects]
    if defects:
        sys.exit("defects in %s: %s" % (files[-1], defects))
    hay = str(m.get("List-Unsubscribe", "")) + "\n"
    for part in m.walk():
        if part.get_content_maintype() == "text":
            hay += part.get_content() + "\n"
    for u in re.findall(r"https?://[^\s<>\"')\]]+", hay):
        if u.startswith(prefix):
            print(u)
            return
    sys.exit("no link starting with %s in %s" % (prefix, files[-1]))


def key(path):
    return open(path, "rb").read().rstrip(b"\r\n")


def forge(secret, purpose, sub, lst, issued):
    body = struct.pack(">BBQI", 1, int(purpose), int(sub), int(lst))
    body += int(issued).to_bytes(6, "big")
    mac = hmac.new(key(secret), body, hashlib.sha256).digest()[:16]
    print(base64.urlsafe_b64encode(body + mac).decode().rstrip("="))


def decode(secret, token):
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    body, mac = raw[:20], raw[20:]
    good = hmac.new(key(secret), body, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(mac, good):
        sys.exit("bad MAC")
    v, purpose, sub, lst = struct.unpack(">BBQI", body[:14])
    print(v, purpose, sub, lst, int.from_bytes(body[14:20], "big"))


def feed(path, n, base):
    try:
        import feedparser
    except ImportError:
        print("skip: python3-feedparser is not installed")
        sys.exit(77)
    d = feedparser.parse(open(path, "rb").read())
    assert d.bozo == 0, d.get("bozo_exception")
    assert d.version == "atom10", d.version
    assert len(d.entries) == int(n), len(d.entries)
    assert d.feed.link.startswith(base), d.feed.link
    for e in d.entries:
        assert e.link.startswith(base + "/a/"), e.link
        assert e.title, e
        assert e.updated_parsed, e
        assert "/u/" not in e.content[0].value, "a personal link in the feed"
    print(" ".join(e.link for e in d.entries))


cmd, args = sys.argv[1], sys.argv[2:]
{"link": link, "count": lambda d, r: print(len(messages(d, r))),
 "forge": forge, "decode": decode, "feed": feed}[cmd](*args)
