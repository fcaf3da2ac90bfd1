"""Part 12, access control on the admin endpoint, safe by default: a gateway whose [admin] binds
an address that is not loopback answers every path but /healthz and /readyz with 401 unless the
request carries the configured credentials — a bearer token (token_file; Prometheus scrapes with
`authorization: credentials_file:`) or a user and password (basic_auth_file; what a browser
sends) — and refuses to start (exit code 3, the fix on stderr) when it has none.

Where the traffic goes: each gateway of these tests, and every HTTP client and Prometheus that
talk to it, run inside a private network namespace the test creates (`unshare --net`; with
`--map-root-user` when not root), in which 10.201.0.1/24 is added to the namespace's own `lo`.
The admin endpoint binds 10.201.0.1: to the gateway an ordinary address, not loopback; to the
host it does not exist, and the namespace has no other interface, so not one packet leaves it.
(A dummy interface would do as well, but the test kernel has no dummy driver; `lo` needs none.)
The clients join the gateway's namespace with `nsenter --net` (and `--user` when not root).
Without unshare, nsenter or ip, or where namespaces are not permitted, the tests are skipped,
except under CI=true, where that is a failure."""

import base64
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import unittest

from gateway import BIN, private_file, start_gateway
from lab import free_port, lab_for_test

CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
ADDRESS = "10.201.0.1"
ROOT = os.geteuid() == 0
# Runs "$@" in a new network namespace holding ADDRESS (and loopback, for the RDP listener).
NETNS = ["unshare", "--net", *([] if ROOT else ["--map-root-user"]), "--", "sh", "-c",
         f'ip link set lo up && ip addr add {ADDRESS}/24 dev lo && exec "$@"', "netns"]

CONFIG = """
state_dir = "{state}"
[logging]
handshake_log = "{log}"
[admin]
bind = "%(address)s:%(admin)d"
%(credentials)s
[[listener]]
name = "front"
bind = "127.0.0.1:{port}"
default_backend = "host"
[[backend]]
name = "host"
address = "127.0.0.1:9"
"""

