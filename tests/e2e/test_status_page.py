"""Part 12 acceptance, the status page: a gateway with its admin endpoint on loopback serves `GET /`,
the review of what it has seen, and Debian's headless Chromium renders it. The lab makes the
history real: a FreeRDP session through the gateway to an xrdp TLS 1.0 host (Windows 7's shape)
that stays connected while the page is loaded, and failures of seven causes on as many paths —
a backend with nothing listening (connection_refused), a backend whose host speaks only TLS 1.0
to a gateway that wants 1.2 (host_tls_version_mismatch, against the same real xrdp), an impostor
answering on a host's address with another certificate (host_identity_changed), a cookie no
route takes (no_route), an HTTP request, a TLS ClientHello without X.224 and an X.224 request
announcing 64 KiB (client_spoke_http, client_spoke_tls, x224_request_too_large) — plus a source
the listener denies (source_not_allowed at client_transport: a refusal at accept, which the page
leaves out and the log, and so the report, counts). Five backends: one ok, three failing, one
configured and never used.

What the test reads back, from the DOM Chromium rendered (parsed with html.parser): each backend's
row, state and counts; per cause the count in the "Failures per cause" table against the test's
own count of handshake_failed lines in the JSONL log (every failure happened just now, so the
24-hour and the 7-day windows hold them all); each cause's fix against the log's "hint"; the live
session's user, client address, backend, legs and bytes. That the page loads nothing from
anywhere: no absolute or protocol-relative URL in any attribute or style, a Content-Security-
Policy that forbids every load but the page's own refresh (and whose script hash matches, since
the script ran: the failure filters show); the gateway's own request log (`--log-level debug`:
"admin request from ADDR: GET PATH -> STATUS") lists only `/`, exactly twice (the page, then
its 10 s refresh, reached through --virtual-time-budget=15000), and nothing else (a
`/favicon.ico` would be accepted as a 404: Chromium 156 headless does not ask for it here); and
Chromium runs behind a recording proxy of the test's (--proxy-server; loopback is bypassed, so
only the admin endpoint is reached directly; --host-resolver-rules fails every other name) that
answers every request 403 and forwards nothing: what reaches it is Chromium's own background
traffic (component updater, network time, accounts), which a run on a `data:` page without any
URL makes too, never a URL of the page's. Then `rdpbridge logs LOG --html` writes the report
from the same log, Chromium renders it from file://, and the same counts, fixes and backend
states are read back from it: the report knows the backends its log names (so not the unused
one) plus "(none)", and has no sessions section.

Artefacts, in the lab dir (kept when the test fails, or with RDPBRIDGE_KEEP_LAB=1): the
screenshots status-page.png and status-report.png (1280x2400; also copied to
$RDPBRIDGE_ARTIFACTS when that is set), the rendered DOMs (*.dom.html) and what each Chromium
run asked of the admin endpoint and of the proxy (*.requests.txt).

Access control is test_admin_access.py's, in a network namespace, and not repeated here: an admin
endpoint on an address that is not loopback answers 401 (`/` included) to a request without the
configured token or user, and the gateway refuses to start when none is configured.

Tools: chromium, xrdp, xfreerdp, Xvfb. Missing ones skip the test, or fail it under CI=true."""

import base64
import hashlib
import html.parser
import json
import os
import pathlib
import re
import shutil
import socket
import struct
import threading
import time
import unittest
import urllib.error
import urllib.request
import zlib

import peers
from gateway import BIN, start_gateway
from lab import LabTimeout, free_port, lab_for_test

CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
CHROMIUM = "/usr/bin/chromium"
TOOLS = {"chromium": CHROMIUM, "xrdp": shutil.which("xrdp"),
         "xfreerdp": shutil.which("xfreerdp"), "Xvfb": shutil.which("Xvfb")}
