"""Drive headless Chromium through the web pages, for tests/web/browser.sh.

Chromium runs with --remote-debugging-pipe: the DevTools protocol (CDP)
goes over file descriptors 3 (commands in) and 4 (replies and events
out) as JSON messages each ended by a NUL byte, so the standard library
is enough.  Every wait has a deadline, so a hung browser fails the test
instead of hanging it, and the browser's process group is killed by its
PID at the end.

  cdp.py subscribe BASE LIST MAILDIR DB SHOTS READER...
      each READER ("EMAIL|LANG|NAME") types into the subscribe form,
      picks its language, submits (a km reader with the Enter key),
      opens the HTML confirmation email captured in MAILDIR, clicks its
      /c/ link and then Confirm
  cdp.py issue BASE LIST MAILDIR DB SHOTS ISSUE READER...
      each READER opens the issue it received (its HTML part with the
      cid: images saved next to it), the archived page, follows the
      unsubscribe link and clicks Unsubscribe
  cdp.py pngcheck FILE...
      the checks made on every screenshot

Every page is checked for console errors, exceptions and CSP
violations, for <html lang>, for a label on every form field and a name
on every button and link, for images that do not load, for Khmer text
drawn with a Khmer font on km pages, and for links into heraldd that do
not answer 200, also on a 360 px wide screen for anything sticking out
sideways; a screenshot of it is saved in SHOTS and checked (PNG over
5 kB, more than one colour).  Exit status 0 when all is well, 1 with
"FAIL: ..." lines otherwise, 77 when Chromium is missing.
"""
import base64, email, email.policy, fcntl, glob, json, os, re, select, signal
import sqlite3, struct, subprocess, sys, tempfile, time, urllib.error
import urllib.request, zlib

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
STEP = float(os.environ.get("CDP_TIMEOUT", "20"))    # seconds per step
KHMER = re.compile("[\u1780-\u17ff]")


class Fail(Exception):
    pass


