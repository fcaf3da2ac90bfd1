"""Per-backend channel policy, end to end: a denied static channel never reaches the host, a
denied device type is taken out of the rdpdr Client Device List Announce, and the session still
reaches the desktop. Real FreeRDP with a drive, clipboard, a serial and a parallel port and a
printer; real xrdp hosts (TLS 1.0 and Standard RDP Security) showing a VNC desktop.

The lab's xrdp has no chansrv and never opens rdpdr, so FreeRDP would never announce a device.
tests/lab/rdpdr_lab.py fills the gap on both sides of the gateway:

    FreeRDP -> ClientSideInjector -> rdpbridge -> HostSideRecorder -> xrdp (TLS 1.0, or RDP)

The injector plays the rdpdr server towards the client (after the host's Font Map) and records
the Device List Announce as it left the client; the recorder decodes what the host received
(CS_NET channel names, the Device List Announce). Towards the Standard RDP Security host the
recorder relays the RC4 bytes as they are and decrypts them with the host's key pair, which
the test made (tests/lab/rdp_security.py). xrdp's own log (LogLevel=DEBUG) names every
channel of the CS_NET it received ("Adding channel: name cliprdr, ..."), which is the host's
word on channel removal for both kinds of host.

The policy cases need the [backend.channels] feature: against a gateway without it the
configuration is refused and they fail. Tools: xrdp, xfreerdp, Xvfb, Xvnc, xterm; a missing one
skips the tests, or fails them under CI=true."""

import json
import os
import pathlib
import re
import shutil
import struct
import unittest

import gateway  # noqa: F401  (puts tests/lab on sys.path)
from desktop import desk_overrides, start_vnc_desktop
from gateway import single_backend_config, start_gateway
from lab import DEFAULT_PASSWORD, DEFAULT_USER, STATE_ACTIVE, lab_for_test
from rdpdr_lab import (CLOSED, DEVICES_ANNOUNCED, MCS_CHANNEL_JOIN_REQUEST,
                       MCS_SEND_DATA_REQUEST, ClientSideInjector, HostSideRecorder,
                       cs_net_channels, device_list, mcs_type, rdpdr_header,
                       sc_net_channel_ids, send_data, server_announce, server_user_logged_on)

CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
TOOLS = ("xrdp", "xfreerdp", "Xvfb", "Xvnc", "xterm", "stdbuf")

HARDENED = ("/sec:tls", "/tls-seclevel:3")
# One device of each type FreeRDP can announce here (no smart card: that needs pcscd). A named
# printer needs no running cupsd; the ports are opened only when the host opens them.
DEVICES = ("+clipboard", "/serial:COM1,/dev/null", "/parallel:LPT1,/dev/null",
           "/printer:LabPrinter")
DRIVE = 0x08

DENY_CLIPBOARD_AND_DRIVES = """
[backend.channels]
deny = ["cliprdr"]
[backend.channels.devices]
deny = ["drive"]
"""
ALLOW_NO_CHANNEL = """
[backend.channels]
allow = []
"""

FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "session_channels"
XRDP_CHANNEL = re.compile(r"Adding channel: name (\S+), channel id")
XRDP_DESKTOP = r"VNC tcp connected"
TIMEOUT = 30


def identity(device):
    """What the gateway must keep of a device it passes: everything."""
    return (device.type, device.id, device.dos_name, device.data)


