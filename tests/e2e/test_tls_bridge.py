"""Part 1 acceptance: a hardened client reaches TLS-1.0-only and modern hosts through rdpbridge,
and a host that refuses TLS is refused cleanly with a diagnosis. Proven from both ends' logs."""

import re
import unittest

from gateway import single_backend_config, start_gateway
from lab import STATE_FINALIZATION, lab_for_test

HARDENED = ("/sec:tls", "/tls-seclevel:3")
SESMAN = r"connecting to sesman"


class TlsBridge(unittest.TestCase):
    def test_hardened_client_fails_straight_to_tls10_host(self):
        lab = lab_for_test(self)
        host = lab.xrdp("tls10")
        res = lab.xfreerdp(host.port, *HARDENED, timeout=30)
        self.assertEqual(res.error_code(), "ERRCONNECT_TLS_CONNECT_FAILED", res.summary())
        self.assertFalse(res.reached("CONNECTION_STATE_MCS_CONNECT"), res.summary())

    def test_hardened_client_reaches_tls10_host_through_gateway(self):
        lab = lab_for_test(self)
        host = lab.xrdp("tls10")
        gw = start_gateway(lab, host.port)
        res = lab.xfreerdp(gw.port, *HARDENED, until_log=(host, SESMAN), timeout=30)
        # Client side: the whole connection sequence up to finalization.
        self.assertTrue(res.reached("CONNECTION_STATE_FINALIZATION"), res.summary())
        # Host side: TLS 1.0 and the credentials arrived.
        host.wait_log(SESMAN)
        self.assertRegex(host.log_text(), r"TLS connection established .*TLSv1 ")
        # Gateway: modern front, legacy back, named in one line.
        est = gw.wait_event("session_established")[0]
        self.assertIn(est["front"]["tls_version"], ("TLSv1.2", "TLSv1.3"))
        self.assertEqual(est["back"]["tls_version"], "TLSv1")
        self.assertEqual(est["back"]["selected"], "SSL")
        self.assertEqual(gw.failures(), [])
        closed = gw.wait_event("session_closed")[0]
        self.assertEqual(closed["conn"], est["conn"])
        self.assertGreater(closed["bytes_client_to_host"], 0)
        self.assertGreater(closed["bytes_host_to_client"], 0)

    def test_hardened_client_reaches_modern_host_through_gateway(self):
        lab = lab_for_test(self)
        host = lab.xrdp("modern")
        gw = start_gateway(lab, host.port)
        res = lab.xfreerdp(gw.port, *HARDENED, until_log=(host, SESMAN), timeout=30)
        self.assertTrue(res.reached("CONNECTION_STATE_FINALIZATION"), res.summary())
        est = gw.wait_event("session_established")[0]
        self.assertIn(est["front"]["tls_version"], ("TLSv1.2", "TLSv1.3"))
        self.assertIn(est["back"]["tls_version"], ("TLSv1.2", "TLSv1.3"))
        self.assertRegex(host.log_text(), r"TLS connection established .*TLSv1\.[23]")

    def test_tls_profile_in_front_of_rdp_only_host_is_refused_cleanly(self):
        lab = lab_for_test(self)
        host = lab.xrdp("rdp", crypt_level="high")
        # early_host_contact: the client is told the host's answer in its Connection Confirm.
        # (By default the host is contacted only after the front TLS handshake, and its refusal
        # can then only close the client; the gateway's diagnosis is the same.)
        gw = start_gateway(lab, config=single_backend_config(
            host.port, backend_keys='security = "tls"\nearly_host_contact = true'))
        res = lab.xfreerdp(gw.port, *HARDENED, timeout=30)
        self.assertEqual(res.error_code(), "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED",
                         res.summary())
        failed = gw.wait_event("handshake_failed")
        self.assertEqual(len(failed), 1, failed)
        self.assertEqual(failed[0]["stage"], "backend_negotiation")
        self.assertEqual(failed[0]["cause"], "host_ssl_not_allowed")
        # xrdp answers a TLS-only offer by selecting PROTOCOL_RDP; Windows hosts send
        # RDP_NEG_FAILURE SSL_NOT_ALLOWED_BY_SERVER. Both are the same cause.
        self.assertRegex(failed[0]["detail"], r"SSL_NOT_ALLOWED_BY_SERVER|PROTOCOL_RDP")
        self.assertTrue(failed[0]["hint"])
        self.assertEqual(gw.events("session_established"), [])


if __name__ == "__main__":
    unittest.main()