# The HTTP client, run inside the gateway's namespace: one GET, its status, WWW-Authenticate and
# body as JSON. --user/--password answer a Basic challenge as a browser does (urllib's handler
# sends credentials only after the 401 names the realm).
CLIENT = r"""
import json, sys, urllib.error, urllib.request
url, header, user, password = sys.argv[1:5]
handlers = []
if user:
    manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    manager.add_password(None, url, user, password)
    handlers.append(urllib.request.HTTPBasicAuthHandler(manager))
request = urllib.request.Request(url, headers={"Authorization": header} if header else {})
try:
    r = urllib.request.build_opener(*handlers).open(request, timeout=10)
except urllib.error.HTTPError as e:
    r = e
print(json.dumps({"status": r.status, "challenge": r.headers.get("WWW-Authenticate"),
                  "body": r.read().decode()}))
"""


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class AdminAccess(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = [t for t in ("unshare", "nsenter", "ip") if shutil.which(t) is None]
        why = f"missing tools: {', '.join(missing)}" if missing else None
        if why is None:
            probe = subprocess.run([*NETNS, "true"], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=30)
            if probe.returncode != 0:
                why = f"no private network namespace here: {probe.stdout.decode().strip()}"
        if why:
            if CI:
                raise AssertionError(f"required under CI=true: {why}")
            raise unittest.SkipTest(why)

    def setUp(self):
        self.lab = lab_for_test(self)

    # ------------------------------------------------------------------ helpers
    def config(self, credentials=""):
        self.admin = free_port()
        return CONFIG % {"address": ADDRESS, "admin": self.admin, "credentials": credentials}

    def start(self, credentials):
        """A gateway in a namespace of its own, once its admin endpoint listens on ADDRESS."""
        gw = start_gateway(self.lab, None, "--log-level", "debug",
                           config=self.config(credentials), wrapper=NETNS)
        gw.proc.wait_log(r"admin endpoint on http://%s:%d " % (re.escape(ADDRESS), self.admin))
        return gw

    @staticmethod
    def enter(gw):
        """The command line prefix that runs a command in `gw`'s network namespace."""
        return ["nsenter", "--target", str(gw.proc.pid), "--net",
                *([] if ROOT else ["--user", "--preserve-credentials"]), "--"]

    def fetch(self, gw, url, authorization="", user="", password=""):
        done = subprocess.run([*self.enter(gw), sys.executable, "-c", CLIENT, url, authorization,
                               user, password], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr.decode())
        return json.loads(done.stdout)

    def get(self, gw, path, authorization="", user="", password=""):
        """GET `path` from `gw`'s admin endpoint: {"status", "challenge", "body"}."""
        return self.fetch(gw, f"http://{ADDRESS}:{self.admin}{path}", authorization, user,
                          password)

    def assert_refused(self, answer, challenge, needs):
        self.assertEqual(answer["status"], 401, answer)
        self.assertEqual(answer["challenge"], challenge)
        self.assertIn(needs, answer["body"])

    def assert_probes_open(self, gw):
        """Load balancers and service managers probe with no secret to hand."""
        self.assertEqual(self.get(gw, "/healthz")["body"], "ok\n")
        self.assertEqual(self.get(gw, "/readyz")["body"], "ready\n")

    def assert_never_logged(self, gw, *secret_texts):
        """The last request's debug line is out (so is everything before it), and no secret is in
        the gateway's output or its handshake log."""
        gw.proc.wait_log(r"admin request from [^ ]+: GET /readyz -> 200")
        for log in (gw.proc.log_text(), gw.log_path.read_text()):
            for text in secret_texts:
                self.assertNotIn(text, log)
            self.assertNotIn("Authorization", log)

    # ------------------------------------------------------------------ tests
    def test_bearer_token(self):
        token_file = private_file(self.lab, "admin-token", secrets.token_hex(32) + "\n")
        token = token_file.read_text().strip()
        gw = self.start(f'token_file = "{token_file}"')
        needs = ("Bearer realm=\"rdpbridge\"", "Authorization: Bearer")
        self.assert_refused(self.get(gw, "/metrics"), *needs)
        self.assert_refused(self.get(gw, "/metrics", "Bearer " + token[:-1]), *needs)
        self.assert_refused(self.get(gw, "/metrics", basic("admin", token)), *needs)
        self.assert_refused(self.get(gw, "/"), *needs)  # unknown paths reveal nothing either
        answer = self.get(gw, "/metrics", "Bearer " + token)
        self.assertEqual(answer["status"], 200, answer)
        self.assertIn("rdpbridge_build_info", answer["body"])
        self.assertEqual(self.get(gw, "/metrics", "bEaReR   " + token)["status"], 200)
        self.assertEqual(self.get(gw, "/nothing", "Bearer " + token)["status"], 404)
        self.assert_probes_open(gw)
        gw.proc.wait_log(r"admin request from [^ ]+: GET /metrics -> 401 \(no credentials\)")
        gw.proc.wait_log(r"admin request from [^ ]+: GET /metrics -> 401 \(wrong credentials\)")

        # A reload reads the file again: the token is rotated without a restart.
        rotated = secrets.token_hex(32)
        token_file.write_text(rotated + "\n")
        self.assertEqual(gw.reload()["event"], "config_reloaded")
        self.assert_refused(self.get(gw, "/metrics", "Bearer " + token), *needs)
        self.assertEqual(self.get(gw, "/metrics", "Bearer " + rotated)["status"], 200)
        self.assert_probes_open(gw)
        self.assert_never_logged(gw, token, rotated)

    def test_basic_auth(self):
        users = private_file(self.lab, "admin-users",
                             "# who may look\nalice:correct:horse\nbob:battery staple\n")
        gw = self.start(f'basic_auth_file = "{users}"')
        needs = ("Basic realm=\"rdpbridge\", charset=\"UTF-8\"", "basic_auth_file")
        self.assert_refused(self.get(gw, "/metrics"), *needs)
        self.assert_refused(self.get(gw, "/metrics", basic("alice", "correct")), *needs)
        self.assert_refused(self.get(gw, "/metrics", basic("bob", "correct:horse")), *needs)
        self.assert_refused(self.get(gw, "/metrics", "Bearer correct:horse"), *needs)
        self.assertEqual(self.get(gw, "/metrics", basic("alice", "correct:horse"))["status"], 200)
        # As a browser: no credentials first, then the user's after the challenge.
        answer = self.get(gw, "/metrics", user="bob", password="battery staple")
        self.assertEqual(answer["status"], 200, answer)
        self.assertIn("rdpbridge_build_info", answer["body"])
        self.assert_refused(self.get(gw, "/metrics", user="bob", password="battery"), *needs)
        self.assert_probes_open(gw)
        self.assert_never_logged(gw, "correct:horse", "battery staple",
                                 base64.b64encode(b"alice:correct:horse").decode())

    def test_prometheus_scrapes_with_credentials_file(self):
        prometheus = shutil.which("prometheus")
        if not prometheus:
            if CI:
                self.fail("prometheus (Debian package prometheus) is required under CI=true")
            self.skipTest("prometheus not installed")
        token_file = private_file(self.lab, "admin-token", secrets.token_hex(32) + "\n")
        gw = self.start(f'token_file = "{token_file}"')
        web = free_port()
        cfg = self.lab.dir / "prometheus.yml"
        target = f"['{ADDRESS}:{self.admin}']"
        cfg.write_text("global:\n  scrape_interval: 1s\nscrape_configs:\n"
                       "  - job_name: with_token\n    authorization:\n"
                       f"      credentials_file: {token_file}\n"
                       f"    static_configs:\n      - targets: {target}\n"
                       "  - job_name: without\n"
                       f"    static_configs:\n      - targets: {target}\n")
        self.lab.start([*self.enter(gw), prometheus, f"--config.file={cfg}",
                        f"--storage.tsdb.path={self.lab.dir / 'tsdb'}",
                        f"--web.listen-address=127.0.0.1:{web}"], "prometheus",
                       ready_regex=r"Server is ready to receive web requests")
        query = f"http://127.0.0.1:{web}/api/v1/query?query=up"
        deadline = time.monotonic() + 30
        while True:
            answer = self.fetch(gw, query)
            self.assertEqual(answer["status"], 200, answer)
            result = json.loads(answer["body"])["data"]["result"]
            up = {r["metric"]["job"]: r["value"][1] for r in result}
            if up == {"with_token": "1", "without": "0"} or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # polling Prometheus' own scrape interval, bounded above
        self.assertEqual(up, {"with_token": "1", "without": "0"})
        gw.proc.wait_log(r"admin request from [^ ]+: GET /metrics -> 401 \(no credentials\)")

    def run_gateway(self, credentials=""):
        """`rdpbridge run` and `check-config` on a config whose admin endpoint is not on
        loopback (inside a namespace, should a regression let it bind): each one's exit code
        and stderr."""
        path = self.lab.dir / "refused.toml"
        path.write_text(self.config(credentials).format(
            port=free_port(), log=self.lab.dir / "refused.jsonl", state=self.lab.dir / "state"))
        out = []
        for argv in ([BIN, "run", "--config", str(path)], [BIN, "check-config", str(path)]):
            done = subprocess.run([*NETNS, *argv], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=60)
            out.append((done.returncode, done.stderr.decode()))
        return path, out

    def test_refused_without_credentials(self):
        path, results = self.run_gateway()
        for code, stderr in results:
            self.assertEqual(code, 3, stderr)
            self.assertIn(f"{path}:6:", stderr)  # [admin] bind's line
            self.assertIn("admin.bind", stderr)
            self.assertIn("is not a loopback address", stderr)
            self.assertIn('token_file = "/etc/rdpbridge/admin-token"', stderr)
            self.assertIn("basic_auth_file", stderr)
            self.assertIn("nothing was started", stderr)

    def test_refused_with_a_token_file_others_may_read(self):
        token_file = self.lab.dir / "admin-token"
        token_file.write_text(secrets.token_hex(32) + "\n")
        token_file.chmod(0o644)
        path, results = self.run_gateway(f'token_file = "{token_file}"')
        for code, stderr in results:
            self.assertEqual(code, 3, stderr)
            self.assertIn(f"{path}:7:", stderr)
            self.assertIn("admin.token_file", stderr)
            self.assertIn(f"chmod 600 {token_file}", stderr)
            self.assertNotIn(token_file.read_text().strip(), stderr)


if __name__ == "__main__":
    unittest.main()