class Session:
    """One FreeRDP session through injector, gateway and recorder to the host, up to the
    desktop and the client's Device List Announce with devices."""

    def __init__(self, test, profile, policy="", **host_settings):
        self.lab = lab = lab_for_test(test)
        vnc_port = start_vnc_desktop(lab)
        # The Standard RDP Security host gets a key pair of the test's, so that the recorder
        # can read what the gateway sends it.
        rsakeys = lab.make_rsakeys("host-rsakeys") if profile == "rdp" else None
        self.host = lab.xrdp(profile, rsakeys=rsakeys, **host_settings,
                             **desk_overrides(vnc_port))
        self.recorder = HostSideRecorder(lab, self.host.port, rsakeys=rsakeys)
        test.addCleanup(self.recorder.stop)
        backend_port = self.recorder.port
        self.gw = start_gateway(lab, config=single_backend_config(backend_port,
                                                                  backend_keys=policy))
        self.injector = ClientSideInjector(lab, self.gw.port)
        test.addCleanup(self.injector.stop)
        share = lab.dir / "share"
        share.mkdir()
        self.host_mark = self.host.log_mark()
        # Line-buffered: FreeRDP logs through stdio (see test_bad_clients).
        self.client = lab.start(
            ["stdbuf", "-oL", "-eL", "xfreerdp", f"/v:127.0.0.1:{self.injector.port}",
             "/cert:ignore", f"/u:{DEFAULT_USER}", f"/p:{DEFAULT_PASSWORD}", "/log-level:DEBUG",
             *HARDENED, "/size:800x600", f"/drive:share,{share}", *DEVICES],
            "client", env=lab.client_env(), ready_regex=STATE_ACTIVE, timeout=TIMEOUT)
        # The desktop: FreeRDP is ACTIVE (above) and xrdp shows the VNC session.
        self.host.wait_log(XRDP_DESKTOP, timeout=TIMEOUT, since=self.host_mark)
        # The client announced its devices (after the injected User Logged On).
        self.injector.wait_log(DEVICES_ANNOUNCED, timeout=TIMEOUT)

    def close(self):
        """End the client; return the gateway's session_closed event once the host leg is
        gone too (the recorder has seen everything the gateway sent the host)."""
        self.client.stop()
        closed = self.gw.wait_event("session_closed", timeout=TIMEOUT)[0]
        self.recorder.wait_log(CLOSED, timeout=TIMEOUT)
        return closed

    # -- what each end saw
    def client_channels(self):
        return self.injector.channel_names()

    def client_devices(self):
        """The devices of the client's last Device List Announce, as it left the client."""
        return self.injector.device_announces("c2s")[-1]

    def host_channels(self):
        """The channels xrdp added from the CS_NET it received, in order."""
        return XRDP_CHANNEL.findall(self.host.log_since(self.host_mark))

    def bridge_channels(self):
        """The bridge event that reports the channel policy's outcome."""
        found = [e for e in self.gw.events("bridge") if "channels_removed" in e]
        return found[0] if found else None


