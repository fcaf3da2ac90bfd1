"""Part 9 acceptance: failure paths that cannot leak, hang or lie.

Scripted peers (peers.py) stop at every handshake boundary on either leg: X.224, TLS, CredSSP,
MCS and the relay (a, b); a CuttingRelay in front of an XP-like xrdp stops at the MCS domain,
the security exchange and the licensing (h). A deadline races a peer's close (c); a faults build
throws inside each stage (d); a host and a client in a network namespace lose their link
mid-session, and an IPv6 /64 counts as one source (e); SIGTERM ends live sessions (f); accept
runs out of descriptors (g); a forged cookie reaches stderr escaped (i).

After each case (Faults.finish): exactly one terminal event (session_closed or
handshake_failed) per accepted connection; descriptors back to the warm baseline and RSS near it;
the gateway still serves a scripted client and a hardened FreeRDP client to xrdp; on SIGTERM it
exits 0 with admission's counters at 0 and no sanitizer report.

Needs, beyond the lab: for test_d a gateway built with -DRDPBRIDGE_FAULTS=ON named by
$RDPBRIDGE_FAULTS_BIN (tests/run-all.sh builds one); for test_e root and iproute2 (a network
namespace and a veth pair with link-local and fd00:db8::/48 addresses; no traffic leaves that
pair). Without them those tests are skipped, except under CI=true, where they fail."""

import collections
import os
import re
import pathlib
import shutil
import socket
import struct
import subprocess
import sys
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import peers
from gateway import (Vitals, nla_sanitizer_env, private_file, routed_backends, socket_count,
                     start_gateway, users_file, wait_for)
from lab import DEFAULT_USER, LabTimeout, lab_for_test
from lab import free_port as lab_free_port

CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
TERMINAL = ("session_closed", "handshake_failed")
HARDENED = ("/sec:tls", "/tls-seclevel:3")
SESMAN = r"\[INFO \] connecting to sesman"
HANDSHAKE_TIMEOUT_S = 3
SETTLE_S = HANDSHAKE_TIMEOUT_S + 12.0

# %-formatted, so that start_gateway's str.format sees only {port}, {log} and {state}.
HEADER = """
state_dir = "{state}"
[logging]
handshake_log = "{log}"
[limits]
%(limits)s
%(tables)s
[[listener]]
name = "front"
bind = "127.0.0.1:{port}"
%(listener)s
"""


def config(backends, *, limits=f'handshake_timeout = "{HANDSHAKE_TIMEOUT_S}s"', listener="",
           default=None, tables=""):
    """`backends`: (name, address, extra TOML) each, routed by the cookie `name`."""
    if default:
        listener = f'default_backend = "{default}"\n' + listener
    return (HEADER % {"limits": limits, "tables": tables, "listener": listener} +
            routed_backends(backends))


def settle(test, gw, clients=(), timeout=SETTLE_S):
    """Waits until the connections of `clients` (their local "ip:port") are logged and every
    accepted connection has ended, then asserts that each has exactly one terminal event;
    returns {conn: that event}. (The log is written asynchronously: a client may see its end
    before the gateway's lines reach the file.)"""
    deadline = time.monotonic() + timeout
    for local in clients:
        conn_of(gw, local, max(0.0, deadline - time.monotonic()))
    while True:
        accepted = {e["conn"] for e in gw.events("connection_accepted")}
        ends = collections.defaultdict(list)
        for e in gw.events():
            if e.get("event") in TERMINAL:
                ends[e["conn"]].append(e)
        if accepted <= set(ends) or time.monotonic() > deadline:
            break
        if not gw.proc.alive():
            test.fail(f"gateway died: {gw.proc.describe()}")
        time.sleep(0.05)
    missing = sorted(accepted - set(ends))
    test.assertEqual(missing, [], f"connections without a terminal event within {timeout}s")
    doubled = {c: v for c, v in ends.items() if len(v) != 1}
    test.assertEqual(doubled, {}, "connections with more than one terminal event")
    return {c: v[0] for c, v in ends.items()}


def conn_of(gw, local, timeout=10.0):
    """The connection id the gateway gave the client whose address is `local` ("ip:port")."""
    try:
        found = gw.wait_event("connection_accepted", timeout=timeout, client=local)
    except LabTimeout as e:
        raise AssertionError(f"no connection_accepted for client {local}: {e}") from None
    if len(found) != 1:
        raise AssertionError(f"{len(found)} connection_accepted for client {local}")
    return found[0]["conn"]


def require(test, ok, why):
    if ok:
        return
    if CI:
        test.fail(f"required for this test under CI=true: {why}")
    test.skipTest(why)


