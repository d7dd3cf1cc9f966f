#!/usr/bin/python3
"""The archive's Atom feed, pages and images, through tests/unit/archive_dump
(no HTTP server): issues queued with heraldctl and marked sent in the
database; the feed must be well-formed XML (xml.etree), parse in
feedparser without bozo, and hold the sent issues of the list only,
newest first, with their titles, links, summaries and escaped content."""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

try:
    import feedparser
except ImportError:
    print("skip: python3-feedparser is not installed "
          "(apt-get install python3-feedparser)", file=sys.stderr)
    sys.exit(77)

top = os.path.abspath(os.environ.get("top_srcdir", "."))
build = os.path.abspath(os.environ.get("top_builddir", "."))
ctl = os.environ.get("HERALDCTL", os.path.join(build, "heraldctl"))
dump = os.path.join(build, "tests/unit/archive_dump")
templates = os.path.join(top, "templates")
sample = os.path.join(templates, "spotlight/sample.yaml")
BASE = "https://lists.r2p.example"
ATOM = "{http://www.w3.org/2005/Atom}"

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


tmp = tempfile.mkdtemp(prefix="herald-archive.")
try:
    db = os.path.join(tmp, "herald.db")
    secret = os.path.join(tmp, "secret")
    with open(secret, "w") as f:
        f.write("test secret\n")
    os.chmod(secret, 0o600)
    conf = os.path.join(tmp, "herald.conf")
    with open(conf, "w") as f:
        f.write('database = "%s";\ntemplates = "%s";\n'
                'sender = { from_address = "bulletin@r2p.example"; };\n'
                'http = { base_url = "%s"; secret_file = "%s"; };\n'
                % (db, templates, BASE, secret))
    env = dict(os.environ, TZ="UTC")
    env.pop("HERALD_DB", None)
    env.pop("HERALD_TEMPLATES", None)

    def ctl_run(*args):
        r = subprocess.run([ctl, "-c", conf] + list(args), env=env,
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("heraldctl %s: %s" % (" ".join(args), r.stderr))
        return r.stdout

    def run_dump(*args, binary=False):
        return subprocess.run([dump, "-t", templates, "-b", BASE, db]
                              + list(args), env=env, capture_output=True)

    ctl_run("list", "create", "spotlight", "--title", "Spotlight on R2P")
    ctl_run("list", "create", "other", "--title", "Other")
    # An issue whose subject and preheader need escaping in XML.
    tricky = os.path.join(tmp, "tricky.yaml")
    with open(tricky, "w") as f:
        f.write('subject: "Tom & Jerry <b>said</b> \\"hi\\""\n'
                'preheader: "A < B && C > D"\n'
                'title: Tricky\nheadline: "x & y"\n'
                'intro: !md "Some *markdown* & <text>."\n')
    ids = {}
    for name, path, lst in (("a", sample, "spotlight"),
                            ("b", tricky, "spotlight"),
                            ("queued", sample, "spotlight"),
                            ("other", sample, "other")):
        out = ctl_run("queue", path, "--list", lst, "--at", "now")
        ids[name] = int(out.split()[2])
    con = sqlite3.connect(db)
    # a finished before b: b is the newer one.
    for name, fin in (("a", 1780000000), ("b", 1790000000),
                      ("other", 1795000000)):
        con.execute("UPDATE issues SET state='sent', started=?, "
                    "finished=? WHERE id=?", (fin - 60, fin, ids[name]))
    con.commit()
    con.close()

    r = run_dump("feed", "spotlight")
    check(r.returncode == 0, "feed exits 0: %r" % r.stderr)
    raw = r.stdout
    root = ET.fromstring(raw)        # well-formed, or this raises
    check(root.tag == ATOM + "feed", "root is an Atom feed")
    check(root.find(ATOM + "id").text == BASE + "/a/spotlight/",
          "feed id")
    check(root.find(ATOM + "updated").text == "2026-09-21T14:13:20Z",
          "feed updated is the newest issue's")
    check(root.find(ATOM + "author/" + ATOM + "name") is not None,
          "feed author")

    d = feedparser.parse(raw)
    check(d.bozo == 0, "feedparser bozo: %r" % d.get("bozo_exception"))
    check(d.version == "atom10", "version is %r" % d.version)
    check(d.feed.title == "Spotlight on R2P", "feed title")
    rels = {l.rel: l.href for l in d.feed.links}
    check(rels.get("self") == BASE + "/a/spotlight/feed.atom",
          "self link %r" % rels)
    check(rels.get("alternate") == BASE + "/a/spotlight/",
          "alternate link %r" % rels)
    check(len(d.entries) == 2, "2 entries, not %d" % len(d.entries))
    if len(d.entries) == 2:
        b, a = d.entries
        check(b.title == 'Tom & Jerry <b>said</b> "hi"',
              "escaped title survives: %r" % b.title)
        check(b.summary == "A < B && C > D", "summary %r" % b.summary)
        check(b.link == "%s/a/spotlight/%d" % (BASE, ids["b"]),
              "entry link %r" % b.link)
        check(b.id == b.link, "entry id is the view-online URL")
        check(b.updated == "2026-09-21T14:13:20Z", "entry updated")
        check(b.published == "2026-09-21T14:13:20Z", "entry published")
        check(a.title.startswith("Spotlight on R2P: Capacity Building"),
              "sample title %r" % a.title)
        check(a.updated == "2026-05-28T20:26:40Z", "older entry updated %r"
              % a.updated)
        check(a.summary.startswith("About 50 participants"),
              "sample summary")
        content = a.content[0]
        check(content.type == "text/html", "content type")
        check("%s/a/spotlight/%d/img0.png" % (BASE, ids["a"])
              in content.value, "images at the archive URL")
        check("cid:" not in content.value, "no cid: in content")
        check("/u/" not in content.value, "no unsubscribe link")
        check("Dear friend," in content.value, "neutral greeting")
        check("Some <em>markdown</em> &amp; " in
              b.content[0].value, "markdown content %r" %
              b.content[0].value[:300])
    # The raw XML: every entry in the element tree, content escaped.
    entries = root.findall(ATOM + "entry")
    check([e.find(ATOM + "id").text for e in entries] ==
          ["%s/a/spotlight/%d" % (BASE, ids[k]) for k in ("b", "a")],
          "entries newest first, the queued and other list's left out")
    check(all(e.find(ATOM + "content").get("type") == "html"
              for e in entries), "content type=html")

    r = run_dump("feed", "spotlight", "1")
    check(len(feedparser.parse(r.stdout).entries) == 1, "max 1 entry")
    r = run_dump("feed", "other")
    d = feedparser.parse(r.stdout)
    check(d.bozo == 0 and len(d.entries) == 1 and
          d.entries[0].link.endswith("/a/other/%d" % ids["other"]),
          "the other list's feed")
    r = run_dump("feed", "nosuch")
    check(r.returncode == 3, "feed of no list is not found")

    # One page, the image, and the refusals.
    r = run_dump("page", "spotlight", str(ids["a"]), "km",
                 "/a/spotlight/%d/" % ids["a"])
    page = r.stdout.decode()
    check(r.returncode == 0 and '<html lang="km"' in page,
          "Khmer page")
    check('src="/a/spotlight/%d/img1.png"' % ids["a"] in page,
          "page image URL")
    check("/u/" not in page and "cid:" not in page, "page is impersonal")
    r = run_dump("image", "spotlight", str(ids["a"]), "img0.png")
    with open(os.path.join(templates,
                           "spotlight/images/group-of-four.png"), "rb") as f:
        check(r.returncode == 0 and r.stdout == f.read(),
              "image bytes are the stored PNG")
    for args in (("page", "spotlight", str(ids["queued"])),
                 ("page", "spotlight", str(ids["other"])),
                 ("image", "spotlight", str(ids["queued"]), "img0.png"),
                 ("image", "spotlight", str(ids["a"]), "img7.png")):
        r = run_dump(*args)
        check(r.returncode == 3, "%s: not found, got %d" % (args,
                                                             r.returncode))
finally:
    shutil.rmtree(tmp, ignore_errors=True)

if failures:
    sys.exit(1)
print("archive feed: all checks passed")
