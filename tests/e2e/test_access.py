"""Who may connect, and what a flood of refusals costs the log: a listener's allow / deny lists
refuse a source before any byte is read (source_not_allowed) while an allowed hardened client
reaches the host; 2,000 refused connections from one source are summarised, and a real failure
in the middle of them is still in the log."""

import socket
import threading
import unittest

from gateway import single_backend_config, start_gateway
from lab import lab_for_test

SESMAN = r"\[INFO \] connecting to sesman"
HARDENED = ("/sec:tls", "/tls-seclevel:3")
REFUSALS = 2000


def connect_from(source: str, port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    return s


def closed_without_a_byte(s: socket.socket) -> bool:
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


class Access(unittest.TestCase):
    def test_allow_refuses_other_sources_and_lets_the_listed_one_through(self):
        lab = lab_for_test(self)
        host = lab.xrdp("tls10")
        gw = start_gateway(lab, config=single_backend_config(
            host.port, backend="win7", listener_keys='allow = ["127.0.0.1"]',
            backend_keys='[backend.tls]\nmin_version = "1.0"'))
        with connect_from("127.0.0.2", gw.port) as s:
            s.sendall(bytes.fromhex("030000130ee000000000000100080001000000"))
            self.assertTrue(closed_without_a_byte(s))
        refused = gw.wait_event("handshake_failed", cause="source_not_allowed")[0]
        self.assertEqual((refused["stage"], refused["client"]), ("client_transport", "127.0.0.2"))
        self.assertIn("allow", refused["hint"])
        # Refused at accept: no session, no routing, no host contact.
        self.assertEqual([e for e in gw.events("stage") if e["conn"] == refused["conn"]], [])

        res = lab.xfreerdp(gw.port, *HARDENED, until_log=(host, SESMAN), timeout=30)
        self.assertEqual(res.ended_by, "until", res.summary())
        established = gw.wait_event("session_established")[0]
        accepted = [e for e in gw.events("connection_accepted")
                    if e["conn"] == established["conn"]]
        self.assertTrue(accepted[0]["client"].startswith("127.0.0.1:"), accepted)

    def test_a_flood_of_refusals_is_summarised_and_real_failures_stay(self):
        lab = lab_for_test(self)
        host = lab.xrdp("tls10")
        gw = start_gateway(lab, config=single_backend_config(
            host.port, backend="win7", listener_keys='deny = ["127.0.0.3"]'))

        def flood():
            for _ in range(REFUSALS):
                with connect_from("127.0.0.3", gw.port) as s:
                    closed_without_a_byte(s)
        flooder = threading.Thread(target=flood)
        flooder.start()
        # A real failure while the flood runs: an HTTP request from an allowed source.
        with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
            closed_without_a_byte(s)
        flooder.join(timeout=120)
        self.assertFalse(flooder.is_alive())

        real = gw.wait_event("handshake_failed", cause="client_spoke_http")
        self.assertEqual(len(real), 1)
        # Every refusal is accounted for: its own line, or a count in a summary (windows of
        # 10 s; the last one is reported when it ends).
        summaries = gw.wait_event("refusals_summary", timeout=30)

        def accounted():
            lines = [e for e in gw.events("handshake_failed") if e["cause"] == "source_not_allowed"]
            counted = sum(e["count"] for e in gw.events("refusals_summary"))
            return len(lines), counted
        lines, counted = accounted()
        while lines + counted < REFUSALS:
            gw.wait_event("refusals_summary", count=len(summaries) + 1, timeout=30)
            summaries = gw.events("refusals_summary")
            lines, counted = accounted()
        self.assertEqual(lines + counted, REFUSALS)
        self.assertLessEqual(lines, 1 + REFUSALS // 100)  # a line per window, not per refusal
        self.assertTrue(all(e["client"] == "127.0.0.3" for e in summaries), summaries)
        self.assertIn("refused", gw.proc.log_text())
        self.assertEqual(gw.events("log_events_dropped"), [])


if __name__ == "__main__":
    unittest.main()