HARDENED = ("/sec:tls", "/tls-seclevel:3")
SESMAN = r"\[INFO \] connecting to sesman"
USER = "labuser"   # FreeRDP sends /u: as its mstshash cookie, which routes it to win7
WINDOW = (1280, 2400)
CHROMIUM_TIMEOUT = 60
# The hosts Chromium's own background services contact whatever the page (seen on a data: page
# with no URL at all): the component updater, network time, the accounts service. Through the
# test's proxy they get 403; none of them is anything a page of ours could name.
CHROMIUM_OWN_HOSTS = {"update.googleapis.com", "clients2.google.com", "accounts.google.com",
                      "clients2.googleusercontent.com", "redirector.gvt1.com",
                      "optimizationguide-pa.googleapis.com", "content-autofill.googleapis.com",
                      "safebrowsingohttpgateway.googleapis.com", "www.googleapis.com",
                      "android.clients.google.com"}
ADMIN_LINE = re.compile(r"admin request from (\S+): (\S+) (\S+) -> (\d+)(?: \(([^)]*)\))?\s*$",
                        re.M)

CONFIG = """
state_dir = "{state}"
[logging]
handshake_log = "{log}"
[admin]
bind = "127.0.0.1:%(admin)d"
[[listener]]
name = "front"
bind = "127.0.0.1:{port}"
deny = ["127.0.0.9"]
[[backend]]
name = "win7"
address = "127.0.0.1:%(xrdp)d"
[[backend]]
name = "strict"
address = "127.0.0.1:%(xrdp)d"
[backend.tls]
min_version = "1.2"
[[backend]]
name = "dead"
address = "127.0.0.1:%(dead)d"
early_host_contact = true
[[backend]]
name = "impostor"
address = "127.0.0.1:%(impostor)d"
[[backend]]
name = "spare"
address = "127.0.0.1:%(spare)d"
[[route]]
mstshash = "%(user)s"
backend = "win7"
[[route]]
mstshash = "strict"
backend = "strict"
[[route]]
mstshash = "dead"
backend = "dead"
[[route]]
mstshash = "impostor"
backend = "impostor"
[[route]]
mstshash = "spare"
backend = "spare"
"""

# What each backend must show: state, and identity on the live page (the known-hosts store).
EXPECTED_BACKENDS = {
    "win7": ("ok", "learned"),
    "strict": ("failing", "not yet seen"),
    "dead": ("failing", "not yet seen"),
    "impostor": ("failing", "changed, refused"),
    "spare": ("never reached", "not yet seen"),
}
# How many failures of each cause the lab provokes (the counts differ, so a swapped row shows).
PROVOKED = {"connection_refused": 3, "client_spoke_http": 2, "client_spoke_tls": 1,
            "x224_request_too_large": 1, "no_route": 1, "host_tls_version_mismatch": 1,
            "host_identity_changed": 1, "source_not_allowed": 1}


# ------------------------------------------------------------------ the DOM, read back
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children = []   # Nodes and strings

    def text(self):
        parts = []
        for c in self.children:
            parts.append(c if isinstance(c, str) else c.text())
        return "".join(parts)

    def words(self):
        """The text with its white space collapsed, as a reader sees it."""
        return " ".join(self.text().split())

    def iter(self):
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.iter()

    def find_all(self, tag=None, **attrs):
        """Descendants with this tag (None: any) whose attributes have these values (True:
        present; for "class", one of the element's classes)."""
        out = []
        for n in self.iter():
            if tag is not None and n.tag != tag:
                continue
            ok = True
            for k, v in attrs.items():
                k = k.replace("_", "-").rstrip("-")
                if v is True:
                    ok = ok and k in n.attrs
                elif k == "class":
                    ok = ok and v in (n.attrs.get("class") or "").split()
                else:
                    ok = ok and n.attrs.get(k) == v
            if ok:
                out.append(n)
        return out

    def find(self, tag=None, **attrs):
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def cells(self):
        """A row's cells (th and td), direct children only."""
        return [c for c in self.children if isinstance(c, Node) and c.tag in ("th", "td")]


