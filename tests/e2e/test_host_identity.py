"""Part 8 acceptance: host identity you can trust. With the default verify = "tofu" the gateway
records each backend's identity (TLS certificate, Standard RDP Security key, security layers) on
first contact in <state_dir>/known_hosts.jsonl, and refuses a host that later presents another
key or less security — before anything beyond the X.224 request and the TLS handshake (or, for
an RDP key, the MCS Connect Initial) reaches it, so no credentials. `rdpbridge hosts` lists,
shows, accepts and forgets identities while the gateway runs. Proven with real xrdp hosts
restarted on the same port with new keys (impostors), the hardened FreeRDP client, xrdp's own
log of how far each connection got, the handshake log and the store.

One Xvfb is shared by the class (its start-up costs seconds on a loaded machine); everything
else — hosts, gateway, state dir — belongs to each test's own lab."""

import datetime as dt
import json
import os
import pathlib
import re
import shutil
import socket
import ssl
import stat
import subprocess
import time
import unittest

from gateway import (BIN, nla_sanitizer_env, routed_config, single_backend_config, users_file,
                     start_gateway)
from lab import (DEFAULT_DOMAIN, DEFAULT_PASSWORD, DEFAULT_USER, XRDP_CLIENT_INFO,
                 XRDP_CONNECTION_CLOSED, XRDP_MCS_CONNECT_INITIAL, XRDP_NO_ERECT_DOMAIN,
                 XRDP_NO_MCS_CONNECT_INITIAL, XRDP_TLS_ACCEPT_FAILED, Lab, cert_sha256,
                 lab_for_test, spki_sha256)

HARDENED = ("/sec:tls", "/tls-seclevel:3")
HARDENED_NLA = ("/sec:nla", f"/d:{DEFAULT_DOMAIN}", "/tls-seclevel:3")
SESMAN = r"connecting to sesman"
BACKEND = "legacy"
TOOLS = ("xrdp", "xrdp-keygen", "xfreerdp", "Xvfb", "unshare", "mount", "openssl")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def hexdigits(text):
    """Lower-case hex digits of `text` with colons and spaces removed (a fingerprint may be
    printed 'AB:CD:...' or 'abcd...')."""
    return re.sub(r"[:\s]", "", text).lower()


def rfc3339(value):
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def read_store(state_dir):
    """The known-hosts store's entries ({} lines are all JSON objects), keyed by backend."""
    path = state_dir / "known_hosts.jsonl"
    entries = {}
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        e = json.loads(line)
        assert isinstance(e, dict), f"{path}:{n}: not an object: {line}"
        assert e["backend"] not in entries, f"{path}:{n}: second entry for {e['backend']}"
        entries[e["backend"]] = e
    return entries


def wait_store(state_dir, backend, predicate=lambda e: True, timeout=15.0):
    """Poll the store (bounded) until `backend`'s entry exists and satisfies `predicate`;
    return the entry. The store is replaced atomically, so every read sees a whole file."""
    path = state_dir / "known_hosts.jsonl"
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = read_store(state_dir).get(backend)
        except FileNotFoundError:
            last = None
        if last is not None and predicate(last):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{path}: no matching entry for {backend} within {timeout}s; "
                                 f"last: {last}")
        time.sleep(0.02)



FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"


def x224_request(cookie, protocols=1):
    """An X.224 Connection Request with `Cookie: mstshash=<cookie>` and RDP_NEG_REQ."""
    body = b"Cookie: mstshash=" + cookie.encode() + b"\r\n"
    body += bytes([0x01, 0x00, 0x08, 0x00]) + protocols.to_bytes(4, "little")
    li = 6 + len(body)
    return bytes([3, 0]) + (li + 5).to_bytes(2, "big") + bytes([li, 0xE0, 0, 0, 0, 0, 0]) + body


