"""Part 3 acceptance: failures reproduced for real, each asserting the exact stage and cause of
its one handshake_failed line. One gateway, one backend per failure, chosen by the client's
mstshash cookie. (Bad clients, a TLS profile in front of an RDP-only host, a disallowed RC4
method and the MS_T120 shield are covered in their own test files.)"""

import datetime as dt
import pathlib
import socket
import ssl
import threading
import unittest

from gateway import routed_backends, start_gateway
from lab import free_port, lab_for_test

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
UNRESOLVABLE = "x" * 70 + ".invalid"  # rejected by the resolver itself: no DNS packet leaves

HEADER = """
state_dir = "{state}"
[logging]
handshake_log = "{log}"
[limits]
handshake_timeout = "3s"
[[listener]]
name = "front"
bind = "127.0.0.1:{port}"
"""


def x224_request(cookie: str, protocols: int) -> bytes:
    body = b"Cookie: mstshash=" + cookie.encode() + b"\r\n"
    body += bytes([0x01, 0x00, 0x08, 0x00]) + protocols.to_bytes(4, "little")
    li = 6 + len(body)
    return bytes([3, 0]) + (li + 5).to_bytes(2, "big") + bytes([li, 0xE0, 0, 0, 0, 0, 0]) + body


def client(port: int, cookie: str, protocols: int = 1, verify: bool = False) -> None:
    """Behaves like an RDP client until the gateway closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
        raw.sendall(x224_request(cookie, protocols))
        confirm = raw.recv(64)
        if len(confirm) < 19 or confirm[11] != 0x02:  # no RDP_NEG_RSP: refused or closed
            return
        ctx = ssl.create_default_context()
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        try:
            with ctx.wrap_socket(raw, server_hostname="gateway.invalid") as tls:
                tls.sendall((FIXTURES / "mcs_connect_initial_freerdp_tls.bin").read_bytes())
                while tls.recv(4096):
                    pass
        except (OSError, ssl.SSLError):
            pass


class FakeHost:
    """A TCP listener that accepts and then either says nothing or answers the X.224 request
    with a bare Connection Confirm, like a host that predates negotiation."""

    def __init__(self, answer: bytes | None):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.answer = answer
        self.conns = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.answer is not None:
                conn.recv(4096)
                conn.sendall(self.answer)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


class Diagnosis(unittest.TestCase):
    def test_causes_reproduced_for_real(self):
        lab = lab_for_test(self)
        tls10 = lab.xrdp("tls10")
        expired = lab.xrdp("tls10", name="expired",
                           cert_not_after=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40))
        silent = FakeHost(None)
        pre_negotiation = FakeHost(bytes.fromhex("0300000b06d00000123400"))
        self.addCleanup(silent.close)
        self.addCleanup(pre_negotiation.close)

        backends = [
            ("refused", f"127.0.0.1:{free_port()}", ""),
            ("nodns", UNRESOLVABLE, ""),
            ("silent", f"127.0.0.1:{silent.port}", 'security = "tls"'),
            ("prenego", f"127.0.0.1:{pre_negotiation.port}", 'security = "tls"'),
            ("sslrequired", f"127.0.0.1:{tls10.port}", 'security = "rdp"'),
            ("tlsfloor", f"127.0.0.1:{tls10.port}", '[backend.tls]\nmin_version = "1.2"'),
            ("pin", f"127.0.0.1:{tls10.port}",
             '[backend.tls]\nverify = "pin"\npin_sha256 = "' + "ab" * 32 + '"'),
            ("expired", f"127.0.0.1:{expired.port}",
             f'[backend.tls]\nverify = "ca"\nca_file = "{expired.cert_path}"\n'
             'name = "xrdp-tls10"'),
            # verify = "ca" checks a name: without `name` or `sni`, the address (127.0.0.1),
            # which the lab's certificate (CN=xrdp-tls10) does not carry.
            ("wrongname", f"127.0.0.1:{tls10.port}",
             f'[backend.tls]\nverify = "ca"\nca_file = "{tls10.cert_path}"'),
            ("good", f"127.0.0.1:{tls10.port}", ""),
        ]
        config = HEADER + routed_backends(backends)
        gw = start_gateway(lab, config=config)

        cases = [
            # (cookie, client kwargs, stage, cause)
            ("refused", {}, "backend_connect", "connection_refused"),
            ("nodns", {}, "backend_resolve", "dns_not_found"),
            ("silent", {}, "backend_negotiation", "host_silent"),
            ("prenego", {}, "backend_negotiation", "host_predates_negotiation"),
            ("sslrequired", {}, "backend_negotiation", "host_ssl_required"),
            ("tlsfloor", {}, "backend_tls", "host_tls_version_mismatch"),
            ("pin", {}, "backend_tls", "host_certificate_pin_mismatch"),
            ("expired", {}, "backend_tls", "host_certificate_expired"),
            ("wrongname", {}, "backend_tls", "host_certificate_name_mismatch"),
            ("good", {"verify": True}, "front_tls", "client_rejected_certificate"),
            ("good", {"protocols": 0}, "client_x224", "client_offers_no_tls"),
            ("nobody", {}, "routing", "no_route"),
        ]
        for i, (cookie, kwargs, stage, cause) in enumerate(cases, start=1):
            with self.subTest(cause=cause):
                client(gw.port, cookie, **kwargs)
                failed = gw.wait_event("handshake_failed", count=i, timeout=15)
                last = failed[-1]
                self.assertEqual((last["stage"], last["cause"]), (stage, cause), last)
                self.assertTrue(last["hint"] and last["explanation"] and last["detail"], last)
        self.assertEqual(len(gw.failures()), len(cases))
        self.assertEqual(gw.events("session_established"), [])


if __name__ == "__main__":
    unittest.main()