class ChannelPolicy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = [t for t in TOOLS if shutil.which(t) is None]
        if missing:
            why = f"missing tools: {', '.join(missing)}"
            if CI:
                raise AssertionError(f"required under CI=true: {why}")
            raise unittest.SkipTest(why)

    def assert_desktop(self, s):
        self.assertTrue(s.client.alive(), s.client.describe())
        self.assertRegex(s.client.log_text(), STATE_ACTIVE)
        self.assertEqual(s.gw.failures(), [])

    def assert_client_offered_everything(self, s):
        """The client's side of every case: the four channels and the four device types, so
        that what is missing at the host was taken out by the gateway."""
        self.assertEqual(sorted(s.client_channels()),
                         ["cliprdr", "drdynvc", "rdpdr", "rdpsnd"])
        self.assertEqual(sorted(d.type_name for d in s.client_devices()),
                         ["drive", "parallel", "printer", "serial"])

    def assert_drive_refused(self, s):
        """One channel_refused event per drive the client announced, naming it."""
        drives = [d for d in s.injector.devices("c2s") if d.type == DRIVE]
        refused = s.gw.wait_event("channel_refused", count=len(drives), timeout=TIMEOUT,
                                  channel="rdpdr", device_type="drive")
        self.assertEqual(len(refused), len(drives), refused)
        self.assertEqual(sorted((e["device_id"], e["dos_name"]) for e in refused),
                         sorted((d.id, d.dos_name) for d in drives))
        self.assertEqual([e for e in s.gw.events("channel_refused")
                          if e.get("device_type") != "drive"], [])
        return len(drives)

    def assert_rdp_security_read(self, s):
        """Towards the Standard RDP Security host the recorder read the stream with the
        host's key: the leg really was RC4, and every PDU's MAC verified."""
        self.assertRegex(s.recorder.log_text(), r"(?m)^no TLS: ")
        self.assertRegex(s.recorder.log_text(), r"(?m)^rdp_security method=0x02 level=3")
        self.assertIsNone(s.recorder.unreadable, s.recorder.describe())
        self.assertRegex(s.host.log_since(s.host_mark), r"Non-TLS connection established")

    def check_neither_clipboard_nor_drive(self, profile, **host_settings):
        s = Session(self, profile, DENY_CLIPBOARD_AND_DRIVES, **host_settings)
        self.assert_client_offered_everything(s)
        # The host's Device List Announce, as the gateway rewrote it: the other devices remain.
        s.recorder.wait_log(DEVICES_ANNOUNCED, timeout=TIMEOUT)
        self.assert_desktop(s)
        drives = self.assert_drive_refused(s)

        bridge = s.bridge_channels()
        self.assertIsNotNone(bridge, s.gw.events("bridge"))
        self.assertEqual(bridge["channels_removed"], ["cliprdr"])
        self.assertCountEqual(bridge["channels_passed"], ["rdpdr", "rdpsnd", "drdynvc"])
        closed = s.close()

        # The host never heard of cliprdr: not in the CS_NET it received, not in its log.
        kept = [c for c in s.client_channels() if c != "cliprdr"]
        self.assertEqual(s.recorder.channel_names(), kept)
        self.assertEqual(s.host_channels(), kept)
        # ... and never heard of the drive; every other device arrived as the client sent it.
        at_host = s.recorder.devices("c2s")
        self.assertNotIn(DRIVE, [d.type for d in at_host], at_host)
        self.assertCountEqual([identity(d) for d in at_host if d.type != DRIVE],
                              [identity(d) for d in s.injector.devices("c2s")
                               if d.type != DRIVE])
        self.assertEqual(closed["devices_refused"], drives)
        self.assertGreaterEqual(closed["channel_pdus_dropped"], 0)
        return s

    def check_every_channel_and_device(self, profile, **host_settings):
        s = Session(self, profile, **host_settings)
        self.assert_client_offered_everything(s)
        s.recorder.wait_log(DEVICES_ANNOUNCED, timeout=TIMEOUT)
        self.assert_desktop(s)
        closed = s.close()

        self.assertEqual(s.recorder.channel_names(), s.client_channels())
        self.assertEqual(s.host_channels(), s.client_channels())
        # Every rdpdr message reached the host byte for byte, the drive's announce included.
        self.assertEqual(s.recorder.channel_messages("rdpdr", "c2s"),
                         s.injector.channel_messages("rdpdr", "c2s"))
        self.assertIn(DRIVE, [d.type for d in s.recorder.devices("c2s")])
        self.assertEqual(s.gw.events("channel_refused"), [])
        bridge = s.bridge_channels()
        if bridge is not None:            # a gateway that reports its (empty) policy
            self.assertEqual(bridge["channels_removed"], [])
        self.assertEqual(closed.get("devices_refused", 0), 0)
        self.assertEqual(closed.get("channel_pdus_dropped", 0), 0)
        return s

    # ------------------------------------------------------------------ TLS host
    def test_tls_host_gets_neither_clipboard_nor_drive(self):
        s = self.check_neither_clipboard_nor_drive("tls10")
        self.assertRegex(s.recorder.log_text(), r'(?m)^tls .*"upstream_leg"')

    def test_tls_host_without_policy_gets_every_channel_and_device(self):
        self.check_every_channel_and_device("tls10")

    def test_tls_host_with_no_channel_allowed(self):
        s = Session(self, "tls10", ALLOW_NO_CHANNEL)
        self.assert_client_offered_everything(s)
        self.assert_desktop(s)
        bridge = s.bridge_channels()
        self.assertIsNotNone(bridge, s.gw.events("bridge"))
        self.assertEqual(bridge["channels_passed"], [])
        self.assertCountEqual(bridge["channels_removed"], s.client_channels())
        closed = s.close()

        # No channel at the host: none in its CS_NET or log, no join but the user's and the
        # I/O channel's, and all the client sent went to the I/O channel.
        self.assertEqual(s.recorder.channel_names(), [])
        self.assertEqual(s.host_channels(), [])
        to_host = [r.pdu for r in s.recorder.pdus("c2s") if r.pdu[0] == 0x03]
        self.assertEqual(len([p for p in to_host if mcs_type(p) == MCS_CHANNEL_JOIN_REQUEST]), 2)
        self.assertEqual({send_data(p).channel_id for p in to_host
                          if mcs_type(p) == MCS_SEND_DATA_REQUEST}, {s.recorder.io_channel})
        # The client's rdpdr PDUs (it believes rdpdr joined) were dropped by the gateway.
        sent = len(s.injector.channel_messages("rdpdr", "c2s"))
        self.assertGreaterEqual(sent, 5)        # reply, name, capabilities, two announces
        self.assertGreaterEqual(closed["channel_pdus_dropped"], sent)

    # ------------------------------------------------------------------ Standard RDP Security
    def test_rdp_security_host_gets_neither_clipboard_nor_drive(self):
        s = self.check_neither_clipboard_nor_drive("rdp", crypt_level="high")
        self.assert_rdp_security_read(s)

    def test_rdp_security_host_without_policy_gets_every_channel_and_device(self):
        s = self.check_every_channel_and_device("rdp", crypt_level="high")
        self.assert_rdp_security_read(s)


