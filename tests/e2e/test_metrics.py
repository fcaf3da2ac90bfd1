"""Part 10 acceptance, the admin endpoint: Debian's Prometheus scrapes /metrics during a lab run
that provokes one of each outcome (a real session to xrdp, a handshake failure, a refusal at
accept, a good and a bad reload), and the test reads the values back through Prometheus' HTTP
API; promtool finds nothing to criticise in the exposition; /healthz and /readyz answer."""

import json
import shutil
import socket
import subprocess
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import peers
from gateway import start_gateway
from lab import free_port, lab_for_test

CI = __import__("os").environ.get("CI", "").strip().lower() in ("1", "true", "yes")
HARDENED = ("/sec:tls", "/tls-seclevel:3")
SESMAN = r"\[INFO \] connecting to sesman"

CONFIG = """
state_dir = "{state}"
[logging]
handshake_log = "{log}"
[admin]
bind = "127.0.0.1:%(admin)d"
[[listener]]
name = "front"
bind = "127.0.0.1:{port}"
default_backend = "win7"
deny = ["127.0.0.9"]
[[backend]]
name = "win7"
address = "127.0.0.1:%(win7)d"
[backend.tls]
min_version = "1.0"
[[backend]]
name = "dead"
address = "127.0.0.1:%(dead)d"
[[route]]
mstshash = "dead"
backend = "dead"
"""


def http_get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Metrics(unittest.TestCase):
    def setUp(self):
        self.lab = lab_for_test(self)

    def test_prometheus_scrapes_every_outcome(self):
        prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
        if not (prometheus and promtool):
            if CI:
                self.fail("prometheus and promtool (Debian package prometheus) are required")
            self.skipTest("prometheus / promtool not installed")
        xrdp = self.lab.xrdp("tls10")
        admin, dead = free_port(), free_port()  # nothing listens on `dead`
        text = CONFIG % {"admin": admin, "win7": xrdp.port, "dead": dead}
        gw = start_gateway(self.lab, config=text)
        base = f"http://127.0.0.1:{admin}"
        self.assertEqual(http_get(base + "/healthz"), (200, "ok\n"))
        self.assertEqual(http_get(base + "/readyz"), (200, "ready\n"))
        self.assertEqual(http_get(base + "/nothing")[0], 404)

        # Prometheus, scraping every second into the lab's directory.
        web = free_port()
        cfg = self.lab.dir / "prometheus.yml"
        cfg.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                       "scrape_configs:\n  - job_name: rdpbridge\n    static_configs:\n"
                       f"      - targets: ['127.0.0.1:{admin}']\n")
        self.lab.start([prometheus, f"--config.file={cfg}",
                        f"--storage.tsdb.path={self.lab.dir / 'tsdb'}",
                        f"--web.listen-address=127.0.0.1:{web}"], "prometheus",
                       ready_regex=r"Server is ready to receive web requests")

        # One of each: a session, a failure, a refusal, a good and a bad reload.
        res = self.lab.xfreerdp(gw.port, *HARDENED, until_log=(xrdp, SESMAN), timeout=60)
        self.assertEqual(res.ended_by, "until", res.summary())
        gw.wait_event("session_closed")
        failed = peers.run_client(gw.port, cookie="dead")
        self.assertFalse(failed.established)
        gw.wait_event("handshake_failed", cause="connection_refused")
        refused = socket.create_connection(("127.0.0.1", gw.port), source_address=("127.0.0.9", 0))
        refused.close()
        gw.wait_event("handshake_failed", cause="source_not_allowed")
        self.assertEqual(gw.reload(text)["event"], "config_reloaded")
        self.assertEqual(gw.reload(text + "\nbogus = 1\n")["event"], "config_reload_failed")

        exposition = http_get(base + "/metrics")[1]
        check = subprocess.run([promtool, "check", "metrics"], input=exposition.encode(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        self.assertEqual((check.returncode, check.stdout.decode()), (0, ""), exposition)

        def query(expr):
            url = f"http://127.0.0.1:{web}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
            body = json.loads(http_get(url)[1])
            self.assertEqual(body["status"], "success", body)
            return [(r["metric"], float(r["value"][1])) for r in body["data"]["result"]]

        expected = {
            'rdpbridge_sessions_total{backend="win7"}': 1,
            'rdpbridge_sessions_active{backend="win7"}': 0,
            'rdpbridge_sessions_closed_total{backend="win7",closed_by="client"}': 1,
            'rdpbridge_handshake_duration_seconds_count{backend="win7"}': 1,
            'rdpbridge_handshake_failures_total{backend="dead",stage="backend_connect",'
            'cause="connection_refused"}': 1,
            'rdpbridge_admission_refusals_total{reason="source_not_allowed"}': 1,
            'rdpbridge_config_reloads_total{result="success"}': 1,
            'rdpbridge_config_reloads_total{result="failure"}': 1,
            'rdpbridge_config_generation': 2,
            'rdpbridge_backend_security_info{backend="win7",protocol="SSL",'
            'tls_version="TLSv1"}': 1,
        }
        # Prometheus has them once a scrape after the last event has been stored.
        deadline = time.monotonic() + 30
        while True:
            got = {e: query(e) for e in expected}
            values = {e: (r[0][1] if len(r) == 1 else r) for e, r in got.items()}
            if values == expected or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(values, expected)
        for direction in ("client_to_host", "host_to_client"):
            [(_, n)] = query(f'rdpbridge_relayed_bytes_total{{backend="win7",'
                             f'direction="{direction}"}}')
            self.assertGreater(n, 1000, direction)
        [(_, expiry)] = query('rdpbridge_backend_certificate_expiry_timestamp_seconds'
                              '{backend="win7"}')
        self.assertGreater(expiry, time.time())
        [(_, fds)] = query('process_open_fds{job="rdpbridge"}')
        self.assertGreater(fds, 3)
        [(_, up)] = query('up{job="rdpbridge"}')
        self.assertEqual(up, 1)


if __name__ == "__main__":
    unittest.main()