def raw_client(port, cookie):
    """Speaks to the gateway like FreeRDP up to the MCS Connect Response (X.224, TLS, the
    captured Connect Initial), then closes: far enough for the gateway to meet the backend's
    TLS certificate or Standard RDP Security key, without a lab client."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
        raw.sendall(x224_request(cookie))
        confirm = raw.recv(64)
        if len(confirm) < 19 or confirm[11] != 0x02:
            return
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            with ctx.wrap_socket(raw, server_hostname="gateway.invalid") as tls:
                tls.sendall((FIXTURES / "mcs_connect_initial_freerdp_tls.bin").read_bytes())
                tls.recv(4096)
        except (OSError, ssl.SSLError):
            pass


SANITIZER_REPORT = re.compile(r"==\d+==ERROR: \w+Sanitizer|WARNING: ThreadSanitizer|"
                              r": runtime error: ")


def rdpbridge(*args, timeout=60):
    """Runs the binary with `args`: CompletedProcess (text). A sanitizer report (ASan, TSan and
    UBSan builds) fails the test whatever the exit code."""
    r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)
    assert not SANITIZER_REPORT.search(r.stderr), f"sanitizer report from {args}:\n{r.stderr}"
    return r


class HostIdentity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = [t for t in TOOLS if shutil.which(t) is None]
        if os.geteuid() != 0:
            missing.append("root (xrdp with a private rsakeys.ini needs a mount namespace)")
        if missing:
            msg = "missing for the host identity lab: " + ", ".join(missing)
            if os.environ.get("CI", "").lower() == "true":
                raise AssertionError(msg)       # CI: a missing tool is a failure
            raise unittest.SkipTest(msg)
        cls.shared = Lab("test_host_identity-xvfb")
        try:
            cls.display = cls.shared.xvfb()
        except BaseException:
            cls.shared.close(failed=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.shared.close()

    # ------------------------------------------------------------------ helpers
    def lab(self):
        return lab_for_test(self, display=self.display)

    def gateway(self, lab, host, *, backend_keys="", listener_keys="", env=None):
        """A gateway with one backend (BACKEND) at host's port and the state dir
        lab.dir/state; returns (gateway, config path, state dir)."""
        config = single_backend_config(host.port, backend=BACKEND, backend_keys=backend_keys,
                                       listener_keys=listener_keys)
        gw = start_gateway(lab, None, config=config, env=env)
        return gw, lab.dir / "rdpbridge.toml", lab.dir / "state"

    def session(self, lab, gw, host, args=HARDENED):
        """A hardened client's session through the gateway, ended once xrdp has passed the
        whole connection sequence (Client Info included)."""
        mark = host.log_mark()
        res = lab.xfreerdp(gw.port, *args, until_log=(host, SESMAN), timeout=40)
        self.assertTrue(res.reached("CONNECTION_STATE_FINALIZATION"), res.summary())
        host.wait_log(SESMAN, since=mark)
        return res

    def refused(self, lab, gw, host, args=HARDENED):
        """A hardened client that the gateway must refuse. FreeRDP 2.11 connects a second time
        by itself when the first connection fails with ERRCONNECT_CONNECT_TRANSPORT_FAILED (the
        gateway closing it), so one attempt is one or two connections; each
        must end in exactly one handshake_failed, all alike, and none in a session. Returns
        (the client's result, the last handshake_failed, xrdp's log of the attempt — complete:
        waited for until xrdp logged the end of each of the gateway's connections)."""
        mark = host.log_mark()
        failures_before = len(gw.failures())
        sessions_before = len(gw.events("session_established"))
        res = lab.xfreerdp(gw.port, *args, timeout=40)
        self.assertEqual(res.ended_by, "exit", res.summary())
        self.assertFalse(res.reached("CONNECTION_STATE_FINALIZATION"), res.summary())
        # Every refused connection met the host (that is where its identity is seen), and xrdp
        # had logged accepting it before it answered the gateway's X.224 request, i.e. before
        # the gateway refused the client: the count is final once the client has exited.
        attempts = host.count(r"connection received", since=mark)
        self.assertIn(attempts, (1, 2), host.log_since(mark)[-3000:])
        self.wait_count(host, XRDP_CONNECTION_CLOSED, attempts, since=mark)
        gw.wait_event("handshake_failed", count=failures_before + attempts)
        failed = gw.failures()[failures_before:]
        self.assertEqual(len(failed), attempts, failed)
        self.assertEqual(len({e["conn"] for e in failed}), attempts, failed)  # one per connection
        self.assertEqual(len({(e["stage"], e["cause"]) for e in failed}), 1, failed)
        self.assertEqual(len(gw.events("session_established")), sessions_before)
        return res, failed[-1], host.log_since(mark)

    @staticmethod
    def wait_count(host, regex, count, since, timeout=15.0):
        """Bounded poll until host's log has `count` lines matching `regex` after `since`."""
        deadline = time.monotonic() + timeout
        while host.count(regex, since) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{host.name}: fewer than {count} lines /{regex}/ within "
                                     f"{timeout}s:\n{host.log_since(since)[-3000:]}")
            time.sleep(0.02)

    def assert_nothing_beyond_tls(self, log):
        """xrdp's log of one connection: the X.224 exchange and at most the TLS handshake."""
        self.assertRegex(log, r"Security protocol: .*selected \[SSL\]")
        self.assertRegex(log, f"{XRDP_TLS_ACCEPT_FAILED}|{XRDP_NO_MCS_CONNECT_INITIAL}")
        self.assertNotRegex(log, XRDP_MCS_CONNECT_INITIAL)
        self.assertNotRegex(log, XRDP_CLIENT_INFO)
        self.assertNotIn(DEFAULT_USER, log)

    def assert_nothing_beyond_x224(self, log):
        """xrdp's log of one connection: the X.224 exchange only (no TLS, no MCS)."""
        self.assertRegex(log, r"Security protocol: ")
        self.assertRegex(log, XRDP_NO_MCS_CONNECT_INITIAL)
        self.assertNotRegex(log, XRDP_MCS_CONNECT_INITIAL)
        self.assertNotRegex(log, XRDP_CLIENT_INFO)
        self.assertNotIn(DEFAULT_USER, log)

    def assert_no_secrets(self, gw):
        for path in (gw.log_path, gw.proc.log_path):
            text = path.read_text(errors="replace")
            for form in (DEFAULT_PASSWORD, DEFAULT_PASSWORD.encode().hex(),
                         DEFAULT_PASSWORD.encode("utf-16-le").hex()):
                self.assertNotIn(form, text, f"password in {path}")

    def learned(self, gw, count=1):
        events = gw.wait_event("warning", count=count, warning="host_identity_learned",
                               backend=BACKEND)
        return events

    # ------------------------------------------------------------------ (1)
    def test_first_session_learns_the_tls_certificate(self):
        lab = self.lab()
        host = lab.xrdp("tls10")
        gw, _, state = self.gateway(lab, host)     # no [backend.tls]: verify = "tofu" default
        self.session(lab, gw, host)
        self.assertRegex(host.log_text(), r"TLS connection established .*TLSv1 ")
        est = gw.wait_event("session_established")[0]
        self.assertEqual(est["back"]["tls_version"], "TLSv1", est)
        self.assertEqual(gw.failures(), [])

        cert, spki = cert_sha256(host.cert_path), spki_sha256(host.cert_path)
        entry = wait_store(state, BACKEND)
        store = state / "known_hosts.jsonl"
        self.assertEqual(stat.S_IMODE(store.stat().st_mode), 0o600, oct(store.stat().st_mode))
        self.assertEqual(list(read_store(state)), [BACKEND])
        self.assertEqual(entry["address"], f"127.0.0.1:{host.port}", entry)
        self.assertEqual(entry["tls_cert_sha256"], cert, entry)
        self.assertEqual(entry["tls_spki_sha256"], spki, entry)
        self.assertNotIn("rdp_key_sha256", entry)
        self.assertIn("TLS", entry["layers"], entry)
        self.assertNotIn("RDP", entry["layers"], entry)
        self.assertNotIn("pending", entry)
        first, last = rfc3339(entry["first_seen"]), rfc3339(entry["last_seen"])
        self.assertIsNotNone(first.tzinfo, entry)
        self.assertLessEqual(first, last)
        self.assertLess(abs(dt.datetime.now(dt.timezone.utc) - first), dt.timedelta(minutes=10))

        warnings = self.learned(gw)
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn(cert, hexdigits(warnings[0]["detail"]), warnings[0])

    # ------------------------------------------------------------------ (2)
    def learn_then_replace(self, lab, *, listener_keys="", env=None, args=HARDENED):
        """A TLS-1.0 host learnt through a first session, then stopped and replaced on the same
        port by an xrdp with a new certificate and key. Returns (gateway, config, state dir,
        old host, new host, the entry learnt)."""
        host = lab.xrdp("tls10")
        gw, config, state = self.gateway(lab, host, listener_keys=listener_keys, env=env)
        self.session(lab, gw, host, args)
        entry = wait_store(state, BACKEND)
        self.assertEqual(entry["tls_cert_sha256"], cert_sha256(host.cert_path), entry)
        new = lab.replace_xrdp(host)
        self.assertEqual(new.port, host.port)
        self.assertNotEqual(spki_sha256(new.cert_path), spki_sha256(host.cert_path))
        return gw, config, state, host, new, entry

    def assert_identity_changed(self, failed, old, new):
        self.assertEqual((failed["stage"], failed["cause"]),
                         ("backend_tls", "host_identity_changed"), failed)
        self.assertEqual(failed.get("backend"), BACKEND, failed)
        detail = hexdigits(failed["detail"])
        for what, host in (("recorded", old), ("presented", new)):
            self.assertTrue(any(fp in detail for fp in (cert_sha256(host.cert_path),
                                                        spki_sha256(host.cert_path))),
                            f"{what} fingerprint not in detail: {failed}")
        self.assertTrue(failed.get("hint"), failed)

    def test_new_certificate_key_is_refused_before_the_host_sees_anything(self):
        lab = self.lab()
        gw, _, state, old, new, learnt = self.learn_then_replace(lab)
        res, failed, log = self.refused(lab, gw, new)
        self.assert_identity_changed(failed, old, new)
        self.assertEqual(len(gw.events("session_established")), 1)   # the first session only
        # The impostor saw the X.224 request and a TLS handshake, nothing more.
        self.assert_nothing_beyond_tls(log)
        # The trusted identity stays; the refused one is pending.
        entry = wait_store(state, BACKEND, lambda e: "pending" in e)
        self.assertEqual(entry["tls_cert_sha256"], learnt["tls_cert_sha256"], entry)
        self.assertEqual(entry["pending"]["tls_cert_sha256"], cert_sha256(new.cert_path), entry)
        self.assertEqual(entry["pending"]["cause"], "host_identity_changed", entry)
        self.assertIsNotNone(rfc3339(entry["pending"]["seen"]).tzinfo, entry)
        self.assertNotIn("rdp_key_sha256", entry["pending"])

    # ------------------------------------------------------------------ (3)
    def test_hosts_accept_while_the_gateway_runs(self):
        lab = self.lab()
        gw, config, state, old, new, learnt = self.learn_then_replace(lab)
        self.refused(lab, gw, new)
        wait_store(state, BACKEND, lambda e: "pending" in e)
        pid = gw.proc.pid

        # --fingerprint that is not the pending one: refused, nothing changes.
        before = (state / "known_hosts.jsonl").read_text()
        r = rdpbridge("hosts", "accept", BACKEND, "-c", str(config), "--fingerprint", "ab" * 32)
        self.assertNotEqual(r.returncode, 0, r)
        self.assertEqual((state / "known_hosts.jsonl").read_text(), before)

        r = rdpbridge("hosts", "accept", BACKEND, "-c", str(config),
                      "--fingerprint", cert_sha256(new.cert_path))
        self.assertEqual(r.returncode, 0, r)
        entry = read_store(state)[BACKEND]
        self.assertEqual(entry["tls_cert_sha256"], cert_sha256(new.cert_path), entry)
        self.assertEqual(entry["tls_spki_sha256"], spki_sha256(new.cert_path), entry)
        self.assertNotIn("pending", entry)
        self.assertEqual(stat.S_IMODE((state / "known_hosts.jsonl").stat().st_mode), 0o600)

        # The same gateway process, without a restart, now lets the session through.
        failures = len(gw.failures())
        self.session(lab, gw, new)
        self.assertEqual(len(gw.failures()), failures, gw.failures())
        self.assertTrue(gw.proc.alive())
        self.assertEqual(gw.proc.pid, pid)
        self.assertEqual(len(gw.wait_event("session_established", count=2)), 2)
        self.assertEqual(len(self.learned(gw)), 1)   # accepted, not learnt again

    # ------------------------------------------------------------------ (4)
    def test_tls_host_answering_with_rdp_security_is_a_downgrade(self):
        lab = self.lab()
        host = lab.xrdp("tls10")
        gw, _, state = self.gateway(lab, host)
        self.session(lab, gw, host)
        wait_store(state, BACKEND)
        impostor = lab.replace_xrdp(host, "rdp")
        res, failed, log = self.refused(lab, gw, impostor)
        self.assertEqual((failed["stage"], failed["cause"]),
                         ("backend_negotiation", "host_security_downgrade"), failed)
        self.assertEqual(failed.get("backend"), BACKEND, failed)
        # The impostor got the X.224 request and answered it; nothing followed.
        self.assertRegex(log, r"Security protocol: .*selected \[RDP\]")
        self.assert_nothing_beyond_x224(log)
        entry = wait_store(state, BACKEND, lambda e: "pending" in e)
        self.assertEqual(entry["tls_cert_sha256"], cert_sha256(host.cert_path), entry)
        self.assertNotIn("RDP", entry["layers"], entry)
        self.assertEqual(entry["pending"]["cause"], "host_security_downgrade", entry)
        self.assertEqual(entry["pending"].get("layers"), ["RDP"], entry)
        self.assertNotIn("rdp_key_sha256", entry["pending"])      # no MCS: no key seen

    # ------------------------------------------------------------------ (5)
    def test_rdp_security_host_with_a_new_rsa_key_is_refused(self):
        lab = self.lab()
        keys = lab.make_rsakeys("rsakeys-old")
        host = lab.xrdp("rdp", rsakeys=keys, crypt_level="high")
        old_key = host.rdp_key()              # one connection of our own, before the gateway
        gw, _, state = self.gateway(lab, host)
        self.session(lab, gw, host)
        self.assertRegex(host.log_text(), r"Non-TLS connection established .*security level : high")
        entry = wait_store(state, BACKEND)
        self.assertEqual(entry["rdp_key_sha256"], old_key.wire_sha256(), entry)
        self.assertTrue(HEX64.match(entry["rdp_key_sha256"]), entry)
        self.assertEqual(entry["layers"], ["RDP"], entry)
        self.assertNotIn("tls_cert_sha256", entry)
        warnings = self.learned(gw)
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn(old_key.wire_sha256(), hexdigits(warnings[0]["detail"]), warnings[0])

        new = lab.replace_xrdp(host, rsakeys=lab.make_rsakeys("rsakeys-new"))
        new_key = new.rdp_key()
        self.assertNotEqual(new_key, old_key)     # the private mount namespace really works
        res, failed, log = self.refused(lab, gw, new)
        self.assertEqual((failed["stage"], failed["cause"]), ("mcs_gcc", "host_identity_changed"),
                         failed)
        detail = hexdigits(failed["detail"])
        self.assertIn(old_key.wire_sha256(), detail, failed)
        self.assertIn(new_key.wire_sha256(), detail, failed)
        # The key is only visible in the MCS Connect Response: the host got the Connect Initial
        # and nothing after it (no Erect Domain, Security Exchange or Client Info).
        self.assertRegex(log, XRDP_MCS_CONNECT_INITIAL)
        self.assertRegex(log, XRDP_NO_ERECT_DOMAIN)
        self.assertNotRegex(log, XRDP_CLIENT_INFO)
        self.assertNotIn(DEFAULT_USER, log)
        entry = wait_store(state, BACKEND, lambda e: "pending" in e)
        self.assertEqual(entry["rdp_key_sha256"], old_key.wire_sha256(), entry)
        self.assertEqual(entry["pending"]["rdp_key_sha256"], new_key.wire_sha256(), entry)
        self.assertEqual(entry["pending"]["cause"], "host_identity_changed", entry)

    # ------------------------------------------------------------------ (6)
    def test_nla_credentials_never_reach_a_changed_host(self):
        lab = self.lab()
        gw, _, state, old, new, _ = self.learn_then_replace(
            lab, listener_keys=f'nla = "require"\nnla_users = "{users_file(lab)}"',
            env=nla_sanitizer_env(), args=HARDENED_NLA)
        # The first session did deliver the credentials (auto-logon) to the trusted host.
        self.assertRegex(old.log_text(), rf"Client supplied username: {DEFAULT_USER}\b")
        res, failed, log = self.refused(lab, gw, new, args=HARDENED_NLA)
        self.assert_identity_changed(failed, old, new)
        self.assert_nothing_beyond_tls(log)
        self.assertNotIn(DEFAULT_USER, new.log_text())
        injected = [e for e in gw.events("bridge") if "credentials_injected" in e]
        self.assertEqual(len(injected), 1, injected)           # the first session's only
        self.assert_no_secrets(gw)

    # ------------------------------------------------------------------ (7)
    def test_pin_without_rdp_key_refuses_the_rdp_security_fallback(self):
        lab = self.lab()
        host = lab.xrdp("tls10")
        gw, _, state = self.gateway(
            lab, host, backend_keys=f'[backend.tls]\nverify = "pin"\n'
                                    f'pin_sha256 = "{cert_sha256(host.cert_path)}"')
        self.session(lab, gw, host)                 # the pin is right
        impostor = lab.replace_xrdp(host, "rdp")
        res, failed, log = self.refused(lab, gw, impostor)
        self.assertEqual((failed["stage"], failed["cause"]),
                         ("backend_negotiation", "host_rdp_key_not_pinned"), failed)
        self.assertIn("rdp_key_sha256", failed["hint"], failed)
        self.assert_nothing_beyond_x224(log)

    # ------------------------------------------------------------------ refuse on first use
    def test_first_use_refuse_records_pending_until_accepted(self):
        lab = self.lab()
        host = lab.xrdp("tls10")
        gw, config, state = self.gateway(
            lab, host, backend_keys='[backend.tls]\ntofu_first_use = "refuse"')
        res, failed, log = self.refused(lab, gw, host)
        self.assertEqual((failed["stage"], failed["cause"]),
                         ("backend_tls", "host_identity_unknown"), failed)
        self.assert_nothing_beyond_tls(log)
        entry = wait_store(state, BACKEND, lambda e: "pending" in e)
        self.assertNotIn("tls_cert_sha256", entry)
        self.assertEqual(entry["pending"]["tls_cert_sha256"], cert_sha256(host.cert_path), entry)
        self.assertEqual(entry["pending"]["cause"], "host_identity_unknown", entry)
        self.assertEqual([e for e in gw.events("warning")
                          if e.get("warning") == "host_identity_learned"], [])

        r = rdpbridge("hosts", "accept", BACKEND, "-c", str(config))
        self.assertEqual(r.returncode, 0, r)
        self.session(lab, gw, host)
        self.assertEqual(read_store(state)[BACKEND]["tls_cert_sha256"], cert_sha256(host.cert_path))

    # ------------------------------------------------------------------ CLI, no FreeRDP
    def test_hosts_list_show_forget(self):
        lab = self.lab()
        tls = lab.xrdp("tls10")
        rdp = lab.xrdp("rdp", rsakeys=lab.make_rsakeys())
        gw = start_gateway(lab, None, config=routed_config({"win7": tls.port, "xp": rdp.port}))
        config, state = lab.dir / "rdpbridge.toml", lab.dir / "state"
        for cookie in ("win7", "xp"):         # first contacts: each learns its backend
            raw_client(gw.port, cookie)
        wait_store(state, "win7")
        wait_store(state, "xp")
        cert, rdp_key = cert_sha256(tls.cert_path), rdp.rdp_key().wire_sha256()

        for where in (("-c", str(config)), ("--state-dir", str(state))):
            with self.subTest(where=where[0]):
                r = rdpbridge("hosts", "list", "--json", *where)
                self.assertEqual(r.returncode, 0, r)
                listed = {e["backend"]: e for e in self.parse_list(r.stdout)}
                self.assertEqual(sorted(listed), ["win7", "xp"], r.stdout)
                self.assertEqual(listed["win7"]["tls_cert_sha256"], cert, r.stdout)
                self.assertEqual(listed["win7"]["address"], f"127.0.0.1:{tls.port}", r.stdout)
                self.assertEqual(listed["xp"]["rdp_key_sha256"], rdp_key, r.stdout)
                self.assertEqual(listed["xp"]["layers"], ["RDP"], r.stdout)

        r = rdpbridge("hosts", "list", "-c", str(config))
        self.assertEqual(r.returncode, 0, r)
        self.assertRegex(r.stdout, r"\bwin7\b")
        self.assertRegex(r.stdout, r"\bxp\b")
        r = rdpbridge("hosts", "show", "win7", "-c", str(config))
        self.assertEqual(r.returncode, 0, r)
        self.assertIn(cert, hexdigits(r.stdout))
        self.assertIn(spki_sha256(tls.cert_path), hexdigits(r.stdout))

        r = rdpbridge("hosts", "forget", "xp", "-c", str(config))
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(list(read_store(state)), ["win7"])
        self.assertEqual(stat.S_IMODE((state / "known_hosts.jsonl").stat().st_mode), 0o600)
        r = rdpbridge("hosts", "list", "--json", "--state-dir", str(state))
        self.assertEqual([e["backend"] for e in self.parse_list(r.stdout)], ["win7"], r.stdout)
        r = rdpbridge("hosts", "show", "xp", "-c", str(config))
        self.assertEqual(r.returncode, 1, r)
        r = rdpbridge("hosts", "forget", "xp", "-c", str(config))
        self.assertNotEqual(r.returncode, 0, r)

        # The running gateway took the forgetting: the next contact with xp is a first use again.
        raw_client(gw.port, "xp")
        entry = wait_store(state, "xp")
        self.assertEqual(entry["rdp_key_sha256"], rdp_key, entry)
        gw.wait_event("warning", warning="host_identity_learned", backend="xp", count=2)
        # raw_client leaves after the Connect Response: client_closed, and nothing else.
        self.assertEqual([e for e in gw.failures() if e["cause"] != "client_closed"], [])

    def test_probe_prints_fingerprints_and_trust_records_them(self):
        lab = self.lab()
        tls = lab.xrdp("tls10", log_level="INFO")      # INFO: see test_probe.py
        rdp = lab.xrdp("rdp", rsakeys=lab.make_rsakeys(), log_level="INFO")
        cert, rdp_key = cert_sha256(tls.cert_path), rdp.rdp_key().wire_sha256()
        state = lab.dir / "probe-state"
        hosts = (("win7", tls, cert), ("xp", rdp, rdp_key))
        for name, host, fingerprint in hosts:
            with self.subTest("probe prints the fingerprint", host=name):
                r = rdpbridge("probe", f"127.0.0.1:{host.port}", "--timeout", "5")
                self.assertEqual(r.returncode, 0, r)
                self.assertIn(fingerprint, hexdigits(r.stdout), r.stdout)
        for name, host, _ in hosts:
            r = rdpbridge("probe", f"127.0.0.1:{host.port}", "--timeout", "5",
                          "--trust", name, "--state-dir", str(state))
            self.assertEqual(r.returncode, 0, r)
        self.assertTrue((state / "known_hosts.jsonl").exists(), "probe --trust recorded nothing")
        entries = read_store(state)
        self.assertEqual(sorted(entries), ["win7", "xp"])
        self.assertEqual(entries["win7"]["tls_cert_sha256"], cert, entries)
        self.assertEqual(entries["win7"]["tls_spki_sha256"], spki_sha256(tls.cert_path), entries)
        self.assertEqual(entries["win7"]["address"], f"127.0.0.1:{tls.port}", entries)
        self.assertEqual(entries["xp"]["rdp_key_sha256"], rdp_key, entries)
        self.assertEqual(entries["xp"]["address"], f"127.0.0.1:{rdp.port}", entries)
        self.assertEqual(stat.S_IMODE((state / "known_hosts.jsonl").stat().st_mode), 0o600)

    def parse_list(self, out):
        """`hosts list --json`: one JSON array of the store's entries."""
        doc = json.loads(out)
        self.assertIsInstance(doc, list, out)
        return doc


if __name__ == "__main__":
    unittest.main()