class ToolOnCapture(unittest.TestCase):
    """rdpdr_lab's decoders and encoders on the committed capture of the same kind of session
    (tests/fixtures/session_channels): what the cases above rely on, checked without a peer."""

    def pdu(self, name):
        named = json.loads((FIXTURE / "manifest.json").read_text())["named"]
        return (FIXTURE / named[name]).read_bytes()

    def message(self, name):
        """The whole virtual channel message of a single-chunk PDU, and its channel id."""
        sd = send_data(self.pdu(name))
        length, flags = struct.unpack("<II", sd.payload[:8])
        self.assertEqual((flags & 3, length), (3, len(sd.payload) - 8))
        return sd.channel_id, sd.payload[8:]

    def test_channels_and_devices_decode(self):
        channels = cs_net_channels(self.pdu("mcs_connect_initial"))
        self.assertEqual([n for n, _ in channels], ["rdpdr", "rdpsnd", "cliprdr", "drdynvc"])
        io, ids = sc_net_channel_ids(self.pdu("mcs_connect_response"))
        self.assertEqual((io, ids), (1003, [1004, 1005, 1006, 1007]))
        channel, announce = self.message("rdpdr_client_device_list_announce")
        self.assertEqual(channel, 1004)
        self.assertEqual(rdpdr_header(announce)[2], "DEVICELIST_ANNOUNCE")
        self.assertEqual([(d.type_name, d.id, d.dos_name) for d in device_list(announce)],
                         [("drive", 1, "share"), ("serial", 2, "COM1"), ("parallel", 3, "LPT1"),
                          ("printer", 4, "PRN1")])
        _, empty = self.message("rdpdr_client_device_list_announce_empty")
        self.assertEqual(device_list(empty), [])

    def test_rdp_security_reader_opens_a_captured_session(self):
        # What the Standard RDP Security cases rely on: rdp_security.Reader, on the committed
        # rdesktop -> xrdp capture (128-bit RC4, both directions, fast-path included) and the
        # committed key pair, opens every encrypted PDU with a MAC that verifies.
        import capture_fixtures
        fixtures = FIXTURE.parent
        checked = capture_fixtures.check_rdp_session_all(fixtures / "session_rdp_rdesktop",
                                                         fixtures / "xrdp_rsakeys.ini")
        self.assertTrue(checked["ok"], checked)
        self.assertEqual(checked["encryption_method"], 0x02)
        self.assertGreater(checked["encrypted_checked"]["c2s"], 3)
        self.assertGreater(checked["encrypted_checked"]["s2c"], 3)
        self.assertIn("client_info", checked)      # the Client Info, in clear

    def test_injected_pdus_are_the_encoders_output(self):
        self.assertEqual(self.message("injected_rdpdr_server_announce_request"),
                         (1004, server_announce()))
        self.assertEqual(self.message("injected_rdpdr_server_user_logged_on"),
                         (1004, server_user_logged_on()))


if __name__ == "__main__":
    unittest.main()
