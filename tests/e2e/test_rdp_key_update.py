"""Part 2 acceptance: a Standard RDP Security session that carries more than 4096 PDUs in each
direction stays up across the RC4 key update, with no MAC error on either side, and exercises
fast-path input and output (xrdp use_fastpath=both).

The host side is xrdp in front of a VNC desktop with an xterm that redraws constantly (fast-path
output); the client side is FreeRDP, driven with xdotool mouse moves (fast-path input)."""

import re
import unittest

from desktop import desk_overrides, start_vnc_desktop
from gateway import start_gateway
from lab import lab_for_test

KEY_UPDATE_TIMEOUT = 90



class KeyUpdate(unittest.TestCase):
    def test_session_survives_4096_pdus_each_way(self):
        lab = lab_for_test(self)
        vnc_port = start_vnc_desktop(lab)
        host = lab.xrdp("rdp", crypt_level="high", use_fastpath="both", **desk_overrides(vnc_port))
        gw = start_gateway(lab, host.port)
        # Line-buffered: FreeRDP logs through stdio (see test_bad_clients).
        client = lab.start(["stdbuf", "-oL", "-eL", "xfreerdp", f"/v:127.0.0.1:{gw.port}", "/cert:ignore", "/u:labuser",
                            "/p:labpass-Secret1", "/sec:tls", "/tls-seclevel:3", "/size:800x600",
                            "/log-level:DEBUG"], "client", env=lab.client_env(),
                           ready_regex=r"CONNECTION_STATE_ACTIVE", timeout=30)
        host.wait_log(r"VNC tcp connected", timeout=30)

        # Host -> client: the redrawing desktop alone passes 4096 PDUs.
        gw.wait_event("bridge", timeout=KEY_UPDATE_TIMEOUT,
                      rdp_key_update="from host, after 4096 PDUs")
        # Client -> host: fast-path mouse input, one PDU per motion event.
        moves = []
        for i in range(4400):
            moves += ["mousemove", str(50 + (i * 7) % 700), str(50 + (i * 13) % 500)]
        for start in range(0, len(moves), 1500):
            lab.run(["xdotool", *moves[start:start + 1500]], "xdotool", timeout=60,
                    env=lab.client_env())
        gw.wait_event("bridge", timeout=KEY_UPDATE_TIMEOUT,
                      rdp_key_update="to host, after 4096 PDUs")

        # Still up, both ends: the client is connected and the host reports no MAC trouble.
        self.assertTrue(client.alive(), client.describe())
        self.assertEqual(gw.events("session_closed"), [])
        for log, bad in ((host.log_text(), r"MAC checksum error|decrypt|header read error"),
                         (client.log_text(), r"ERRCONNECT_|ERRINFO_|invalid MAC|checksum")):
            hit = re.search(r".*(%s).*" % bad, log)
            self.assertIsNone(hit, hit and hit.group(0))
        client.stop()
        closed = gw.wait_event("session_closed")[0]
        self.assertEqual(closed["closed_by"], "client")
        self.assertGreater(closed["rdp_pdus_encrypted_to_host"], 4096)
        self.assertGreater(closed["rdp_pdus_verified_from_host"], 4096)
        self.assertEqual(gw.failures(), [])


if __name__ == "__main__":
    unittest.main()
