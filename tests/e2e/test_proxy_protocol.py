"""Part 10 acceptance, several gateways behind a load balancer: through Debian's HAProxy with
send-proxy-v2 the handshake log and the per-source limit see each client's own address; a PROXY
header from an address outside proxy_protocol_from is refused, and so is a trusted balancer's
connection without one."""

import os
import shutil
import socket
import unittest
from concurrent.futures import ThreadPoolExecutor

import peers
from gateway import routed_backends, start_gateway
from lab import lab_for_test, free_port, wait_listening

CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
FIXTURES = peers.FIXTURES

CONFIG = """
state_dir = "{state}"
[logging]
handshake_log = "{log}"
[limits]
handshake_timeout = "20s"
max_handshakes_per_source = 2
connections_per_second_per_source = 1000
[[listener]]
name = "lb"
bind = "127.0.0.1:{port}"
default_backend = "host"
proxy_protocol = true
proxy_protocol_from = ["127.0.0.1/32"]
"""

HAPROXY = """global
  log stderr format short local0 info
defaults
  mode tcp
  log global
  option tcplog
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend rdp
  bind 127.0.0.1:%(front)d
  default_backend gateways
backend gateways
  server gw1 127.0.0.1:%(gateway)d send-proxy-v2 source 127.0.0.1
"""
SERVER_LINE = "  server gw1 127.0.0.1:%(gateway)d send-proxy-v2 source 127.0.0.1\n"


class ProxyProtocol(unittest.TestCase):
    def setUp(self):
        self.lab = lab_for_test(self)
        cert, key = self.lab.make_cert("host")
        self.host = peers.ScriptedHost(cert, key)
        self.addCleanup(self.host.close)

    def behind_haproxy(self, servers=None):
        """The gateway, and Debian's HAProxy in front of it with HAPROXY's server line (or
        `servers`, with %(gateway)d for the gateway's port): (gateway, front port, HAProxy)."""
        haproxy = shutil.which("haproxy")
        if not haproxy:
            if CI:
                self.fail("haproxy (Debian package haproxy) is required")
            self.skipTest("haproxy not installed")
        gw = start_gateway(self.lab, config=CONFIG + routed_backends(
            [("host", f"127.0.0.1:{self.host.port}", "")]))
        front = free_port()
        cfg = self.lab.dir / "haproxy.cfg"
        text = HAPROXY if servers is None else HAPROXY.replace(SERVER_LINE, servers)
        cfg.write_text(text % {"front": front, "gateway": gw.port})
        proxy = self.lab.start([haproxy, "-f", str(cfg), "-db"], "haproxy")
        wait_listening(front)
        return gw, front, proxy

    def test_haproxy_send_proxy_v2(self):
        gw, front, _ = self.behind_haproxy()

        # A client through HAProxy: the log has its own address, and the balancer's.
        run = peers.run_client(front, cookie="host", source="127.0.0.5")
        self.assertTrue(run.established, run.error)
        accepted = gw.wait_event("connection_accepted", client=run.local)[0]
        self.assertEqual(accepted["proxy_protocol"], 2, accepted)
        self.assertTrue(accepted["balancer"].startswith("127.0.0.1:"), accepted)
        gw.wait_event("session_closed", conn=accepted["conn"])

        # The per-source limit counts clients, not the balancer: two silent clients from
        # 127.0.0.6 take that source's two handshake slots, a third from it is refused while
        # a client from 127.0.0.7 gets through.
        silent = [socket.create_connection(("127.0.0.1", front), source_address=("127.0.0.6", 0))
                  for _ in range(2)]
        try:
            for s in silent:
                gw.wait_event("connection_accepted", client="%s:%d" % s.getsockname())
            third = peers.run_client(front, cookie="host", source="127.0.0.6")
            self.assertFalse(third.established)
            refused = gw.wait_event("handshake_failed", cause="limit_handshakes_per_source")[0]
            self.assertEqual(refused["stage"], "client_transport", refused)
            refused_conn = gw.events("connection_accepted", conn=refused["conn"])[0]
            self.assertEqual(refused_conn["client"], third.local, refused_conn)
            other = peers.run_client(front, cookie="host", source="127.0.0.7")
            self.assertTrue(other.established, other.error)
        finally:
            for s in silent:
                s.close()

        # A PROXY header from outside proxy_protocol_from: refused before a byte is read.
        header = (FIXTURES / "proxy" / "proxy_v2_haproxy.bin").read_bytes()
        with socket.create_connection(("127.0.0.1", gw.port),
                                      source_address=("127.0.0.9", 0)) as s:
            s.sendall(header + peers.x224_request("host"))
            s.settimeout(10)
            # Closed unread: the kernel answers what was sent with a reset, or the close comes
            # first (a FIN); either way no byte comes back.
            try:
                self.assertEqual(s.recv(100), b"")
            except ConnectionResetError:
                pass
        e = gw.wait_event("handshake_failed", cause="proxy_source_not_allowed")[0]
        self.assertEqual((e["stage"], e["client"]), ("client_transport", "127.0.0.9"), e)

        # A trusted address that sends no header (a client that bypassed the balancer from the
        # balancer's host): refused at the header, with the bytes it sent instead.
        direct = peers.run_client(gw.port, cookie="host")
        self.assertEqual(direct.confirm, b"")
        e = gw.wait_event("handshake_failed", cause="proxy_header_invalid")[0]
        self.assertEqual(e["stage"], "proxy_header", e)
        self.assertIn("expected a PROXY protocol header", e["detail"])

    def test_haproxy_health_checks_are_not_failed_handshakes(self):
        """HAProxy checking the RDP port itself. A check with a PROXY v2 LOCAL header (what a
        send-proxy-v2 server's checks send) is a balancer_check event, never
        connection_accepted or handshake_failed; a bare TCP check (connect, reset) is not even
        accepted. A client still gets through."""
        gw, front, proxy = self.behind_haproxy(
            "  server gw1 127.0.0.1:%(gateway)d send-proxy-v2 check inter 200ms\n"
            # A bare TCP check, in a backend no client is sent to (no PROXY header there).
            "backend tcp_checks\n"
            "  option log-health-checks\n"
            "  server tcp 127.0.0.1:%(gateway)d check inter 200ms\n")
        proxy.wait_log(r"tcp_checks/tcp succeeded, reason: Layer4 check passed")
        checks = gw.wait_event("balancer_check", count=3, proxy_protocol=2)
        for c in checks:
            self.assertTrue(c["balancer"].startswith("127.0.0.1:"), c)
            self.assertEqual(gw.events(conn=c["conn"]), [c])
        run = peers.run_client(front, cookie="host", source="127.0.0.5")
        self.assertTrue(run.established, run.error)
        gw.wait_event("session_closed")
        self.assertEqual(gw.failures(), [])
        accepted = gw.events("connection_accepted")
        self.assertEqual([a["client"] for a in accepted], [run.local], accepted)

if __name__ == "__main__":
    unittest.main()
