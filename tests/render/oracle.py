#!/usr/bin/python3
"""An independent parser as the oracle: Python's email package reads every
rendered sample of the spotlight issue with no defects, and what it
decodes (subject, From and To names, both bodies) equals what went in."""
import email
import email.policy
import os
import re
import subprocess
import sys
import tempfile

import yaml

top_srcdir = os.environ["top_srcdir"]
heraldctl = os.environ["HERALDCTL"]
env = dict(os.environ, HERALD_TEMPLATES=os.path.join(top_srcdir, "templates"))
env.pop("HERALD_DB", None)
sample = os.path.join(top_srcdir, "templates", "spotlight", "sample.yaml")
yaml.SafeLoader.add_constructor("!md", lambda l, n: l.construct_scalar(n))
with open(sample, encoding="utf-8") as f:
    issue = yaml.safe_load(f)

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def walk_defects(msg):
    out = list(msg.defects)
    for part in msg.walk():
        out += part.defects
        for k, v in part.items():
            out += getattr(v, "defects", ())
    return out


cases = [
    ("sokha.chan@example.org", "Chan Sokha", "en"),
    ("dara.heng@example.org", "ហេង ដារ៉ា", "km"),
    ("li.wei@example.com", 'Li "Vivian" Wei', "en"),
    ("nobody@example.net", None, None),
    ("theary.mao@example.org", "ម៉ៅ ធារី", "km-KH"),
    ("anna.muller@bücher.example", "Anna Müller", "en"),
]
with tempfile.TemporaryDirectory() as tmp:
    for to, name, lang in cases:
        label = f"{to} ({lang})"
        args = [heraldctl, "render", sample, "--to", to,
                "-o", f"{tmp}/m.eml", "--html", f"{tmp}/b.html",
                "--text", f"{tmp}/b.txt"]
        if name:
            args += ["--name", name]
        if lang:
            args += ["--lang", lang]
        r = subprocess.run(args, env=env, capture_output=True)
        check(r.returncode == 0, f"{label}: render failed: {r.stderr!r}")
        if r.returncode != 0:
            continue
        raw = open(f"{tmp}/m.eml", "rb").read()
        check(b"\n" not in raw.replace(b"\r\n", b""), f"{label}: bare LF")
        check(b"\r" not in raw.replace(b"\r\n", b""), f"{label}: bare CR")
        check(max(len(l) for l in raw.split(b"\r\n")) <= 998,
              f"{label}: a line over 998 octets")
        for w in re.findall(rb"=\?[^?]+\?[BQbq]\?[^?]*\?=", raw):
            check(len(w) <= 75, f"{label}: encoded word of {len(w)}")
        m = email.message_from_bytes(raw, policy=email.policy.default)
        check(not walk_defects(m), f"{label}: defects {walk_defects(m)}")

        variant = issue
        if lang and lang.startswith("km"):
            variant = dict(issue, **issue["languages"]["km"])
        elif "languages" in issue and "en" in issue["languages"]:
            variant = dict(issue, **issue["languages"]["en"])
        check(str(m["Subject"]) == variant["subject"],
              f"{label}: subject {m['Subject']!r} != {variant['subject']!r}")
        # An internationalized domain goes out in ASCII (A-labels).
        local, domain = to.split("@")
        want = local + "@" + domain.encode("idna").decode("ascii")
        check(m["To"].addresses[0].addr_spec == want,
              f"{label}: To address {m['To'].addresses[0].addr_spec}")
        check(m["To"].addresses[0].display_name == (name or ""),
              f"{label}: To name {m['To'].addresses[0].display_name!r}")
        check(m["From"].addresses[0].addr_spec == "bulletin@example.org",
              f"{label}: From {m['From']}")
        for h in ("Date", "Message-ID", "MIME-Version", "List-Id",
                  "List-Unsubscribe", "List-Unsubscribe-Post", "Subject",
                  "From", "To"):
            check(len(m.get_all(h) or []) == 1, f"{label}: {h} not once")
        check(re.search(r"[+-]\d{4}$", str(m["Date"])) is not None,
              f"{label}: Date without a numeric zone")
        lu = str(m["List-Unsubscribe"])
        check(re.search(r"<https://lists\.example\.org/u/[A-Za-z0-9_-]+>", lu)
              and "<mailto:" in lu, f"{label}: List-Unsubscribe {lu}")
        check(str(m["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click",
              f"{label}: List-Unsubscribe-Post")

        alt = [p for p in m.walk() if p.get_content_type() == "multipart/alternative"]
        check(len(alt) == 1, f"{label}: one multipart/alternative")
        if alt:
            kinds = [p.get_content_type() for p in alt[0].iter_parts()]
            check(kinds == ["text/plain", "text/html"], f"{label}: parts {kinds}")
        text = m.get_body(("plain",)).get_content().replace("\r\n", "\n")
        html = m.get_body(("html",)).get_content().replace("\r\n", "\n")
        check(text == open(f"{tmp}/b.txt", encoding="utf-8").read(),
              f"{label}: text body differs from --text")
        check(html == open(f"{tmp}/b.html", encoding="utf-8").read(),
              f"{label}: HTML body differs from --html")
        greet = name if name else None
        if greet:
            check(greet in text and greet.replace('"', "&quot;") in html,
                  f"{label}: the name is not in the greeting")
        # Every cid: in the HTML has its inline part.
        cids = {str(p["Content-ID"]).strip("<>") for p in m.walk()
                if p["Content-ID"]}
        for cid in re.findall(r'src="cid:([^"]+)"', html):
            check(cid in cids, f"{label}: no part for cid:{cid}")
        check(len(cids) >= 1, f"{label}: no inline image")

for f in failures:
    print("FAIL:", f)
print(f"{len(cases)} messages checked, {len(failures)} failures")
sys.exit(1 if failures else 0)