def high(fd):
    """FD moved to a number above 9 (the old one closed)."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


class Browser:
    """One Chromium process and the pipe to it."""

    def __init__(self, workdir):
        self.profile = tempfile.mkdtemp(prefix="profile.", dir=workdir)
        self.log = open(os.path.join(workdir, "chromium.log"), "ab")
        cmd_r, self.cmd_w = os.pipe()       # we write, Chromium reads (3)
        self.out_r, out_w = os.pipe()       # Chromium writes (4), we read
        # Above 9, so that the shell's moves to 3 and 4 clobber nothing.
        cmd_r, out_w = [high(fd) for fd in (cmd_r, out_w)]
        args = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--disable-background-networking",
                "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--hide-scrollbars",
                "--user-data-dir=" + self.profile, "--remote-debugging-pipe",
                "about:blank"]
        # In the child the two pipe ends go to 3 and 4 (kept open by
        # pass_fds); the launcher execs Chromium: one PID, which leads its
        # own process group.
        def fds():
            os.dup2(cmd_r, 3)
            os.dup2(out_w, 4)
        self.proc = subprocess.Popen(args, pass_fds=(3, 4), preexec_fn=fds,
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        os.close(cmd_r)
        os.close(out_w)
        self.buf = b""
        self.next_id = 0
        self.events = []                    # (sessionId, method, params)
        self.problems = []                  # console errors and the like
        self.favicon = False                # a 404 for /favicon.ico seen

    def close(self, quick=False):
        """Asks Chromium to quit, then kills its process group by its
        PID in any case; QUICK skips the asking (we are being killed)."""
        if not quick and self.proc.poll() is None:
            try:
                self.send("Browser.close", timeout=3)
                self.proc.wait(timeout=3)
            except (Fail, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        for fd in (self.cmd_w, self.out_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()
        subprocess.run(["rm", "-rf", self.profile])

    def _read(self, deadline):
        """One message from Chromium, or Fail when the deadline passes."""
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("Chromium did not answer in time")
            r, _, _ = select.select([self.out_r], [], [], left)
            if r:
                chunk = os.read(self.out_r, 1 << 16)
                if not chunk:
                    raise Fail("Chromium closed its pipe (exit %s); see "
                               "chromium.log" % self.proc.poll())
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def _event(self, m):
        sid, meth, p = m.get("sessionId"), m["method"], m.get("params", {})
        self.events.append((sid, meth, p))
        if meth == "Runtime.consoleAPICalled" and p["type"] in (
                "error", "assert", "warning"):
            text = " ".join(str(a.get("value", a.get("description", "")))
                            for a in p.get("args", []))
            self.problems.append("console.%s: %s" % (p["type"], text))
        elif meth == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.problems.append("exception: %s" % d.get(
                "exception", {}).get("description", d.get("text")))
        elif meth == "Log.entryAdded" and p["entry"]["level"] in (
                "error", "warning"):
            e = p["entry"]
            # Browsers ask every site for /favicon.ico on their own;
            # heraldd answers 204, so an error about it is a fault too.
            self.problems.append("log %s/%s: %s %s" % (
                e["source"], e["level"], e["text"], e.get("url", "")))

    def send(self, method, params=None, session=None, timeout=None):
        """A command; its result, or Fail with the protocol's error."""
        self.next_id += 1
        mid = self.next_id
        m = {"id": mid, "method": method, "params": params or {}}
        if session:
            m["sessionId"] = session
        data = json.dumps(m).encode() + b"\0"
        while data:
            _, w, _ = select.select([], [self.cmd_w], [], STEP)
            if not w:
                raise Fail("cannot write to Chromium: %s" % method)
            try:
                data = data[os.write(self.cmd_w, data):]
            except OSError as e:
                raise Fail("cannot write to Chromium (exit %s): %s"
                           % (self.proc.poll(), e))
        deadline = time.monotonic() + (timeout or STEP)
        while True:
            try:
                r = self._read(deadline)
            except Fail as e:
                raise Fail("no answer to %s %s within %d s (%s)" % (
                    method, json.dumps(params or {})[:120], timeout or STEP,
                    e))
            if r.get("id") == mid:
                if "error" in r:
                    raise Fail("%s: %s" % (method, r["error"]))
                return r.get("result", {})
            if "method" in r:
                self._event(r)

    def wait_event(self, method, session, since, what, timeout=None):
        """The first event METHOD of SESSION after index SINCE; WHAT
        says in a failure what it was to follow."""
        deadline = time.monotonic() + (timeout or STEP)
        i = since
        while True:
            while i < len(self.events):
                sid, meth, p = self.events[i]
                i += 1
                if meth == method and sid == session:
                    return p
            try:
                m = self._read(deadline)
            except Fail as e:
                raise Fail("no %s within %d s after %s (%s)" % (
                    method, timeout or STEP, what, e))
            if "method" in m:
                self._event(m)

    def pump(self, seconds):
        """Take in the events that come within SECONDS."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                m = self._read(deadline)
                if "method" in m:
                    self._event(m)
        except Fail:
            pass


# Reported as console errors, so that a CSP violation cannot go unseen
# even if Chromium's own report of it changes.
WATCH = """
document.addEventListener('securitypolicyviolation', function (e) {
    console.error('CSP violation: ' + e.violatedDirective + ' blocked ' +
        e.blockedURI);
});
"""


class Page:
    """A tab, attached in flat mode (commands carry its sessionId)."""

    def __init__(self, b):
        self.b = b
        t = b.send("Target.createTarget", {"url": "about:blank"})
        self.target = t["targetId"]
        a = b.send("Target.attachToTarget", {"targetId": self.target,
                                             "flatten": True})
        self.s = a["sessionId"]
        for d in ("Page.enable", "Runtime.enable", "Log.enable",
                  "DOM.enable", "CSS.enable", "Network.enable"):
            self.cmd(d)
        self.cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
        self.metrics(1024, 768)
        self.url = None
        self.headers = {}                   # of the last page navigated to

    def cmd(self, method, params=None, timeout=None):
        return self.b.send(method, params, self.s, timeout)

    def navigate(self, url):
        mark = len(self.b.events)
        r = self.cmd("Page.navigate", {"url": url})
        if r.get("errorText"):
            raise Fail("cannot open %s: %s" % (url, r["errorText"]))
        self.b.wait_event("Page.loadEventFired", self.s, mark,
                          "opening " + url)
        self.url = self.eval("location.href")
        self.headers = {}
        for sid, meth, p in self.b.events[mark:]:
            if (sid == self.s and meth == "Network.responseReceived" and
                    p.get("type") == "Document"):
                self.headers = {k.lower(): v for k, v in
                                p["response"]["headers"].items()}

    def accept_language(self, lang):
        """What the browser says it reads, from now on."""
        self.cmd("Network.setExtraHTTPHeaders",
                 {"headers": {"Accept-Language": lang}})

    def eval(self, expr):
        r = self.cmd("Runtime.evaluate", {"expression": expr,
                                          "returnByValue": True,
                                          "awaitPromise": True})
        if "exceptionDetails" in r:
            raise Fail("script %r: %s" % (expr[:60], r["exceptionDetails"]))
        return r["result"].get("value")

    def center(self, selector):
        """The centre of SELECTOR's box, scrolled into view."""
        box = self.eval("""(function () {
            var e = document.querySelector(%s);
            if (!e) return null;
            e.scrollIntoView({block: 'center'});
            var r = e.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2,
                    r.width, r.height];
        })()""" % json.dumps(selector))
        if box is None:
            raise Fail("%s: no %s" % (self.url, selector))
        if box[2] < 1 or box[3] < 1:
            raise Fail("%s: %s is not visible" % (self.url, selector))
        return box[0], box[1]

    def click(self, selector, navigates=True):
        """A real mouse click in the middle of SELECTOR; when it submits
        a form or follows a link, waits for the next page's load."""
        x, y = self.center(selector)
        hit = self.eval("""(function () {
            var e = document.elementFromPoint(%f, %f),
                t = document.querySelector(%s);
            return e === t || t.contains(e);
        })()""" % (x, y, json.dumps(selector)))
        if not hit:
            raise Fail("%s: something covers %s" % (self.url, selector))
        mark = len(self.b.events)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            p = {"type": kind, "x": x, "y": y}
            if kind != "mouseMoved":
                p.update(button="left", clickCount=1)
            self.cmd("Input.dispatchMouseEvent", p)
        if navigates:
            self.b.wait_event("Page.loadEventFired", self.s, mark,
                              "a click on %s in %s" % (selector, self.url))
            self.url = self.eval("location.href")

    def type(self, selector, text):
        """Click into the field and type TEXT as a keyboard would."""
        self.click(selector, navigates=False)
        focused = self.eval("document.activeElement === "
                            "document.querySelector(%s)" % json.dumps(selector))
        if not focused:
            raise Fail("%s: a click does not focus %s" % (self.url, selector))
        self.cmd("Input.insertText", {"text": text})
        got = self.eval("document.querySelector(%s).value"
                        % json.dumps(selector))
        if got != text:
            raise Fail("%s: typed %r into %s, it holds %r"
                       % (self.url, text, selector, got))

    def enter(self):
        """The Enter key in the focused field, which submits its form;
        waits for the next page's load."""
        what = self.eval("document.activeElement.outerHTML.slice(0, 60)")
        mark = len(self.b.events)
        for kind in ("keyDown", "keyUp"):
            p = {"type": kind, "key": "Enter", "code": "Enter",
                 "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13}
            if kind == "keyDown":
                p["text"] = "\r"
            self.cmd("Input.dispatchKeyEvent", p)
        self.b.wait_event("Page.loadEventFired", self.s, mark,
                          "Enter in %s on %s" % (what, self.url))
        self.url = self.eval("location.href")

    def choose(self, selector, value):
        """Pick an option of a <select>, with the events a user makes."""
        ok = self.eval("""(function () {
            var e = document.querySelector(%s);
            e.focus();
            e.value = %s;
            e.dispatchEvent(new Event('input', {bubbles: true}));
            e.dispatchEvent(new Event('change', {bubbles: true}));
            return e.value;
        })()""" % (json.dumps(selector), json.dumps(value)))
        if ok != value:
            raise Fail("%s: %s has no option %r" % (self.url, selector, value))

    def text(self):
        return self.eval("document.body.innerText")

    def fonts(self, selector):
        """The fonts Chromium used to draw SELECTOR's text."""
        root = self.cmd("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        n = self.cmd("DOM.querySelector", {"nodeId": root,
                                           "selector": selector})["nodeId"]
        if not n:
            raise Fail("%s: no %s" % (self.url, selector))
        f = self.cmd("CSS.getPlatformFontsForNode", {"nodeId": n})
        return [x["familyName"] for x in f["fonts"] if x["glyphCount"] > 0]

    def check(self, lang, form=False):
        """The checks every page gets; returns the problems found."""
        errs = []
        self.b.pump(0.3)        # late console messages
        for p in self.b.problems:
            errs.append("%s: %s" % (self.url, p))
        del self.b.problems[:]
        got = self.eval("document.documentElement.lang")
        if not got:
            errs.append("%s: <html> has no lang" % self.url)
        elif lang and got != lang:
            errs.append("%s: <html lang=%r>, expected %r" % (self.url, got,
                                                             lang))
        unlabelled = self.eval("""Array.from(document.querySelectorAll(
                'input, select, textarea')).filter(function (e) {
            if (e.type === 'hidden' || e.type === 'submit') return false;
            var named = Array.from(e.labels || []).some(function (l) {
                return l.textContent.trim() !== '';
            });
            return !named && !e.getAttribute('aria-label') &&
                !e.getAttribute('aria-labelledby');
        }).map(function (e) { return e.outerHTML; })""")
        for u in unlabelled:
            errs.append("%s: a field without a label: %s" % (self.url, u))
        nameless = self.eval("""Array.from(document.querySelectorAll(
                'button, a[href]')).filter(function (e) {
            return e.innerText.trim() === '' &&
                !e.getAttribute('aria-label') && !e.querySelector('img[alt]');
        }).map(function (e) { return e.outerHTML; })""")
        for u in nameless:
            errs.append("%s: a button or link without text: %s" %
                        (self.url, u))
        errs += self.narrow()
        if form and not self.eval("document.forms.length"):
            errs.append("%s: no form" % self.url)
        broken = self.eval("""Array.from(document.images).filter(function (i) {
            return !i.complete || i.naturalWidth === 0;
        }).map(function (i) { return i.src; })""")
        for u in broken:
            errs.append("%s: image does not load: %s" % (self.url, u))
        if lang == "km":
            if not KHMER.search(self.text()):
                errs.append("%s: no Khmer text" % self.url)
            f = self.fonts("h1") if self.eval(
                "!!document.querySelector('h1')") else []
            if f and not any("Khmer" in x for x in f):
                errs.append("%s: the Khmer heading is drawn with %s, not a "
                            "Khmer font" % (self.url, f))
        return errs

    def metrics(self, width, height):
        self.cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1,
            "mobile": width < 600})

    def narrow(self, width=360):
        """On a phone's width nothing sticks out sideways: what sticks
        out is cut off, or makes the reader scroll for each line."""
        self.metrics(width, 740)
        try:
            wide = self.eval("""(function () {
                var w = document.documentElement.clientWidth, out = [];
                if (document.documentElement.scrollWidth <= w) return out;
                document.querySelectorAll('body *').forEach(function (e) {
                    var r = e.getBoundingClientRect();
                    if (r.right > w + 1 && r.width > 0 &&
                        !Array.from(e.children).some(function (c) {
                            return c.getBoundingClientRect().right > w + 1;
                        }))
                        out.push(e.outerHTML.slice(0, 120) + ' (right edge ' +
                            Math.round(r.right) + ' px)');
                });
                return out;
            })()""")
        finally:
            self.metrics(1024, 768)
        return ["%s: wider than a %d px screen: %s" % (self.url, width, x)
                for x in wide[:5]]

    def screenshot(self, path):
        m = self.cmd("Page.getLayoutMetrics")
        size = m.get("cssContentSize", m.get("contentSize"))
        h = min(max(size["height"], 1), 6000)
        shot = self.cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": 1024, "height": h,
                     "scale": 1}})
        data = base64.b64decode(shot["data"])
        with open(path, "wb") as f:
            f.write(data)
        return pngcheck(path)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def png_pixels(data):
    """Width, height and the rows of an 8-bit RGB(A) PNG, unfiltered."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise Fail("not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB",
                                                                body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise Fail("PNG type %d/%d/%d not handled" % (depth, ctype,
                                                             interlace))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
    if w is None:
        raise Fail("PNG without IHDR")
    raw = zlib.decompress(idat)
    stride = w * bpp
    if len(raw) != h * (stride + 1):
        raise Fail("PNG data is %d bytes, expected %d" % (len(raw),
                                                         h * (stride + 1)))
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                up_left = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + paeth(left, prev[i], up_left)) & 255
        elif f != 0:
            raise Fail("PNG row %d has filter %d" % (y, f))
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def pngcheck(path):
    """A screenshot worth keeping: over 5 kB, and not one colour."""
    data = open(path, "rb").read()
    if len(data) <= 5000:
        raise Fail("%s: only %d bytes" % (path, len(data)))
    w, h, bpp, rows = png_pixels(data)
    colours = set()
    for r in rows[::max(1, h // 200)]:
        for x in range(0, w * bpp, bpp * max(1, w // 200)):
            colours.add(r[x:x + bpp])
    if len(colours) < 3:
        raise Fail("%s: %d colours only, a blank page?" % (path,
                                                          len(colours)))
    return "%dx%d, %d bytes, %d+ colours" % (w, h, len(data), len(colours))


# --- captured mail and the database

def mails(maildir, rcpt):
    out = []
    for f in sorted(glob.glob(os.path.join(maildir, "*.eml"))):
        if rcpt in json.load(open(f[:-4] + ".json"))["rcpt_tos"]:
            out.append(f)
    return out


def parse(path):
    return email.message_from_bytes(open(path, "rb").read(),
                                    policy=email.policy.default)


def wait_mail(maildir, rcpt, pred, what, seconds=STEP):
    """The newest message to RCPT for which PRED holds."""
    deadline = time.monotonic() + seconds
    while True:
        for f in reversed(mails(maildir, rcpt)):
            m = parse(f)
            if pred(m):
                return f, m
        if time.monotonic() > deadline:
            raise Fail("no %s to %s within %d s" % (what, rcpt, seconds))
        time.sleep(0.2)


def links(m, prefix):
    hay = ""
    for part in m.walk():
        if part.get_content_maintype() == "text":
            hay += part.get_content() + "\n"
    return [u for u in re.findall(r"https?://[^\s<>\"')\]]+", hay)
            if u.startswith(prefix)]


def db_one(db, query, *args):
    c = sqlite3.connect(db, timeout=30)
    try:
        r = c.execute(query, args).fetchone()
    finally:
        c.close()
    return r


def sub_state(db, lst, addr):
    r = db_one(db, "SELECT s.state FROM subscriptions s JOIN lists l ON "
               "l.id = s.list_id JOIN subscribers u ON u.id = "
               "s.subscriber_id WHERE l.name = ? AND u.email = ?", lst, addr)
    return r[0] if r else None


def strings(lang):
    """The page strings of LANG from templates/web/strings.conf."""
    conf = os.path.join(os.environ.get("top_srcdir", "."), "templates",
                        "web", "strings.conf")
    text = open(conf, encoding="utf-8").read()
    out = {}
    for group in ("en", lang):
        g = re.search(r"(?ms)^%s\s*=\s*\{(.*?)^\};" % group, text)
        for k, v in re.findall(r'(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*;',
                               g.group(1)):
            out[k] = v
    return out


# --- the two flows

class Run:
    def __init__(self, b, base, lst, maildir, db, shots):
        self.base, self.lst, self.maildir = base.rstrip("/"), lst, maildir
        self.db, self.shots = db, shots
        self.errs = []
        self.checked = set()                # links known to work
        self.n = 0
        self.b = b
        self.page = Page(b)

    def expect(self, cond, msg):
        if not cond:
            self.errs.append(msg)
        return cond

    def links_work(self):
        """Every link of the page into heraldd answers 200 to a GET (GETs
        change nothing, so /u/ and /c/ links are safe to try)."""
        hrefs = self.page.eval("Array.from(document.links).map(function "
                               "(a) { return a.href.split('#')[0]; })")
        for h in sorted(set(hrefs)):
            if not h.startswith(self.base + "/") or h in self.checked:
                continue
            self.checked.add(h)
            try:
                with urllib.request.urlopen(h, timeout=STEP) as r:
                    code = r.status
            except urllib.error.HTTPError as e:
                code = e.code
            except OSError as e:
                code = e
            self.expect(code == 200, "%s: its link %s answers %s"
                        % (self.page.url, h, code))

    def shot(self, name, lang, form=False):
        """Check the page in the browser, keep its screenshot."""
        self.errs += self.page.check(lang, form)
        self.links_work()
        self.n += 1
        path = os.path.join(self.shots, "%s.png" % name)
        print("screenshot %s (%s): %s" % (path, self.page.url,
                                          self.page.screenshot(path)))
        sys.stdout.flush()

    def canaries(self):
        """The watchers see what they are meant to see: a console error
        and a CSP violation made on purpose are both reported."""
        self.page.eval("console.error('canary')")
        self.page.eval("""(function () {
            var s = document.createElement('script');
            s.textContent = 'window.ran = 1';
            document.body.appendChild(s);
        })()""")
        self.b.pump(0.5)
        got = " | ".join(self.b.problems)
        # Only the canaries go; anything else is the page's own problem.
        self.b.problems[:] = [x for x in self.b.problems if not re.search(
            r"canary|inline script|CSP violation: script-src", x)]
        if "canary" not in got:
            raise Fail("console errors are not seen: %r" % got)
        if "script-src" not in got or self.page.eval("window.ran === 1"):
            raise Fail("an inline script was not blocked and reported as a "
                       "CSP violation: %r" % got)

    def subscribe(self, addr, lang, name):
        p, s = self.page, strings(lang)
        tag = "%s-%s" % (lang, addr.split("@")[0])
        p.navigate("%s/s/%s" % (self.base, self.lst))
        self.canaries()
        self.expect(p.eval("document.documentElement.lang") == "en",
                    "%s: a browser asking for English gets %r" % (
                        p.url, p.eval("document.documentElement.lang")))
        self.shot("%s-1-subscribe" % tag, "en", form=True)
        p.type("#email", addr)
        if name:
            p.type("#name", name)
        p.choose("#lang", lang)
        if lang == "km":
            # Without a mouse: Enter in the email field sends the form.
            p.click("#email", navigates=False)
            p.enter()
        else:
            p.click("button[type=submit]")
        t = p.text()
        self.expect(s["subscribed_title"] in t and addr in t,
                    "%s: the answer lacks %r and the address: %r"
                    % (p.url, s["subscribed_title"], t[:300]))
        self.shot("%s-2-check-inbox" % tag, lang)
        self.expect(sub_state(self.db, self.lst, addr) == "pending",
                    "%s is %s after the form, not pending"
                    % (addr, sub_state(self.db, self.lst, addr)))

        f, m = wait_mail(self.maildir, addr,
                         lambda m: links(m, self.base + "/c/"),
                         "confirmation email")
        c = links(m, self.base + "/c/")[0]
        # The reader opens the email (its HTML part) and clicks the link.
        p.navigate("file://" + self.save_html(f, m, tag + "-confirm",
                                              images=False))
        self.expect(addr in p.text(), "%s: the confirmation email does not "
                    "name %s" % (p.url, addr))
        self.shot("%s-3-confirm-mail" % tag, lang)
        sel = "a[href^=%s]" % json.dumps(self.base + "/c/")
        href = p.eval("(document.querySelector(%s) || {}).href"
                      % json.dumps(sel))
        self.expect(href == c, "%s: its link %r is not the text part's %r"
                    % (p.url, href, c))
        if href and not p.eval("document.querySelector(%s).target"
                               % json.dumps(sel)):
            p.click(sel)
        else:
            p.navigate(c)
        self.expect(p.url == c, "the confirmation link led to %s" % p.url)
        self.expect(s["confirm_button"] in p.text(),
                    "%s: no %r button" % (p.url, s["confirm_button"]))
        self.shot("%s-4-confirm" % tag, lang, form=True)
        self.expect(sub_state(self.db, self.lst, addr) == "pending",
                    "opening the /c/ page confirmed %s" % addr)
        p.click("form button")
        t = p.text()
        self.expect(s["confirmed_title"] in t and addr in t,
                    "%s: no %r for %s: %r" % (p.url, s["confirmed_title"],
                                              addr, t[:300]))
        if lang == "en":
            self.expect("confirmed" in t, "%s: no 'confirmed'" % p.url)
        self.shot("%s-5-confirmed" % tag, lang)
        st = sub_state(self.db, self.lst, addr)
        self.expect(st == "confirmed", "%s is %s, not confirmed" % (addr, st))
        r = db_one(self.db, "SELECT lang, name FROM subscribers WHERE "
                   "email = ?", addr)
        self.expect(r is not None and r[0] == lang and r[1] == (name or None),
                    "%s stored as %r, expected lang %s name %r" % (
                        addr, r, lang, name))

    def save_html(self, f, m, tag, images=True):
        """The message's HTML part as a file, its cid: images saved next
        to it and the references rewritten to their file names."""
        d = os.path.join(self.shots, "mail-" + tag)
        os.makedirs(d, exist_ok=True)
        html, cids = None, {}
        for part in m.walk():
            if part.get_content_type() == "text/html" and html is None:
                html = part.get_content()
            cid = part.get("Content-ID")
            if cid and part.get_content_maintype() == "image":
                fn = part.get_filename() or "img%d" % len(cids)
                fn = re.sub(r"[^\w.-]", "_", fn)
                with open(os.path.join(d, fn), "wb") as out:
                    out.write(part.get_payload(decode=True))
                cids[cid.strip("<> ")] = fn
        if html is None:
            raise Fail("%s: no text/html part" % f)
        refs = set(re.findall(r"cid:([^\"'\s)>]+)", html))
        for r in sorted(refs):
            if not self.expect(r in cids, "%s: cid:%s has no part" % (f, r)):
                continue
            html = html.replace("cid:" + r, cids[r])
        if images:
            self.expect(refs, "%s: the HTML has no cid: image" % f)
        path = os.path.join(d, "message.html")
        with open(path, "w", encoding="utf-8") as out:
            out.write(html)
        return path

    def issue(self, iid, addr, lang):
        p, s = self.page, strings(lang)
        tag = "%s-%s" % (lang, addr.split("@")[0])
        f, m = wait_mail(self.maildir, addr, lambda m: re.search(
            r"<herald\.%s\." % iid, str(m.get("Message-ID", ""))),
            "issue %s" % iid)
        lu = str(m.get("List-Unsubscribe", ""))
        u = [x for x in re.findall(r"<(https?://[^>]+)>", lu)
             if x.startswith(self.base + "/u/")]
        if not u:
            raise Fail("%s: List-Unsubscribe has no /u/ link: %r" % (f, lu))
        p.navigate("file://" + self.save_html(f, m, tag))
        self.shot("%s-6-issue-mail" % tag, None)
        self.expect(p.eval("document.images.length") > 0,
                    "%s: the issue shows no image" % p.url)
        # The archived copy, as a reader who follows "View online".
        online = p.eval("""Array.from(document.links).map(function (a) {
            return a.href; }).filter(function (h) {
            return h.indexOf(%s) === 0; })""" % json.dumps(
            "%s/a/%s/" % (self.base, self.lst)))
        if self.expect(online, "%s: no link to the archive" % p.url):
            # The archive has no subscriber: the browser's language rules.
            p.accept_language(lang)
            p.navigate(online[0])
            self.expect("/u/" not in p.eval("document.body.innerHTML"),
                        "%s: the archived page has a personal link" % p.url)
            self.shot("%s-7-issue-archive" % tag, lang)
            # It depends on Accept-Language and may be cached: it must
            # say so (RFC 9110, 12.5.5), or a cache serves one language
            # to readers of the other.  The same browser reads it for
            # both readers, so its own cache is put to the test too.
            vary = p.headers.get("vary", "")
            self.expect("public" not in p.headers.get("cache-control", "")
                        or "accept-language" in vary.lower(),
                        "%s is cacheable (%s) but has no 'Vary: "
                        "Accept-Language'" % (p.url, p.headers.get(
                            "cache-control")))
            p.navigate("file://" + os.path.join(self.shots, "mail-" + tag,
                                                "message.html"))
        # The unsubscribe link of the message, followed by a click, from
        # a browser that asks for the other language: the page comes in
        # the subscriber's.
        p.accept_language("en" if lang == "km" else "km")
        sel = "a[href^=%s]" % json.dumps(self.base + "/u/")
        href = p.eval("(document.querySelector(%s) || {}).href"
                      % json.dumps(sel))
        self.expect(href == u[0], "%s: the unsubscribe link %r is not the "
                    "List-Unsubscribe one %r" % (p.url, href, u[0]))
        if p.eval("(document.querySelector(%s).target || '')"
                  % json.dumps(sel)):
            p.navigate(href)
        else:
            p.click(sel)
        self.expect(p.url == u[0], "the link led to %s" % p.url)
        self.expect(s["unsubscribe_button"] in p.text() and addr in p.text(),
                    "%s: no %r button for %s" % (p.url,
                                                 s["unsubscribe_button"],
                                                 addr))
        self.shot("%s-8-unsubscribe" % tag, lang, form=True)
        self.expect(sub_state(self.db, self.lst, addr) == "confirmed",
                    "opening the /u/ page changed %s" % addr)
        p.click("form button")
        t = p.text()
        self.expect(s["unsubscribed_title"] in t,
                    "%s: no %r: %r" % (p.url, s["unsubscribed_title"],
                                       t[:300]))
        self.shot("%s-9-unsubscribed" % tag, lang)
        st = sub_state(self.db, self.lst, addr)
        self.expect(st == "unsubscribed", "%s is %s, not unsubscribed"
                    % (addr, st))
        ev = db_one(self.db, "SELECT source, list FROM events WHERE kind = "
                    "'unsubscribe' AND email = ? ORDER BY id DESC", addr)
        self.expect(ev == ("web", self.lst),
                    "the unsubscribe event of %s is %r, not from web" %
                    (addr, ev))


def readers(args):
    out = []
    for a in args:
        addr, lang, name = (a.split("|") + ["", ""])[:3]
        out.append((addr, lang, name))
    return out


def main(argv):
    if argv and argv[0] == "pngcheck":
        for f in argv[1:]:
            print(f, pngcheck(f))
        return 0
    if len(argv) < 6 or argv[0] not in ("subscribe", "issue"):
        sys.exit(__doc__)
    if not os.access(CHROMIUM, os.X_OK):
        print("skip: %s is not installed" % CHROMIUM)
        return 77
    killed = []

    def term(*a):
        killed.append(1)
        sys.exit("FAIL: killed by SIGTERM (a step hung?)")
    signal.signal(signal.SIGTERM, term)
    os.makedirs(argv[5], exist_ok=True)
    b = run = None
    try:
        b = Browser(argv[5])
        print("browser:", b.send("Browser.getVersion")["product"])
        run = Run(b, *argv[1:6])
        if argv[0] == "subscribe":
            for addr, lang, name in readers(argv[6:]):
                run.subscribe(addr, lang, name)
        else:
            for addr, lang, name in readers(argv[7:]):
                run.issue(argv[6], addr, lang)
    except Fail as e:
        print("FAIL: %s" % e)
        if run:
            for e in run.errs:
                print("FAIL: %s" % e)
        return 1
    finally:
        if b:
            b.close(quick=bool(killed))
    print("%d pages checked, %d links into heraldd followed" % (
        run.n, len(run.checked)))
    for e in run.errs:
        print("FAIL: %s" % e)
    return 1 if run.errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
