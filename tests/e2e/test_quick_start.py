"""The quick start says what it did: where the JSON handshake log goes (by default into the state
directory), which certificate clients are asked to trust (path and SHA-256 of the generated one),
and its fixes are phrased for the flags the admin typed. No xrdp needed: the refusals come from
a closed port, and the client is Python's TLS."""

import hashlib
import os
import re
import socket
import ssl
import stat
import subprocess
import unittest
import warnings

import peers
from gateway import BIN, Gateway
from lab import free_port, lab_for_test

X224_REQUEST_TLS = bytes.fromhex("030000130ee000000000000100080001000000")


def tls_client(port: int) -> None:
    """X.224 request for TLS, the TLS handshake, then close: the gateway goes on to the host."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(X224_REQUEST_TLS)
        s.recv(19)
        ctx = peers.client_context()
        try:
            with ctx.wrap_socket(s) as t:
                t.recv(1)
        except (OSError, ssl.SSLError):
            pass  # the gateway closes once the host refused; before or after TLS alike


class QuickStart(unittest.TestCase):
    def test_says_where_the_log_is_and_which_certificate_clients_see(self):
        lab = lab_for_test(self)
        state = lab.dir / "state"
        port = free_port()
        closed = free_port()   # nothing listens: every session fails with connection_refused
        proc = lab.start([BIN, "run", "--listen", f"127.0.0.1:{port}",
                          "--target", f"127.0.0.1:{closed}", "--state-dir", str(state)],
                         "rdpbridge", ready_regex=r"listening on 127\.0\.0\.1:%d" % port)
        proc.expect_clean_exit = True
        stderr = proc.log_text()
        log = state / "handshake.jsonl"
        self.assertIn(f"handshake log (JSON Lines): {log}", stderr)

        # The certificate line names the generated file and its real fingerprint.
        cert = state / "front-cert.pem"
        der = ssl.PEM_cert_to_DER_cert(cert.read_text())
        fingerprint = hashlib.sha256(der).hexdigest()
        m = re.search(r"listener quickstart presents (.*?)(\S+front-cert\.pem) \(.*sha256 ([0-9a-f]{64})",
                      stderr)
        self.assertIsNotNone(m, stderr)
        self.assertIn("generated just now", m.group(1))
        self.assertEqual((m.group(2), m.group(3)), (str(cert), fingerprint))

        # The JSON log exists, is not world-readable, and its hint names the flag, not a key.
        tls_client(port)
        proc.wait_log(r"connection_refused", timeout=15)   # the stderr twin, written with it
        gw = Gateway(lab, proc, port, log)
        failed = gw.wait_event("handshake_failed")[0]
        self.assertEqual(failed["cause"], "connection_refused", failed)
        self.assertEqual(failed["backend"], f"127.0.0.1:{closed}", failed)  # named after --target
        self.assertIn("--target", failed["hint"])
        # `rdpbridge cert` tells the same fingerprint without starting anything.
        shown = subprocess.run([BIN, "cert", "--state-dir", str(state)], capture_output=True,
                               text=True, timeout=30)
        self.assertEqual(shown.returncode, 0, shown)
        self.assertIn(str(cert), shown.stdout)
        self.assertIn("sha256 " + fingerprint, shown.stdout)
        self.assertNotIn("[[backend]]", failed["hint"])
        self.assertEqual(stat.S_IMODE(os.stat(log).st_mode) & 0o007, 0, oct(os.stat(log).st_mode))

    def test_dash_means_no_json_log(self):
        lab = lab_for_test(self)
        state = lab.dir / "state"
        port = free_port()
        proc = lab.start([BIN, "run", "--listen", f"127.0.0.1:{port}", "--target",
                          f"127.0.0.1:{free_port()}", "--state-dir", str(state),
                          "--handshake-log", "-"],
                         "rdpbridge", ready_regex=r"listening on 127\.0\.0\.1:%d" % port)
        proc.expect_clean_exit = True
        self.assertIn("no handshake log file", proc.log_text())
        self.assertFalse((state / "handshake.jsonl").exists())
        self.assertFalse(os.path.exists(lab.dir / "-"))



class LogFileAccess(unittest.TestCase):
    def test_log_group_reads_the_log_others_do_not(self):
        import grp
        lab = lab_for_test(self)
        logdir = lab.dir / "logs"
        log = logdir / "handshake.jsonl"
        port = free_port()
        config = lab.dir / "gw.toml"
        config.write_text(f"""state_dir = "{lab.dir / 'state'}"
