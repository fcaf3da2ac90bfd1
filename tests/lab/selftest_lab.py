"""Self-test of the rdpbridge lab (tests/lab/lab.py).

Proves that the lab reproduces the problem the project exists for, with real xrdp hosts and
a hardened FreeRDP client, and that the lab's own mechanics (readiness waits, timeouts,
process-group cleanup, temp dir policy) work.

    /usr/bin/python3 tests/lab/selftest_lab.py -v
    RDPBRIDGE_KEEP_LAB=1 /usr/bin/python3 tests/lab/selftest_lab.py -v   # keep lab dirs

Timings of each case are printed at the end (and are part of the assertion messages).
"""

import os
import pathlib
import re
import socket
import subprocess
import sys
import time
import unittest
import unittest.mock

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


from lab import (Lab, LabTimeout, ProcessDied, free_port,  # noqa: E402
                 lab_for_test, wait_port)

TIMINGS = {}


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except FileNotFoundError:
        return False


class Timed(unittest.TestCase):
    def setUp(self):
        self._t0 = time.monotonic()

    def tearDown(self):
        TIMINGS[self.id().split(".", 1)[1]] = time.monotonic() - self._t0


class ReproduceProblem(Timed):
    """The four facts the bridge is built around (LAB-NOTES.md)."""

    def test_1_hardened_client_vs_tls10_host_fails_tls(self):
        lab = lab_for_test(self)
        host = lab.xrdp("tls10")
        res = lab.xfreerdp(host.port, "/sec:tls", "/tls-seclevel:3", timeout=20)
        self.assertEqual(res.ended_by, "exit", res.summary())
        self.assertEqual(res.error_code(), "ERRCONNECT_TLS_CONNECT_FAILED", res.summary())
        self.assertFalse(res.reached("CONNECTION_STATE_MCS_CONNECT"), res.summary())

    def test_2_stock_client_vs_tls10_host_connects_with_tlsv1(self):
        lab = lab_for_test(self)
        host = lab.xrdp("tls10")
        mark = host.log_mark()
        # end the client once the *server* has passed the whole connection sequence;
        # until=STATE_FINALIZATION would kill it before it sent its finalization PDUs
        res = lab.xfreerdp(host.port, "/sec:tls", timeout=20,
                           until_log=(host, r"connecting to sesman"))
        self.assertEqual(res.ended_by, "until", res.summary())
        self.assertTrue(res.reached("CONNECTION_STATE_FINALIZATION"), res.summary())
        self.assertIsNone(res.error_code(), res.summary())
        line = host.wait_log(r"TLS connection established .*: TLSv1 with cipher", since=mark)
        self.assertRegex(line, r"TLSv1 with cipher AES(256|128)-SHA")
        host.wait_log(r"connecting to sesman", since=mark)

    def test_3_hardened_client_vs_modern_host_connects(self):
        lab = lab_for_test(self)
        host = lab.xrdp("modern")
        mark = host.log_mark()
        res = lab.xfreerdp(host.port, "/sec:tls", "/tls-seclevel:3", timeout=20,
                           until_log=(host, r"connecting to sesman"))
        self.assertEqual(res.ended_by, "until", res.summary())
        self.assertTrue(res.reached("CONNECTION_STATE_FINALIZATION"), res.summary())
        line = host.wait_log(r"TLS connection established", since=mark)
        self.assertRegex(line, r"TLSv1\.[23] with cipher")
        host.wait_log(r"connecting to sesman", since=mark)

    def test_4_hardened_client_vs_rdp_host_fails_nego(self):
        lab = lab_for_test(self)
        host = lab.xrdp("rdp")
        mark = host.log_mark()
        res = lab.xfreerdp(host.port, "/sec:tls", "/tls-seclevel:3", timeout=20)
        self.assertEqual(res.ended_by, "exit", res.summary())
        self.assertEqual(res.error_code(), "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED",
                         res.summary())
        # the host refused TLS in its negotiation response
        host.wait_log(r"Security protocol: configured \[RDP\], requested \[SSL(\|RDP)?\]",
                      since=mark)

    def test_5_auth_only_reaches_finalization_and_exits(self):
        """+auth-only with /sec:tls runs the whole sequence (FINALIZATION, even ACTIVE),
        then exits 0 by itself; FreeRDP then also prints ERRCONNECT_CONNECT_CANCELLED.
        It disconnects right at ACTIVE, so xrdp's later 'connecting to sesman' may or may
        not be logged: do not assert on it after +auth-only."""
        lab = lab_for_test(self)
        host = lab.xrdp("tls10")
        mark = host.log_mark()
        res = lab.xfreerdp(host.port, "/sec:tls", "+auth-only", timeout=20)
        self.assertEqual(res.ended_by, "exit", res.summary())
        self.assertEqual(res.returncode, 0, res.summary())
        self.assertTrue(res.reached("FINALIZATION"), res.summary())
        self.assertTrue(res.reached("ACTIVE"), res.summary())
        self.assertIn("Authentication only, exit status 0", res.output)
        self.assertEqual(res.error_code(), "ERRCONNECT_CONNECT_CANCELLED", res.summary())
        host.wait_log(r"TLS connection established .*TLSv1 with", since=mark)