class Dom(html.parser.HTMLParser):
    """A small tree of the document, plus every attribute and style text (to look for URLs)."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", [], None)
        self._at = self.root
        self.attributes = []   # (tag, name, value)
        self.styles = []       # <style> contents
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self._at)
        self._at.children.append(node)
        self.attributes += [(tag, k, v or "") for k, v in attrs]
        if tag not in VOID:
            self._at = node

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        n = self._at
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self._at = n.parent

    def handle_data(self, data):
        self._at.children.append(data)
        if self._at.tag == "style":
            self.styles.append(data)

    def section(self, ident):
        s = self.root.find("section", id=ident)
        if s is None:
            raise AssertionError(f"no section #{ident} in the page")
        return s


def backend_rows(dom, live):
    """{name: {...}} from #backends: the row's data-state, the state shown (text and class),
    its counts, the last failure's text, the security and identity cells."""
    out = {}
    for tr in dom.section("backends").find_all("tr", data_backend=True):
        cells = tr.cells()
        state = tr.find("span", **{"class": "state"})
        nums = [int(c.words()) for c in cells if "num" in (c.attrs.get("class") or "").split()]
        row = {"data_state": tr.attrs.get("data-state"), "state": state.words(),
               "state_class": state.attrs["class"].split(), "head": cells[0].words(),
               "nums": nums, "last_failure": None, "identity": cells[-1].words(),
               "security": [d.words() for d in cells[-3].find_all("div")]}
        failure = tr.find("td", **{"class": "failure"})
        if failure is not None:
            row["last_failure"] = failure.words()
        if live:
            row["sessions_now"], row["established"], row["failed"] = nums
        else:
            row["established"], row["failed"] = nums
        out[tr.attrs["data-backend"]] = row
    return out


def cause_counts(dom):
    """{cause: {timeline index: count}} from the "Failures per cause" table."""
    out = {}
    for tr in dom.section("failures").find_all("tr", data_cause=True):
        out[tr.attrs["data-cause"]] = {int(td.attrs["data-timeline"]): int(td.words())
                                       for td in tr.find_all("td", data_timeline=True)}
    return out


def cause_articles(dom):
    """{cause: {"What happened": ..., "Fix": ...}} from #causes."""
    out = {}
    for art in dom.section("causes").find_all("article", **{"class": "cause"}):
        ident = art.attrs.get("id", "")
        assert ident.startswith("cause-"), ident
        dl = art.find("dl")
        terms = [c for c in dl.children if isinstance(c, Node)]
        pairs = {}
        for dt, dd in zip(terms[::2], terms[1::2]):
            assert (dt.tag, dd.tag) == ("dt", "dd"), (dt.tag, dd.tag)
            pairs[dt.words()] = dd.words()
        out[ident[len("cause-"):]] = pairs
    return out


def session_rows(dom):
    rows = []
    for tr in dom.section("sessions").find_all("tr", data_conn=True):
        cells = tr.cells()
        rows.append({"conn": tr.attrs["data-conn"], "backend_attr": tr.attrs.get("data-backend"),
                     "user": cells[0].words(), "client": cells[1].words(),
                     "backend": cells[2].words(), "client_leg": cells[3].words(),
                     "host_leg": cells[4].words(),
                     "bytes": [int(td.attrs["data-bytes"]) for td in cells[6:8]]})
    return rows


URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcset", "poster", "data", "ping",
                  "background", "xlink:href", "manifest", "cite", "longdesc", "codebase"}
ABSOLUTE = re.compile(r"(?i)\b(?:https?|ftp|wss?):|^\s*//|url\(\s*['\"]?\s*(?!#|data:)"
                      r"|@import")


def external_references(dom):
    """Every attribute, style and inline style that names something to load from elsewhere."""
    found = []
    for tag, name, value in dom.attributes:
        if name == "xmlns" or name.startswith("xmlns:"):
            continue   # a namespace's name, never fetched
        if name in URL_ATTRIBUTES and value and not value.startswith("#"):
            # Only in-page anchors are expected; anything else is listed (relative ones too:
            # the footer's api/review link is checked separately).
            found.append((tag, name, value))
        elif ABSOLUTE.search(value):
            found.append((tag, name, value))
    for css in dom.styles:
        for m in re.finditer(r"(?i)url\(|@import|https?:|//[a-z0-9]", css):
            found.append(("style", "css", css[max(0, m.start() - 30):m.end() + 30]))
    return found


