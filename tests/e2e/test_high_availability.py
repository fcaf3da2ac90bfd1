"""Part 11 acceptance, several rdpbridge instances behind HAProxy: Debian's HAProxy runs the
shipped deploy/haproxy/haproxy.cfg (only its addresses, its log target and its stats socket's
path are changed) in front of three instances (gw1..gw3, each with its own admin port, state
dir and handshake log, PROXY protocol from HAProxy only) and two xrdp hosts like Windows 7
(TLS 1.0 only); users alice and bob are routed to host A, carol and dave to host B.

  (a) sessions of four users spread over the instances, every session of one user on one
      instance (HAProxy hashes and sticks on the mstshash cookie), a real hardened FreeRDP
      client among them: proven from the instances' handshake logs, HAProxy's stick table
      and xrdp's log;
  (b) SIGTERM drains an instance: its /readyz answers 503, HAProxy marks it DOWN, its users'
      new sessions land on the other instances while its live session keeps relaying until
      [service] drain_timeout ends it;
  (c) kill -9 of an instance: its users' new sessions get through the others within the
      health check's inter x fall;
  (d) the handshake logs show each client's own address (PROXY v2, with the balancer's), and
      no health check ever shows up as a failed handshake;
  (e) trust across instances: two instances share one known_hosts file, the third imports
      what `rdpbridge hosts export` printed; all three accept host A, and all three refuse
      the impostor that replaces it.

Figures (failover time, time to DOWN, sessions per instance) are printed to stderr as
"HA figure: ...". The Xvfb, the two xrdp hosts and an echoing scripted host are shared by the
class (their start-up is what costs); instances and HAProxy belong to each test's own lab."""

import collections
import csv
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import peers
from gateway import http_status, BIN, start_gateway, wait_for
from lab import Lab, cert_sha256, free_port, lab_for_test, spki_sha256, wait_listening

CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
SHIPPED = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "haproxy" / "haproxy.cfg"
HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
TOOLS = {"haproxy": HAPROXY, "xrdp": shutil.which("xrdp"), "xfreerdp": shutil.which("xfreerdp"),
         "Xvfb": shutil.which("Xvfb")}
HARDENED = ("/sec:tls", "/tls-seclevel:3")
SESMAN = r"connecting to sesman"

# Who goes where: each user's [[route]] (by mstshash) and the loopback address its scripted
# client connects from (so that the logs can show the client's own address behind HAProxy).
USERS = {"alice": "hostA", "bob": "hostA", "carol": "hostB", "dave": "hostB"}
LIVE_USER = "erin"                         # holds a session to the echoing host open
ROUTES = {**USERS, LIVE_USER: "echo"}
SOURCE = {user: f"127.0.0.{11 + i}" for i, user in enumerate(ROUTES)}

# The shipped health check: a probe every INTER s, FALL failures in a row mark an instance DOWN.
_CHECK = re.search(r"^\s*server gw1 .* inter (\d+)s fall (\d+)", SHIPPED.read_text(), re.M)
INTER, FALL = int(_CHECK.group(1)), int(_CHECK.group(2))
# Within this, HAProxy must have taken a dead or draining instance out of rotation: the first
# failing probe comes within one interval, the FALL-th FALL - 1 intervals later; 2 s more for
# scheduling on a loaded 2-core machine.
DOWN_WITHIN = INTER * FALL + 2.0
DRAIN = 10  # s of [service] drain_timeout: room for DOWN and the users' new sessions

INSTANCE = """
state_dir = "%(state)s"
%(top)s
[logging]
handshake_log = "{log}"
[service]
drain_timeout = "%(drain)ds"
[admin]
bind = "127.0.0.1:%(admin)d"
[[listener]]
name = "lb"
bind = "127.0.0.1:{port}"
proxy_protocol = true
proxy_protocol_from = ["127.0.0.1/32"]
%(direct)s
%(backends)s
"""

