# Python's email package as an independent reader of what mime.c writes.
import email
import email.policy
import json
import os
import re
import subprocess
import sys
import tempfile

top_builddir = os.environ.get("top_builddir", ".")
sample = os.path.join(top_builddir, "tests", "unit", "mime_sample")
if not os.access(sample, os.X_OK):
    print("mime-oracle: %s not built" % sample)
    sys.exit(77)

failures = []


def check(cond, name, what):
    if not cond:
        failures.append("%s: %s" % (name, what))


def nl(s):
    return s.replace("\r\n", "\n") if s is not None else None


def header_defects(part):
    found = []
    for k, v in part.items():
        for d in getattr(v, "defects", ()):
            found.append("%s: %r" % (k, d))
    return found


with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sample, tmp], check=True)
    names = sorted(f[:-4] for f in os.listdir(tmp) if f.endswith(".eml"))
    check(len(names) >= 8, "samples", "only %d written" % len(names))
    for name in names:
        with open(os.path.join(tmp, name + ".eml"), "rb") as f:
            data = f.read()
        with open(os.path.join(tmp, name + ".json"), encoding="utf-8") as f:
            want = json.load(f)

        # Canonical CRLF, nothing over 998 octets, 8-bit clean headers.
        check(b"\r" not in data.replace(b"\r\n", b""), name, "bare CR")
        check(b"\n" not in data.replace(b"\r\n", b""), name, "bare LF")
        check(data.endswith(b"\r\n"), name, "no final CRLF")
        lines = data.split(b"\r\n")
        check(max(len(l) for l in lines) <= 998, name, "line over 998")
        head = data.split(b"\r\n\r\n", 1)[0]
        check(all(b < 128 for b in head), name, "8-bit header")
        for l in data.split(b"\r\n"):
            check(len(l) <= 78 or b"https://" in l or not l.startswith(b" ")
                  and b"=?" not in l, name, "long header line %r" % l[:40])
        for ew in re.findall(rb"=\?[^?]*\?[BbQq]\?[^?]*\?=", head):
            check(len(ew) <= 75, name, "encoded word of %d" % len(ew))

        msg = email.message_from_bytes(data, policy=email.policy.default)
        for part in msg.walk():
            check(not part.defects, name, "defects %r" % part.defects)
            hd = header_defects(part)
            check(not hd, name, "header defects %s" % hd)
        check(msg["subject"] == want["subject"], name,
              "subject %r != %r" % (msg["subject"], want["subject"]))
        fr = msg["from"].addresses[0]
        check(fr.display_name == (want["from_name"] or ""), name,
              "from name %r" % fr.display_name)
        to = msg["to"].addresses[0]
        check(to.display_name == (want["to_name"] or ""), name,
              "to name %r" % to.display_name)
        if want["list_title"]:
            check(str(msg["list-id"]).startswith(want["list_title"] + " <"),
                  name, "List-Id %r" % str(msg["list-id"]))
        for h in ("date", "message-id", "list-unsubscribe",
                  "list-unsubscribe-post", "mime-version", "list-id"):
            check(len(msg.get_all(h) or []) == 1, name, "one %s" % h)
        check(msg["list-unsubscribe-post"] == "List-Unsubscribe=One-Click",
              name, "List-Unsubscribe-Post")

        text = msg.get_body(preferencelist=("plain",))
        got = nl(text.get_content()) if text is not None else None
        if want["html"] is None and not want["text"].endswith("\n"):
            # A single-part message ends with a line break: one is added.
            got = got[:-1] if got and got.endswith("\n") else got
        check(got == want["text"],
              name, "text body %r" % (text and text.get_content()[:80]))
        if want["html"] is not None:
            html = msg.get_body(preferencelist=("html",))
            check(html is not None and nl(html.get_content()) == want["html"],
                  name, "html body")
            alt = [p for p in msg.walk()
                   if p.get_content_type() == "multipart/alternative"]
            check(len(alt) == 1 and
                  [p.get_content_type() for p in alt[0].iter_parts()] ==
                  ["text/plain", "text/html"], name, "alternative order")
        if want["cid"] is not None:
            imgs = [p for p in msg.walk() if p["content-id"] ==
                    "<%s>" % want["cid"]]
            check(len(imgs) == 1 and
                  imgs[0].get_content().startswith(b"\x89PNG"),
                  name, "inline image")
        atts = list(msg.iter_attachments()) if msg.is_multipart() else []
        got = [a.get_filename() for a in atts
               if a.get_content_disposition() == "attachment"]
        if want["attachment"] is not None:
            check(got == [want["attachment"]], name, "attachment %r" % got)
            check(msg.get_content_type() == "multipart/mixed", name,
                  "not multipart/mixed")
        else:
            check(got == [], name, "unexpected attachment %r" % got)

if failures:
    for f in failures:
        print("FAIL", f)
    sys.exit(1)
print("mime-oracle: %d messages read back by Python's email package" %
      len(names))
