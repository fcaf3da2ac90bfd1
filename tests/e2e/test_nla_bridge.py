"""NLA acceptance: a hardened client (TLS 1.2+, security level 3) reaches a TLS-1.0-only host that
requires NLA (Windows 7 / 2008 R2 with NLA on; here freerdp-shadow-cli with a SAM file and the
lab's TLS-1.0 shim) through rdpbridge, which runs CredSSP as the server towards the client (its
users file) and as the client towards the host (the credentials the client delegated). A wrong
password is refused at the gateway without leaking it; a password the host refuses is diagnosed
as the host's. Proven from the client's, the host's and the gateway's logs.

Listener contract: nla = "off" | "offer" | "require"; nla_users = a gss-ntlmssp users file
(DOMAIN:USER:PASSWORD lines, mode 0600). Handshake log: `stage` events front_nla and backend_nla;
failures handshake_failed with stage front_nla / backend_nla."""

import os
import pathlib
import socket
import ssl
import time
import unittest
import warnings

from gateway import nla_sanitizer_env, single_backend_config, start_gateway, users_file
from lab import (CLIENT_DESKTOP_UPDATE, DEFAULT_DOMAIN, DEFAULT_PASSWORD, DEFAULT_USER,
                 SHADOW_ACTIVATED, SHADOW_NLA_BAD_PASSWORD, SHADOW_NLA_OK, LabError, LabTimeout,
                 lab_for_test, tail)

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
NLA = ("/sec:nla", f"/d:{DEFAULT_DOMAIN}")
HARDENED_NLA = NLA + ("/tls-seclevel:3",)
WRONG_PASSWORD = "wrongpass-Nope3"        # what the client types in part c
HOST_PASSWORD = "hostpass-Other2"         # the host's password for labuser in part d
CLIENT_TIMEOUT = 25


# ----------------------------------------------------------------------------- helpers

def start_nla_gateway(test, lab, host, users, listener_keys=None, backend_keys="",
                      name="rdpbridge"):
    """rdpbridge with listener "front" (nla = "require", nla_users) in front of `host` (backend
    "win7"), stderr at debug level so that the password checks see every line it writes. Under
    ASan (RDPBRIDGE_SANITIZED=1) the GSSAPI libraries' own leaks are suppressed, as for
    nla_unit_tests; any other sanitizer report still fails the test when the lab stops it."""
    if listener_keys is None:
        listener_keys = f'nla = "require"\nnla_users = "{users}"'
    config = single_backend_config(host.port, backend="win7", listener_keys=listener_keys,
                                   backend_keys=backend_keys)
    try:
        return start_gateway(lab, None, "--log-level", "debug", config=config,
                             env=nla_sanitizer_env(), name=name)
    except LabError as e:
        problem = str(e)
    test.fail(f"GATEWAY did not start with an NLA listener (nla = \"require\"; is NLA in this "
              f"binary?):\n{problem}")


def report(res=None, gw=None, host=None):
    """Every side's evidence for an assertion message, labelled by side."""
    parts = []
    if res is not None:
        parts.append("=== CLIENT (xfreerdp) ===\n" + res.summary(25))
    if gw is not None:
        log = gw.log_path.read_text(errors="replace") if gw.log_path.exists() else "(no log)"
        parts.append("=== GATEWAY handshake log (last lines) ===\n"
                     + "\n".join(log.splitlines()[-25:]))
        parts.append("=== GATEWAY stderr (last lines) ===\n" + tail(gw.proc.log_path, 25))
    if host is not None:
        # the NLA and connection-sequence lines; the rest is codec chatter
        keep = ("nla", "NTLM", "Security", "authentication", "state", "activated", "ERROR",
                "Accepted", "cookie")
        lines = [l for l in host.log_text().splitlines() if any(k in l for k in keep)]
        parts.append(f"=== HOST (freerdp-shadow-cli, {host.log_path}) NLA/state lines ===\n"
                     + "\n".join(lines[-30:]))
    return "\n".join(parts)