# ------------------------------------------------------------------ the test's own reading
def leg_security(leg):
    """How docs/logs.md words a leg: "TLS 1.0 AES256-SHA", "TLS 1.3 TLS_AES_256_GCM_SHA384"."""
    if not isinstance(leg, dict):
        return ""
    version = leg.get("tls_version", "")
    version = {"TLSv1": "TLS 1.0"}.get(version, version.replace("TLSv", "TLS ", 1))
    text = " ".join(p for p in (version, leg.get("cipher", "")) if p)
    if "HYBRID" in leg.get("selected", ""):
        text += " + NLA"
    return text


def failures_by_cause(events, page):
    """handshake_failed events per cause; on the page without those at client_transport
    (refusals at accept; status_board.cpp leaves them out)."""
    out = {}
    for e in events:
        if e.get("event") != "handshake_failed":
            continue
        if page and e.get("stage") == "client_transport":
            continue
        out.setdefault(e["cause"], []).append(e)
    return out


def png_facts(path):
    """(width, height, distinct scan lines) of a PNG, standard library only: a blank page
    compresses to identical lines, a rendered one has hundreds of different ones."""
    data = pathlib.Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, idat, width = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    stride = 1 + width * channels * depth // 8
    lines = {raw[i:i + stride] for i in range(0, len(raw), stride)}
    return width, height, len(lines)