# A second listener without the PROXY protocol, for reaching one instance directly (part e).
DIRECT = """
[[listener]]
name = "direct"
bind = "127.0.0.1:%d"
"""


def backends_toml(hosts: dict) -> str:
    """[[backend]]s at 127.0.0.1:port ({name: port}) and the [[route]] of every user whose
    backend is among them. No [backend.tls]: verify = "tofu" is the default."""
    text = "".join(f'[[backend]]\nname = "{name}"\naddress = "127.0.0.1:{port}"\n'
                   for name, port in hosts.items())
    return text + "".join(f'[[route]]\nmstshash = "{user}"\nbackend = "{backend}"\n'
                          for user, backend in ROUTES.items() if backend in hosts)


def figure(text):
    """A measured figure, printed so that it can be quoted."""
    print(f"HA figure: {text}", file=sys.stderr, flush=True)


SANITIZER_REPORT = re.compile(r"==\d+==ERROR: \w+Sanitizer|WARNING: ThreadSanitizer|"
                              r": runtime error: ")


def rdpbridge(*args, stdin=None):
    """Runs the binary with `args` (and `stdin` text): CompletedProcess (text). A sanitizer
    report fails the test whatever the exit code."""
    r = subprocess.run([BIN, *map(str, args)], input=stdin, capture_output=True, text=True,
                       timeout=60)
    assert not SANITIZER_REPORT.search(r.stderr), f"sanitizer report from {args}:\n{r.stderr}"
    return r


def read_jsonl(text):
    """Host identity entries (the store's format, and `hosts export`'s) keyed by backend."""
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    return {e["backend"]: e for e in entries}


def identity(entry):
    """What identifies a host in an entry; last_seen and the like move with every session."""
    return {k: entry.get(k) for k in ("address", "tls_cert_sha256", "tls_spki_sha256",
                                      "rdp_key_sha256", "layers")}