class ScriptedHostCase(unittest.TestCase):
    """A lab per test, and scripted hosts (peers.ScriptedHost) it closes afterwards."""

    def setUp(self):
        self.lab = lab_for_test(self)
        self.cert, self.key = self.lab.make_cert("host")

    def host(self, **kw):
        h = peers.ScriptedHost(self.cert, self.key, **kw)
        self.addCleanup(h.close)
        return h

    def real_backend(self):
        """The backend "real": an xrdp host like Windows 7 (TLS 1.0 only), started once per
        test, which FreeRDP clients reach by their cookie (the lab's user name)."""
        if getattr(self, "xrdp", None) is None:
            self.xrdp = self.lab.xrdp("tls10")
        return ("real", f"127.0.0.1:{self.xrdp.port}",
                f'[[route]]\nmstshash = "{DEFAULT_USER}"\nbackend = "real"')

    def real_session(self, gw):
        """A hardened FreeRDP client gets a whole session through the gateway to xrdp, proven
        from both ends: xrdp reaches its session manager, the gateway logs the session."""
        mark = len(gw.events("session_established"))
        res = self.lab.xfreerdp(gw.port, *HARDENED, until_log=(self.xrdp, SESMAN), timeout=60)
        self.assertEqual(res.ended_by, "until", res.summary())
        est = gw.wait_event("session_established", count=mark + 1, timeout=15)[mark:]
        self.assertEqual([e["backend"] for e in est], ["real"], est)