[logging]
handshake_log = "{log}"
group = "adm"
[[listener]]
name = "front"
bind = "127.0.0.1:{port}"
default_backend = "host"
[[backend]]
name = "host"
address = "127.0.0.1:{free_port()}"
""")
        proc = lab.start([BIN, "run", "--config", str(config)], "rdpbridge",
                         ready_regex=r"listening on 127\.0\.0\.1:%d" % port)
        proc.expect_clean_exit = True
        adm = grp.getgrnam("adm").gr_gid
        st_dir = os.stat(logdir)
        self.assertEqual(st_dir.st_gid, adm)
        self.assertTrue(st_dir.st_mode & stat.S_ISGID, oct(st_dir.st_mode))
        st = os.stat(log)
        self.assertEqual(st.st_gid, adm)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640, oct(st.st_mode))



class Refusals(unittest.TestCase):
    def test_client_offering_only_tls10_is_told_which_version_it_offered(self):
        lab = lab_for_test(self)
        port = free_port()
        proc = lab.start([BIN, "run", "--listen", f"127.0.0.1:{port}", "--target",
                          f"127.0.0.1:{free_port()}", "--state-dir", str(lab.dir / "state")],
                         "rdpbridge", ready_regex=r"listening on 127\.0\.0\.1:%d" % port)
        proc.expect_clean_exit = True
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(X224_REQUEST_TLS)
            s.recv(19)
            ctx = peers.client_context()
            with warnings.catch_warnings():  # deprecated on purpose: an outdated client
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ssl.TLSVersion.TLSv1
                ctx.maximum_version = ssl.TLSVersion.TLSv1
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            with self.assertRaises((ssl.SSLError, OSError)):
                ctx.wrap_socket(s)
        gw = Gateway(lab, proc, port, lab.dir / "state" / "handshake.jsonl")
        failed = gw.wait_event("handshake_failed")[0]
        self.assertEqual((failed["stage"], failed["cause"]), ("front_tls", "front_tls_version_too_old"))
        self.assertIn("the client offered TLS 1.0 at most", failed["detail"])
        self.assertNotIn('min_version = "1.2"', failed["hint"])


class CheckConfig(unittest.TestCase):
    def test_what_run_would_refuse_is_an_error_with_its_line(self):
        lab = lab_for_test(self)
        config = lab.dir / "bad.toml"
        config.write_text(f"""state_dir = "{lab.dir / 'state'}"
[[listener]]
name = "a"
bind = "0.0.0.0:3390"
default_backend = "b"
[listener.tls]
certificate = "{lab.dir / 'missing.pem'}"
private_key = "{lab.dir / 'missing.key'}"
[[listener]]
name = "c"
bind = "127.0.0.1:3390"
default_backend = "b"
[[backend]]
name = "b"
address = "192.0.2.7"
[backend.tls]
ciphers = "FOO-BAR"
""")
        for command in (["check-config", str(config)], ["run", "--config", str(config)]):
            r = subprocess.run([BIN, *command], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 3, r)
            self.assertIn(f"{config}:7:", r.stderr)          # the missing certificate's line
            self.assertIn("listener[0].tls.certificate", r.stderr)
            self.assertIn(f"{config}:11:", r.stderr)         # the colliding listener
            self.assertIn("already takes", r.stderr)
            self.assertIn(f"{config}:17:", r.stderr)         # the cipher string, its backend
            self.assertIn("backend b", r.stderr)
            self.assertIn("FOO-BAR", r.stderr)


if __name__ == "__main__":
    unittest.main()