def settled(gw, timeout=15.0):
    """Wait until every connection the gateway accepted has ended (handshake_failed or
    session_closed), so that counts of failures are final; returns the handshake_failed events."""
    def ended():
        accepted = {e["conn"] for e in gw.events("connection_accepted")}
        done = {e["conn"] for e in gw.events("handshake_failed") + gw.events("session_closed")}
        return accepted <= done
    try:
        gw.wait_event("connection_accepted", timeout=timeout)
        deadline = time.monotonic() + timeout
        while not ended():
            if time.monotonic() > deadline:
                raise LabTimeout("gateway connections did not end")
            time.sleep(0.02)
    except LabTimeout as e:
        raise AssertionError(f"GATEWAY: {e}\n{report(gw=gw)}") from None
    return gw.failures()


def secret_forms(password):
    """The password as text, and as hex of its UTF-8 / UTF-16LE bytes (a hex dump of a token
    or of TSCredentials would show it that way)."""
    forms = {password}
    for raw in (password.encode(), password.encode("utf-16-le")):
        forms |= {raw.hex(), raw.hex().upper()}
    return forms


def rdp_tls_handshake(port, tls_version, ciphers="ALL:@SECLEVEL=0"):
    """X.224 Connection Request as FreeRDP sends for /sec:nla (SSL|HYBRID), then a TLS handshake
    pinned to `tls_version`: (version, cipher) on success; raises ssl.SSLError if refused."""
    request = (FIXTURES / "x224_cr_freerdp_nla.bin").read_bytes()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(request)
        confirm = b""
        while len(confirm) < 19:                   # X.224 Connection Confirm with RDP_NEG_RSP
            chunk = raw.recv(19 - len(confirm))
            if not chunk:
                break
            confirm += chunk
        assert confirm[:2] == b"\x03\x00" and confirm[11] == 0x02, confirm.hex()  # RDP_NEG_RSP
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = tls_version
            ctx.maximum_version = tls_version
        ctx.set_ciphers(ciphers)
        with ctx.wrap_socket(raw) as tls:
            return tls.version(), tls.cipher()[0]


