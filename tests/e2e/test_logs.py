"""`rdpbridge logs` on real handshake logs: the gateway writes them (good sessions through a TLS
1.0 host, bad clients, a backend with nothing listening behind a second gateway), the test adds a
malformed line and a gzip-compressed rotated file, and checks every number the command prints
against its own reading of the same files. Then --follow prints new failures as they happen."""

import gzip
import json
import re
import shutil
import socket
import ssl
import subprocess
import unittest

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
CLOSE_DEADLINE = 10.0
COMMAND_TIMEOUT = 30



# ------------------------------------------------------------------ clients that fail
def send_and_wait_close(port, payload):
    """Connects, sends `payload` and waits until the gateway closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(payload)
        s.settimeout(CLOSE_DEADLINE)
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass


def tls_hello_without_x224(port):
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        ctx.wrap_socket(raw, server_hostname="gw").do_handshake()
    except (ssl.SSLError, OSError):
        pass
    finally:
        raw.close()


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
    return s


def expected_summary(paths):
    """What the documented rules (docs/logs.md) make of these files."""
    conns, groups, malformed = {}, {}, []
    for path in paths:
        for number, line in enumerate(log_lines(path), 1):
            if not line.strip():
                continue
            e = parse_event(line)
            if e is None:
                malformed.append((str(path), number))
                continue
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
            "groups": groups, "malformed": malformed}


def run_logs(*args):
    return subprocess.run([BIN, "logs", *map(str, args)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=COMMAND_TIMEOUT)


ROW = re.compile(r"^  (\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(-|[\d.]+ ms)\s+(-|[\d.]+ ms)$",
                 re.M)
GROUP = re.compile(r"^  (\d+)x  (\w+) / (\w+)$", re.M)


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

        send_and_wait_close(gw.port, bytes([0xA7]) + bytes(range(64)))   # not RDP
        send_and_wait_close(gw.port, b"GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
        tls_hello_without_x224(gw.port)
        send_and_wait_close(gw.port, bytes([0x03, 0x00, 0xFF, 0xFF]) + bytes(10))
        gw.wait_event("handshake_failed", count=4)

        # A second gateway whose only backend has nothing listening.
        dead = start_gateway(lab, config=single_backend_config(free_port(), **DEAD_BACKEND),
                             name="rdpbridge-dead")
        for _ in range(2):
            send_and_wait_close(dead.port, X224_REQUEST)
        refused = dead.wait_event("handshake_failed", count=2)
        self.assertEqual({(e["stage"], e["cause"], e.get("backend")) for e in refused},
                         {("backend_connect", "connection_refused", "target")}, refused)
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
                         ["target", "win7", "(none)"])
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

    def test_follow_prints_new_failures_as_they_happen(self):
        lab = lab_for_test(self)
        gw = start_gateway(lab, config=single_backend_config(free_port(), **DEAD_BACKEND))
        send_and_wait_close(gw.port, b"GET / HTTP/1.1\r\n\r\n")
        gw.wait_event("handshake_failed")

        ready = r"following .* for new failures"
        human = lab.start([BIN, "logs", "--follow", str(gw.log_path)], "logs-follow",
                          ready_regex=ready)
        machine = lab.start([BIN, "logs", "--follow", "--json", "--backend", "target",
                             str(gw.log_path)], "logs-follow-json", ready_regex=ready)
        self.assertRegex(human.log_text(), r"1x  client_x224 / client_spoke_http")
        human_mark, machine_mark = human.log_mark(), machine.log_mark()

        send_and_wait_close(gw.port, b"GET /again HTTP/1.1\r\n\r\n")
        http = gw.wait_event("handshake_failed", count=2)[-1]
        line = human.wait_log(r"handshake failed at client_x224: client_spoke_http", timeout=10,
                              since=human_mark)
        self.assertIn(f"[{http['conn']}]", line)
        self.assertIn("(backend (none))", line)
        self.assertIn("Fix: " + http["hint"], line)

        send_and_wait_close(gw.port, X224_REQUEST)
        refused = gw.wait_event("handshake_failed", count=3)[-1]
        self.assertEqual(refused["cause"], "connection_refused")
        human.wait_log(r"backend_connect: connection_refused \(backend target\).* Fix: ",
                       timeout=10, since=human_mark)
        machine.wait_log(r'"cause":"connection_refused"', timeout=10, since=machine_mark)

        for proc in (human, machine):
            self.assertEqual(proc.stop(), 0, proc.describe())  # SIGTERM ends it cleanly
        docs = [json.loads(l) for l in machine.log_text().splitlines() if l.startswith("{")]
        self.assertEqual(docs[0]["schema"], "rdpbridge.logs/1")
        self.assertEqual(docs[0]["failures"], [])      # the HTTP failure has no backend
        self.assertEqual([(d["conn"], d["backend"], d["fix"]) for d in docs[1:]],
                         [(refused["conn"], "target", refused["hint"])])


if __name__ == "__main__":
    unittest.main()
