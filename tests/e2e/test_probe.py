"""`rdpbridge probe` against the lab: what it reports about each kind of xrdp host matches what
that host was configured to do (and what sslscan sees), the [[backend]] block it prints really
lets a hardened client through rdpbridge, and hosts that are not RDP hosts end fast with one
line and the documented exit code.

The xrdp hosts run at LogLevel INFO: at DEBUG xrdp re-logs its whole ini for every connection
and answers each X.224 request ~250 ms late, which a probe of ~40 connections would feel."""

import datetime
import hashlib
import http.server
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import unittest

from gateway import BIN, start_gateway
from lab import Lab, free_port

HARDENED = ("/sec:tls", "/tls-seclevel:3")
SESMAN = r"connecting to sesman"
STEP_TIMEOUT = 2  # --timeout for the probes of non-RDP services
EXPIRED_DAYS_AGO = 10
TLS10_CIPHERS = "AES128-SHA:AES256-SHA:DES-CBC3-SHA:@SECLEVEL=0"  # lab.XRDP_PROFILES["tls10"]


def run_probe(port, *extra, timeout=5):
    """(exit code, stdout, stderr, seconds) of `rdpbridge probe 127.0.0.1:PORT ...`."""
    t0 = time.monotonic()
    r = subprocess.run([BIN, "probe", f"127.0.0.1:{port}", "--timeout", str(timeout), *extra],
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr, time.monotonic() - t0


def openssl_names(cipher_list, version_flag):
    """What this machine's OpenSSL makes of a cipher list for one version (Debian's OpenSSL 3
    has no 3DES at all, so DES-CBC3-SHA in a host's list is silently dropped)."""
    r = subprocess.run(["openssl", "ciphers", version_flag, "-s", cipher_list],
                       capture_output=True, text=True, check=True)
    return set(r.stdout.strip().split(":"))


def sslscan(port):
    """({"1.0", ...} enabled, {"1.0": {names}}) from `sslscan --rdp`; names as printed (OpenSSL
    names by default, IANA names with --iana-names)."""
    r = subprocess.run(["sslscan", "--rdp", "--no-colour", f"127.0.0.1:{port}"],
                       capture_output=True, text=True, timeout=120)
    enabled = {m.group(1) for m in re.finditer(r"^TLSv(1\.[0-3])\s+enabled", r.stdout, re.M)}
    suites = {}
    for m in re.finditer(r"^(?:Preferred|Accepted)\s+TLSv(1\.[0-3])\s+\d+ bits\s+(\S+)",
                         r.stdout, re.M):
        suites.setdefault(m.group(1), set()).add(m.group(2))
    return enabled, suites, r.stdout


def versions(report):
    return {v["version"]: v for v in report["tls"]["versions"]}


def layer(report, name):
    return next(l for l in report["layers"] if l["request"] == name)


class ProbeLab(unittest.TestCase):
    """One lab for the class: each host is started once and probed once (cached)."""

    @classmethod
    def setUpClass(cls):
        cls.lab = Lab("test_probe")
        cls.hosts = {}
        cls.reports = {}

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def tearDown(self):
        result = self._outcome.result
        if any(entry[0] is self for entry in result.failures + result.errors):
            self.lab.mark_failed()

    def host(self, key):
        if key not in self.hosts:
            profile, _, level = key.partition(":")
            kw = {"log_level": "INFO"}
            if level:
                kw["crypt_level"] = level
            if profile == "expired":
                profile = "tls10"
                not_after = (datetime.datetime.now(datetime.timezone.utc) -
                             datetime.timedelta(days=EXPIRED_DAYS_AGO))
                kw["cert_not_after"] = not_after
            self.hosts[key] = self.lab.xrdp(profile, name=key.replace(":", "-"), **kw)
        return self.hosts[key]

    def report(self, key):
        if key in self.reports:
            return self.reports[key]
        host = self.host(key)
        rc, out, err, seconds = run_probe(host.port, "--json")
        self.assertEqual(rc, 0, f"{key}: rc={rc}\n{out}\n{err}")
        self.assertLess(seconds, 15, f"{key}: the probe took {seconds:.1f}s")
        report = json.loads(out)
        self.assertEqual(report["schema"], "rdpbridge.probe/1")
        self.assertEqual(report["result"], "rdp")
        self.reports[key] = report
        return report

    # ------------------------------------------------------------------ what each host is
    def test_tls10_host(self):
        r = self.report("tls10")
        # security_layer=tls: TLS only; xrdp refuses RDP with SSL_REQUIRED_BY_SERVER.
        self.assertEqual(layer(r, "RDP")["failure"], "SSL_REQUIRED_BY_SERVER")
        self.assertEqual(layer(r, "SSL")["selected"], "SSL")
        self.assertEqual(layer(r, "HYBRID")["selected"], "SSL")
        self.assertEqual(layer(r, "RDSTLS")["failure"], "SSL_REQUIRED_BY_SERVER")
        self.assertIsNone(r["rdp_security"])
        # ssl_protocols=TLSv1 and the profile's suites, as this OpenSSL understands them.
        v = versions(r)
        self.assertEqual([k for k in v if v[k]["accepted"]], ["1.0"])
        for refused in ("1.1", "1.2", "1.3"):
            self.assertIn("host_tls_version_mismatch", v[refused]["refusal"])
        self.assertEqual({c["name"] for c in v["1.0"]["ciphers"]},
                         openssl_names(TLS10_CIPHERS, "-tls1"))
        self.assertTrue(v["1.0"]["complete"])
        self.assertIs(v["1.0"]["secure_renegotiation"], True)
        for c in v["1.0"]["ciphers"]:
            self.assertEqual(c["key_exchange"], "RSA")
            self.assertFalse(c["forward_secrecy"])
        self.assertRegex(r["verdict"]["era"], r"Windows 7 .*TLS 1\.0 only")
        self.assertIn("host_tls_version_mismatch", [p["cause"] for p in r["verdict"]["problems"]])
        self.assertFalse(r["nla"]["required"])
        self.assertFalse(r["nla"]["supported"])
        self.assertIsNone(r["nla"]["credssp_version"])
        self.assert_certificate_is_the_hosts(r, self.host("tls10"))

    def test_modern_host(self):
        r = self.report("modern")
        # security_layer=negotiate: xrdp selects whichever the client asks for.
        self.assertEqual(layer(r, "RDP")["selected"], "RDP")
        self.assertEqual(layer(r, "SSL")["selected"], "SSL")
        v = versions(r)
        self.assertEqual([k for k in v if v[k]["accepted"]], ["1.2", "1.3"])
        tls13 = {c["name"] for c in v["1.3"]["ciphers"]}
        self.assertTrue(tls13 and tls13 <= {"TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
                                            "TLS_CHACHA20_POLY1305_SHA256",
                                            "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"})
        self.assertIn("ECDHE-RSA-AES256-GCM-SHA384", {c["name"] for c in v["1.2"]["ciphers"]})
        self.assertIsNone(v["1.3"]["secure_renegotiation"])  # no renegotiation in TLS 1.3
        # negotiate also admits Standard RDP Security; xrdp's default crypt_level is high.
        self.assertEqual(r["rdp_security"]["all"]["selected"], "128BIT")
        self.assertEqual(r["rdp_security"]["all"]["level"], "HIGH")
        self.assertTrue(r["verdict"]["era"].startswith("modern"))
        causes = [p["cause"] for p in r["verdict"]["problems"]]
        self.assertNotIn("host_tls_version_mismatch", causes)
        self.assertTrue(any("Standard RDP Security" in x for x in r["verdict"]["risks"]))
        self.assert_certificate_is_the_hosts(r, self.host("modern"))

    def assert_certificate_is_the_hosts(self, report, host):
        cert = report["tls"]["certificate"]
        der = subprocess.run(["openssl", "x509", "-in", str(host.cert_path), "-outform", "DER"],
                             capture_output=True, check=True).stdout
        self.assertEqual(cert["sha256"], hashlib.sha256(der).hexdigest())
        spki = subprocess.run(["openssl", "x509", "-in", str(host.cert_path), "-pubkey", "-noout"],
                              capture_output=True, check=True).stdout
        spki_der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=spki,
                                  capture_output=True, check=True).stdout
        self.assertEqual(cert["spki_sha256"], hashlib.sha256(spki_der).hexdigest())
        # The identity --trust records, under the known-hosts store's field names.
        self.assertEqual(report["identity"]["tls_cert_sha256"], cert["sha256"])
        self.assertEqual(report["identity"]["tls_spki_sha256"], cert["spki_sha256"])
        self.assertEqual(cert["subject"], f"CN=xrdp-{host.profile}")
        self.assertTrue(cert["self_signed"])
        self.assertEqual((cert["key_type"], cert["key_bits"]), ("RSA", 2048))
        self.assertEqual(cert["signature_algorithm"], "sha256WithRSAEncryption")
        self.assertFalse(cert["expired"])
        self.assertIn(cert["days_left"], (364, 365))
        self.assertIn("host_certificate_untrusted",
                      [p["cause"] for p in report["verdict"]["problems"]])

    def assert_rdp_only(self, key, method, level):
        r = self.report(key)
        # security_layer=rdp: xrdp answers every TLS request by selecting PROTOCOL_RDP.
        for name in ("RDP", "SSL", "HYBRID", "HYBRID_EX"):
            self.assertEqual(layer(r, name)["selected"], "RDP", name)
        self.assertIsNone(r["tls"])
        sec = r["rdp_security"]
        self.assertEqual((sec["all"]["selected"], sec["all"]["level"]), (method, level))
        by_method = {m["offered"]: m for m in sec["methods"]}
        self.assertEqual(by_method[method]["outcome"], "accepted")
        for other in {"40BIT", "56BIT", "128BIT", "FIPS"} - {method}:
            # xrdp ignores the client's offer and imposes its own method.
            self.assertEqual(by_method[other]["outcome"], "overridden", other)
            self.assertEqual(by_method[other]["selected"], method)
        cert = sec["certificate"]
        self.assertEqual(cert["kind"], "proprietary")
        self.assertIs(cert["signature_valid"], True)
        self.assertEqual(cert["exponent"], 65537)
        self.assertEqual(cert["key_bits"], 8 * rsakeys_modulus_bytes(self.host(key)))
        self.assertEqual(cert["key_sha256"], rsakeys_fingerprint(self.host(key)))
        self.assertEqual(r["identity"], {"tls_cert_sha256": None, "tls_spki_sha256": None,
                                         "rdp_key_sha256": cert["key_sha256"], "layers": ["RDP"]})
        self.assertRegex(r["verdict"]["era"], r"XP / Server 2003 class")
        self.assertIn("host_ssl_not_allowed", [p["cause"] for p in r["verdict"]["problems"]])
        self.assertEqual(r["verdict"]["backend"]["security"], "rdp")
        toml = r["verdict"]["backend"]["toml"]
        self.assertIn('security = "rdp"', toml)
        # The host's RSA key is pinned; no certificate pin (it has no TLS certificate).
        self.assertIn('verify = "pin"', toml)
        self.assertIn(f'rdp_key_sha256 = "{cert["key_sha256"]}"', toml)
        self.assertNotIn("pin_sha256", toml)
        self.assert_config_accepts(key, r["verdict"]["backend"])
        return r

    def test_rdp_host_high(self):
        self.assert_rdp_only("rdp:high", "128BIT", "HIGH")

    def test_rdp_host_low(self):
        r = self.assert_rdp_only("rdp:low", "40BIT", "LOW")
        self.assertTrue(any("40BIT" in x for x in r["verdict"]["risks"]))

    def test_rdp_host_fips(self):
        self.assert_rdp_only("rdp:fips", "FIPS", "FIPS")

    def test_expired_certificate_is_flagged_with_the_fix(self):
        r = self.report("expired")
        cert = r["tls"]["certificate"]
        self.assertTrue(cert["expired"])
        self.assertEqual(cert["days_left"], -EXPIRED_DAYS_AGO)
        problem = next(p for p in r["verdict"]["problems"]
                       if p["cause"] == "host_certificate_expired")
        self.assertIn(f"expired {EXPIRED_DAYS_AGO} day(s) ago", problem["summary"])
        self.assertIn("certlm.msc", problem["fix"])
        self.assertIn("(EXPIRED)", r["verdict"]["backend"]["toml"])

    # ------------------------------------------------------------------ agreement with sslscan
    def assert_agrees_with_sslscan(self, key):
        if shutil.which("sslscan") is None:
            self.skipTest("sslscan is not installed (apt-get install -y sslscan)")
        r = self.report(key)
        enabled, suites, text = sslscan(self.host(key).port)
        v = versions(r)
        self.assertEqual({k for k in v if v[k]["accepted"]}, enabled, text)
        for version in enabled:
            ours = v[version]["ciphers"]
            theirs = suites.get(version, set())
            matched = {c["name"] for c in ours if c["name"] in theirs or c["iana"] in theirs}
            self.assertEqual(len(matched), len(ours), f"TLS {version}: {ours} vs {theirs}")
            self.assertEqual(len(theirs), len(ours), f"TLS {version}: {ours} vs {theirs}")

    def test_tls10_host_agrees_with_sslscan(self):
        self.assert_agrees_with_sslscan("tls10")

    def test_modern_host_agrees_with_sslscan(self):
        self.assert_agrees_with_sslscan("modern")

    # ------------------------------------------------------------------ the printed profile works
    def assert_profile_reaches_host(self, key, tls_version_regex):
        r = self.report(key)
        backend = r["verdict"]["backend"]
        self.assertTrue(backend["usable"])
        self.assertIs(backend["verified"], True, backend["verification_detail"])
        self.assertIn('verify = "pin"', backend["toml"])
        self.assertIn("pin_sha256 = ", backend["toml"])
        config = self.assert_config_accepts(key, backend)

        host = self.host(key)
        gw = start_gateway(self.lab, config=config, name=f"rdpbridge-{key}")
        res = self.lab.xfreerdp(gw.port, *HARDENED, until_log=(host, SESMAN), timeout=30)
        self.assertTrue(res.reached("CONNECTION_STATE_FINALIZATION"), res.summary())
        host.wait_log(SESMAN)
        self.assertRegex(host.log_text(), tls_version_regex)
        self.assertEqual(gw.failures(), [])

    def assert_config_accepts(self, key, backend):
        """The printed block plus a listener passes `rdpbridge check-config`; returns the
        config text for start_gateway ({port}, {log}, {state} placeholders)."""
        config = ("state_dir = \"{state}\"\n[logging]\nhandshake_log = \"{log}\"\n\n"
                  "[[listener]]\nname = \"main\"\nbind = \"127.0.0.1:{port}\"\n"
                  f"default_backend = \"{backend['name']}\"\n\n")
        config += backend["toml"].replace("{", "{{").replace("}", "}}")
        path = self.lab.dir / f"{key.replace(':', '-')}-check.toml"
        path.write_text(config.format(state=self.lab.dir / "state", log="/dev/null", port=3389))
        check = subprocess.run([BIN, "check-config", str(path)], capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr + config)
        return config

    def test_tls10_profile_lets_a_hardened_client_through(self):
        self.assert_profile_reaches_host("tls10", r"TLS connection established .*TLSv1 ")

    def test_modern_profile_lets_a_hardened_client_through(self):
        self.assert_profile_reaches_host("modern", r"TLS connection established .*TLSv1\.[23]")

    # ------------------------------------------------------------------ --trust
    def test_trust_records_what_hosts_show_prints(self):
        key = "rdp:high"
        host = self.host(key)
        state = self.lab.dir / "trust-state"
        rc, out, err, _ = run_probe(host.port, "--json", "--trust", "plc-xp",
                                    "--state-dir", str(state))
        self.assertEqual(rc, 0, out + err)
        report = json.loads(out)
        fingerprint = report["identity"]["rdp_key_sha256"]
        self.assertEqual(fingerprint, rsakeys_fingerprint(host))
        self.assertEqual(report["trust"]["backend"], "plc-xp")
        self.assertEqual(report["trust"]["address"], f"127.0.0.1:{host.port}")

        show = subprocess.run([BIN, "hosts", "show", "plc-xp", "--state-dir", str(state), "--json"],
                              capture_output=True, text=True)
        self.assertEqual(show.returncode, 0, show.stdout + show.stderr)
        recorded = json.loads(show.stdout)
        self.assertEqual(recorded["rdp_key_sha256"], fingerprint)
        self.assertEqual(recorded["address"], f"127.0.0.1:{host.port}")
        self.assertEqual(recorded["layers"], ["RDP"])
        self.assertNotIn("tls_cert_sha256", recorded)

        # The text report says what was recorded, with the labels `hosts show` uses.
        rc, out, err, _ = run_probe(host.port, "--trust", "plc-xp", "--state-dir", str(state))
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, rf"RDP key sha256 +{fingerprint}\n")
        self.assertIn(f'Recorded as trusted for backend "plc-xp" at 127.0.0.1:{host.port}', out)
        show = subprocess.run([BIN, "hosts", "show", "plc-xp", "--state-dir", str(state)],
                              capture_output=True, text=True)
        self.assertIn(f"RDP key:         sha256 {fingerprint}", show.stdout)

    def test_trust_refuses_a_config_that_names_another_address(self):
        # Checked before any connection: a config whose backend is elsewhere.
        path = self.lab.dir / "trust-elsewhere.toml"
        path.write_text(f'state_dir = "{self.lab.dir / "trust-elsewhere"}"\n'
                        '[[listener]]\nname = "main"\nbind = "127.0.0.1:3389"\n'
                        'default_backend = "plc7"\n\n'
                        '[[backend]]\nname = "plc7"\naddress = "192.0.2.7:3389"\n')
        rc, out, err, _ = run_probe(free_port(), "--trust", "plc7", "-c", str(path))
        self.assertEqual(rc, 3, out + err)
        self.assertEqual(out, "")
        self.assertIn(f'{path}: backend "plc7" has address "192.0.2.7:3389"', err)

    def test_rdp_profile_lets_a_hardened_client_through(self):
        key = "rdp:high"
        config = self.assert_config_accepts(key, self.report(key)["verdict"]["backend"])
        host = self.host(key)
        gw = start_gateway(self.lab, config=config, name="rdpbridge-rdp-high")
        res = self.lab.xfreerdp(gw.port, *HARDENED, until_log=(host, SESMAN), timeout=30)
        self.assertTrue(res.reached("CONNECTION_STATE_FINALIZATION"), res.summary())
        host.wait_log(SESMAN)
        self.assertRegex(host.log_text(), r"Non-TLS connection established .*security level : high")
        self.assertEqual(gw.failures(), [])