# ----------------------------------------------------------------------------- tests
class NlaBridge(unittest.TestCase):
    def assert_no_secret(self, gw, *passwords):
        """None of the passwords, in any form, in the gateway's stderr or handshake log."""
        for where, path in (("stderr", gw.proc.log_path), ("handshake log", gw.log_path)):
            text = path.read_text(errors="replace") if path.exists() else ""
            for password in passwords:
                for form in secret_forms(password):
                    self.assertNotIn(form, text, f"GATEWAY leaked a password ({form!r}) in its "
                                                 f"{where} {path}")

    def test_a_baseline_straight_to_the_nla_host(self):
        """The host speaks TLS 1.0 only, requires NLA, and works with a stock client: the
        hardened client fails on TLS, stock FreeRDP reaches the desktop, a TLS-only request is
        refused, a wrong password is refused by the host's NLA."""
        lab = lab_for_test(self)
        host = lab.nla_host()

        # TLS 1.0 with AES-CBC only, like Windows 7 (after the host selected HYBRID).
        self.assertEqual(rdp_tls_handshake(host.port, ssl.TLSVersion.TLSv1),
                         ("TLSv1", "AES256-SHA"), report(host=host))
        for modern in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with self.assertRaises(ssl.SSLError, msg=f"HOST accepted {modern}"):
                rdp_tls_handshake(host.port, modern)

        res = lab.xfreerdp(host.port, *HARDENED_NLA, timeout=CLIENT_TIMEOUT)
        self.assertEqual(res.error_code(), "ERRCONNECT_TLS_CONNECT_FAILED", report(res, host=host))
        self.assertFalse(res.reached("CONNECTION_STATE_NLA"), report(res, host=host))

        mark = host.log_mark()
        res = lab.xfreerdp(host.port, *NLA, until=CLIENT_DESKTOP_UPDATE, timeout=CLIENT_TIMEOUT)
        self.assertEqual(res.ended_by, "until", report(res, host=host))
        self.assertTrue(res.reached("CONNECTION_STATE_ACTIVE"), report(res, host=host))
        host.wait_log(SHADOW_NLA_OK, since=mark)
        host.wait_log(SHADOW_ACTIVATED, since=mark)
        self.assertRegex(host.log_text()[mark:], r"Negotiated Security: NLA:1 TLS:0 RDP:0")

        res = lab.xfreerdp(host.port, "/sec:tls", timeout=CLIENT_TIMEOUT)
        self.assertEqual(res.error_code(), "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED",
                         report(res, host=host))

        mark = host.log_mark()
        res = lab.xfreerdp(host.port, *NLA, password=WRONG_PASSWORD, timeout=CLIENT_TIMEOUT)
        self.assertTrue(res.reached("CONNECTION_STATE_NLA"), report(res, host=host))
        self.assertFalse(res.reached("CONNECTION_STATE_MCS_CONNECT"), report(res, host=host))
        host.wait_log(SHADOW_NLA_BAD_PASSWORD, since=mark)
        self.assertEqual(host.count(SHADOW_NLA_OK, since=mark), 0, report(res, host=host))

    def test_b_hardened_client_reaches_nla_host_through_gateway(self):
        lab = lab_for_test(self)
        host = lab.nla_host()
        users = users_file(lab, [(DEFAULT_DOMAIN, DEFAULT_USER, DEFAULT_PASSWORD)])
        gw = start_nla_gateway(self, lab, host, users)
        mark = host.log_mark()
        res = lab.xfreerdp(gw.port, *HARDENED_NLA, until=CLIENT_DESKTOP_UPDATE,
                           timeout=CLIENT_TIMEOUT)

        # Client: the whole connection sequence, and the host's desktop arrived.
        self.assertEqual(res.ended_by, "until", "CLIENT did not receive the desktop\n"
                         + report(res, gw, host))
        self.assertTrue(res.reached("CONNECTION_STATE_ACTIVE"), report(res, gw, host))
        # Host: NLA with the SAM's only user succeeded, then the session went live.
        try:
            host.wait_log(SHADOW_NLA_OK, since=mark)
            host.wait_log(SHADOW_ACTIVATED, since=mark)
        except LabError as e:
            self.fail(f"HOST did not accept the gateway's NLA logon: {e}\n{report(res, gw, host)}")
        self.assertEqual(host.count(SHADOW_NLA_BAD_PASSWORD, since=mark), 0,
                         report(res, gw, host))
        # Gateway: front_nla, backend_nla, then session_established, TLSv1 to the host.
        try:
            est = gw.wait_event("session_established")[0]
        except LabTimeout as e:
            self.fail(f"GATEWAY logged no session_established: {e}\n{report(res, gw, host)}")
        order = [e.get("stage", e["event"]) for e in gw.events(conn=est["conn"])
                 if e["event"] == "session_established"
                 or e.get("stage") in ("front_nla", "backend_nla")]
        self.assertEqual(order, ["front_nla", "backend_nla", "session_established"],
                         report(res, gw, host))
        for stage in ("front_nla", "backend_nla"):
            ev = [e for e in gw.events("stage", conn=est["conn"]) if e["stage"] == stage][0]
            self.assertEqual(ev.get("user"), DEFAULT_USER, ev)
            self.assertEqual(str(ev.get("domain", "")).upper(), DEFAULT_DOMAIN, ev)
        self.assertIn(est["front"]["tls_version"], ("TLSv1.2", "TLSv1.3"), est)
        self.assertEqual(est["back"]["tls_version"], "TLSv1", est)
        self.assertIn("HYBRID", est["back"].get("selected", ""), est)
        self.assertEqual(gw.failures(), [], report(res, gw, host))
        closed = gw.wait_event("session_closed")[0]
        self.assertEqual(closed["conn"], est["conn"])
        self.assertGreater(closed["bytes_host_to_client"], 0)
        self.assert_no_secret(gw, DEFAULT_PASSWORD)

    def test_c_wrong_password_is_refused_at_the_gateway(self):
        lab = lab_for_test(self)
        host = lab.nla_host()
        users = users_file(lab, [(DEFAULT_DOMAIN, DEFAULT_USER, DEFAULT_PASSWORD)])
        gw = start_nla_gateway(self, lab, host, users)
        mark = host.log_mark()
        res = lab.xfreerdp(gw.port, *HARDENED_NLA, password=WRONG_PASSWORD,
                           timeout=CLIENT_TIMEOUT)

        # Client: the gateway answered errorCode STATUS_LOGON_FAILURE.
        self.assertEqual(res.error_code(), "ERRCONNECT_LOGON_FAILURE", report(res, gw, host))
        self.assertFalse(res.reached("CONNECTION_STATE_MCS_CONNECT"), report(res, gw, host))
        # Gateway: exactly one failure, at its own NLA.
        failed = settled(gw)
        self.assertEqual([(e["stage"], e["cause"]) for e in failed],
                         [("front_nla", "client_nla_failed")], report(res, gw, host))
        self.assertEqual(gw.events("session_established"), [], report(res, gw, host))
        self.assertFalse([e for e in gw.events("stage") if e["stage"] in ("front_nla",
                                                                            "backend_nla")],
                         "GATEWAY logged an NLA stage as done\n" + report(res, gw, host))
        # No backend connection was opened for it: the client is authenticated first.
        self.assertFalse([e for e in gw.events("stage") if e["stage"].startswith("backend")],
                         "GATEWAY contacted the host for a refused client\n" +
                         report(res, gw, host))
        self.assertEqual(host.count(r"\[nla_recv\] Receiving", since=mark), 0,
                         "HOST saw an NLA run\n" + report(res, gw, host))
        self.assertEqual(host.count(SHADOW_ACTIVATED, since=mark), 0, report(res, gw, host))
        self.assert_no_secret(gw, DEFAULT_PASSWORD, WRONG_PASSWORD)

    def test_d_password_the_host_refuses_is_the_hosts_failure(self):
        lab = lab_for_test(self)
        host = lab.nla_host({DEFAULT_USER: HOST_PASSWORD})
        users = users_file(lab, [(DEFAULT_DOMAIN, DEFAULT_USER, DEFAULT_PASSWORD)])
        gw = start_nla_gateway(self, lab, host, users)
        mark = host.log_mark()
        # Ended once the gateway has given up (FreeRDP may otherwise retry NLA on a dropped
        # connection); what the client printed by then is only reported, not asserted.
        res = lab.xfreerdp(gw.port, *HARDENED_NLA, timeout=CLIENT_TIMEOUT,
                           until_log=(gw.log_path, r'"event": ?"handshake_failed"'))

        self.assertFalse(res.reached("CONNECTION_STATE_ACTIVE"), report(res, gw, host))
        # Gateway: the client's logon succeeded at the front; the host's failed at the back.
        # FreeRDP may reconnect once after the dropped connection; ending the client then cuts
        # that retry short (a client_closed in an early stage): judge the connections that
        # reached the NLA stages.
        logged_on = {e["conn"] for e in gw.events("stage") if e["stage"] == "front_nla"}
        failed = [e for e in settled(gw) if e["conn"] in logged_on]
        self.assertTrue(failed, "GATEWAY logged no handshake_failed after front_nla\n" +
                        report(res, gw, host))
        self.assertTrue(all(e["stage"] == "backend_nla" for e in failed),
                        report(res, gw, host))
        # freerdp-shadow-cli refuses a wrong password by closing after AUTHENTICATE (no
        # errorCode): host_nla_logon_failure. host_nla_failed instead means the gateway's NTLM
        # initiator gave up before sending AUTHENTICATE (e.g. gss-ntlmssp refusing the host's
        # CHALLENGE with both UNICODE and OEM set).
        self.assertEqual({e["cause"] for e in failed}, {"host_nla_logon_failure"},
                         report(res, gw, host))
        self.assertTrue([e for e in gw.events("stage") if e["stage"] == "front_nla"],
                        "GATEWAY logged no front_nla stage\n" + report(res, gw, host))
        self.assertEqual(gw.events("session_established"), [], report(res, gw, host))
        # Host: its NLA refused the gateway's logon, and nothing got through.
        try:
            host.wait_log(SHADOW_NLA_BAD_PASSWORD, since=mark)
        except LabError as e:
            self.fail(f"HOST did not refuse the gateway's password (did the gateway's NTLM get "
                      f"as far as AUTHENTICATE?): {e}\n{report(res, gw, host)}")
        self.assertEqual(host.count(SHADOW_NLA_OK, since=mark), 0, report(res, gw, host))
        self.assert_no_secret(gw, DEFAULT_PASSWORD, HOST_PASSWORD)

    def test_e_client_without_nla_is_refused_cleanly_and_service_credentials_serve_it(self):
        """A TLS-only client in front of the NLA host: without credentials the gateway has
        nothing to log on with, and says so; with the backend's service account it works."""
        lab = lab_for_test(self)
        host = lab.nla_host()
        # early_host_contact: the client is told the host's HYBRID_REQUIRED_BY_SERVER in its
        # Connection Confirm, so FreeRDP gives up at once. (By default the host is contacted
        # after the front TLS handshake; its refusal then only closes the client, which FreeRDP
        # retries.)
        gw = start_nla_gateway(self, lab, host, None, listener_keys="",
                               backend_keys="early_host_contact = true")
        res = lab.xfreerdp(gw.port, "/sec:tls", "/tls-seclevel:3", timeout=CLIENT_TIMEOUT)
        self.assertFalse(res.reached("CONNECTION_STATE_ACTIVE"), report(res, gw, host))
        failed = settled(gw)
        self.assertEqual([(e["stage"], e["cause"]) for e in failed],
                         [("backend_negotiation", "host_hybrid_required")], report(res, gw, host))
        self.assertIn("credentials", failed[0]["hint"], failed[0])
        gw.proc.stop()

        secret = lab.dir / "kiosk.password"
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(DEFAULT_PASSWORD + "\n")
        creds = (f'[backend.credentials]\nuser = "{DEFAULT_USER}"\ndomain = "{DEFAULT_DOMAIN}"\n'
                 f'password_file = "{secret}"')
        gw = start_nla_gateway(self, lab, host, None, listener_keys="", backend_keys=creds,
                               name="rdpbridge-service")
        mark = host.log_mark()
        res = lab.xfreerdp(gw.port, "/sec:tls", "/tls-seclevel:3", until=CLIENT_DESKTOP_UPDATE,
                           timeout=CLIENT_TIMEOUT)
        self.assertEqual(res.ended_by, "until", "CLIENT did not receive the desktop\n"
                         + report(res, gw, host))
        try:
            host.wait_log(SHADOW_NLA_OK, since=mark)
        except LabError as e:
            self.fail(f"HOST did not accept the service account: {e}\n{report(res, gw, host)}")
        est = gw.wait_event("session_established")[0]
        self.assertEqual(est["front"]["selected"], "SSL", est)
        self.assertEqual(est["back"]["tls_version"], "TLSv1", est)
        self.assertIn("HYBRID", est["back"]["selected"], est)
        backend_nla = [e for e in gw.events("stage", conn=est["conn"])
                       if e["stage"] == "backend_nla"]
        self.assertEqual([e["user"] for e in backend_nla], [DEFAULT_USER], report(res, gw, host))
        self.assert_no_secret(gw, DEFAULT_PASSWORD)


if __name__ == "__main__":
    unittest.main()
