"""Part 10 acceptance, the service side: reload on SIGHUP without touching live sessions, a reload
of an invalid file that changes nothing, the drain on SIGTERM, and systemd's notify protocol.

Live sessions are real (a hardened FreeRDP client to an xrdp host like Windows 7) and scripted
(a client whose host echoes what it sends, so the test sees bytes cross both ways after a
reload)."""

import hashlib
import os
import signal
import socket
import subprocess
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import peers
from gateway import http_status, BIN, start_gateway
from lab import LabTimeout, cert_sha256, free_port, lab_for_test

HARDENED = ("/sec:tls", "/tls-seclevel:3")

CONFIG = """
state_dir = "{state}"
[logging]
handshake_log = "{log}"
[limits]
handshake_timeout = "%(timeout)s"
[service]
drain_timeout = "%(drain)s"
[[listener]]
name = "front"
bind = "127.0.0.1:{port}"
default_backend = "win7"
[listener.tls]
certificate = "%(cert)s"
private_key = "%(key)s"
[[backend]]
name = "win7"
address = "127.0.0.1:%(win7)d"
[backend.tls]
min_version = "1.0"
[[backend]]
name = "echo"
address = "127.0.0.1:%(echo)d"
[[route]]
mstshash = "echo"
backend = "echo"
%(more)s
"""