class LabMechanics(Timed):

    def test_free_port_is_bindable(self):
        p = free_port()
        with socket.socket() as s:
            s.bind(("127.0.0.1", p))

    def test_start_ready_regex_and_group_kill(self):
        env = {k: v for k, v in os.environ.items() if k != "RDPBRIDGE_KEEP_LAB"}
        with unittest.mock.patch.dict(os.environ, env, clear=True), Lab("mech-group") as lab:
            proc = lab.start(["sh", "-c", "sleep 300 & echo child=$!; echo ready; wait"],
                             "grp", ready_regex=r"^ready$")
            child = int(re.search(r"child=(\d+)", proc.log_text()).group(1))
            self.assertTrue(_pid_alive(child))
            d = lab.dir
        self.assertFalse(_pid_alive(proc.pid))
        self.assertFalse(_pid_alive(child), "grandchild survived lab.close()")
        self.assertFalse(d.exists(), "lab dir not removed after success")

    def test_ready_port(self):
        port = free_port()
        with Lab("mech-port") as lab:
            lab.start([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                       str(port)], "http", ready_port=port, timeout=10)
            wait_port(port, timeout=1)

    def test_timeout_reports_last_lines(self):
        with Lab("mech-timeout") as lab:
            proc = lab.start(["sh", "-c", "echo hello-from-proc; exec sleep 60"], "quiet",
                             ready_regex="hello-from-proc")
            t0 = time.monotonic()
            with self.assertRaises(LabTimeout) as cm:
                proc.wait_log("never-printed", timeout=0.3)
            self.assertLess(time.monotonic() - t0, 2)
            self.assertIn("hello-from-proc", str(cm.exception))

    def test_process_died_is_reported(self):
        with Lab("mech-died") as lab:
            with self.assertRaises(ProcessDied) as cm:
                lab.start(["sh", "-c", "echo boom; exit 3"], "dies", ready_regex="never",
                          timeout=10)
            self.assertIn("boom", str(cm.exception))

    def test_dir_kept_on_exception(self):
        try:
            with Lab("mech-keep") as lab:
                d = lab.dir
                raise RuntimeError("simulated test failure")
        except RuntimeError:
            pass
        try:
            self.assertTrue(d.exists(), "lab dir must be kept when the block fails")
        finally:
            import shutil
            shutil.rmtree(d, ignore_errors=True)

    def test_expired_certificate(self):
        lab = lab_for_test(self)
        cert, key = lab.make_cert("old", days=30, not_after="2020-01-31T00:00:00Z")
        nb, na = lab.cert_dates(cert)
        self.assertEqual(na, "Jan 31 00:00:00 2020 GMT")
        self.assertEqual(nb, "Jan  1 00:00:00 2020 GMT")
        r = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-checkend", "0"],
                           stdout=subprocess.DEVNULL)
        self.assertNotEqual(r.returncode, 0, "certificate should be expired")


def _print_timings():
    if TIMINGS:
        print("\n[timings]", file=sys.stderr)
        for k, v in TIMINGS.items():
            print(f"  {v:6.2f}s  {k}", file=sys.stderr)
        print(f"  {sum(TIMINGS.values()):6.2f}s  total", file=sys.stderr)


if __name__ == "__main__":
    import atexit
    atexit.register(_print_timings)
    unittest.main()