def rsakeys_bytes(host, key):
    text = host.rsakeys_path.read_text()
    return bytes(int(b, 16) for b in re.search(rf"^{key}=(.*)$", text, re.M).group(1).split(","))


def rsakeys_modulus_bytes(host):
    return len(rsakeys_bytes(host, "pub_mod"))


def rsakeys_fingerprint(host):
    """rdp::rdp_key_sha256 from the host's key file: SHA-256 over the modulus little-endian (as
    xrdp stores and sends it) and then the exponent as 4 little-endian bytes."""
    key = rsakeys_bytes(host, "pub_mod") + rsakeys_bytes(host, "pub_exp")
    return hashlib.sha256(key).hexdigest()


class ProbeNotRdp(unittest.TestCase):
    """Each ends within the step timeout with one line and its exit code."""

    def assert_one_line(self, port, rc_expected, regex):
        rc, out, err, seconds = run_probe(port, timeout=STEP_TIMEOUT)
        self.assertEqual(rc, rc_expected, out + err)
        self.assertLess(seconds, STEP_TIMEOUT + 1.5)
        self.assertEqual(len(out.splitlines()), 1, out)
        self.assertRegex(out, regex)
        rc, out, err, _ = run_probe(port, "--json", timeout=STEP_TIMEOUT)
        self.assertEqual(rc, rc_expected, out + err)
        report = json.loads(out)
        self.assertEqual(report["exit_code"], rc_expected)
        return report

    def test_closed_port(self):
        port = free_port()
        report = self.assert_one_line(port, 1, rf"^127\.0\.0\.1:{port}: unreachable "
                                               r"\(connection_refused\)")
        self.assertEqual(report["result"], "unreachable")
        self.assertEqual(report["error"]["cause"], "connection_refused")

    def test_http_server(self):
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        report = self.assert_one_line(server.server_address[1], 4,
                                      r": not RDP \(host_confirm_malformed\): .*an HTTP server")
        self.assertEqual(report["result"], "not_rdp")

    def test_silent_listener(self):
        # The kernel completes the TCP handshake from the backlog; nobody ever reads or writes.
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        report = self.assert_one_line(listener.getsockname()[1], 4,
                                      r": not RDP \(host_silent\): accepts TCP but sent nothing")
        self.assertEqual(report["error"]["cause"], "host_silent")

    def test_iso_transport_service_that_is_not_rdp(self):
        # Like an S7 PLC on port 102: a bare X.224 Connection Confirm (no RDP negotiation),
        # then nothing for MCS.
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)

        def serve():
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                with conn:
                    if conn.recv(1024):
                        conn.sendall(bytes.fromhex("0300000b06d00000123400"))
                        conn.recv(4096)  # the MCS Connect Initial: left unanswered
                        conn.settimeout(STEP_TIMEOUT + 1)
                        try:
                            conn.recv(1)
                        except OSError:
                            pass

        threading.Thread(target=serve, daemon=True).start()
        report = self.assert_one_line(listener.getsockname()[1], 4,
                                      r": not RDP \(host_mcs_malformed\): .*not RDP")
        self.assertEqual(report["layers"][0]["answer"], "no_negotiation")


if __name__ == "__main__":
    unittest.main()
