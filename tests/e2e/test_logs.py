"""`rdpbridge logs` on real handshake logs: the gateway writes them (good sessions through a TLS
1.0 host, bad clients, a backend with nothing listening behind a second gateway), the test adds a
malformed line and a gzip-compressed rotated file, and checks every number the command prints
against its own reading of the same files. Overlapping files (copies, a file given twice) count
once; time windows given as absolute times select what the test's own reading selects; a file
that is not a handshake log is refused. Then --follow prints new failures as they happen, and
--html writes a page whose numbers, read back from its markup, are the same, and which loads
nothing from anywhere."""

import base64
import datetime
import gzip
import hashlib
import html.parser
import json
import os
import re
import shutil
import subprocess
import unittest

import peers
from gateway import BIN, single_backend_config, start_gateway
from lab import free_port, lab_for_test

# xrdp logs this twice, at DEBUG then at INFO: ending on the second keeps a late first line from
# ending the next client before it connects ("Error connecting to sesman" does not match).
SESMAN = r"\[INFO \] connecting to sesman"
HARDENED = ("/sec:tls", "/tls-seclevel:3")
# A valid X.224 Connection Request offering TLS, without a cookie (routes to the default backend).
X224_REQUEST = bytes.fromhex("030000130ee000000000000100080001000000")
# For a gateway whose backend "target" has nothing listening: early_host_contact makes a bare
# X.224 request enough to reach the backend (by default the host is contacted only after TLS).
DEAD_BACKEND = dict(backend="target", backend_keys="early_host_contact = true")
COMMAND_TIMEOUT = 30



