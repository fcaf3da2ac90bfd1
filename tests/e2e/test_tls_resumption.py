"""Part 15: backend TLS session resumption. A second session to a TLS 1.0 host that resumes is
resumed (the gateway's log and the host's own OpenSSL say so); the lab's TLS 1.0 xrdp, which
resumes nothing, is offered the session, declines, and both real sessions still get through;
`resume = false` offers nothing."""

import unittest

import peers
from gateway import single_backend_config, start_gateway
from lab import lab_for_test

HARDENED = ("/sec:tls", "/tls-seclevel:3")
SESMAN = r"connecting to sesman"


def backend_tls_stages(gw):
    return [e for e in gw.events("stage") if e.get("stage") == "backend_tls"]


class TlsResumption(unittest.TestCase):
    def scripted_host(self, lab, **kw):
        cert, key = lab.make_cert("host")
        host = peers.ScriptedHost(cert, key, tls10=True, **kw)
        self.addCleanup(host.close)
        return host

    def two_sessions(self, gw):
        """Two sessions one after the other; the first has ended (and said goodbye to the host
        with close_notify, without which OpenSSL retires a session) before the second starts."""
        for n in (1, 2):
            run = peers.run_client(gw.port)
            self.assertTrue(run.established, run.error)
            gw.wait_event("session_closed", count=n)
        return backend_tls_stages(gw)

    def test_second_session_to_a_tls10_host_is_resumed(self):
        lab = lab_for_test(self)
        host = self.scripted_host(lab)
        gw = start_gateway(lab, config=single_backend_config(host.port))
        first, second = self.two_sessions(gw)
        self.assertEqual(first["tls_version"], "TLSv1")
        self.assertFalse(first["tls_resume_offered"], first)
        self.assertFalse(first["tls_resumed"], first)
        self.assertTrue(second["tls_resume_offered"], second)
        self.assertTrue(second["tls_resumed"], second)
        # A resumed session still names the host's certificate (the one of the session it
        # resumes), so the host identity check ran as before.
        self.assertEqual(second["cert_sha256"], first["cert_sha256"])
        established = gw.events("session_established")
        self.assertEqual([e["back"]["tls_resumed"] for e in established], [False, True])
        # The host's side: its OpenSSL resumed the second handshake.
        self.assertEqual(host.resumed, [False, True])
        self.assertEqual(gw.failures(), [])

    def test_resume_off_offers_nothing(self):
        lab = lab_for_test(self)
        host = self.scripted_host(lab)
        gw = start_gateway(lab, config=single_backend_config(
            host.port, backend_keys="[backend.tls]\nresume = false"))
        stages = self.two_sessions(gw)
        for stage in stages:
            self.assertFalse(stage["tls_resumed"], stage)
            self.assertNotIn("tls_resume_offered", stage)
        self.assertEqual(host.resumed, [False, False])

    def test_real_client_to_xrdp_which_declines_resumption(self):
        lab = lab_for_test(self)
        host = lab.xrdp("tls10")
        gw = start_gateway(lab, host.port)
        for n in (1, 2):
            res = lab.xfreerdp(gw.port, *HARDENED, until_log=(host, SESMAN), timeout=30)
            self.assertTrue(res.reached("CONNECTION_STATE_FINALIZATION"), res.summary())
            gw.wait_event("session_closed", count=n)
        first, second = backend_tls_stages(gw)
        self.assertFalse(first["tls_resume_offered"], first)
        # xrdp 0.9 builds an SSL context per connection: the session offered is unknown to it.
        self.assertTrue(second["tls_resume_offered"], second)
        self.assertFalse(second["tls_resumed"], second)
        self.assertEqual(second["tls_version"], "TLSv1")
        self.assertEqual(len(gw.events("session_established")), 2)
        self.assertEqual(gw.failures(), [])
        # The host's side: two full TLS 1.0 handshakes, both sessions reached sesman.
        self.assertEqual(len(host.log_text().split("TLS connection established")) - 1, 2,
                         host.log_text()[-2000:])


if __name__ == "__main__":
    unittest.main()