class Service(unittest.TestCase):
    def setUp(self):
        self.lab = lab_for_test(self)
        self.host_cert, self.host_key = self.lab.make_cert("host")

    def host(self, **kw):
        h = peers.ScriptedHost(self.host_cert, self.host_key, **kw)
        self.addCleanup(h.close)
        return h

    def config(self, *, cert, key, win7, echo, timeout="10s", drain="30s", more=""):
        return CONFIG % {"cert": cert, "key": key, "win7": win7, "echo": echo,
                         "timeout": timeout, "drain": drain, "more": more}

    def session(self, gw, cookie="echo"):
        s = peers.EchoSession(gw.port, cookie)
        self.addCleanup(s.close)
        return s

    # ------------------------------------------------------------------------------- (1)
    def test_reload_applies_to_new_sessions_and_leaves_live_ones_alone(self):
        xrdp = self.lab.xrdp("tls10")
        echo = self.host(echo=True)
        extra = self.host()
        cert_a, key_a = self.lab.make_cert("front-a")
        cert_b, key_b = self.lab.make_cert("front-b")
        base = dict(win7=xrdp.port, echo=echo.port)
        gw = start_gateway(self.lab, config=self.config(cert=cert_a, key=key_a, **base))

        with ThreadPoolExecutor(1) as pool:
            # A real session that stays up across the reload (FreeRDP runs until its timeout).
            real = pool.submit(self.lab.xfreerdp, gw.port, *HARDENED, timeout=25)
            gw.wait_event("session_established", backend="win7", timeout=30)
            live = self.session(gw)
            self.assertEqual(hashlib.sha256(live.certificate).hexdigest(), cert_sha256(cert_a))
            self.assertTrue(live.exchange())

            # The reload: a backend and its route added, a limit changed, the certificate
            # swapped.
            event = gw.reload(self.config(
                cert=cert_b, key=key_b, timeout="12s", **base,
                more=f'[[backend]]\nname = "extra"\naddress = "127.0.0.1:{extra.port}"\n'
                     f'[[route]]\nmstshash = "extra"\nbackend = "extra"'))
            self.assertEqual(event["event"], "config_reloaded", event)
            self.assertEqual(event["generation"], 2, event)
            self.assertEqual(event["changes"]["backends"], {"added": ["extra"]}, event)
            self.assertEqual(event["changes"]["listeners"], {"changed": ["front"]}, event)
            self.assertEqual(event["changes"]["routes"], "1 -> 2", event)
            self.assertEqual(event["changes"]["limits"], ["handshake_timeout"], event)
            self.assertEqual(event["live_sessions"], 2, event)

            # The live sessions go on: bytes cross both ways after the reload.
            before = len(gw.events("session_closed"))
            self.assertTrue(live.exchange(65536))
            # A new session takes the new route and is shown the new certificate.
            fresh = self.session(gw, cookie="extra")
            self.assertEqual(hashlib.sha256(fresh.certificate).hexdigest(), cert_sha256(cert_b))
            self.assertEqual(extra.accepted, 1)
            # The log is written asynchronously: the client can have its answer first.
            gw.wait_event("session_established", backend="extra")
            established = gw.events("session_established")
            self.assertEqual([e["backend"] for e in established], ["win7", "echo", "extra"])
            # Nothing was closed by the reload; the FreeRDP client is still connected.
            self.assertEqual(len(gw.events("session_closed")), before)
            res = real.result(timeout=60)
        self.assertEqual(res.ended_by, "timeout", res.summary())
        self.assertTrue(res.reached("CONNECTION_STATE_ACTIVE") or
                        res.reached("CONNECTION_STATE_FINALIZATION"), res.summary())
        closed = gw.wait_event("session_closed", conn=established[0]["conn"])[0]
        self.assertEqual(closed["closed_by"], "client", closed)
        self.assertGreater(closed["duration_ms"], 10000, closed)

    # ------------------------------------------------------------------------------- (2)
    def test_an_invalid_reload_changes_nothing_and_says_why(self):
        echo = self.host(echo=True)
        other = self.host()
        cert, key = self.lab.make_cert("front")
        good = self.config(cert=cert, key=key, win7=other.port, echo=echo.port)
        gw = start_gateway(self.lab, config=good)
        live = self.session(gw)

        bad = good.replace('handshake_timeout = "10s"', 'handshake_timeout = "10 parsecs"')
        bad = bad.replace('name = "echo"\n', 'name = "echo"\nadress = "typo"\n')
        event = gw.reload(bad)
        self.assertEqual(event["event"], "config_reload_failed", event)
        self.assertEqual(event["generation"], 1, event)
        text = "\n".join(event["errors"])
        self.assertRegex(text, r"rdpbridge\.toml:\d+:\d+: limits\.handshake_timeout")
        self.assertRegex(text, r"backend\[1\]\.adress.*address")  # did you mean
        self.assertRegex(gw.proc.log_text(), r"reload: .*handshake_timeout")
        # Still the old configuration: the live session relays, new ones route as before.
        self.assertTrue(live.exchange())
        self.assertTrue(self.session(gw).exchange())
        self.assertEqual(echo.accepted, 2)

        # A file that parses but cannot be built (a certificate that is not there) fails too.
        missing = good.replace(str(cert), str(self.lab.dir / "nowhere.pem"))
        event = gw.reload(missing)
        self.assertEqual(event["event"], "config_reload_failed", event)
        self.assertIn("nowhere.pem", "\n".join(event["errors"]))
        self.assertTrue(live.exchange())
        # And a good one after that applies.
        event = gw.reload(good.replace('"10s"', '"11s"'))
        self.assertEqual((event["event"], event["generation"]), ("config_reloaded", 2), event)

    def test_the_reload_command_checks_first_then_reports(self):
        echo = self.host(echo=True)
        cert, key = self.lab.make_cert("front")
        text = self.config(cert=cert, key=key, win7=echo.port, echo=echo.port)
        gw = start_gateway(self.lab, config=text)
        live = self.session(gw)

        def reload(config_text):
            gw.config_path.write_text(config_text.format(port=gw.port, log=gw.log_path,
                                                         state=self.lab.dir / "state"))
            return subprocess.run([BIN, "reload", "-c", str(gw.config_path)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  timeout=30)

        done = reload(text.replace('"10s"', '"15s"'))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertRegex(done.stdout, r'reloaded: generation 2; changes \{"limits":\["handshake_timeout"\]\}; 1 live')
        # A file check-config refuses: nothing is sent, the gateway stays at generation 2.
        refused = reload(text.replace('"10s"', '"ten seconds"'))
        self.assertEqual(refused.returncode, 3, refused.stdout)
        self.assertRegex(refused.stderr, r"limits\.handshake_timeout.*\n1 error\(s\); the gateway "
                                         r"was not asked to reload")
        self.assertEqual([e["generation"] for e in gw.events("config_reloaded")], [2])
        self.assertEqual(gw.events("config_reload_failed"), [])
        self.assertTrue(live.exchange())

    # ------------------------------------------------------------------------------- (3)
    def test_sigterm_drains_live_sessions_then_closes_them(self):
        echo = self.host(echo=True)
        other = self.host()
        cert, key = self.lab.make_cert("front")
        admin = free_port()
        gw = start_gateway(self.lab, config=self.config(
            cert=cert, key=key, win7=other.port, echo=echo.port, drain="3s",
            more=f'[admin]\nbind = "127.0.0.1:{admin}"'))
        readyz = f"http://127.0.0.1:{admin}/readyz"
        self.assertEqual(http_status(readyz), 200)
        live = self.session(gw)
        self.assertTrue(live.exchange())
        os.kill(gw.proc.pid, signal.SIGTERM)
        stopped = time.monotonic()
        gw.proc.wait_log(r"accepting nothing new; 1 session\(s\) may go on", timeout=10)
        # A load balancer polling /readyz stops sending: 503 as soon as the drain begins.
        self.assertEqual(http_status(readyz), 503)
        # Nothing new is accepted: the listening socket is closed.
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", gw.port), timeout=5).close()
        # The live session keeps relaying during the drain.
        self.assertTrue(live.exchange(65536))
        self.assertEqual(gw.events("session_closed"), [])
        closed = gw.wait_event("session_closed", timeout=15)[0]
        took = time.monotonic() - stopped
        self.assertEqual((closed["closed_by"], closed["reason"]), ("gateway", "shutdown"), closed)
        self.assertGreater(took, 2.5, "closed before drain_timeout")
        self.assertEqual(gw.proc.wait(15), 0, gw.proc.describe())
        end = gw.wait_event("gateway_stopped")[0]
        self.assertEqual((end["handshakes"], end["sessions"]), (0, 0), end)

    def test_a_second_sigterm_closes_at_once(self):
        echo = self.host(echo=True)
        other = self.host()
        cert, key = self.lab.make_cert("front")
        gw = start_gateway(self.lab, config=self.config(cert=cert, key=key, win7=other.port,
                                                        echo=echo.port, drain="60s"))
        live = self.session(gw)
        os.kill(gw.proc.pid, signal.SIGTERM)
        gw.proc.wait_log(r"may go on for up to 60 s", timeout=10)
        self.assertTrue(live.exchange())
        os.kill(gw.proc.pid, signal.SIGTERM)
        closed = gw.wait_event("session_closed", timeout=10)[0]
        self.assertEqual((closed["closed_by"], closed["reason"]), ("gateway", "shutdown"), closed)
        self.assertEqual(gw.proc.wait(10), 0, gw.proc.describe())

    # ------------------------------------------------------------------------------- (4)
    def test_systemd_notify_protocol(self):
        """A datagram socket stands in for systemd: READY=1 once listening, RELOADING=1 then
        READY=1 around a reload, STATUS= and WATCHDOG=1 from the loop, STOPPING=1 on SIGTERM."""
        path = self.lab.dir / "notify.sock"
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(path))
        self.addCleanup(notify.close)
        messages, lock = [], threading.Lock()

        def collect():
            while True:
                try:
                    data = notify.recv(4096)
                except OSError:
                    return
                with lock:
                    messages.append(data.decode())

        threading.Thread(target=collect, daemon=True).start()

        def wait_for(prefix, after=0, timeout=10.0):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with lock:
                    for i, m in enumerate(messages[after:], after):
                        if m.startswith(prefix):
                            return i
                time.sleep(0.02)
            raise LabTimeout(f"no {prefix!r} after message {after}: {messages}")

        echo = self.host(echo=True)
        cert, key = self.lab.make_cert("front")
        text = self.config(cert=cert, key=key, win7=echo.port, echo=echo.port)
        gw = start_gateway(self.lab, config=text,
                           env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"})
        ready = wait_for("READY=1")
        self.assertIn("STATUS=0 session(s), 0 handshake(s) in progress", messages[ready])
        wait_for("WATCHDOG=1", ready)
        live = self.session(gw)
        status = wait_for("STATUS=1 session(s)", ready)
        gw.reload(text.replace('"10s"', '"11s"'))
        reloading = wait_for("RELOADING=1", status)
        self.assertRegex(messages[reloading], r"MONOTONIC_USEC=\d+")
        ready2 = wait_for("READY=1", reloading)
        live.close()
        gw.wait_event("session_closed")
        os.kill(gw.proc.pid, signal.SIGTERM)
        stopping = wait_for("STOPPING=1", ready2)
        self.assertEqual(gw.proc.wait(40), 0, gw.proc.describe())
        with lock:
            order = [m.split("\n")[0].split("=")[0] for m in messages]
        self.assertEqual(order[0], "READY", order)
        self.assertLess(ready, reloading)
        self.assertLess(reloading, ready2)
        self.assertLess(ready2, stopping)
        self.assertIn("WATCHDOG", order[:reloading], order)


if __name__ == "__main__":
    unittest.main()