# ------------------------------------------------------------------ clients that fail
# ------------------------------------------------------------------ the test's own reading
def log_lines(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def parse_event(line):
    """The event, or None where `rdpbridge logs` must count a malformed line."""
    try:
        e = json.loads(line)
    except ValueError:
        return None
    if not isinstance(e, dict):
        return None
    if not all(isinstance(e.get(k), str) and e[k] for k in ("ts", "conn", "event")):
        return None
    if e["event"] == "handshake_failed" and not (e.get("stage") and e.get("cause")):
        return None
    return e


def is_gateway_event(line):
    """The gateway's own events (no connection): skipped, not malformed (docs/logs.md)."""
    try:
        e = json.loads(line)
    except ValueError:
        return False
    return (isinstance(e, dict) and "conn" not in e and isinstance(e.get("ts"), str)
            and e.get("event") in ("refusals_summary", "log_events_dropped", "gateway_stopped"))


def nearest_rank(values, percent):
    ordered = sorted(values)
    rank = max(1, (percent * len(ordered) + 99) // 100)
    return ordered[min(rank, len(ordered)) - 1]


def stats(conns):
    s = {"connections": len(conns),
         "established": sum(c["established"] for c in conns),
         "failed": sum(c["failed"] for c in conns)}
    s["unfinished"] = sum(not c["established"] and not c["failed"] for c in conns)
    times = [c["ms"] for c in conns if c["established"] and c["ms"] is not None]
    s["handshake_ms"] = {"samples": len(times),
                         "p50": nearest_rank(times, 50) if times else None,
                         "p95": nearest_rank(times, 95) if times else None}
    # What channel policies kept from the hosts (docs/logs.md): null where no session logged
    # one, as in these tests, whose backends have none.
    s["channel_policy"] = None
    return s


ONCE_PER_CONNECTION = ("connection_accepted", "session_established", "handshake_failed",
                       "session_closed")


def event_identity(e):
    """What makes an event the same one in two files (docs/logs.md, "Files")."""
    if e["event"] in ONCE_PER_CONNECTION:
        return (e["conn"], e["event"])
    if e["event"] in ("stage", "warning"):
        distinct = e.get(e["event"])
    else:
        distinct = json.dumps({k: v for k, v in e.items() if k not in ("ts", "conn", "event")},
                              sort_keys=True)
    return (e["conn"], e["event"], e["ts"], distinct)


def expected_summary(paths, since=None, until=None):
    """What the documented rules (docs/logs.md) make of these files, with a window given as
    timestamps in the log's own format (which sorts as text)."""
    conns, groups, malformed, seen, clients = {}, {}, [], set(), {}
    read = set()
    for path in paths:
        if os.path.realpath(path) in read:  # the same file given again is read once
            continue
        read.add(os.path.realpath(path))
        for number, line in enumerate(log_lines(path), 1):
            if not line.strip():
                continue
            e = parse_event(line)
            if e is None and not is_gateway_event(line):
                malformed.append((str(path), number))
            if e is None:
                continue
            if e["event"] == "connection_accepted":
                clients[e["conn"]] = e.get("client")
            if (since and e["ts"] < since) or (until and e["ts"] >= until):
                continue
            if event_identity(e) in seen:
                continue
            seen.add(event_identity(e))
            c = conns.setdefault(e["conn"], {"backend": None, "counted": False,
                                             "established": False, "failed": False, "ms": None})
            if isinstance(e.get("backend"), str) and e["backend"]:
                c["backend"] = e["backend"]
            kind = e["event"]
            if kind in ("connection_accepted", "session_established", "handshake_failed"):
                c["counted"] = True
            if kind == "session_established":
                c["established"] = True
                c["ms"] = e.get("handshake_ms")
            if kind == "handshake_failed":
                c["failed"] = True
                g = groups.setdefault((e["stage"], e["cause"]), {"count": 0, "conns": set(),
                                                                 "fixes": set()})
                g["count"] += 1
                g["conns"].add(e["conn"])
                g["fixes"].add(e["hint"])
    counted = [c for c in conns.values() if c["counted"]]
    by_backend = {}
    for c in counted:
        by_backend.setdefault(c["backend"] or "(none)", []).append(c)
    return {"totals": stats(counted),
            "backends": {name: stats(cs) for name, cs in by_backend.items()},
            "groups": groups, "malformed": malformed, "clients": clients}


def run_logs(*args, env=None):
    return subprocess.run([BIN, "logs", *map(str, args)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=COMMAND_TIMEOUT,
                          env={**os.environ, **(env or {})})


def counted(doc):
    """What a --json report counted, without the echo of its arguments."""
    return {k: v for k, v in doc.items() if k not in ("files", "filter")}


def group_counts(doc):
    return {(g["stage"], g["cause"]): g["count"] for g in doc["failures"]}


def log_time(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


ROW = re.compile(r"^  (\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(-|[\d.]+ ms)\s+(-|[\d.]+ ms)$",
                 re.M)
GROUP = re.compile(r"^  (\d+)x  (\w+) / (\w+)$", re.M)


class Page(html.parser.HTMLParser):
    """What a test reads from the --html page: each backend row's numeric cells, each cause's
    count per timeline, the recent failures, the anchors, every URL-bearing attribute, the
    script and the Content-Security-Policy."""

    def __init__(self, text):
        super().__init__()
        self.backends, self.counts, self.recent, self.ids, self.urls = {}, {}, [], set(), []
        self.script, self.csp = "", ""
        self._row = self._cause = self._cell = None
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        self.urls += [v for k, v in attrs if k in ("href", "src", "action") and v is not None]
        if a.get("http-equiv") == "Content-Security-Policy":
            self.csp = a["content"]
        if tag == "tr" and "data-backend" in a:
            self._row = self.backends.setdefault(a["data-backend"], [])
        elif tag == "tr" and "data-cause" in a:
            self._cause = self.counts.setdefault(a["data-cause"], {})
        elif tag == "td" and "num" in a.get("class", "").split():
            self._cell = ("timeline", a["data-timeline"]) if self._cause is not None and (
                "data-timeline" in a) else ("backend", None)
        elif tag == "details" and "data-conn" in a:
            self.recent.append(a)
        elif tag == "script":
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = self._cause = None
        elif tag == "td":
            self._cell = None
        elif tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.script += data
        elif self._cell and self._cell[0] == "timeline":
            self._cause[self._cell[1]] = int(data)
        elif self._cell and self._row is not None:
            self._row.append(int(data))


class Logs(unittest.TestCase):
    def produce_logs(self):
        """Two gateways' logs with sessions, failures before and after routing, a malformed
        line and a gzip-compressed rotated file; returns the files, oldest first."""
        lab = self.lab
        host = lab.xrdp("tls10")
        gw = start_gateway(lab, config=single_backend_config(
            host.port, backend="win7", backend_keys='[backend.tls]\nmin_version = "1.0"'))
        for sessions in (1, 2):
            res = lab.xfreerdp(gw.port, *HARDENED, until_log=(host, SESMAN), timeout=30)
            self.assertEqual(res.ended_by, "until", res.summary())
            gw.wait_event("session_closed", count=sessions)
        # "No NLA" is a fact about the backend: warned once, later connections log a repeat
        # that stderr shows only at debug.
        no_nla = [e for e in gw.events("warning") if e["warning"] == "backend_no_nla"]
        self.assertEqual([e.get("repeat", False) for e in no_nla], [False, True], no_nla)
        self.assertEqual(gw.proc.log_text().count("backend_no_nla"), 1, gw.proc.log_text())

        peers.send_and_wait_close(gw.port, bytes([0xA7]) + bytes(range(64)))   # not RDP
        peers.send_and_wait_close(gw.port, b"GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
        peers.tls_hello_without_x224(gw.port)
        peers.send_and_wait_close(gw.port, bytes([0x03, 0x00, 0xFF, 0xFF]) + bytes(10))
        gw.wait_event("handshake_failed", count=4)

        # A second gateway whose only backend has nothing listening.
        dead_target = "target"   # a config: the backend keeps the name it is given
        self.dead_target = dead_target
        dead = start_gateway(lab, config=single_backend_config(free_port(), **DEAD_BACKEND),
                             name="rdpbridge-dead")
        for _ in range(2):
            peers.send_and_wait_close(dead.port, X224_REQUEST)
        refused = dead.wait_event("handshake_failed", count=2)
        self.assertEqual({(e["stage"], e["cause"], e.get("backend")) for e in refused},
                         {("backend_connect", "connection_refused", dead_target)}, refused)
        dead.proc.stop()

        rotated = lab.dir / "handshake.1.jsonl.gz"
        with open(dead.log_path, "rb") as src, gzip.open(rotated, "wb") as dst:
            shutil.copyfileobj(src, dst)
        with open(gw.log_path, "a") as f:  # the gateway is idle: every connection has ended
            f.write('{"ts": "2026-01-01T00:00:00Z", "conn": "half a line\n')
        return [rotated, gw.log_path]

    def test_summary_counts_match_the_log(self):
        self.lab = lab_for_test(self)
        files = self.produce_logs()
        want = expected_summary(files)
        self.assertEqual(len(want["malformed"]), 1)
        self.assertEqual(want["totals"]["established"], 2)
        self.assertEqual(want["totals"]["failed"], 6)

        # --json: every number.
        res = run_logs("--json", *files)
        self.assertEqual(res.returncode, 0, res.stderr)
        doc = json.loads(res.stdout)
        self.assertEqual(doc["schema"], "rdpbridge.logs/1")
        self.assertEqual(doc["files"], [str(f) for f in files])
        totals = {k: v for k, v in doc["totals"].items() if k != "name"}
        self.assertEqual(totals, want["totals"])
        backends = {b.pop("name"): b for b in doc["backends"]}
        self.assertEqual(backends, want["backends"])
        self.assertEqual([b["name"] for b in json.loads(res.stdout)["backends"]],
                         [self.dead_target, "win7", "(none)"])
        self.assertEqual({(g["stage"], g["cause"]): g["count"] for g in doc["failures"]},
                         {k: g["count"] for k, g in want["groups"].items()})
        counts = [g["count"] for g in doc["failures"]]
        self.assertEqual(counts, sorted(counts, reverse=True))
        for g in doc["failures"]:
            mine = want["groups"][(g["stage"], g["cause"])]
            self.assertIn(g["fix"], mine["fixes"])
            self.assertTrue(g["explanation"])
            self.assertEqual(len(g["examples"]), min(3, mine["count"]))
            self.assertLessEqual({ex["conn"] for ex in g["examples"]}, mine["conns"])
            for ex in g["examples"]:  # every connection here has its accept line
                self.assertEqual(ex["client"], want["clients"][ex["conn"]], ex)
                self.assertTrue(ex["client"].startswith("127.0.0.1:"), ex)
            self.assertLessEqual(g["first_seen"], g["last_seen"])
        self.assertEqual(doc["malformed"]["count"], 1)
        self.assertEqual((doc["malformed"]["first"]["file"], doc["malformed"]["first"]["line"]),
                         want["malformed"][0])

        # Human: the same numbers, as people read them.
        res = run_logs(*files)
        self.assertEqual(res.returncode, 0, res.stderr)
        out = res.stdout
        rows = {m[0]: m[1:] for m in ROW.findall(out)}
        expected_rows = dict(want["backends"], all=want["totals"])
        self.assertEqual(set(rows), set(expected_rows), out)
        for name, s in expected_rows.items():
            self.assertEqual(tuple(int(n) for n in rows[name][:4]),
                             (s["connections"], s["established"], s["failed"], s["unfinished"]),
                             f"{name}\n{out}")
            p50 = s["handshake_ms"]["p50"]
            self.assertEqual(rows[name][4], "-" if p50 is None else f"{p50:.1f} ms", out)
        self.assertEqual({(stage, cause): int(n) for n, stage, cause in GROUP.findall(out)},
                         {k: g["count"] for k, g in want["groups"].items()}, out)
        for (stage, cause), g in want["groups"].items():
            self.assertIn("Fix: " + next(iter(g["fixes"])), out)
        example = doc["failures"][0]["examples"][0]
        self.assertIn(f"{example['conn']}  {example['ts']}  from {example['client']}", out)
        path, line = want["malformed"][0]
        self.assertIn(f"1 malformed line skipped (first at {path}:{line})", out)

        # Filters: everything was written just now; one backend keeps only its own.
        recent = json.loads(run_logs("--json", "--since", "1h", *files).stdout)
        self.assertEqual(recent["totals"]["connections"], want["totals"]["connections"])
        win7 = json.loads(run_logs("--json", "--backend", "win7", *files).stdout)
        self.assertEqual({k: v for k, v in win7["totals"].items() if k != "name"},
                         want["backends"]["win7"])
        self.assertEqual(win7["failures"], [])

        # An unreadable file is named and fails the run; the others are still reported.
        missing = self.lab.dir / "missing.jsonl"
        res = run_logs(missing, *files)
        self.assertEqual(res.returncode, 1)
        self.assertIn(f"cannot read {missing}", res.stderr)
        self.assertIn("Connections per backend", res.stdout)
        # Usage errors.
        self.assertEqual(run_logs("--since", "soon", *files).returncode, 2)
        self.assertEqual(run_logs().returncode, 2)
        self.assertEqual(run_logs("--follow", files[0]).returncode, 2)  # .gz cannot grow

    def test_html_report_counts_match_the_log(self):
        self.lab = lab_for_test(self)
        files = self.produce_logs()
        want = expected_summary(files)
        out = self.lab.dir / "report.html"
        res = run_logs("--html", out, *files)
        self.assertEqual(res.returncode, 0, res.stderr)
        events = sum(1 for path in files for line in log_lines(path) if parse_event(line))
        self.assertEqual(res.stdout,
                         f"wrote {out} ({events} events, {want['totals']['failed']} failures)\n")
        text = out.read_text()
        page = Page(text)

        for section in ("backends", "failures", "causes", "recent"):
            self.assertIn(section, page.ids)
        self.assertNotIn("sessions", page.ids)  # a report has no live sessions
        # Established and failed per backend, as the documented rules count them.
        self.assertEqual(page.backends, {name: [s["established"], s["failed"]]
                                         for name, s in want["backends"].items()})
        # Failures per cause: all of them happened just now, so within both windows.
        per_cause = {}
        for (stage, cause), g in want["groups"].items():
            per_cause[cause] = per_cause.get(cause, 0) + g["count"]
        self.assertEqual(page.counts, {c: {"0": n, "1": n} for c, n in per_cause.items()})
        for cause in per_cause:
            self.assertIn("cause-" + cause, page.ids)
        self.assertEqual(len(page.recent), want["totals"]["failed"])
        self.assertEqual({r["data-conn"] for r in page.recent},
                         set().union(*(g["conns"] for g in want["groups"].values())))

        # Nothing loads from anywhere, and the page's script runs under its own policy.
        self.assertTrue(all(u.startswith("#") for u in page.urls), page.urls)
        for needle in ("http://", "https://", "url(", "@import"):
            self.assertNotIn(needle, text)
        digest = base64.b64encode(hashlib.sha256(page.script.encode()).digest()).decode()
        self.assertIn(f"script-src 'sha256-{digest}'", page.csp)
        self.assertIn("default-src 'none'", page.csp)
        self.assertNotIn("fetch(", page.script)  # reports do not refresh

        # One backend: its own row and failures only. Written over the previous page.
        res = run_logs("--html", out, "--backend", self.dead_target, *files)
        self.assertEqual(res.returncode, 0, res.stderr)
        page = Page(out.read_text())
        self.assertEqual(list(page.backends), [self.dead_target])
        self.assertEqual(len(page.recent), want["backends"][self.dead_target]["failed"])
        self.assertFalse([f for f in os.listdir(self.lab.dir) if f.startswith("report.html.")])
        # Not with --json or --follow.
        self.assertEqual(run_logs("--html", out, "--json", *files).returncode, 2)

    def test_overlapping_files_count_once(self):
        self.lab = lab_for_test(self)
        rotated, live = self.produce_logs()
        alone = run_logs("--json", rotated, live)
        self.assertEqual(alone.returncode, 0, alone.stderr)
        want = json.loads(alone.stdout)

        # The rotated file uncompressed next to its .gz, and a copy of the live log's first half
        # (an admin's backup) next to the live log, which is also given a second time.
        unzipped = self.lab.dir / "handshake.1.jsonl"
        unzipped.write_text("\n".join(log_lines(rotated)) + "\n")
        lines = log_lines(live)
        self.assertGreater(len(lines), 10)
        backup = self.lab.dir / "handshake-backup.jsonl"
        backup.write_text("\n".join(lines[:len(lines) // 2]) + "\n")  # not the malformed end
        files = [rotated, unzipped, backup, live, live]
        res = run_logs("--json", *files)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn(f"{live} is given more than once; read once", res.stderr)
        got = json.loads(res.stdout)
        self.assertEqual(counted(got), counted(want))
        self.assertEqual(group_counts(got), {k: g["count"] for k, g in
                                             expected_summary([rotated, live])["groups"].items()})
        for g in got["failures"]:
            conns = [ex["conn"] for ex in g["examples"]]
            self.assertEqual(len(conns), len(set(conns)), g)

        # Human: each group once, with its count once.
        out = run_logs(*files).stdout
        self.assertEqual({(stage, cause): int(n) for n, stage, cause in GROUP.findall(out)},
                         group_counts(want), out)

    def test_absolute_since_and_until_split_the_log(self):
        self.lab = lab_for_test(self)
        files = self.produce_logs()
        failures = sorted(e["ts"] for path in files for e in map(parse_event, log_lines(path))
                          if e and e["event"] == "handshake_failed")
        self.assertEqual(len(failures), 6)
        self.assertLess(failures[2], failures[3])
        split = failures[3]  # three failures before, three at or after
        at = log_time(split)
        before, after = expected_summary(files, until=split), expected_summary(files, since=split)
        self.assertEqual((before["totals"]["failed"], after["totals"]["failed"]), (3, 3))

        offset = datetime.timezone(datetime.timedelta(hours=1))
        rfc3339 = at.astimezone(offset).isoformat(timespec="milliseconds")  # ...+01:00
        local = at.astimezone(datetime.timezone(datetime.timedelta(hours=-5)))
        local_text = local.strftime("%Y-%m-%d %H:%M:%S.") + f"{local.microsecond // 1000:03d}"
        for args, env in ((("--since", rfc3339), None),
                          (("--since", split), None),
                          (("--since", local_text), {"TZ": "<-05>5"})):
            with self.subTest(args=args, env=env):
                res = run_logs("--json", *args, *files, env=env)
                self.assertEqual(res.returncode, 0, res.stderr)
                doc = json.loads(res.stdout)
                self.assertEqual(doc["filter"]["since"], split)
                self.assertEqual({k: v for k, v in doc["totals"].items() if k != "name"},
                                 after["totals"])
                self.assertEqual(group_counts(doc),
                                 {k: g["count"] for k, g in after["groups"].items()})
        res = run_logs("--json", "--until", rfc3339, *files)
        self.assertEqual(res.returncode, 0, res.stderr)
        doc = json.loads(res.stdout)
        self.assertEqual(doc["filter"]["until"], split)
        self.assertEqual({k: v for k, v in doc["totals"].items() if k != "name"},
                         before["totals"])
        # A window that ends where it begins is a usage error.
        self.assertEqual(run_logs("--since", split, "--until", rfc3339, *files).returncode, 2)

    def test_a_file_that_is_not_a_handshake_log_is_refused(self):
        lab = lab_for_test(self)
        gw = start_gateway(lab, free_port())
        peers.send_and_wait_close(gw.port, b"GET / HTTP/1.1\r\n\r\n")
        gw.wait_event("handshake_failed")
        other = lab.dir / "inventory.jsonl"  # JSON Lines, but not ours
        other.write_text('{"host": "xp1", "event": "patched"}\n{"host": "w7", "conn": 3}\n')
        services = "/etc/services" if os.path.exists("/etc/services") else other
        empty = lab.dir / "empty.jsonl"
        empty.write_text("")

        for path in (services, other):
            with self.subTest(path=path):
                res = run_logs(path)
                self.assertEqual(res.returncode, 3, res.stdout + res.stderr)
                self.assertIn(f"{path}: not a handshake log: no line was a rdpbridge handshake "
                              'event (JSON Lines with "event" and "conn"); expected the file '
                              "given to [logging] handshake_log", res.stderr)
                self.assertNotIn("malformed", res.stdout)

        res = run_logs(empty)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("No connections in these files.", res.stdout)

        # Among real logs: named, left out of the report, which covers the real log.
        alone = json.loads(run_logs("--json", gw.log_path).stdout)
        res = run_logs("--json", other, gw.log_path, empty)
        self.assertEqual(res.returncode, 3, res.stderr)
        self.assertIn(f"{other}: not a handshake log", res.stderr)
        self.assertEqual(counted(json.loads(res.stdout)), counted(alone))
        # An unreadable file too: the highest code wins.
        self.assertEqual(run_logs(lab.dir / "missing.jsonl", other, gw.log_path).returncode, 3)

    def test_follow_prints_new_failures_as_they_happen(self):
        lab = lab_for_test(self)
        target = "target"
        gw = start_gateway(lab, config=single_backend_config(free_port(), **DEAD_BACKEND))
        peers.send_and_wait_close(gw.port, b"GET / HTTP/1.1\r\n\r\n")
        gw.wait_event("handshake_failed")

        ready = r"following .* for new failures"
        human = lab.start([BIN, "logs", "--follow", str(gw.log_path)], "logs-follow",
                          ready_regex=ready)
        machine = lab.start([BIN, "logs", "--follow", "--json", "--backend", target,
                             str(gw.log_path)], "logs-follow-json", ready_regex=ready)
        self.assertRegex(human.log_text(), r"1x  client_x224 / client_spoke_http")
        human_mark, machine_mark = human.log_mark(), machine.log_mark()

        peers.send_and_wait_close(gw.port, b"GET /again HTTP/1.1\r\n\r\n")
        http = gw.wait_event("handshake_failed", count=2)[-1]
        line = human.wait_log(r"handshake failed at client_x224: client_spoke_http", timeout=10,
                              since=human_mark)
        self.assertIn(f"[{http['conn']}]", line)
        self.assertIn("(backend (none))", line)
        self.assertIn("Fix: " + http["hint"], line)

        peers.send_and_wait_close(gw.port, X224_REQUEST)
        refused = gw.wait_event("handshake_failed", count=3)[-1]
        self.assertEqual(refused["cause"], "connection_refused")
        human.wait_log(r"backend_connect: connection_refused \(backend %s\).* Fix: "
                       % re.escape(target),
                       timeout=10, since=human_mark)
        machine.wait_log(r'"cause":"connection_refused"', timeout=10, since=machine_mark)

        for proc in (human, machine):
            self.assertEqual(proc.stop(), 0, proc.describe())  # SIGTERM ends it cleanly
        docs = [json.loads(l) for l in machine.log_text().splitlines() if l.startswith("{")]
        self.assertEqual(docs[0]["schema"], "rdpbridge.logs/1")
        self.assertEqual(docs[0]["failures"], [])      # the HTTP failure has no backend
        self.assertEqual([(d["conn"], d["backend"], d["fix"]) for d in docs[1:]],
                         [(refused["conn"], target, refused["hint"])])


if __name__ == "__main__":
    unittest.main()