# ----------------------------------------------------------------------------- HAProxy
class Haproxy:
    """Debian's HAProxy running a copy of the shipped config, and its stats socket."""

    def __init__(self, proc, front, socket_path):
        self.proc, self.front, self.socket_path = proc, front, socket_path

    def command(self, line):
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(str(self.socket_path))
            s.sendall(line.encode() + b"\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        return out.decode()

    def servers(self):
        """`show stat` rows of the backend's servers, by server name."""
        text = self.command("show stat").lstrip("# ")
        return {row["svname"]: row for row in csv.DictReader(text.splitlines())
                if row["pxname"] == "rdp" and row["svname"] not in ("FRONTEND", "BACKEND")}

    def sticky(self):
        """The stick table: user (cookie) -> server name."""
        return dict(re.findall(r"key=(\S+) .*?server_key=(\S+)", self.command("show table rdp")))

    def wait_status(self, server, status, timeout):
        wait_for(f"HAProxy: {server} {status}",
                 lambda: self.servers()[server]["status"].startswith(status), timeout)


def haproxy_config(front, instances, socket_path):
    """The shipped file with the test's addresses: the bind line, each server's address and
    check port; HAProxy's log goes to stderr (the lab's log of it) and its stats socket to
    `socket_path`. Everything else verbatim, so the test runs the file operators get."""
    text = SHIPPED.read_text()
    for old, new in (("\n    log /dev/log local0\n", "\n    log stderr format short local0 info\n"),
                     (" /run/haproxy/admin.sock ", f" {socket_path} "),
                     ("\n    bind :3389 ", f"\n    bind 127.0.0.1:{front} ")):
        assert text.count(old) == 1, f"{SHIPPED}: expected one {old.strip()!r}"
        text = text.replace(old, new)
    servers = iter(instances)

    def server(m):
        gw = next(servers)
        assert m.group(1) == gw.name, (m.group(0), gw.name)
        return f"server {gw.name} 127.0.0.1:{gw.port} check port {gw.admin} "

    text, n = re.subn(r"server (gw\d+) \S+:3389 check port 9100 ", server, text)
    assert n == len(instances), f"{SHIPPED}: {n} server lines, {len(instances)} instances"
    return text


# ----------------------------------------------------------------------------- sessions
def landed(instances, predicate, timeout=15.0):
    """The instance whose log has a connection_accepted matching `predicate` (the log is
    written asynchronously: polled), and that event."""
    found = []

    def look():
        found[:] = [(gw, e) for gw in instances for e in gw.events("connection_accepted")
                    if predicate(e)]
        return found

    wait_for("connection_accepted in an instance's log", look, timeout)
    assert len(found) == 1, f"more than one connection matches: {found}"
    return found[0]


class HighAvailability(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = [name for name, path in TOOLS.items() if path is None]
        if missing:
            msg = "missing for the high-availability lab: " + ", ".join(missing)
            if CI:
                raise AssertionError(msg)       # CI: a missing tool is a failure
            raise unittest.SkipTest(msg)
        cls.shared = Lab("test_high_availability-hosts")
        try:
            cls.display = cls.shared.xvfb()
            cls.hosts = {"hostA": cls.shared.xrdp("tls10", name="hostA"),
                         "hostB": cls.shared.xrdp("tls10", name="hostB")}
            cert, key = cls.shared.make_cert("echo")
            cls.echo = peers.ScriptedHost(cert, key, echo=True)
        except BaseException:
            cls.shared.close(failed=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.echo.close()
        cls.shared.close()

    # ------------------------------------------------------------------ the farm
    def start_instances(self, lab, hosts, *, drain=30, direct=False, known_hosts=(None,) * 3):
        """gw1..gw3: each its own admin port, state dir and handshake log; `known_hosts[i]`
        (a path) sets instance i's store; `direct` adds a listener without the PROXY protocol
        (its port is gw.direct)."""
        instances = []
        for n, store in enumerate(known_hosts, start=1):
            name, admin = f"gw{n}", free_port()
            direct_port = free_port() if direct else None
            state = lab.dir / f"state-{name}"
            gw = start_gateway(lab, name=name, config=INSTANCE % {
                "state": state, "drain": drain, "admin": admin,
                "top": f'known_hosts = "{store}"' if store else "",
                "direct": DIRECT % direct_port if direct else "",
                "backends": backends_toml(hosts)})
            gw.name, gw.admin, gw.state, gw.direct = name, admin, state, direct_port
            if direct:
                wait_listening(direct_port, proc=gw.proc)
            instances.append(gw)
        return instances

    def start_haproxy(self, lab, instances):
        # A short directory: a unix socket's path must fit in 108 bytes, the lab's may not.
        sock_dir = pathlib.Path(tempfile.mkdtemp(prefix="rdpbridge-ha-"))
        self.addCleanup(shutil.rmtree, sock_dir, True)
        front = free_port()
        path = lab.dir / "haproxy.cfg"
        path.write_text(haproxy_config(front, instances, sock_dir / "stats.sock"))
        proc = lab.start([HAPROXY, "-f", str(path), "-db"], "haproxy")
        wait_listening(front, proc=proc, what="haproxy")
        haproxy = Haproxy(proc, front, sock_dir / "stats.sock")
        wait_for("HAProxy's stats socket", (sock_dir / "stats.sock").exists, 10)
        # Every instance has passed a check of /readyz (200) before the first client.
        wait_for("every instance checked L7OK", lambda: all(
            s["check_status"] == "L7OK" for s in haproxy.servers().values()), INTER * 2 + 5)
        return haproxy

    def farm(self, **kw):
        lab = lab_for_test(self, display=self.display)
        instances = self.start_instances(
            lab, {**{n: h.port for n, h in self.hosts.items()}, "echo": self.echo.port}, **kw)
        return lab, instances, self.start_haproxy(lab, instances)

    # ------------------------------------------------------------------ sessions
    def session(self, instances, haproxy, user):
        """A scripted client of `user` through HAProxy, established to its host and closed;
        returns the instance that served it and its connection id."""
        run = peers.run_client(haproxy.front, cookie=user, source=SOURCE[user])
        self.assertTrue(run.established, f"{user}: {run.error}")
        gw, accepted = landed(instances, lambda e: e["client"] == run.local)
        self.assert_served(gw, accepted, user)
        return gw, accepted["conn"]

    def assert_served(self, gw, accepted, user):
        """(d) and routing: the instance saw the client's own address from HAProxy's PROXY v2
        header, read the user's cookie and took the user's route; the session ended."""
        conn = accepted["conn"]
        self.assertEqual(accepted["proxy_protocol"], 2, accepted)
        self.assertEqual(accepted["listener"], "lb", accepted)
        self.assertRegex(accepted["balancer"], r"^127\.0\.0\.1:\d+$", accepted)
        x224 = [e for e in gw.events("stage", conn=conn) if e["stage"] == "client_x224"]
        self.assertEqual([e.get("mstshash") for e in x224], [user], x224)
        est = gw.wait_event("session_established", conn=conn)[0]
        self.assertEqual(est["backend"], ROUTES[user], est)
        gw.wait_event("session_closed", conn=conn)

    def real_session(self, lab, instances, haproxy, user):
        """The hardened FreeRDP client as `user` through HAProxy, ended once xrdp has passed
        the whole connection sequence; returns the instance that served it."""
        host = self.hosts[USERS[user]]
        mark = host.log_mark()
        res = lab.xfreerdp(haproxy.front, *HARDENED, user=user, until_log=(host, SESMAN),
                           timeout=40)
        self.assertTrue(res.reached("CONNECTION_STATE_FINALIZATION"), res.summary())
        host.wait_log(SESMAN, since=mark)
        log = host.log_since(mark)
        self.assertRegex(log, r"TLS connection established .*TLSv1 ")
        self.assertRegex(log, rf"Client supplied username: {user}\b")
        # FreeRDP connects from 127.0.0.1 (it cannot pick a source); the scripted clients
        # never do: this is its connection.
        gw, accepted = landed(instances, lambda e: e["client"].startswith("127.0.0.1:"))
        self.assert_served(gw, accepted, user)
        closed = gw.wait_event("session_closed", conn=accepted["conn"])[0]
        self.assertEqual(closed["closed_by"], "client", closed)
        self.assertGreater(closed["bytes_host_to_client"], 0, closed)
        return gw

    def assert_no_failures(self, instances):
        """(d): HAProxy probes /readyz on the admin port every INTER s; not one probe (nor
        anything else) shows up as a failed handshake."""
        for gw in instances:
            self.assertEqual(gw.failures(), [], gw.name)

    # ------------------------------------------------------------------ tests
    def test_shipped_configs_are_valid(self):
        """haproxy -c on the shipped file itself (the other tests run a copy with their
        addresses); keepalived -t on the keepalived sketch where keepalived is installed."""
        r = subprocess.run([HAPROXY, "-c", "-f", str(SHIPPED)], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        keepalived = shutil.which("keepalived") or shutil.which("keepalived", path="/usr/sbin")
        if keepalived:  # a documented sketch; checked where keepalived happens to be installed
            r = subprocess.run([keepalived, "-t", "-f", str(SHIPPED.with_name("keepalived.conf"))],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_users_stick_to_one_instance_and_spread_over_several(self):
        """(a), (d)"""
        lab, instances, haproxy = self.farm()
        served = []   # (user, instance name)

        def scripted(*users):
            for user in users:
                served.append((user, self.session(instances, haproxy, user)[0].name))

        scripted(*USERS)
        served.append(("alice", self.real_session(lab, instances, haproxy, "alice").name))
        scripted(*USERS)
        scripted("bob", "carol", "dave")

        self.assertEqual(len(served), 12)
        by_user = collections.defaultdict(set)
        for user, name in served:
            by_user[user].add(name)
        for user, names in by_user.items():
            self.assertEqual(len(names), 1, f"{user}'s sessions on {sorted(names)}")
        per_instance = collections.Counter(name for _, name in served)
        figure("sessions per instance: " + ", ".join(
            f"{gw.name}={per_instance[gw.name]}" for gw in instances) + " (users: " + ", ".join(
            f"{u}->{next(iter(n))}" for u, n in sorted(by_user.items())) + ")")
        self.assertGreaterEqual(len(per_instance), 2, per_instance)
        # HAProxy's stick table says the same as the instances' logs.
        self.assertEqual(haproxy.sticky(), {u: next(iter(n)) for u, n in by_user.items()})
        for gw in instances:
            self.assertEqual(len(gw.events("session_established")), per_instance[gw.name])
            self.assertEqual(len(gw.events("session_closed")), per_instance[gw.name])
        self.assert_no_failures(instances)

    def test_a_draining_instance_leaves_rotation_and_keeps_its_live_session(self):
        """(b), (d)"""
        lab, instances, haproxy = self.farm(drain=DRAIN)
        home = {user: self.session(instances, haproxy, user)[0] for user in USERS}
        live = peers.EchoSession(haproxy.front, LIVE_USER, SOURCE[LIVE_USER])
        self.addCleanup(live.close)
        victim, accepted = landed(instances, lambda e: e["client"] == live.local)
        self.assertTrue(live.exchange())
        movers = [LIVE_USER] + [u for u, gw in home.items() if gw is victim]
        readyz = f"http://127.0.0.1:{victim.admin}/readyz"
        self.assertEqual(http_status(readyz), 200)

        mark = haproxy.proc.log_mark()
        os.kill(victim.proc.pid, signal.SIGTERM)
        stopped = time.monotonic()
        victim.proc.wait_log(r"accepting nothing new; 1 session\(s\) may go on", timeout=10)
        self.assertEqual(http_status(readyz), 503)
        # Even before HAProxy notices, a new session gets through: the draining instance's
        # listener is closed, so the connect is refused and HAProxy redispatches.
        self.assertIsNot(self.session(instances, haproxy, movers[0])[0], victim)
        haproxy.wait_status(victim.name, "DOWN", DOWN_WITHIN + 10)
        down = time.monotonic() - stopped
        figure(f"draining instance marked DOWN by HAProxy after {down:.2f} s "
               f"(inter {INTER}s x fall {FALL})")
        self.assertLessEqual(down, DOWN_WITHIN)
        haproxy.proc.wait_log(rf"Server rdp/{victim.name} is DOWN, reason: Layer7 wrong status, "
                              rf"code: 503", since=mark)
        # Out of rotation, the live session still relays.
        self.assertTrue(live.exchange(65536))

        # The drained instance's users (the live one's too) start new sessions elsewhere,
        # and HAProxy's stick table follows them there.
        for user in movers:
            gw, _ = self.session(instances, haproxy, user)
            self.assertIsNot(gw, victim, user)
        sticky = haproxy.sticky()
        for user in movers:
            self.assertNotEqual(sticky[user], victim.name, sticky)

        # Bytes still cross both ways until the drain ends; then the gateway closes it.
        self.assertTrue(live.exchange(65536))
        self.assertEqual(victim.events("session_closed", conn=accepted["conn"]), [])
        closed = victim.wait_event("session_closed", conn=accepted["conn"], timeout=DRAIN + 15)[0]
        took = time.monotonic() - stopped
        self.assertEqual((closed["closed_by"], closed["reason"]), ("gateway", "shutdown"), closed)
        self.assertGreater(took, DRAIN - 0.5, "closed before drain_timeout")
        self.assertGreater(closed["bytes_client_to_host"], 2 * 65536, closed)
        self.assertGreater(closed["bytes_host_to_client"], 2 * 65536, closed)
        self.assertEqual(victim.proc.wait(15), 0, victim.proc.describe())
        self.assert_no_failures(instances)

    def test_after_kill_9_its_users_get_through_the_others(self):
        """(c), (d)"""
        lab, instances, haproxy = self.farm()
        home = {user: self.session(instances, haproxy, user)[0] for user in USERS}
        victim = max(instances, key=lambda gw: sum(h is gw for h in home.values()))
        users = [u for u, gw in home.items() if gw is victim]
        survivors = [gw for gw in instances if gw is not victim]

        victim.proc.expect_clean_exit = False   # killed on purpose: no clean exit to expect
        mark = haproxy.proc.log_mark()
        os.kill(victim.proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        # The first user tries again until a session is established, as a client would. A
        # connection that raced the kill (accepted by the dying process) fails; after that
        # HAProxy's connect is refused and it redispatches, before any check has failed.
        attempts = []
        while True:
            run = peers.run_client(haproxy.front, cookie=users[0], source=SOURCE[users[0]],
                                   timeout=10)
            attempts.append(run)
            if run.established:
                break
            self.assertLess(time.monotonic() - killed, DOWN_WITHIN + 10,
                            [str(a.error) for a in attempts])
            time.sleep(0.05)
        failover = time.monotonic() - killed
        figure(f"failover after kill -9: {failover:.2f} s (first established session of "
               f"{users[0]}, attempt {len(attempts)}; bound inter x fall + 2 s = {DOWN_WITHIN} s)")
        self.assertLessEqual(failover, DOWN_WITHIN)
        gw, accepted = landed(instances, lambda e: e["client"] == run.local)
        self.assertIsNot(gw, victim)
        self.assert_served(gw, accepted, users[0])
        for user in users[1:]:
            self.assertIsNot(self.session(instances, haproxy, user)[0], victim, user)

        haproxy.wait_status(victim.name, "DOWN", DOWN_WITHIN + 10)
        down = time.monotonic() - killed
        figure(f"killed instance marked DOWN by HAProxy after {down:.2f} s")
        self.assertLessEqual(down, DOWN_WITHIN)
        haproxy.proc.wait_log(rf"Server rdp/{victim.name} is DOWN, reason: Layer4 ", since=mark)
        # Everyone, the victim's users included, gets through now; nobody lands on the dead.
        for user in USERS:
            self.assertIsNot(self.session(instances, haproxy, user)[0], victim, user)
        self.assert_no_failures(survivors)
        self.assert_no_failures([victim])   # what it logged before it died

    def test_trust_is_shared_across_instances(self):
        """(e): instances 1 and 2 share one known_hosts file; instance 3 keeps its own store
        and is given the identities with `hosts export` + `hosts import`. Each instance is
        reached on its direct listener, so that the test picks the instance."""
        help_text = rdpbridge("hosts", "--help").stdout
        if not re.search(r"^\s+export\b", help_text, re.M) or \
                not re.search(r"^\s+import\b", help_text, re.M):
            msg = f"{BIN} has no `hosts export` / `hosts import`"
            if CI:
                self.fail(msg)
            self.skipTest(msg)
        lab = lab_for_test(self, display=self.display)
        host = lab.xrdp("tls10", name="hostA")     # its own: the test replaces it
        shared = lab.dir / "shared" / "known_hosts.jsonl"
        shared.parent.mkdir()
        instances = self.start_instances(lab, {"hostA": host.port}, direct=True,
                                         known_hosts=(shared, shared, None))
        gw1, gw2, gw3 = instances
        own = gw3.state / "known_hosts.jsonl"       # the default: <state_dir>/known_hosts.jsonl

        def direct(gw):
            return peers.run_client(gw.direct, cookie="alice")

        def learned(gw):
            return [e for e in gw.events("warning") if e.get("warning") == "host_identity_learned"]

        def accepted(gw):
            run = direct(gw)
            self.assertTrue(run.established, f"{gw.name}: {run.error}")
            conn = gw.wait_event("connection_accepted", client=run.local)[0]["conn"]
            return gw.wait_event("session_established", conn=conn)[0]

        # The first session (through gw1) teaches host A's certificate: verify = "tofu" is the
        # default, and the identity goes to the shared file.
        accepted(gw1)
        gw1.wait_event("warning", warning="host_identity_learned", backend="hostA")
        self.assertEqual(learned(gw1)[0]["known_hosts"], str(shared), learned(gw1))
        wait_for("host A in the shared store", lambda: shared.exists() and
                 "hostA" in read_jsonl(shared.read_text()), 15)
        entry = read_jsonl(shared.read_text())["hostA"]
        self.assertEqual(entry["tls_cert_sha256"], cert_sha256(host.cert_path), entry)
        # gw2 reads the same file: it knows host A without a first contact of its own.
        accepted(gw2)
        self.assertEqual(learned(gw2), [])

        # gw3's own store gets the identities from an export of the shared one.
        exported = rdpbridge("hosts", "export", "-c", gw1.config_path)
        self.assertEqual(exported.returncode, 0, exported)
        self.assertEqual({b: identity(e) for b, e in read_jsonl(exported.stdout).items()},
                         {"hostA": identity(entry)}, exported.stdout)
        to_file = lab.dir / "export.jsonl"
        r = rdpbridge("hosts", "export", "-c", gw2.config_path, "--output", to_file)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual({b: identity(e) for b, e in read_jsonl(to_file.read_text()).items()},
                         {"hostA": identity(entry)})
        r = rdpbridge("hosts", "import", "-", "-c", gw3.config_path, stdin=exported.stdout)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(identity(read_jsonl(own.read_text())["hostA"]), identity(entry))
        self.assertEqual(oct(own.stat().st_mode & 0o777), "0o600")
        r = rdpbridge("hosts", "import", to_file, "-c", gw3.config_path)   # again: no conflict
        self.assertEqual(r.returncode, 0, r)
        accepted(gw3)
        self.assertEqual(learned(gw3), [])

        # Host A is replaced by an impostor (new certificate and key, same port): every
        # instance refuses it, whichever store it trusts from.
        impostor = lab.replace_xrdp(host)
        for gw in instances:
            run = direct(gw)
            self.assertFalse(run.established, gw.name)
            failed = gw.wait_event("handshake_failed", cause="host_identity_changed")[0]
            self.assertEqual((failed["stage"], failed.get("backend")), ("backend_tls", "hostA"),
                             failed)
            self.assertEqual(len(gw.events("session_established")), 1, gw.name)

        # An import that contradicts gw3's store changes nothing (exit 1) unless --replace:
        # then gw3, whose operator has vouched for the new key, accepts the host again.
        wait_for("gw3's refusal recorded",
                 lambda: "pending" in read_jsonl(own.read_text())["hostA"], 15)
        new = dict(entry, tls_cert_sha256=cert_sha256(impostor.cert_path),
                   tls_spki_sha256=spki_sha256(impostor.cert_path))
        before = own.read_bytes()
        r = rdpbridge("hosts", "import", "-", "-c", gw3.config_path, stdin=json.dumps(new) + "\n")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("hostA", r.stderr + r.stdout)
        self.assertEqual(own.read_bytes(), before)
        r = rdpbridge("hosts", "import", "-", "-c", gw3.config_path, "--replace",
                      stdin=json.dumps(new) + "\n")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(read_jsonl(own.read_text())["hostA"]["tls_cert_sha256"],
                         cert_sha256(impostor.cert_path))
        accepted(gw3)
        # The shared store was not touched by gw3's import: gw1 still refuses.
        self.assertFalse(direct(gw1).established)
        gw1.wait_event("handshake_failed", cause="host_identity_changed", count=2)


if __name__ == "__main__":
    unittest.main()