class Faults(ScriptedHostCase):
    namespaces = 0  # made so far by this process: each gets its own names

    def still_serves(self, gw, cookie):
        """A fresh, well-behaved client gets a whole session through the gateway."""
        run = peers.run_client(gw.port, cookie=cookie)
        self.assertTrue(run.established, f"no session for {cookie}: {run.error}")
        conn = conn_of(gw, run.local)
        closed = gw.wait_event("session_closed", conn=conn)[0]
        self.assertEqual(closed["closed_by"], "client", closed)
        self.assertEqual(len(gw.events("session_established", conn=conn)), 1)
        self.assertTrue(gw.proc.alive(), gw.proc.describe())

    def stop_cleanly(self, gw):
        """SIGTERM: exit code 0, no sanitizer report, and admission's counters at 0 (what the
        gateway still counted once its connections had ended)."""
        self.assertEqual(gw.proc.stop(), 0, gw.proc.describe())
        self.assertIsNone(gw.proc.exit_problem(), gw.proc.exit_problem())
        stopped = gw.wait_event("gateway_stopped", timeout=10)[0]
        self.assertEqual((stopped["handshakes"], stopped["sessions"]), (0, 0), stopped)

    def warm(self, gw, cookie):
        """One whole session (TLS contexts built, files opened), then the baseline."""
        sockets = socket_count(gw.proc.pid)
        self.still_serves(gw, cookie)
        settle(self, gw)
        return Vitals(gw, sockets)

    def finish(self, gw, vitals, cookie):
        """The four checks after a case: one end per connection; descriptors and RSS back to
        the baseline; still serving (a scripted client to the scripted host `cookie`, and a
        hardened FreeRDP client to xrdp); admission's counters at 0 at exit."""
        settle(self, gw)
        vitals.assert_back(self)
        self.still_serves(gw, cookie)
        self.real_session(gw)
        settle(self, gw)
        self.stop_cleanly(gw)

    # ------------------------------------------------------------------------------- (a)
    def test_a_host_stops_at_each_boundary(self):
        """The host closes, resets or goes silent after the bytes of each boundary; the client
        does everything right."""
        cases = [(w, a) for w in peers.HOST_BOUNDARIES for a in peers.ACTIONS]
        hosts = {f"h_{w}_{a}": self.host(when=w, action=a) for w, a in cases}
        # Hosts that select CredSSP: the gateway logs on with service credentials.
        nla_cases = [(w, a) for w in peers.NLA_HOST_BOUNDARIES for a in peers.ACTIONS]
        nla_hosts = {f"n_{w}_{a}": self.host(when=w, action=a, select=peers.PROTOCOL_HYBRID)
                     for w, a in nla_cases}
        password = private_file(self.lab, "service.password", "secret\n")
        service = (f'[backend.credentials]\nuser = "svc"\ndomain = "LAB"\n'
                   f'password_file = "{password}"')
        good = self.host()
        gw = start_gateway(self.lab, config=config(
            [(n, f"127.0.0.1:{h.port}", "") for n, h in hosts.items()] +
            [(n, f"127.0.0.1:{h.port}", service) for n, h in nla_hosts.items()] +
            [("good", f"127.0.0.1:{good.port}", ""), self.real_backend()]),
            env=nla_sanitizer_env())
        vitals = self.warm(gw, "good")
        def client(name):
            # Where the host ends an established session, the client waits for that end;
            # elsewhere it closes once it has its MCS Connect Response.
            host_ends = name in ("h_established_close", "h_established_reset")
            return peers.run_client(gw.port, cookie=name, action="silent" if host_ends else None)

        with ThreadPoolExecutor(len(cases)) as pool:
            runs = dict(zip(hosts, pool.map(client, hosts)))
            nla_runs = dict(zip(nla_hosts, pool.map(client, nla_hosts)))
        ended = settle(self, gw, [r.local for r in list(runs.values()) + list(nla_runs.values())])

        # (stage, causes) of the handshake_failed line, or the closer of an established session.
        # A host that closes without reading the gateway's request resets (its kernel answers
        # unread data with RST); one that resets at once may do so before the gateway's connect
        # has completed (backend_connect, connect_failed). After its Connection Confirm the same
        # holds for the ClientHello the gateway sends at once: the host's FIN or the RST its
        # kernel answers the ClientHello with, whichever the gateway reads first (seen in CI).
        expect = {
            "accept": ("backend_negotiation", {"close": {"host_closed", "host_reset"},
                                               "reset": {"host_reset", "host_closed"},
                                               "silent": {"host_silent"}}),
            "request": ("backend_negotiation", {"close": {"host_closed"},
                                                "reset": {"host_reset", "host_closed"},
                                                "silent": {"host_silent"}}),
            "confirm": ("backend_tls", {"close": {"host_closed", "host_reset"},
                                        "reset": {"host_reset", "host_closed"},
                                        "silent": {"host_silent"}}),
            "mid_tls": ("backend_tls", {"close": {"host_closed", "host_tls_failed"},
                                        "reset": {"host_reset", "host_closed", "host_tls_failed"},
                                        "silent": {"host_silent"}}),
            "tls": ("mcs_gcc", {"close": {"host_closed"}, "reset": {"host_closed"},
                                "silent": {"host_silent"}}),
        }
        for (when, action), name in zip(cases, hosts):
            with self.subTest(host=name):
                self.assertEqual(hosts[name].accepted, 1, "the host was contacted once")
                e = ended[conn_of(gw, runs[name].local)]
                if when == "established":
                    self.assertEqual(e["event"], "session_closed", e)
                    self.assertEqual(e["closed_by"], "client" if action == "silent" else "host", e)
                elif (when, action) == ("accept", "reset") and e["stage"] == "backend_connect":
                    self.assertEqual((e["event"], e["cause"]),
                                     ("handshake_failed", "connect_failed"), e)
                else:
                    stage, causes = expect[when]
                    self.assertEqual(e["event"], "handshake_failed", e)
                    self.assertEqual(e["stage"], stage, e)
                    self.assertIn(e["cause"], causes[action], e)
        # CredSSP: the host stops as it starts (before or after the gateway's first TSRequest).
        nla_causes = {"close": {"host_closed", "host_reset"}, "reset": {"host_reset", "host_closed"},
                      "silent": {"host_silent"}}
        for (when, action), name in zip(nla_cases, nla_hosts):
            with self.subTest(host=name):
                self.assertEqual(nla_hosts[name].accepted, 1, "the host was contacted once")
                e = ended[conn_of(gw, nla_runs[name].local)]
                self.assertEqual((e["event"], e["stage"]), ("handshake_failed", "backend_nla"), e)
                self.assertIn(e["cause"], nla_causes[action], e)
        self.finish(gw, vitals, "good")

    # ------------------------------------------------------------------------------- (b)
    def test_b_client_stops_at_each_boundary(self):
        """The client closes, resets or goes silent after the bytes of each boundary. The host
        hears only of clients that completed the front TLS handshake."""
        host = self.host()
        users = users_file(self.lab, [("LAB", "labuser", "labpass-Secret1")])
        # NLA offered: a client choosing CredSSP can stop inside it; the others use TLS.
        gw = start_gateway(self.lab, config=config(
            [("host", f"127.0.0.1:{host.port}", ""), self.real_backend()], default="host",
            limits=f'handshake_timeout = "{HANDSHAKE_TIMEOUT_S}s"\n'
                   'connections_per_second_per_source = 1000',  # all at once from 127.0.0.1
            listener=f'nla = "offer"\nnla_users = "{users}"'), env=nla_sanitizer_env())
        vitals = self.warm(gw, "host")
        accepted0 = host.accepted
        cases = [(w, a) for w in peers.CLIENT_BOUNDARIES for a in peers.ACTIONS
                 # once established, nothing would end these but idle_timeout
                 if (w, a) not in (("established", "silent"), ("mcs", "silent"))]
        protocols = {"credssp": peers.PROTOCOL_SSL | peers.PROTOCOL_HYBRID}
        with ThreadPoolExecutor(len(cases)) as pool:
            runs = list(pool.map(lambda c: peers.run_client(
                gw.port, when=c[0], action=c[1], cookie="host",
                protocols=protocols.get(c[0], peers.PROTOCOL_SSL)), cases))
        ended = settle(self, gw, [r.local for r in runs])
        reset_or_closed = {"client_reset", "client_closed"}
        expect = {
            "connect": ("client_x224", {"close": {"client_closed"}, "reset": reset_or_closed,
                                        "silent": {"client_silent"}}),
            "mid_request": ("client_x224", {"close": {"client_closed"}, "reset": reset_or_closed,
                                            "silent": {"client_silent"}}),
            "confirmed": ("front_tls", {"close": {"client_closed"}, "reset": reset_or_closed,
                                        "silent": {"client_silent"}}),
            "mid_tls": ("front_tls", {"close": {"client_closed", "front_tls_failed"},
                                      "reset": reset_or_closed | {"front_tls_failed"},
                                      "silent": {"client_silent"}}),
            "tls": ("mcs_gcc", {"close": {"client_closed"}, "reset": {"client_closed"},
                                "silent": {"client_silent"}}),
            "credssp": ("front_nla", {"close": {"client_closed"}, "reset": reset_or_closed,
                                      "silent": {"client_silent"}}),
            "mcs": ("mcs_gcc", {"close": {"client_closed"}, "reset": {"client_closed"}}),
        }
        for (when, action), run in zip(cases, runs):
            with self.subTest(client=f"{when}/{action}"):
                e = ended[conn_of(gw, run.local)]
                # The Connect Initial went on to the host: whether its Response came back (the
                # session established) before the client's end reached the gateway is a race.
                if when == "established" or (when == "mcs" and e["event"] == "session_closed"):
                    self.assertEqual((e["event"], e["closed_by"]), ("session_closed", "client"), e)
                else:
                    stage, causes = expect[when]
                    self.assertEqual((e["event"], e["stage"]), ("handshake_failed", stage), e)
                    self.assertIn(e["cause"], causes[action], e)
        # Only the clients past their TLS handshake made the gateway open a host connection.
        past_tls = sum(1 for w, _ in cases if w in ("tls", "mcs", "established"))
        self.assertEqual(host.accepted - accepted0, past_tls, "host connections")
        self.finish(gw, vitals, "host")

    # ------------------------------------------------------------------------------- (c)
    def test_c_deadline_races_the_peers_close(self):
        """The handshake deadline expires in the same instant as a peer closes (within a few
        ms either way), 50 times on each leg."""
        deadline_s = 0.5
        starts = {}

        def host_closes_at_the_deadline(cookie, wire):
            if not (cookie or "").startswith("race"):
                return False  # not a race: served as usual
            i = int(cookie[len("race"):])
            left = starts[cookie] + deadline_s + jitter(i) - time.monotonic()
            wire.sock.settimeout(max(0.0, left))
            try:
                wire.sock.recv(1)  # the gateway may give up first
            except (socket.timeout, OSError):
                pass
            wire.act("reset" if i % 2 else "close")
            return True

        def jitter(i):
            return ((i % 11) - 5) / 1000.0  # -5 .. +5 ms

        host = self.host(on_request=host_closes_at_the_deadline)
        backends = [("host", f"127.0.0.1:{host.port}", "early_host_contact = true"),
                    self.real_backend()]
        # The warm-up and the last checks run under a deadline that a sanitizer build meets;
        # a reload sets the racing one in between (it applies to new connections).
        relaxed = config(backends, default="host", limits='handshake_timeout = "10s"')
        racing = config(backends, default="host",
                        limits=f'handshake_timeout = "{int(deadline_s * 1000)}ms"')
        gw = start_gateway(self.lab, config=relaxed)
        vitals = self.warm(gw, "host")
        self.assertEqual(gw.reload(racing)["event"], "config_reloaded")
        accepted0 = host.accepted

        def client_leg(i):
            # Sends part of its request, then closes at the deadline (unless closed first).
            with socket.create_connection(("127.0.0.1", gw.port),
                                          source_address=(f"127.0.1.{20 + i}", 0)) as s:
                start = time.monotonic()
                local = "%s:%d" % s.getsockname()
                s.sendall(peers.x224_request("race")[:5])
                s.settimeout(max(0.0, start + deadline_s + jitter(i) - time.monotonic()))
                try:
                    s.recv(1)
                except (socket.timeout, OSError):
                    pass
                if i % 2:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return local

        def host_leg(i):
            cookie = f"race{i}"
            return peers.request_until_closed(
                gw.port, peers.x224_request(cookie), source=f"127.0.2.{20 + i}",
                before=lambda: starts.__setitem__(cookie, time.monotonic()))

        # Each leg has a source address of its own: a client that resets or is closed first
        # leaves no TIME_WAIT behind, so the kernel may hand the same port out again, and
        # "ip:port" would then name two connections.
        with ThreadPoolExecutor(5) as pool:
            client_runs = list(pool.map(client_leg, range(50)))
            host_runs = list(pool.map(host_leg, range(50)))
        ended = settle(self, gw, client_runs + host_runs)
        for local in client_runs:
            e = ended[conn_of(gw, local)]
            self.assertEqual((e["event"], e["stage"]), ("handshake_failed", "client_x224"), e)
            self.assertIn(e["cause"], {"client_silent", "client_closed", "client_reset"}, e)
        for local in host_runs:
            e = ended[conn_of(gw, local)]
            self.assertEqual((e["event"], e["stage"]), ("handshake_failed", "backend_negotiation"),
                             e)
            self.assertIn(e["cause"], {"host_silent", "host_closed", "host_reset"}, e)
        self.assertEqual(host.accepted - accepted0, 50)
        self.assertEqual(gw.reload(relaxed)["event"], "config_reloaded")
        self.finish(gw, vitals, "host")

    # ------------------------------------------------------------------------------- (d)
    def test_d_injected_exception_at_each_stage(self):
        """A faults build throws at the start of each stage of the connection after a warm-up
        one: one internal_error line, nothing leaked, and the gateway goes on serving."""
        binary = os.environ.get("RDPBRIDGE_FAULTS_BIN", "")
        require(self, binary and os.access(binary, os.X_OK),
                "RDPBRIDGE_FAULTS_BIN must name a gateway built with -DRDPBRIDGE_FAULTS=ON")
        users = users_file(self.lab, [("LAB", "labuser", "labpass-Secret1")])
        password = private_file(self.lab, "service.password", "secret\n")
        tls_host = self.host()
        nla_host = self.host(select=peers.PROTOCOL_HYBRID)
        service = (f'[backend.credentials]\nuser = "svc"\ndomain = "LAB"\n'
                   f'password_file = "{password}"')
        backends = [("host", f"127.0.0.1:{tls_host.port}", ""),
                    ("nla", f"127.0.0.1:{nla_host.port}", service), self.real_backend()]
        nla_front = f'nla = "offer"\nnla_users = "{users}"'
        tls, hybrid = peers.PROTOCOL_SSL, peers.PROTOCOL_SSL | peers.PROTOCOL_HYBRID
        stages = {  # stage: (listener keys, the faulted client's cookie and protocols)
            "client_x224": ("", "host", tls),
            "routing": ("", "host", tls),
            "backend_resolve": ("", "host", tls),
            "backend_connect": ("", "host", tls),
            "backend_negotiation": ("", "host", tls),
            "front_tls": ("", "host", tls),
            "front_nla": (nla_front, "host", hybrid),
            "backend_tls": ("", "host", tls),
            "backend_nla": ("", "nla", tls),
            "mcs_gcc": ("", "host", tls),
            "active_session": ("", "host", tls),
        }
        for stage, (listener, cookie, protocols) in stages.items():
            with self.subTest(stage=stage):
                # Connection 1 warms up; connection 2 is the one that throws.
                gw = start_gateway(self.lab,
                                   config=config(backends, listener=listener, default="host"),
                                   name=f"faults-{stage}", binary=binary,
                                   env={"RDPBRIDGE_FAULT": f"{stage}:2", **nla_sanitizer_env()})
                self.assertRegex(gw.proc.log_text(), f"fault injection armed: .* {stage} ")
                vitals = self.warm(gw, "host")
                faulted = peers.run_client(gw.port, cookie=cookie, protocols=protocols)
                e = settle(self, gw, [faulted.local])[conn_of(gw, faulted.local)]
                self.assertTrue(e["conn"].endswith("-000002"), e)
                if stage == "active_session":
                    self.assertEqual((e["event"], e["closed_by"], e.get("cause")),
                                     ("session_closed", "gateway", "internal_error"), e)
                    self.assertIn("injected fault", e["reason"], e)
                else:
                    self.assertEqual((e["event"], e["stage"], e["cause"]),
                                     ("handshake_failed", stage, "internal_error"), e)
                    self.assertIn("injected fault", e["detail"], e)
                self.finish(gw, vitals, "host")

    # ------------------------------------------------------------------------------- (e)
    def veth_namespace(self):
        """A network namespace joined to this one by a veth pair with link-local addresses (no
        traffic leaves the pair), removed by the test's cleanup. Returns (run, ns, in_ns) where
        `in_ns` is the namespace's end of the pair, and the two addresses (ours, theirs)."""
        ip = shutil.which("ip")
        require(self, os.geteuid() == 0 and ip, "root and iproute2 (ip) for a network namespace")
        Faults.namespaces += 1
        tag = f"{os.getpid() % 100000}{Faults.namespaces}"
        ns, veth_gw, veth_ns = f"rdpb-faults-{tag}", f"rbf{tag}g", f"rbf{tag}n"
        subnet = f"169.254.{100 + os.getpid() % 100}"
        ours, theirs = f"{subnet}.1", f"{subnet}.2"

        def run(*argv, check=True):
            return subprocess.run((ip,) + argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=30, check=check)
        made = run("netns", "add", ns, check=False)
        require(self, made.returncode == 0,
                f"ip netns add failed: {made.stdout.decode(errors='replace').strip()}")
        self.addCleanup(run, "netns", "del", ns, check=False)
        run("link", "add", veth_gw, "type", "veth", "peer", "name", veth_ns)
        self.addCleanup(run, "link", "del", veth_gw, check=False)
        run("link", "set", veth_ns, "netns", ns)
        run("addr", "add", f"{ours}/30", "dev", veth_gw)
        run("link", "set", veth_gw, "up")
        run("netns", "exec", ns, ip, "addr", "add", f"{theirs}/30", "dev", veth_ns)
        run("netns", "exec", ns, ip, "link", "set", veth_ns, "up")

        def link(state):
            run("netns", "exec", ns, ip, "link", "set", veth_ns, state)
        self.run_ip, self.veth_gw, self.veth_ns = run, veth_gw, veth_ns
        return ns, link, ours, theirs

    def in_namespace(self, ns, *argv):
        return [shutil.which("ip"), "netns", "exec", ns, sys.executable,
                str(pathlib.Path(peers.__file__).resolve())] + list(argv)

    def wait_vanished(self, gw, conn, closed_by):
        """The link goes down with no FIN and no RST: with keepalive = "2s" (first probe after
        2 s, then 4 probes 1 s apart, see proxy/keepalive.hpp) the session ends as peer_vanished
        within that bound."""
        down = time.monotonic()
        bound = 2 + 4 * 1 + 4.0
        try:
            closed = gw.wait_event("session_closed", conn=conn, timeout=bound + 10)[0]
        except LabTimeout as e:
            self.fail(f"the session outlived its vanished peer: {e}")
        took = time.monotonic() - down
        self.assertEqual((closed["closed_by"], closed["reason"]), (closed_by, "peer_vanished"),
                         closed)
        self.assertLess(took, bound, closed)
        self.assertGreater(took, 2.0, "ended before any keepalive probe could have failed")

    def test_e_half_open_host_ends_as_peer_vanished(self):
        """A host in a network namespace loses its link mid-session without a word."""
        ns, link, gw_addr, host_addr = self.veth_namespace()
        self.lab.start(self.in_namespace(ns, "host", "--bind", host_addr, "--port", "3389",
                                         "--cert", str(self.cert), "--key", str(self.key)),
                       "netns-host", ready_regex=r"listening on ")
        gw = start_gateway(self.lab, config=config(
            [("far", f"{host_addr}:3389", ""), self.real_backend()], default="far",
            limits=f'handshake_timeout = "10s"\nkeepalive = "2s"'))
        vitals = self.warm(gw, "far")

        # A client that establishes a session and then stays quietly connected.
        sock = socket.create_connection(("127.0.0.1", gw.port), timeout=15)
        self.addCleanup(sock.close)
        wire = peers.Wire(sock)
        wire.send_raw(peers.x224_request("far"))
        self.assertEqual(len(wire.read_tpkt()), 19)
        wire.start_tls(peers.client_context(), server_side=False)
        wire.handshake()
        wire.send(peers.MCS_CONNECT_INITIAL)
        self.assertTrue(wire.read_tpkt(), "no MCS Connect Response")
        conn = conn_of(gw, "%s:%d" % sock.getsockname())
        gw.wait_event("session_established", conn=conn)

        link("down")
        self.wait_vanished(gw, conn, "host")
        # The client is told: its connection closes.
        sock.settimeout(10)
        self.assertEqual(wire.recv(), b"")
        link("up")
        self.finish(gw, vitals, "far")

    def test_e_half_open_client_ends_as_peer_vanished(self):
        """A client in a network namespace loses its link mid-session without a word."""
        ns, link, gw_addr, client_addr = self.veth_namespace()
        host = self.host()
        far = lab_free_port()
        gw = start_gateway(self.lab, config=config(
            [("host", f"127.0.0.1:{host.port}", ""), self.real_backend()], default="host",
            limits=f'handshake_timeout = "10s"\nkeepalive = "2s"',
            listener=f'[[listener]]\nname = "far"\nbind = "{gw_addr}:{far}"\n'
                     f'default_backend = "host"'))
        vitals = self.warm(gw, "host")
        client = self.lab.start(self.in_namespace(ns, "client", "--connect", f"{gw_addr}:{far}",
                                                  "--cookie", "host"),
                                "netns-client", ready_regex=r"established from ")
        local = re.search(r"established from (\S+)", client.log_text()).group(1)
        conn = conn_of(gw, local)
        gw.wait_event("session_established", conn=conn)

        link("down")
        self.wait_vanished(gw, conn, "client")
        self.assertEqual(host.accepted, 2, "the warm-up's and the vanished client's")
        self.finish(gw, vitals, "host")

    # ------------------------------------------------------------------------------- (f)
    def test_f_sigterm_ends_every_session_once_and_exits_0(self):
        """SIGTERM closes the live sessions (one established, one mid-handshake) after others
        have come and gone: each says the gateway stopped it, once; the gateway exits 0."""
        host = self.host()
        gw = start_gateway(self.lab, config=config(
            [("host", f"127.0.0.1:{host.port}", ""), self.real_backend()], default="host",
            limits='handshake_timeout = "30s"',  # the waiting client must outlast the test
            tables="[service]\ndrain_timeout = 0"))  # no drain: SIGTERM closes at once
        # Sessions that ended before: their registry entries must be gone.
        self.still_serves(gw, "host")
        self.real_session(gw)
        peers.run_client(gw.port, when="mid_tls", action="reset", cookie="host")
        settle(self, gw)
        established = len(gw.events("session_established"))
        accepted = len(gw.events("connection_accepted"))
        with ThreadPoolExecutor(2) as pool:
            # Established, then waits for the gateway to end it.
            live = pool.submit(peers.run_client, gw.port, cookie="host", action="silent")
            # Mid-handshake: connected, sends nothing, waits.
            waiting = pool.submit(peers.run_client, gw.port, when="connect", action="silent")
            gw.wait_event("session_established", count=established + 1)
            gw.wait_event("connection_accepted", count=accepted + 2)
            self.assertEqual(gw.proc.stop(), 0, gw.proc.describe())
            live, waiting = live.result(timeout=10), waiting.result(timeout=10)
        self.assertIsNone(gw.proc.exit_problem(), gw.proc.exit_problem())
        ended = settle(self, gw, [live.local, waiting.local])
        self.assertTrue(live.established)
        e = ended[conn_of(gw, live.local)]
        self.assertEqual((e["event"], e["closed_by"], e.get("reason"), e.get("cause")),
                         ("session_closed", "gateway", "shutdown", "gateway_shutting_down"), e)
        e = ended[conn_of(gw, waiting.local)]
        self.assertEqual((e["event"], e["stage"], e["cause"]),
                         ("handshake_failed", "client_x224", "gateway_shutting_down"), e)
        stopped = gw.wait_event("gateway_stopped", timeout=10)[0]
        self.assertEqual((stopped["handshakes"], stopped["sessions"]), (0, 0), stopped)


    # ------------------------------------------------------------------------------- (g)
    def test_g_accept_survives_running_out_of_descriptors(self):
        """With its descriptors capped (prlimit), the gateway hits EMFILE at accept: it says so,
        waits, and accepts again once descriptors are free; no connection is left without its
        end."""
        if os.environ.get("RDPBRIDGE_SANITIZED"):
            # The sanitizer runtimes need descriptors of their own (UBSan's vptr check probes
            # memory through a pipe): out of descriptors, they report valid objects as invalid.
            self.skipTest("a sanitizer build cannot run out of descriptors without false reports")
        prlimit = shutil.which("prlimit")
        require(self, prlimit, "prlimit (util-linux) to cap the gateway's descriptors")
        host = self.host()
        gw = start_gateway(self.lab, config=config(
            [("host", f"127.0.0.1:{host.port}", ""), self.real_backend()], default="host"),
            wrapper=[prlimit, "--nofile=48:48", "--"])
        vitals = self.warm(gw, "host")
        clients = []
        try:
            # More silent clients than descriptors, each from its own address (rate limits).
            for i in range(60):
                clients.append(socket.create_connection(
                    ("127.0.0.1", gw.port), timeout=5, source_address=(f"127.0.1.{i + 1}", 0)))
            gw.proc.wait_log(r"accept failed: Too many open files", timeout=10)
        finally:
            for c in clients:
                c.close()
        # Every connection the gateway accepted ends (client_closed); those still queued are
        # accepted once descriptors are free, and end the same way.
        wait_for("the 60 clients and the warm-up accepted",
                 lambda: len(gw.events("connection_accepted")) == 61, 15)
        self.finish(gw, vitals, "host")

    def test_e_an_ipv6_64_counts_as_one_source(self):
        """Silent connections from four addresses of one IPv6 /64 use up its handshake slots:
        a fifth address of that /64 is refused, an address of the next /64 is served."""
        ns, link, gw_addr, peer_addr = self.veth_namespace()
        ours, near, far = "fd00:db8::1", "fd00:db8::", "fd00:db8:0:1::"
        for addr in (ours, far + "1"):
            self.run_ip("-6", "addr", "add", f"{addr}/64", "dev", self.veth_gw, "nodad")
        for host in [f"{near}{i:x}" for i in range(0x10, 0x15)] + [far + "2"]:
            self.run_ip("netns", "exec", ns, "ip", "-6", "addr", "add", f"{host}/64", "dev",
                        self.veth_ns, "nodad")
        host = self.host()
        port = lab_free_port()
        gw = start_gateway(self.lab, config=config(
            [("host", f"127.0.0.1:{host.port}", ""), self.real_backend()], default="host",
            limits='handshake_timeout = "30s"\nmax_handshakes_per_source = 4',
            listener=f'[[listener]]\nname = "v6"\nbind = "[{ours}]:{port}"\n'
                     f'default_backend = "host"'))
        vitals = self.warm(gw, "host")
        target = f"[{ours}]:{port}"
        holders = [f"{near}{i:x}" for i in range(0x10, 0x14)]
        holder = self.lab.start(self.in_namespace(ns, "hold", "--connect", target, "--from",
                                                  *holders), "netns-hold",
                                ready_regex=r"holding 4")
        gw.wait_event("connection_accepted", count=5)  # the warm-up's and the four held
        same = self.lab.run(self.in_namespace(ns, "probe", "--connect", target, "--from",
                                              f"{near}14"), "probe-same-64", timeout=20)
        other = self.lab.run(self.in_namespace(ns, "probe", "--connect", target, "--from",
                                               far + "2"), "probe-next-64", timeout=20)
        self.assertEqual(same.output.split(), ["closed"], same.summary())
        self.assertEqual(other.output.split(), ["confirm", "19"], other.summary())
        refused = gw.wait_event("handshake_failed", client=f"{near}14")[0]
        self.assertEqual((refused["stage"], refused["cause"]),
                         ("client_transport", "limit_handshakes_per_source"), refused)
        self.assertEqual([e for e in gw.events("handshake_failed") if e.get("client") == far + "2"],
                         [], "the next /64 was refused")
        self.lab.stop(holder)
        self.finish(gw, vitals, "host")

    # ------------------------------------------------------------------------------- (i)
    def test_i_forged_cookie_is_escaped_on_stderr(self):
        """A cookie carrying ESC sequences, BEL, a lone LF and a fake timestamped line: the
        gateway's stderr shows every control byte escaped, so no forged line reaches the
        journal; the JSON log keeps the cookie intact (as JSON escapes)."""
        host = self.host()
        gw = start_gateway(self.lab, config=config(  # routes only: the cookie meets no_route
            [("host", f"127.0.0.1:{host.port}", ""), self.real_backend()]))
        vitals = self.warm(gw, "host")
        forged = ("evil\x1b[2J\x1b[31m\x07\n2026-12-05 00:00:00.000 [info] conn=forged "
                  "session_established backend=payroll\x08\x0b\x0c\x7f\r")
        local = peers.request_until_closed(gw.port, peers.x224_request(forged))
        e = settle(self, gw, [local])[conn_of(gw, local)]
        self.assertEqual((e["event"], e["cause"]), ("handshake_failed", "no_route"), e)
        self.assertIn(forged, e["detail"])  # the JSON log: the bytes, escaped by JSON
        # stderr is written by the log's thread after the JSON line: wait for it.
        gw.proc.wait_log(r"no_route.*evil", timeout=10)
        stderr = gw.proc.log_text()
        for raw in "\x1b\x07\x08\x0b\x0c\x7f":
            self.assertNotIn(raw, stderr, f"raw {raw!r} on stderr")
        self.assertNotRegex(stderr, r"(?m)^2026-12-05 00:00:00\.000", "a forged line on stderr")
        line = next((l for l in stderr.splitlines() if "no_route" in l and "evil" in l), None)
        self.assertIsNotNone(line, stderr[-2000:])
        self.assertIn(r"evil\x1b[2J\x1b[31m\x07\n2026-12-05 00:00:00.000", line)
        self.assertIn(r"payroll\x08\x0b\x0c\x7f\r", line)
        self.finish(gw, vitals, "host")

    # ------------------------------------------------------------------------------- (h)
    def test_h_legacy_host_stops_at_each_security_boundary(self):
        """The Standard RDP Security boundaries, which only a real host reaches: a CuttingRelay
        in front of an xrdp host like Windows XP stops at the MCS domain, the security exchange
        or the licensing; a hardened FreeRDP client runs the front leg."""
        legacy = self.lab.xrdp("rdp")
        cases = [(w, a) for w in peers.RDP_BOUNDARIES for a in peers.ACTIONS]
        # FreeRDP's cookie is its user name: short names, as some clients cut cookies at 9.
        relays = {f"{w[:3]}_{a[0]}": peers.CuttingRelay(legacy.port, w, a) for w, a in cases}
        for r in relays.values():
            self.addCleanup(r.close)
        good = self.host()
        gw = start_gateway(self.lab, config=config(
            [(n, f"127.0.0.1:{r.port}", "") for n, r in relays.items()] +
            [("good", f"127.0.0.1:{good.port}", ""), self.real_backend()],
            limits='handshake_timeout = "8s"'))
        vitals = self.warm(gw, "good")

        def client(name):
            return self.lab.xfreerdp(gw.port, *HARDENED, user=name, timeout=45)

        with ThreadPoolExecutor(3) as pool:
            runs = dict(zip(relays, pool.map(client, relays)))
        ends = settle(self, gw, timeout=30)
        by_backend = collections.defaultdict(list)
        for e in ends.values():
            by_backend[e.get("backend")].append(e)
        # Before the security exchange the session is not established: a handshake failure at
        # mcs_gcc, the host blamed since FreeRDP's Attach User Request went unanswered. From the
        # security exchange on (which establishes it) the session closes; a silent host is ended
        # by handshake_timeout, which runs until its licensing is done.
        for name in relays:
            print(f"  {name}: " + "; ".join(
                f"{e['event']} {e.get('stage', e.get('closed_by'))} {e.get('cause', '')}"
                for e in by_backend[name]), flush=True)
        for (when, action), name in zip(cases, relays):
            with self.subTest(host=name):
                self.assertGreaterEqual(relays[name].cut, 1, runs[name].summary())
                self.assertTrue(by_backend[name], f"no connection reached {name}")
                for e in by_backend[name]:  # FreeRDP may try twice
                    if when == "mcs":
                        self.assertEqual((e["event"], e["stage"]),
                                         ("handshake_failed", "mcs_gcc"), e)
                        self.assertIn(e["cause"], {"silent": {"host_silent"}}.get(
                            action, {"host_closed", "host_reset"}), e)
                    elif action == "silent":
                        self.assertEqual((e["event"], e["closed_by"], e.get("cause")),
                                         ("session_closed", "gateway", "host_silent"), e)
                    else:
                        self.assertEqual((e["event"], e["closed_by"]),
                                         ("session_closed", "host"), e)
        self.finish(gw, vitals, "good")


if __name__ == "__main__":
    unittest.main()
