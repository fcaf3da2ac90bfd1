"""Part 5 acceptance: a Connect Initial that asks for the MS_T120 channel (the BlueKeep,
CVE-2019-0708, trigger) is refused by rdpbridge before it reaches the host; the host never sees
it (xrdp's log), and the gateway logs an attack indicator with the source address. With the
shield turned off the same bytes do reach the host, which proves the host-side check can see
them."""

import pathlib
import re
import socket
import ssl
import unittest

from gateway import single_backend_config, start_gateway
from lab import lab_for_test

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"



def attack(port: int) -> bool:
    """Speaks X.224 and TLS like FreeRDP, then sends its captured Connect Initial with the first
    static channel renamed MS_T120 (same length, so no length changes). True when the gateway
    closed the connection without an MCS answer."""
    request = (FIXTURES / "x224_cr_freerdp_tls.bin").read_bytes()
    initial = (FIXTURES / "mcs_connect_initial_freerdp_tls.bin").read_bytes()
    assert b"rdpdr\x00\x00\x00" in initial
    initial = initial.replace(b"rdpdr\x00\x00\x00", b"MS_T120\x00", 1)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(request)
        confirm = raw.recv(64)
        assert confirm[:2] == b"\x03\x00", confirm
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with ctx.wrap_socket(raw, server_hostname="gateway") as tls:
            tls.sendall(initial)
            try:
                answer = tls.recv(4096)
            except (ConnectionError, ssl.SSLError):
                return True
            return answer == b""


class MsT120Shield(unittest.TestCase):
    def test_refused_before_the_host(self):
        lab = lab_for_test(self)
        host = lab.xrdp("tls10")
        gw = start_gateway(lab, config=single_backend_config(
            host.port, tables="[shield]\nrefuse_ms_t120 = true"))
        self.assertTrue(attack(gw.port), "the gateway answered an MS_T120 Connect Initial")
        failed = gw.wait_event("handshake_failed")
        self.assertEqual(len(failed), 1, failed)
        self.assertEqual((failed[0]["stage"], failed[0]["cause"]),
                         ("mcs_gcc", "client_requested_ms_t120"))
        self.assertIn("MS_T120", failed[0]["detail"])
        accepted = gw.events("connection_accepted", conn=failed[0]["conn"])
        self.assertEqual(accepted[0]["client"].split(":")[0], "127.0.0.1")  # source address
        self.assertNotRegex(host.log_text(), re.compile("ms_t120", re.I))

    def test_without_the_shield_the_host_receives_it(self):
        lab = lab_for_test(self)
        host = lab.xrdp("tls10")
        gw = start_gateway(lab, config=single_backend_config(
            host.port, tables="[shield]\nrefuse_ms_t120 = false"))
        attack(gw.port)
        host.wait_log(re.compile("ms_t120", re.I), timeout=10)


if __name__ == "__main__":
    unittest.main()
