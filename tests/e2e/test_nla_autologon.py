"""NLA acceptance, hosts without NLA: a hardened client logs on at the gateway with NLA, and the
credentials it delegated reach a TLS-1.0-only xrdp and a Standard-RDP-Security-only xrdp in the
back leg's Client Info (INFO_AUTOLOGON), so the host logs the user on without a login screen.
Proven from the client's, the host's and the gateway's logs; no password in any of the gateway's
logs."""

import os
import unittest

from gateway import nla_sanitizer_env, single_backend_config, start_gateway, users_file
from lab import DEFAULT_DOMAIN, DEFAULT_PASSWORD, DEFAULT_USER, lab_for_test

HARDENED_NLA = ("/sec:nla", f"/d:{DEFAULT_DOMAIN}", "/tls-seclevel:3")
SESMAN = r"connecting to sesman"



class NlaAutoLogon(unittest.TestCase):
    def through_gateway(self, profile, **host_options):
        lab = lab_for_test(self)
        host = lab.xrdp(profile, **host_options)
        config = single_backend_config(
            host.port, listener_keys=f'nla = "require"\nnla_users = "{users_file(lab)}"')
        gw = start_gateway(lab, None, "--log-level", "debug", config=config,
                           env=nla_sanitizer_env())
        res = lab.xfreerdp(gw.port, *HARDENED_NLA, until_log=(host, SESMAN), timeout=30)
        # Client: NLA with the gateway, then the connection sequence with the host.
        self.assertTrue(res.reached("CONNECTION_STATE_NLA"), res.summary())
        self.assertTrue(res.reached("CONNECTION_STATE_FINALIZATION"), res.summary())
        # Host: the user's name and a password arrived, and it logged them on (no login screen).
        host.wait_log(SESMAN)
        self.assertRegex(host.log_text(), rf"Client supplied username: {DEFAULT_USER}\b")
        self.assertRegex(host.log_text(), r"Client supplied password: <omitted from log>")
        # Gateway: NLA at the front, the credentials injected into the host's Client Info.
        est = gw.wait_event("session_established")[0]
        self.assertIn(est["front"]["selected"], ("HYBRID", "HYBRID_EX"), est)
        front_nla = [e for e in gw.events("stage", conn=est["conn"]) if e["stage"] == "front_nla"]
        self.assertEqual([e["user"] for e in front_nla], [DEFAULT_USER])
        injected = [e for e in gw.events("bridge", conn=est["conn"]) if "credentials_injected" in e]
        self.assertEqual([e["credentials_injected"] for e in injected], [DEFAULT_USER],
                         gw.log_path.read_text())
        self.assertEqual(gw.failures(), [])
        for path in (gw.proc.log_path, gw.log_path):
            text = path.read_text(errors="replace")
            for form in (DEFAULT_PASSWORD, DEFAULT_PASSWORD.encode().hex(),
                         DEFAULT_PASSWORD.encode("utf-16-le").hex()):
                self.assertNotIn(form, text, f"password in {path}")
        return est

    def test_tls10_host_gets_the_delegated_credentials(self):
        est = self.through_gateway("tls10")
        self.assertEqual(est["back"]["tls_version"], "TLSv1", est)
        self.assertEqual(est["back"]["selected"], "SSL", est)

    def test_rdp_security_host_gets_the_delegated_credentials(self):
        est = self.through_gateway("rdp", crypt_level="high")
        self.assertEqual(est["back"]["selected"], "RDP", est)


if __name__ == "__main__":
    unittest.main()