# ------------------------------------------------------------------ clients that fail
class RecordingProxy:
    """An HTTP proxy for Chromium that forwards nothing: it records each request's first line
    and host, answers 403 and closes. What reaches it is what Chromium tried to fetch from
    anywhere but loopback (which Chromium never sends through a proxy)."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests = []   # (first line, host)
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            conn.settimeout(5)
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    head += chunk
            except OSError:
                pass
            first = head.split(b"\r\n", 1)[0].decode(errors="replace")
            m = re.match(r"\S+ (?:\w+://)?([^/:\s]+)", first)
            with self._lock:
                self.requests.append((first, m.group(1).lower() if m else "?"))
            try:
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
            except OSError:
                pass

    def taken(self):
        with self._lock:
            out, self.requests = self.requests, []
        return out

    def close(self):
        self.listener.close()


class StatusPage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = [name for name, path in TOOLS.items()
                   if not (path and os.access(path, os.X_OK))]
        if missing:
            why = f"missing tools: {', '.join(missing)} (Debian packages chromium, xrdp, " \
                  "freerdp2-x11, xvfb)"
            if CI:
                raise AssertionError(f"required under CI=true: {why}")
            raise unittest.SkipTest(why)

    def setUp(self):
        self.lab = lab_for_test(self)
        self.proxy = RecordingProxy()
        self.addCleanup(self.proxy.close)
        self.runs = 0

    # ------------------------------------------------------------------ Chromium
    def chromium(self, url, stem, *, budget=None, artefact=True):
        """Renders `url` in headless Chromium with a fresh profile, behind the recording proxy:
        the DOM after the page's script ran (and, with `budget` ms of virtual time, its timers),
        and a screenshot LABDIR/stem.png. Returns the DOM text, the requests the proxy received
        and those the admin endpoint logged meanwhile, between two requests of the test's own
        (/healthz before, /readyz after), which nothing else asks for."""
        self.runs += 1
        profile = self.lab.dir / f"chromium-profile-{self.runs}"
        profile.mkdir()
        dom_path = self.lab.dir / f"{stem}.dom.html"
        shot = self.lab.dir / f"{stem}.png"
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", f"--user-data-dir={profile}",
                 f"--proxy-server=http://127.0.0.1:{self.proxy.port}",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                 f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={shot}",
                 "--dump-dom"]
        if budget:
            flags.append(f"--virtual-time-budget={budget}")
        self.proxy.taken()
        _, begin = self.fence("/healthz")
        # The DOM goes to stdout, Chromium's chatter to the lab's log of the run.
        res = self.lab.run(["sh", "-c", 'out="$1"; shift; exec "$@" > "$out"', "sh",
                            str(dom_path), CHROMIUM, *flags, url], f"chromium-{stem}",
                           timeout=CHROMIUM_TIMEOUT,
                           env={"HOME": str(self.lab.home), "TZ": "UTC"})
        self.assertEqual((res.ended_by, res.returncode), ("exit", 0), res.summary())
        dom = dom_path.read_text(errors="replace")
        self.assertIn("</html>", dom, res.summary())
        width, height, lines = png_facts(shot)
        self.assertEqual((width, height), WINDOW, shot)
        proxied = self.proxy.taken()
        end, _ = self.fence("/readyz")
        log = self.gw.proc.log_path.read_bytes()[begin:end].decode(errors="replace")
        admin = [m[:4] for m in ADMIN_LINE.findall(log)]
        # What Chromium asked for, next to the screenshot: the admin endpoint's log of it and
        # what reached the proxy.
        (self.lab.dir / f"{stem}.requests.txt").write_text(
            "".join(f"admin endpoint: {c} {m} {p} -> {s}\n" for c, m, p, s in admin) +
            "".join(f"proxy (answered 403): {line}\n" for line, _ in proxied))
        if not artefact:
            return dom, proxied, admin
        self.assertGreater(lines, 200, f"{shot} looks blank ({lines} distinct lines)")
        artefacts = os.environ.get("RDPBRIDGE_ARTIFACTS")
        if artefacts:
            os.makedirs(artefacts, exist_ok=True)
            shutil.copy(shot, artefacts)
        return dom, proxied, admin

    def assert_only_chromium_own(self, requests, what):
        foreign = [r for r in requests if r[1] not in CHROMIUM_OWN_HOSTS]
        self.assertEqual(foreign, [], f"{what}: requests beyond loopback that are not "
                                      f"Chromium's own services: {foreign}")

    # ------------------------------------------------------------------ the lab
    def produce(self):
        lab = self.lab
        xrdp = lab.xrdp("tls10")
        cert_a = lab.make_cert("impostor-a", cn="impostor")
        cert_b = lab.make_cert("impostor-b", cn="impostor")
        genuine = peers.ScriptedHost(*cert_a)
        self.addCleanup(genuine.close)
        self.admin = free_port()
        text = CONFIG % {"admin": self.admin, "xrdp": xrdp.port, "dead": free_port(),
                         "impostor": genuine.port, "spare": free_port(), "user": USER}
        gw = start_gateway(lab, None, "--log-level", "debug", config=text)
        gw.proc.wait_log(r"admin endpoint on http://127\.0\.0\.1:%d" % self.admin)
        self.gw, self.xrdp = gw, xrdp

        # impostor: learnt on a first session, then another certificate on its address.
        run = peers.run_client(gw.port, cookie="impostor")
        self.assertTrue(run.established, run.error)
        gw.wait_event("session_closed", backend="impostor")
        genuine.ctx = peers.server_context(*cert_b, False)   # its TLS from now on
        self.assertFalse(peers.run_client(gw.port, cookie="impostor").established)
        gw.wait_event("handshake_failed", cause="host_identity_changed")

        # strict: the real TLS 1.0 host, behind a backend that wants TLS 1.2.
        self.assertFalse(peers.run_client(gw.port, cookie="strict").established)
        # dead: nothing listens; early_host_contact makes the X.224 request enough.
        for _ in range(PROVOKED["connection_refused"]):
            peers.send_and_wait_close(gw.port, peers.x224_request("dead"))
        peers.send_and_wait_close(gw.port, peers.x224_request("nowhere"))          # no route
        for _ in range(PROVOKED["client_spoke_http"]):
            peers.send_and_wait_close(gw.port, b"GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
        peers.tls_hello_without_x224(gw.port)
        peers.send_and_wait_close(gw.port, bytes([0x03, 0x00, 0xFF, 0xFF]) + bytes(10))
        peers.send_and_wait_close(gw.port, peers.x224_request("win7"), source="127.0.0.9")  # denied
        failed = gw.wait_event("handshake_failed", count=sum(PROVOKED.values()))
        self.assertEqual({c: len(es) for c, es in failures_by_cause(failed, False).items()},
                         PROVOKED, failed)

        # win7: a real session, kept connected while the page is looked at.
        client = lab.start(["stdbuf", "-oL", "-eL", "xfreerdp", f"/v:127.0.0.1:{gw.port}",
                            "/cert:ignore", f"/u:{USER}", "/p:labpass-Secret1", *HARDENED,
                            "/log-level:DEBUG"], "xfreerdp-live", env=lab.client_env(),
                           ready_regex=r"CONNECTION_STATE_FINALIZATION", timeout=30)
        xrdp.wait_log(SESMAN, timeout=15)
        self.live = gw.wait_event("session_established", backend="win7")[0]
        self.client = client
        # Bytes both ways before the page is loaded (the relay counts what it moved).
        deadline = time.monotonic() + 15
        while True:
            review = json.loads(self.get("/api/sessions")[1])
            mine = [s for s in review["sessions"] if s.get("conn") == self.live["conn"]]
            if mine and mine[0].get("bytes_client_to_host") and \
                    mine[0].get("bytes_host_to_client"):
                break
            if time.monotonic() > deadline:
                raise LabTimeout(f"the live session relayed nothing: {review}")
            time.sleep(0.1)

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin}{path}", timeout=10) as r:
                return r.status, r.read().decode(), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), e.headers

    def fence(self, path, timeout=10.0):
        """GETs `path` from the admin endpoint and waits for its line in the gateway's log:
        (where the line starts, where it ends). The log is written by one thread in the order
        of events, so every request answered before this one is logged above it."""
        start = self.gw.proc.log_mark()
        self.assertEqual(self.get(path)[0], 200, path)
        line = re.compile(rb"admin request from [^ ]+: GET " + re.escape(path.encode()) +
                          rb" -> 200[^\n]*\n")
        deadline = time.monotonic() + timeout
        while True:
            m = line.search(self.gw.proc.log_path.read_bytes(), start)
            if m:
                return m.start(), m.end()
            if time.monotonic() > deadline:
                raise LabTimeout(f"GET {path} not logged within {timeout}s")
            time.sleep(0.02)

    # ------------------------------------------------------------------ assertions
    def assert_counts_and_fixes(self, dom, by_cause, what):
        counts = cause_counts(dom)
        self.assertEqual(counts, {c: {0: len(es), 1: len(es)} for c, es in by_cause.items()},
                         what)
        articles = cause_articles(dom)
        self.assertLessEqual(set(by_cause), set(articles), what)
        for cause, events in by_cause.items():
            hints = {" ".join(e["hint"].split()) for e in events}
            self.assertEqual(len(hints), 1, f"{cause}: the log gives several fixes: {hints}")
            self.assertEqual(articles[cause].get("Fix"), hints.pop(), f"{what}: {cause}")
            explanations = {" ".join(e["explanation"].split()) for e in events}
            self.assertIn(articles[cause].get("What happened"), explanations, f"{what}: {cause}")
        total = sum(len(es) for es in by_cause.values())
        self.assertEqual(dom.root.find(id="failures-in-window").words(), str(total), what)
        recent = dom.section("recent").find_all("details", data_conn=True)
        self.assertEqual(sorted(d.attrs["data-conn"] for d in recent),
                         sorted(e["conn"] for es in by_cause.values() for e in es), what)
        for d in recent:   # each one's cause and backend, as logged
            e = next(e for es in by_cause.values() for e in es if e["conn"] == d.attrs["data-conn"])
            self.assertEqual((d.attrs["data-cause"], d.attrs["data-backend"]),
                             (e["cause"], e.get("backend") or "(none)"))

    def assert_backend(self, rows, name, state, what):
        row = rows[name]
        self.assertEqual((row["data_state"], row["state"]), (state, state), f"{what}: {row}")
        self.assertIn({"ok": "ok", "failing": "failing"}.get(state, "never"), row["state_class"])

    def assert_self_contained(self, dom, text, live):
        refs = external_references(dom)
        if live:   # the footer's link to the JSON twin: relative, on the admin endpoint
            self.assertIn(("a", "href", "api/review"), refs)
            refs.remove(("a", "href", "api/review"))
        self.assertEqual(refs, [])
        bare = re.sub(r"""\sxmlns(?::\w+)?=(?:"[^"]*"|'[^']*')""", "", text)
        for needle in ("http://", "https://", "url(", "@import"):
            self.assertNotIn(needle, bare)
        self.assertIsNone(re.search(r"""(?:src|href|action)\s*=\s*["']?//""", text))
        [meta] = dom.root.find_all("meta", http_equiv="Content-Security-Policy")
        policy = {d.split()[0]: d.split()[1:] for d in
                  (p.strip() for p in meta.attrs["content"].split(";")) if d}
        script = "".join(s.text() for s in dom.root.find_all("script"))
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        want = {"default-src": ["'none'"], "style-src": ["'unsafe-inline'"],
                "img-src": ["data:"], "script-src": [f"'sha256-{digest}'"],
                "base-uri": ["'none'"], "form-action": ["'none'"]}
        if live:
            want["connect-src"] = ["'self'"]
        self.assertEqual(policy, want)
        # The script ran under that policy: it shows the filters and counts the failures.
        filters = dom.section("recent").find("div", **{"class": "filters"})
        self.assertNotIn("hidden", filters.attrs)
        n = len(dom.section("recent").find_all("details", data_conn=True))
        self.assertEqual(dom.root.find(id="filter-count").words(), f"{n} of {n} shown")

    # ------------------------------------------------------------------ the test
    def test_status_page_and_report_show_what_the_log_says(self):
        self.produce()
        gw = self.gw
        events = gw.events()
        by_cause_page = failures_by_cause(events, page=True)
        by_cause_all = failures_by_cause(events, page=False)
        self.assertEqual(len(by_cause_page), len(PROVOKED) - 1)   # seven causes on the page
        status, _, headers = self.get("/")
        self.assertEqual(status, 200)
        self.assertRegex(headers.get("Server-Timing", ""), r"^render;dur=[\d.]+$")

        # Chromium's own background traffic, on a page that names no URL at all.
        _, baseline, _ = self.chromium("data:text/html,<p>nothing</p>", "baseline",
                                    artefact=False)
        self.assert_only_chromium_own(baseline, "a data: page")

        # ---- the live page
        text, proxied, requests = self.chromium(f"http://127.0.0.1:{self.admin}/",
                                                "status-page", budget=15000)
        self.assert_only_chromium_own(proxied, "the status page")
        # What Chromium asked the admin endpoint: the page and its refresh.
        for client, method, path, code in requests:
            self.assertTrue(client.startswith("127.0.0.1:"), requests)
            self.assertIn((method, path, code), {("GET", "/", "200"),
                                                 ("GET", "/favicon.ico", "404")}, requests)
        self.assertEqual(sum(r[2] == "/" for r in requests), 2, requests)
        self.assertLessEqual(sum(r[2] == "/favicon.ico" for r in requests), 1, requests)

        dom = Dom(text)
        for section in ("summary", "backends", "failures", "causes", "sessions", "recent"):
            self.assertIsNotNone(dom.root.find(id=section), section)
        self.assertEqual(dom.root.find(id="refresh-status").words(), "")  # the refresh worked
        self.assert_self_contained(dom, text, live=True)
        self.assert_counts_and_fixes(dom, by_cause_page, "status page")
        summary = dom.root.find(id="summary").words()
        failed = sum(len(es) for es in by_cause_page.values())
        self.assertIn(f"5 backends · {failed} failures in the window · 1 session open", summary)
        self.assertIn("Live status", summary)
        self.assertIn("admin access: loopback only", summary)

        # Backends: every configured one, in the config's order, with its state and identity.
        rows = backend_rows(dom, live=True)
        self.assertEqual(list(rows), list(EXPECTED_BACKENDS))
        established = {}
        for e in events:
            if e.get("event") == "session_established":
                established[e["backend"]] = established.get(e["backend"], 0) + 1
        for name, (state, identity) in EXPECTED_BACKENDS.items():
            with self.subTest(backend=name):
                row = rows[name]
                self.assert_backend(rows, name, state, "status page")
                self.assertEqual(row["identity"], identity, row)
                mine = [e for es in by_cause_page.values() for e in es if e.get("backend") == name]
                self.assertEqual((row["sessions_now"], row["established"], row["failed"]),
                                 (1 if name == "win7" else 0, established.get(name, 0),
                                  len(mine)), row)
                self.assertIn("127.0.0.1:", row["head"])   # the configured address
                if mine:   # the newest failure, with the fix the log gave
                    newest = max(mine, key=lambda e: e["ts"])
                    self.assertIn(newest["cause"], row["last_failure"])
                    self.assertIn("Fix: " + " ".join(newest["hint"].split()), row["last_failure"])
                else:
                    self.assertIsNone(row["last_failure"], row)
        self.assertEqual(rows["win7"]["security"],
                         [f"client {leg_security(self.live['front'])}",
                          f"host {leg_security(self.live['back'])}"])
        self.assertTrue(rows["win7"]["security"][1].startswith("host TLS 1.0 "))

        # The live session: who, from where, to which backend, and bytes both ways.
        [session] = session_rows(dom)
        accepted = gw.events("connection_accepted", conn=self.live["conn"])[0]
        self.assertEqual((session["conn"], session["user"], session["client"], session["backend"],
                          session["backend_attr"]),
                         (self.live["conn"], USER, accepted["client"], "win7", "win7"))
        self.assertEqual((session["client_leg"], session["host_leg"]),
                         (leg_security(self.live["front"]), leg_security(self.live["back"])))
        self.assertTrue(all(n > 0 for n in session["bytes"]), session)
        self.assertTrue(self.client.alive(), self.client.describe())

        # ---- the report, from the same log
        report = self.lab.dir / "status-report.html"
        res = self.lab.run([BIN, "logs", str(gw.log_path), "--html", str(report)], "logs-html",
                           timeout=30)
        self.assertEqual((res.ended_by, res.returncode), ("exit", 0), res.summary())
        text, proxied, requests = self.chromium(report.as_uri(), "status-report")
        self.assert_only_chromium_own(proxied, "the report")
        self.assertEqual(requests, [])
        dom = Dom(text)
        for section in ("summary", "backends", "failures", "causes", "recent"):
            self.assertIsNotNone(dom.root.find(id=section), section)
        self.assertIsNone(dom.root.find(id="sessions"))   # a report has no live sessions
        self.assert_self_contained(dom, text, live=False)
        # The report counts every handshake_failed line, the refusal at accept included.
        self.assert_counts_and_fixes(dom, by_cause_all, "report")
        rows = backend_rows(dom, live=False)
        # A report knows the backends its log names (not the configured, unused "spare"), and
        # "(none)" for the failures before routing.
        self.assertEqual(set(rows), set(EXPECTED_BACKENDS) - {"spare"} | {"(none)"})
        for name, (state, _) in EXPECTED_BACKENDS.items():
            if name != "spare":
                self.assert_backend(rows, name, state, "report")
        self.assert_backend(rows, "(none)", "never reached", "report")
        self.assertEqual(rows["impostor"]["identity"], "changed, refused")
        self.assertEqual(rows["win7"]["identity"], "learned")
        unrouted = [e for e in events if e.get("event") == "handshake_failed"
                    and not e.get("backend")]
        self.assertEqual(rows["(none)"]["failed"], len(unrouted))
        for name in ("win7", "strict", "dead", "impostor"):
            mine = [e for es in by_cause_all.values() for e in es if e.get("backend") == name]
            self.assertEqual((rows[name]["established"], rows[name]["failed"]),
                             (established.get(name, 0), len(mine)), name)

        self.client.stop()
        gw.wait_event("session_closed", backend="win7")


if __name__ == "__main__":
    unittest.main()
