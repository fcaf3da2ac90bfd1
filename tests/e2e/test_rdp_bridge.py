"""Part 2 acceptance: a hardened TLS client reaches hosts that speak only Standard RDP Security
(XP / Server 2003 class) through rdpbridge, at the HIGH (RC4 128-bit) and FIPS levels, proven
from the client's states, xrdp's log and the handshake log."""

import unittest

from gateway import single_backend_config, start_gateway
from lab import DEFAULT_PASSWORD, lab_for_test

HARDENED = ("/sec:tls", "/tls-seclevel:3")
SESMAN = r"connecting to sesman"
HOST_ERRORS = r"MAC checksum error|header|decrypt|[Ii]nvalid"



class StandardSecurityBridge(unittest.TestCase):
    def check_level(self, level, method, gateway_args=()):
        lab = lab_for_test(self)
        host = lab.xrdp("rdp", crypt_level=level)

        # The problem: a hardened client cannot talk to this host at all.
        direct = lab.xfreerdp(host.port, *HARDENED, timeout=30)
        self.assertEqual(direct.error_code(), "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED",
                         direct.summary())

        gw = start_gateway(lab, host.port, *gateway_args)
        mark = host.log_mark()
        res = lab.xfreerdp(gw.port, *HARDENED, until_log=(host, SESMAN), timeout=30)
        self.assertTrue(res.reached("CONNECTION_STATE_FINALIZATION"), res.summary())

        log = host.log_text()[mark:] if isinstance(mark, int) else host.log_text()
        self.assertRegex(log, r"Non-TLS connection established .*security level : %s" % level)
        self.assertRegex(log, SESMAN)
        for line in log.splitlines():
            if "[ERROR]" in line:
                self.assertNotRegex(line, HOST_ERRORS)

        est = gw.wait_event("session_established")[0]
        self.assertIn(est["front"]["tls_version"], ("TLSv1.2", "TLSv1.3"))
        self.assertEqual(est["back"]["selected"], "RDP")
        self.assertEqual(est["back"]["encryption_method"], method)
        self.assertEqual(est["back"]["encryption_level"], level.upper())
        self.assertIn("signature valid", est["back"]["certificate"])
        self.assertEqual(gw.failures(), [])
        closed = gw.wait_event("session_closed")[0]
        self.assertEqual(closed["closed_by"], "client")

        # Nothing secret reaches the gateway's logs: not the password of the Client Info PDU.
        for path in (gw.log_path, gw.proc.log_path):
            self.assertNotIn(DEFAULT_PASSWORD, path.read_text(errors="replace"), path)
        return gw

    def test_high_rc4_128_with_auto(self):
        gw = self.check_level("high", "128BIT")
        # auto first offered TLS; the host answered with Standard RDP Security.
        neg = [e for e in gw.events("stage") if e["stage"] == "backend_negotiation"]
        self.assertEqual(neg[-1]["back_requested"], "SSL")
        self.assertEqual(neg[-1]["back_selected"], "RDP")

    def test_fips_with_auto(self):
        self.check_level("fips", "FIPS")

    def test_high_with_explicit_rdp_profile(self):
        gw = self.check_level("high", "128BIT", ("--backend-security", "rdp"))
        neg = [e for e in gw.events("stage") if e["stage"] == "backend_negotiation"]
        self.assertEqual(neg[-1]["back_requested"], "RDP")

    def test_low_rc4_40_needs_the_profile_to_allow_it(self):
        lab = lab_for_test(self)
        host = lab.xrdp("rdp", crypt_level="low")
        # The default profile refuses 40-bit RC4, with a diagnosis that names the fix.
        strict = start_gateway(lab, host.port, name="strict")
        lab.xfreerdp(strict.port, *HARDENED, timeout=30)
        failed = strict.wait_event("handshake_failed")[0]
        self.assertEqual((failed["stage"], failed["cause"]),
                         ("mcs_gcc", "host_selected_unoffered_method"))
        self.assertIn("encryption_methods", failed["hint"])
        # A profile that allows it bridges the host.
        gw = start_gateway(lab, config=single_backend_config(
            host.port, backend="xp",
            backend_keys='security = "rdp"\nencryption_methods = ["40", "56", "128", "fips"]'), name="lenient")
        res = lab.xfreerdp(gw.port, *HARDENED, until_log=(host, SESMAN), timeout=30)
        self.assertTrue(res.reached("CONNECTION_STATE_FINALIZATION"), res.summary())
        est = gw.wait_event("session_established")[0]
        self.assertEqual(est["back"]["encryption_method"], "40BIT")


if __name__ == "__main__":
    unittest.main()
