#!/usr/bin/python3
"""Capture real RDP protocol bytes from the lab into tests/fixtures/.

    /usr/bin/python3 tests/lab/capture_fixtures.py [--out DIR] [--keep]
    /usr/bin/python3 tests/lab/capture_fixtures.py --only rdp-levels   # just the 40-bit and
        # FIPS Standard RDP Security sessions, into the existing tree (see capture_rdp_levels)
    /usr/bin/python3 tests/lab/capture_fixtures.py --only channels     # just
        # session_channels/: channels and redirected devices (see capture_channels)

Everything runs on 127.0.0.1 with dynamically chosen ports, under a Lab (tests/lab/lab.py)
that stops every process it started. Each fixture file holds the raw bytes of one PDU
(TPKT header included; the session dirs also hold fast-path PDUs, whose first byte is not
0x03). A summary (sizes, tool versions, what was seen) is written to capture_log.json in
the output dir; README.md there is maintained by hand from it.

Three helpers do the capturing:
  * FakeServer: accepts one connection and records the client's first PDU (the X.224
    Connection Request), then closes.
  * fake_client_exchange: sends a (recorded, real) Connection Request to a real xrdp and
    records its Connection Confirm.
  * RecordingForwarder: a man-in-the-middle between a real client and a real xrdp. It
    relays the X.224 exchange in plaintext, then, if the confirm selected PROTOCOL_SSL,
    terminates TLS on both legs (Python ssl: self-signed cert towards the client; TLS 1.0+
    at SECLEVEL 0 towards xrdp) and relays the decrypted stream; under Standard RDP
    Security it just relays. Either way it splits each direction into PDUs by TPKT /
    fast-path framing and records the first N of each.
And for session_channels/ the same kind of man-in-the-middle that also speaks: rdpdr_lab's
ClientSideInjector plays the rdpdr server xrdp lacks (no chansrv in the lab) so that FreeRDP
announces its redirected devices (see capture_channels).
"""

from __future__ import annotations

import argparse
import warnings
import json
import pathlib
import re
import select
import shutil
import socket
import ssl
import struct
import sys
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import lab as labmod  # noqa: E402
import rdp_security  # noqa: E402
import rdpdr_lab  # noqa: E402
from lab import LOOPBACK, Lab, LabError  # noqa: E402

DEFAULT_OUT = HERE.parent / "fixtures"
# ssl.TLSVersion.TLSv1 is deprecated, but talking TLS 1.0 to the legacy host is the point
warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*TLSv1.*")
SESSION_PDUS = 20            # PDUs recorded per direction in the session dirs
IO_TIMEOUT = 10.0


# ----------------------------------------------------------------------------- framing
Framer = rdpdr_lab.Framer      # TPKT and fast-path PDUs out of a byte stream


def pdu_kind(pdu: bytes) -> str:
    return "tpkt" if pdu[0] == 0x03 else "fastpath"


def read_one_pdu(sock: socket.socket, timeout: float = IO_TIMEOUT) -> bytes:
    """Read exactly one PDU (TPKT or fast-path) from a blocking socket."""
    sock.settimeout(timeout)
    fr = Framer()
    while True:
        chunk = sock.recv(1) if not fr.buf else sock.recv(_missing(fr))
        if not chunk:
            raise ConnectionError(f"peer closed after {len(fr.buf)} bytes")
        pdus = fr.feed(chunk)
        if pdus:
            if fr.buf:
                raise ValueError("read past one PDU")
            return pdus[0]


def _missing(fr: Framer) -> int:
    n = fr._needed()
    return max(1, (n or 4) - len(fr.buf))


# ----------------------------------------------------------------------------- parsing
PROTO_NAMES = {0x1: "SSL", 0x2: "HYBRID", 0x4: "RDSTLS", 0x8: "HYBRID_EX", 0x10: "RDSAAD"}


def protocols_str(v: int) -> str:
    if v == 0:
        return "RDP"
    return "|".join(n for b, n in PROTO_NAMES.items() if v & b) + \
        (f"|0x{v & ~0x1F:x}" if v & ~0x1F else "")


def parse_x224(pdu: bytes) -> dict:
    """Decode a Connection Request / Confirm (TPKT + X.224 + optional cookie / neg)."""
    info = {"tpkt_len": struct.unpack(">H", pdu[2:4])[0], "li": pdu[4],
            "code": f"0x{pdu[5]:02X}"}
    body = pdu[11:]
    if pdu[5] & 0xF0 == 0xE0 and body.startswith(b"Cookie:"):
        end = body.index(b"\r\n") + 2
        info["cookie"] = body[:end].decode("ascii", "replace").strip()
        body = body[end:]
    if len(body) >= 8:
        typ, flags, length, value = struct.unpack("<BBHI", body[:8])
        name = {1: "RDP_NEG_REQ", 2: "RDP_NEG_RSP", 3: "RDP_NEG_FAILURE"}.get(typ, "?")
        info["neg"] = {"type": name, "flags": f"0x{flags:02X}", "length": length,
                       "value": value}
        if typ in (1, 2):
            info["neg"]["protocols"] = protocols_str(value)
        elif typ == 3:
            info["neg"]["failure"] = {
                1: "SSL_REQUIRED_BY_SERVER", 2: "SSL_NOT_ALLOWED_BY_SERVER",
                3: "SSL_CERT_NOT_ON_SERVER", 4: "INCONSISTENT_FLAGS",
                5: "HYBRID_REQUIRED_BY_SERVER",
                6: "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER"}.get(value, "?")
        body = body[8:]
    if body:
        info["trailing"] = body.hex()
    return info


def selected_protocol(cc: bytes) -> int | None:
    """selectedProtocol of an RDP_NEG_RSP in a confirm; None for failure / no neg data."""
    neg = parse_x224(cc).get("neg")
    if neg and neg["type"] == "RDP_NEG_RSP":
        return neg["value"]
    return None


def gcc_blocks(pdu: bytes) -> list:
    """Find the GCC user-data blocks (type, len) in an MCS Connect Initial / Response by
    scanning for the first known block header: good enough for a capture summary."""
    out = []
    for start in range(len(pdu) - 4):
        t, n = struct.unpack("<HH", pdu[start:start + 4])
        if t in (0xC001, 0x0C01) and 4 <= n <= len(pdu) - start:
            i = start
            while i + 4 <= len(pdu):
                t, n = struct.unpack("<HH", pdu[i:i + 4])
                if n < 4 or i + n > len(pdu):
                    break
                out.append((f"0x{t:04X}", n))
                i += n
            if i == len(pdu):
                return out
            out = []
    return out


MCS_TYPES = {1: "ErectDomainRequest", 8: "DisconnectProviderUltimatum",
             10: "AttachUserRequest", 11: "AttachUserConfirm", 14: "ChannelJoinRequest",
             15: "ChannelJoinConfirm", 25: "SendDataRequest", 26: "SendDataIndication"}
SHARE_PDU = {1: "DemandActive", 3: "ConfirmActive", 6: "DeactivateAll", 7: "Data"}
DATA_PDU2 = {2: "Update", 20: "Control", 27: "Pointer", 28: "Input", 31: "Synchronize",
             33: "RefreshRect", 34: "PlaySound", 35: "SuppressOutput", 36: "ShutdownRequest",
             37: "ShutdownDenied", 38: "SaveSessionInfo", 39: "FontList", 40: "FontMap",
             47: "SetErrorInfo", 54: "MonitorLayout"}
CONTROL_ACTION = {1: "RequestControl", 2: "GrantedControl", 3: "Detach", 4: "Cooperate"}
LICENSE_MSG = {0x01: "LicenseRequest", 0x02: "PlatformChallenge", 0x03: "NewLicense",
               0x04: "UpgradeLicense", 0x12: "LicenseInfo", 0x13: "NewLicenseRequest",
               0x15: "PlatformChallengeResponse", 0xFF: "ErrorAlert"}
FASTPATH_OUT = {0: "Orders", 1: "Bitmap", 2: "Palette", 3: "Synchronize", 4: "SurfCmds",
                5: "PointerHidden", 6: "PointerDefault", 8: "PointerPosition",
                9: "ColorPointer", 10: "CachedPointer", 11: "NewPointer", 12: "LargePointer"}


def describe_pdu(pdu: bytes, direction: str, rdp_security: bool = False,
                 io_channel: int = 1003) -> str:
    """Best-effort label of a captured PDU for the manifests (not a validating parser).
    rdp_security: Standard RDP Security (every slow-path PDU after the exchange carries a
    security header); io_channel: the MCS I/O channel id (1003 for xrdp and Windows)."""
    try:
        if pdu[0] != 0x03:
            flags = pdu[0] >> 6
            hdr = 3 if pdu[1] & 0x80 else 2
            enc = " ENCRYPTED" if flags & 2 else ""
            if direction == "s2c":
                body = pdu[hdr + (8 if flags & 2 else 0):]
                code = FASTPATH_OUT.get(body[0] & 0x0F, f"code{body[0] & 0x0F}") \
                    if body and not enc else "?"
                return f"fast-path output{enc} {code}"
            return f"fast-path input{enc} events={(pdu[0] >> 2) & 0x0F}"
        code = pdu[5]
        if code == 0xE0:
            return "X.224 Connection Request"
        if code == 0xD0:
            neg = parse_x224(pdu).get("neg")
            return "X.224 Connection Confirm" + (f" {neg['type']}" if neg else " (no neg data)")
        if code != 0xF0:
            return f"X.224 code 0x{code:02X}"
        if pdu[7:9] == b"\x7f\x65":
            return "MCS Connect Initial"
        if pdu[7:9] == b"\x7f\x66":
            return "MCS Connect Response"
        mtype = pdu[7] >> 2
        name = MCS_TYPES.get(mtype, f"MCS type {mtype}")
        if mtype not in (25, 26):
            return name
        chan = struct.unpack(">H", pdu[10:12])[0]
        i = 13
        ln = pdu[i]
        i += 1
        if ln & 0x80:
            ln = ((ln & 0x7F) << 8) | pdu[i]
            i += 1
        payload = pdu[i:i + ln]
        label = f"{name} ch={chan}"
        if chan != io_channel and not rdp_security:
            if len(payload) >= 8:
                vlen, vflags = struct.unpack("<II", payload[:8])
                return label + f" virtual channel data len={vlen} flags=0x{vflags:08X}"
            return label + " virtual channel data"
        total = struct.unpack("<H", payload[:2])[0] if len(payload) >= 2 else -1
        if total == len(payload) and len(payload) >= 6:          # share control header
            ptype = struct.unpack("<H", payload[2:4])[0] & 0x0F
            label += f" {SHARE_PDU.get(ptype, f'pduType{ptype}')}"
            if ptype == 7 and len(payload) >= 18:
                t2 = payload[14]
                label += f" {DATA_PDU2.get(t2, f'pduType2={t2}')}"
                if t2 == 20 and len(payload) >= 20:
                    a = struct.unpack("<H", payload[18:20])[0]
                    label += f" {CONTROL_ACTION.get(a, a)}"
            return label
        flags = total
        names = [n for b, n in ((0x0001, "EXCHANGE"), (0x0008, "ENCRYPT"),
                                (0x0040, "INFO"), (0x0080, "LICENSE"),
                                (0x0200, "LICENSE_ENCRYPT"), (0x0400, "REDIRECTION"),
                                (0x0800, "SECURE_CHECKSUM")) if flags & b]
        label += " sec[" + "|".join(names or [f"0x{flags:04X}"]) + "]"
        if chan != io_channel:
            label += " virtual channel"
        if flags & 0x0001:
            label += " SecurityExchange"
        elif flags & 0x0008:
            label += " (encrypted)"
        elif flags & 0x0040:
            label += " ClientInfo"
        elif flags & 0x0080 and len(payload) > 4:
            label += f" {LICENSE_MSG.get(payload[4], hex(payload[4]))}"
        return label
    except (IndexError, struct.error) as e:
        return f"? ({e})"


# ----------------------------------------------------------------------------- helpers
class EventLog:
    """Append-only text log the lab can wait on (until_log / wait_file_regex)."""

    def __init__(self, path: pathlib.Path):
        self.path = path
        self.lock = threading.Lock()
        path.write_text("")

    def write(self, line: str) -> None:
        with self.lock, open(self.path, "a") as f:
            f.write(line.rstrip("\n") + "\n")


class FakeServer(threading.Thread):
    """Accept one connection on 127.0.0.1, record the first PDU, close."""

    def __init__(self, labobj: Lab, name: str):
        super().__init__(daemon=True, name=f"fake-server-{name}")
        self.sock, self.port = labmod.listen_loopback(4)
        self.log = EventLog(labobj.dir / f"fake-server-{name}.log")
        self.pdu: bytes | None = None
        self.error: BaseException | None = None

    def run(self):
        try:
            self.sock.settimeout(IO_TIMEOUT * 2)
            conn, _ = self.sock.accept()
            with conn:
                self.pdu = read_one_pdu(conn)
                self.log.write(f"captured {len(self.pdu)} bytes")
        except BaseException as e:       # reported by the caller
            self.error = e
            self.log.write(f"error {e!r}")
        finally:
            self.sock.close()

    def result(self) -> bytes:
        self.join(IO_TIMEOUT * 2 + 5)
        if self.pdu is None:
            raise LabError(f"fake server captured nothing: {self.error!r}")
        return self.pdu


def fake_client_exchange(port: int, request: bytes) -> bytes:
    """Send one (real, recorded) Connection Request to 127.0.0.1:port, return the
    answer PDU."""
    with socket.create_connection((LOOPBACK, port), timeout=IO_TIMEOUT) as s:
        s.sendall(request)
        return read_one_pdu(s)


def _send_all(sock, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        try:
            n = sock.send(view)
            view = view[n:]
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            if time.monotonic() > deadline:
                raise TimeoutError("send stalled")
            select.select([], [sock], [], 0.05)


class RecordingForwarder(threading.Thread):
    """MITM relay client <-> xrdp that records PDUs per direction (see module doc)."""

    def __init__(self, labobj: Lab, name: str, upstream_port: int,
                 max_pdus: int = SESSION_PDUS, lifetime: float = 60.0):
        super().__init__(daemon=True, name=f"forwarder-{name}")
        self.lab = labobj
        self.upstream_port = upstream_port
        self.max_pdus = max_pdus
        self.lifetime = lifetime
        self.listener, self.port = labmod.listen_loopback(4)
        self.log = EventLog(labobj.dir / f"forwarder-{name}.log")
        self.log_path = self.log.path
        self.records: list = []          # (t, "c2s"/"s2c", bytes)
        self.counts = {"c2s": 0, "s2c": 0}
        self.tls_info: dict = {}
        self.error: BaseException | None = None
        self.closed_by = None
        self._halt = threading.Event()
        self.cert, self.key = labobj.make_cert(f"forwarder-{name}", cn="rdpbridge-capture")

    def stop(self):
        self._halt.set()

    def _record(self, direction: str, pdu: bytes, t0: float):
        if self.counts[direction] < self.max_pdus:
            self.records.append((time.monotonic() - t0, direction, pdu))
            self.counts[direction] += 1
            self.log.write(f"{direction} {self.counts[direction] - 1:02d} {len(pdu)} "
                           f"{pdu_kind(pdu)} {pdu[:8].hex()}")
            if all(c >= self.max_pdus for c in self.counts.values()):
                self.log.write("done: recorded enough")

    def run(self):
        t0 = time.monotonic()
        cli = srv = None
        try:
            self.listener.settimeout(IO_TIMEOUT * 2)
            cli, _ = self.listener.accept()
            srv = socket.create_connection((LOOPBACK, self.upstream_port), timeout=IO_TIMEOUT)
            for s in (cli, srv):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # --- X.224 in plaintext
            cr = read_one_pdu(cli)
            self._record("c2s", cr, t0)
            srv.sendall(cr)
            cc = read_one_pdu(srv)
            self._record("s2c", cc, t0)
            cli.sendall(cc)
            sel = selected_protocol(cc)
            self.log.write(f"x224 selected={sel}")
            if sel is not None and sel & 0x2:
                raise LabError("confirm selected CredSSP: cannot relay, use /sec:tls")
            if sel == 0x1:
                # --- terminate TLS on both legs
                sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                sctx.minimum_version = ssl.TLSVersion.TLSv1
                sctx.set_ciphers("DEFAULT:@SECLEVEL=0")
                sctx.load_cert_chain(str(self.cert), str(self.key))
                cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                cctx.check_hostname = False
                cctx.verify_mode = ssl.CERT_NONE
                cctx.minimum_version = ssl.TLSVersion.TLSv1
                cctx.set_ciphers("DEFAULT:@SECLEVEL=0")
                srv = cctx.wrap_socket(srv, server_side=False, do_handshake_on_connect=True)
                cli = sctx.wrap_socket(cli, server_side=True, do_handshake_on_connect=True)
                self.tls_info = {
                    "client_leg": {"version": cli.version(), "cipher": cli.cipher()[0]},
                    "server_leg": {"version": srv.version(), "cipher": srv.cipher()[0]},
                }
                self.log.write(f"tls {json.dumps(self.tls_info)}")
            self._relay(cli, srv, t0)
        except BaseException as e:
            self.error = e
            self.log.write(f"error {e!r}")
        finally:
            for s in (cli, srv):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass
            self.listener.close()
            self.log.write(f"done: closed ({self.closed_by})")

    def _relay(self, cli, srv, t0):
        cli.setblocking(False)
        srv.setblocking(False)
        peers = {cli: (srv, "c2s", Framer()), srv: (cli, "s2c", Framer())}
        deadline = t0 + self.lifetime
        while not self._halt.is_set() and time.monotonic() < deadline:
            ready = [s for s in peers if isinstance(s, ssl.SSLSocket) and s.pending()]
            if not ready:
                ready, _, _ = select.select(list(peers), [], [], 0.05)
            for s in ready:
                other, direction, framer = peers[s]
                try:
                    data = s.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    continue
                except (ConnectionError, ssl.SSLError, OSError) as e:
                    self.closed_by = f"{direction} source error {e!r}"
                    return
                if not data:
                    self.closed_by = f"{'client' if direction == 'c2s' else 'server'} EOF"
                    return
                for pdu in framer.feed(data):
                    self._record(direction, pdu, t0)
                try:
                    _send_all(other, data, time.monotonic() + IO_TIMEOUT)
                except (ConnectionError, ssl.SSLError, OSError, TimeoutError) as e:
                    self.closed_by = f"{direction} sink error {e!r}"
                    return
        self.closed_by = "stopped" if self._halt.is_set() else "lifetime"

    def result(self) -> list:
        self.stop()
        self.join(15)
        return self.records


# ----------------------------------------------------------------------------- capture
class Capture:
    def __init__(self, out: pathlib.Path, labobj: Lab):
        self.out = out
        self.lab = labobj
        self.summary: dict = {"files": {}, "runs": [],
                              "versions": labmod.tool_versions(labobj.xvfb()),
                              "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                        time.gmtime())}

    def save(self, rel: str, data: bytes, how: str, **extra) -> None:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        entry = {"size": len(data), "how": how, **extra}
        if data[:1] == b"\x03" and len(data) >= 4 and rel.startswith("x224"):
            entry["x224"] = parse_x224(data)
        self.summary["files"][rel] = entry
        print(f"  {rel:45s} {len(data):5d} bytes  {data[:12].hex()}", flush=True)

    def run_note(self, what: str, res, **extra):
        self.summary["runs"].append({"what": what, "argv": res.argv if res else None,
                                     "ended_by": getattr(res, "ended_by", None),
                                     "rc": getattr(res, "returncode", None),
                                     "states": res.states() if res else None,
                                     "errors": (res.error_codes() + res.error_infos())
                                     if res else None, **extra})

    # -- client requests through a fake server
    def client_request(self, rel: str, what: str, client: str, args: list) -> bytes:
        fs = FakeServer(self.lab, rel)
        fs.start()
        until = [(fs.log.path, r"^(captured|error)")]
        if client == "xfreerdp":
            res = self.lab.xfreerdp(fs.port, *args, timeout=20, until_log=until)
            cmd = "xfreerdp /v:127.0.0.1:PORT /cert:ignore /u:labuser /p:*** " \
                  f"/log-level:DEBUG {' '.join(args)}".strip()
        else:
            res = self.lab.rdesktop(fs.port, *args, timeout=20, until_log=until)
            cmd = f"rdesktop -u labuser -p *** {' '.join(args)} 127.0.0.1:PORT".replace("  ", " ")
        pdu = fs.result()
        self.run_note(what, res)
        self.save(rel, pdu, f"{cmd} -> Python fake server (records first PDU, closes)")
        return pdu

    # -- server confirms through a fake client
    def server_confirm(self, rel: str, host, request: bytes, request_name: str) -> bytes:
        mark = host.log_mark()
        cc = fake_client_exchange(host.port, request)
        line = host.wait_log(r"Security protocol: configured", since=mark, timeout=10)
        self.save(rel, cc, f"xrdp profile '{host.profile}' answering the bytes of "
                           f"{request_name} sent by a Python fake client",
                  xrdp_log=line.split("] ", 2)[-1])
        return cc

    # -- sessions through the recording forwarder
    def session(self, subdir: str, host, client: str, args: list, what: str,
                max_pdus: int = SESSION_PDUS, until_server: str = r"connecting to sesman"):
        fwd = RecordingForwarder(self.lab, subdir, host.port, max_pdus=max_pdus)
        fwd.start()
        mark = host.log_mark()
        until = [(host, until_server), (fwd.log_path, r"^done:")]
        if client == "xfreerdp":
            res = self.lab.xfreerdp(fwd.port, *args, timeout=25, until_log=until)
        else:
            res = self.lab.rdesktop(fwd.port, *args, timeout=25, until_log=until)
        records = fwd.result()
        if fwd.error is not None:
            raise LabError(f"forwarder {subdir} failed: {fwd.error!r}\n{res.summary()}")
        if not records:
            raise LabError(f"forwarder {subdir} recorded nothing\n{res.summary()}")
        log_slice = host.log_path.read_bytes()[mark:].decode(errors="replace")
        server_lines = [l.split("] ", 2)[-1] for l in log_slice.splitlines()
                        if re.search(r"Security protocol|connection established|MAC|"
                                     r"connecting to sesman|bit encryption|crypt", l)]
        d = self.out / subdir
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        idx = {"c2s": 0, "s2c": 0}
        manifest = []
        for t, direction, pdu in records:
            name = f"{direction}_{idx[direction]:02d}.bin"
            idx[direction] += 1
            (d / name).write_bytes(pdu)
            manifest.append({"order": len(manifest), "file": name, "t": round(t, 4),
                             "len": len(pdu), "kind": pdu_kind(pdu),
                             "label": describe_pdu(pdu, direction,
                                                   rdp_security=not fwd.tls_info)})
        meta = {"what": what, "client_argv": res.argv, "client_ended_by": res.ended_by,
                "client_states": res.states(),
                "client_errors": res.error_codes() + res.error_infos(),
                "xrdp_profile": host.profile,
                "xrdp_settings": {k: v for k, v in host.settings.items()
                                  if k not in ("port", "certificate", "key_file")},
                "tls": fwd.tls_info or None, "forwarder_closed_by": fwd.closed_by,
                "xrdp_log": server_lines, "pdus": manifest}
        (d / "manifest.json").write_text(json.dumps(meta, indent=1) + "\n")
        self.summary["files"][subdir + "/"] = {
            "count": {k: v for k, v in idx.items()}, "what": what, "tls": fwd.tls_info,
            "client_states_last": (res.states() or [None])[-1]}
        print(f"  {subdir + '/':45s} c2s={idx['c2s']} s2c={idx['s2c']} "
              f"tls={fwd.tls_info or '-'} client={res.ended_by}/{(res.states() or ['-'])[-1]}",
              flush=True)
        return records, res, fwd


def mcs_pdu(records, direction: str, tag: bytes) -> bytes:
    """The first recorded PDU of `direction` whose MCS part starts with `tag` (7F65 /
    7F66) right after TPKT (4) + X.224 data header (3)."""
    for _, d, pdu in records:
        if d == direction and pdu[:1] == b"\x03" and pdu[7:9] == tag:
            return pdu
    raise LabError(f"no {tag.hex()} PDU {direction} in capture")


def _rc4(key: bytes):
    S = list(range(256))
    j = 0
    for i in range(256):
        j = (j + S[i] + key[i % len(key)]) & 255
        S[i], S[j] = S[j], S[i]
    state = [0, 0]

    def crypt(data: bytes) -> bytes:
        i, j = state
        out = bytearray()
        for b in data:
            i = (i + 1) & 255
            j = (j + S[i]) & 255
            S[i], S[j] = S[j], S[i]
            out.append(b ^ S[(S[i] + S[j]) & 255])
        state[:] = [i, j]
        return bytes(out)
    return crypt


def _sdrq_payload(pdu: bytes) -> bytes:
    i = 13
    ln = pdu[i]
    i += 1
    if ln & 0x80:
        ln = ((ln & 0x7F) << 8) | pdu[i]
        i += 1
    return pdu[i:i + ln]


def check_rdp_session(sdir: pathlib.Path, rsakeys: pathlib.Path) -> dict:
    """Decrypt the first encrypted client PDU of a Standard-RDP-Security session capture
    with the fixture key (non-FIPS, MS-RDPBCGR 5.3.4 / 5.3.5.1 / 5.3.6) and check its MAC
    both ways. Proves the capture is self-consistent and usable by unit tests."""
    import hashlib
    text = rsakeys.read_text()

    def field(k):
        return bytes(int(x, 16) for x in
                     re.search(rf"^{k}=(.*)$", text, re.M).group(1).split(","))
    n = int.from_bytes(field("pub_mod"), "little")
    d = int.from_bytes(field("pri_exp"), "little")
    manifest = json.loads((sdir / "manifest.json").read_text())
    files = [p["file"] for p in manifest["pdus"]]
    resp = (sdir / "s2c_01.bin").read_bytes()
    i = resp.index(b"\x02\x0c")
    blk = resp[i + 4:]
    method, level, rlen, clen = struct.unpack("<IIII", blk[:16])
    sr = blk[16:16 + rlen]
    exch = enc_pdu = None
    for f in files:
        if not f.startswith("c2s") or f in ("c2s_00.bin", "c2s_01.bin"):
            continue
        data = (sdir / f).read_bytes()
        if data[0] != 3 or data[7] >> 2 != 25:
            continue
        flags = struct.unpack("<H", _sdrq_payload(data)[:2])[0]
        if flags & 0x0001 and exch is None:
            exch = f
        elif flags & 0x0008 and exch is not None:
            enc_pdu = f
            break
    if exch is None or enc_pdu is None:
        return {"error": "no security exchange / encrypted PDU found"}
    ex = _sdrq_payload((sdir / exch).read_bytes())
    elen = struct.unpack("<I", ex[4:8])[0]
    c = int.from_bytes(ex[8:8 + elen][:(n.bit_length() + 7) // 8], "little")
    cr = pow(c, d, n).to_bytes((n.bit_length() + 7) // 8, "little")[:32]

    def salted(s_, i_):
        return hashlib.md5(s_ + hashlib.sha1(i_ + s_ + cr + sr).digest()).digest()
    pms = cr[:24] + sr[:24]
    ms = salted(pms, b"A") + salted(pms, b"BB") + salted(pms, b"CCC")
    skb = salted(ms, b"X") + salted(ms, b"YY") + salted(ms, b"ZZZ")
    if method != 0x2:
        return {"method": method, "note": "only 128-bit (method 2) is checked here"}
    mac_key = skb[:16]
    client_encrypt = hashlib.md5(skb[32:48] + cr + sr).digest()
    pl = _sdrq_payload((sdir / enc_pdu).read_bytes())
    flags = struct.unpack("<H", pl[:2])[0]
    wire_mac = pl[4:12]
    plain = _rc4(client_encrypt)(pl[12:])

    def mac(salt: bool) -> bytes:
        inner = hashlib.sha1(mac_key + b"\x36" * 40 + struct.pack("<I", len(plain)) + plain
                             + (struct.pack("<I", 0) if salt else b"")).digest()
        return hashlib.md5(mac_key + b"\x5c" * 48 + inner).digest()[:8]
    return {"encryption_method": method, "encryption_level": level,
            "security_exchange": exch, "first_encrypted_c2s": enc_pdu,
            "flags": f"0x{flags:04X}", "client_random": cr.hex(),
            "mac_matches_plain": mac(False) == wire_mac,
            "mac_matches_salted": mac(True) == wire_mac,
            "decrypted_head": plain[:18].hex()}


def check_rdp_session_all(sdir: pathlib.Path, rsakeys: pathlib.Path) -> dict:
    """Decrypt and MAC-check *every* encrypted PDU of a Standard-RDP-Security session
    capture, both directions, slow-path and fast-path, any method (40/56/128-bit, FIPS),
    with the committed key file and generate_kat.py (through rdp_security.Reader). Fails
    (ok=False) on the first PDU whose MAC does not verify. The C++ KATs in
    tests/unit/standard_security_test.cpp do the same with rdp/; this proves the capture
    itself is self-consistent."""
    reader = rdp_security.Reader(rsakeys)
    manifest = json.loads((sdir / "manifest.json").read_text())
    resp = (sdir / "s2c_01.bin").read_bytes()
    i = resp.index(b"\x02\x0c")
    reader.server_security(resp[i + 4:])
    result = {"encryption_method": reader.method, "encryption_level": reader.level,
              "pdus": [], "ok": True}
    for entry in manifest["pdus"]:
        name = entry["file"]
        direction = name[:3]
        pdu = (sdir / name).read_bytes()
        payload = None
        if pdu[0] == 0x03:
            if len(pdu) < 8 or pdu[5] != 0xF0 or (pdu[7] >> 2) not in (25, 26):
                continue
            payload = _sdrq_payload(pdu)
        had_keys = reader.encrypting
        opened = reader.open(direction, pdu, payload)
        if reader.encrypting and not had_keys:
            result["client_random"] = reader.client_random.hex()
            result["security_exchange"] = name
        if opened is None:
            continue
        result["pdus"].append({"file": name, "salted": opened.salted, "mac_ok": opened.mac_ok,
                               "plain_len": len(opened.plain), "head": opened.plain[:8].hex()})
        if not opened.mac_ok:
            result["ok"] = False
            break
        if direction == "c2s" and "labuser".encode("utf-16-le") in opened.plain:
            result["client_info"] = name
    if not reader.encrypting:
        result["ok"] = False
        result["error"] = "no Security Exchange PDU"
    result["encrypted_checked"] = {k: sum(1 for p in result["pdus"] if p["file"][:3] == k)
                                   for k in ("c2s", "s2c")}
    return result


def capture_rdp_levels(cap: "Capture", lab: Lab, out: pathlib.Path,
                       rsakeys: pathlib.Path) -> None:
    """Standard RDP Security at the other crypt levels, with the committed lab key pair
    (xrdp_rsakeys.ini) so the unit tests can decrypt them:
      session_rdp_low/  rdesktop -> forwarder -> xrdp crypt_level=low (40-bit RC4,
                        client -> server encrypted only)
      session_rdp_fips/ xfreerdp /sec:rdp -> forwarder -> xrdp crypt_level=fips (3DES +
                        HMAC-SHA1); rdesktop cannot do FIPS against xrdp (LAB-NOTES)."""
    rk_sha = __import__("hashlib").sha256(rsakeys.read_bytes()).hexdigest()
    low = lab.xrdp("rdp", name="xrdp-rdp-low", rsakeys=rsakeys, crypt_level="low")
    fips = lab.xrdp("rdp", name="xrdp-rdp-fips", rsakeys=rsakeys, crypt_level="fips")
    cases = [
        ("session_rdp_low", low, "rdesktop", [],
         "rdesktop 1.9 -> forwarder (plaintext relay) -> xrdp 'rdp' profile, "
         "crypt_level=low (40-bit RC4; reaches xrdp's login stage)"),
        ("session_rdp_fips", fips, "xfreerdp", ["/sec:rdp"],
         "xfreerdp /sec:rdp -> forwarder (plaintext relay) -> xrdp 'rdp' profile, "
         "crypt_level=fips (3DES/HMAC-SHA1; reaches xrdp's login stage)"),
    ]
    for subdir, host, client, args, what in cases:
        cap.session(subdir, host, client, args, what)
        mpath = out / subdir / "manifest.json"
        meta = json.loads(mpath.read_text())
        meta["rsakeys"] = {"file": "../xrdp_rsakeys.ini", "sha256": rk_sha}
        mpath.write_text(json.dumps(meta, indent=1) + "\n")
        chk = check_rdp_session_all(out / subdir, rsakeys)
        cap.summary["files"][subdir + "/"]["key_check"] = chk
        print(f"  {subdir}: method=0x{chk['encryption_method']:x} "
              f"level={chk['encryption_level']} checked={chk['encrypted_checked']} "
              f"ok={chk['ok']} client_info={chk.get('client_info')}", flush=True)
        if not chk["ok"]:
            raise LabError(f"{subdir}: captured session does not verify: {chk}")


# ----------------------------------------------------------------------------- channels
# The devices FreeRDP redirects in session_channels/: one of each type it can announce here.
# A printer needs no running cupsd when it is named (FreeRDP's CUPS backend asks CUPS only
# when a job is printed); a smart card would need pcscd, so there is none.
# The drive comes first (device id 1); its directory is the lab's, added at run time.
# /client-hostname: the Client Name Request and CS_CORE carry "labclient", not the machine's
# name.
CHANNEL_CLIENT_ARGS = ("/sec:tls", "/client-hostname:labclient", "/drive:share,{share}",
                       "+clipboard", "/serial:COM1,/dev/null", "/parallel:LPT1,/dev/null",
                       "/printer:LabPrinter")

# Names given to the rdpdr messages in file names, by direction and packet.
RDPDR_FILE_NAMES = {
    ("c2s", "CLIENTID_CONFIRM"): "rdpdr_client_announce_reply",
    ("c2s", "CLIENT_NAME"): "rdpdr_client_name_request",
    ("c2s", "CLIENT_CAPABILITY"): "rdpdr_client_core_capability_response",
    ("c2s", "DEVICELIST_ANNOUNCE"): "rdpdr_client_device_list_announce",
    ("s2c", "SERVER_ANNOUNCE"): "rdpdr_server_announce_request",
    ("s2c", "SERVER_CAPABILITY"): "rdpdr_server_core_capability_request",
    ("s2c", "CLIENTID_CONFIRM"): "rdpdr_server_client_id_confirm",
    ("s2c", "USER_LOGGEDON"): "rdpdr_server_user_logged_on",
}


class ChannelSessionNamer:
    """Gives the PDUs of a channel session capture the names that go into their file names
    (c2s_NN_<name>.bin), so that a test finds the Device List Announce by name however the
    numbering moves between captures. PDUs without a name keep the plain c2s_NN.bin."""

    def __init__(self, inj):
        self.inj = inj
        self.current: dict = {}           # (direction, channel id) -> name of the message

    def channel(self, channel_id: int, initiator: int) -> str:
        if channel_id == self.inj.io_channel:
            return "io"
        if channel_id == 1001 + initiator:
            return "user"
        return self.inj.channel_name(channel_id) or str(channel_id)

    def name(self, direction: str, index: int, pdu: bytes) -> str | None:
        R = rdpdr_lab
        if index == 0:
            return "x224_connection_request" if direction == "c2s" else "x224_connection_confirm"
        if pdu[0] != 0x03:
            return None
        if pdu[7:9] == b"\x7f\x65":
            return "mcs_connect_initial"
        if pdu[7:9] == b"\x7f\x66":
            return "mcs_connect_response"
        mcs = pdu[7:]
        kind = R.mcs_type(pdu)
        if kind == 1:
            return "mcs_erect_domain_request"
        if kind == 10:
            return "mcs_attach_user_request"
        if kind == 11:
            return "mcs_attach_user_confirm"
        if kind == R.MCS_CHANNEL_JOIN_REQUEST:
            initiator, channel = struct.unpack(">HH", mcs[1:5])
            return f"mcs_channel_join_request_{self.channel(channel, initiator)}"
        if kind == R.MCS_CHANNEL_JOIN_CONFIRM:
            initiator, channel = struct.unpack(">HH", mcs[2:6])
            return f"mcs_channel_join_confirm_{self.channel(channel, initiator)}"
        sd = R.send_data(pdu)
        if sd is None:
            return None
        if sd.channel_id == self.inj.io_channel:
            return self._io_name(sd.payload)
        return self._channel_name(direction, sd)

    @staticmethod
    def _io_name(payload: bytes) -> str | None:
        flags = struct.unpack("<H", payload[:2])[0] if len(payload) >= 2 else 0
        if flags & 0x0040 and len(payload) > 4 and \
                struct.unpack("<H", payload[:2])[0] != len(payload):
            return "client_info"                      # SEC_INFO_PKT: holds the lab password
        if len(payload) >= 6 and struct.unpack("<H", payload[:2])[0] == len(payload):
            ptype = struct.unpack("<H", payload[2:4])[0] & 0x0F
            if ptype in (1, 3):
                return {1: "demand_active", 3: "confirm_active"}[ptype]
            if ptype == 7 and len(payload) >= 15 and payload[14] in (39, 40):
                return {39: "font_list", 40: "font_map"}[payload[14]]
        return None

    def _channel_name(self, direction: str, sd) -> str:
        R = rdpdr_lab
        name = self.inj.channel_name(sd.channel_id) or str(sd.channel_id)
        total, flags = struct.unpack("<II", sd.payload[:8])
        key = (direction, sd.channel_id)
        if flags & R.CHANNEL_FLAG_FIRST:
            what = f"{name}_data"
            if name == "rdpdr":
                message = sd.payload[8:]
                packet = R.rdpdr_header(message)[2]
                what = RDPDR_FILE_NAMES.get((direction, packet), f"rdpdr_{packet.lower()}")
                if packet == "DEVICELIST_ANNOUNCE" and len(message) >= 8 and \
                        struct.unpack("<I", message[4:8])[0] == 0:
                    what += "_empty"
            self.current[key] = [what, 0]
        entry = self.current.get(key, [f"{name}_data", 0])
        entry[1] += 1
        whole = flags & R.CHANNEL_FLAG_FIRST and flags & R.CHANNEL_FLAG_LAST
        return entry[0] if whole else f"{entry[0]}_chunk{entry[1]}"


def capture_channels(cap: "Capture", lab: Lab, out: pathlib.Path) -> None:
    """session_channels/: a session with static virtual channels and redirected devices.
    xfreerdp (drive, clipboard, serial, parallel, printer) -> ClientSideInjector
    (tests/lab/rdpdr_lab.py) -> 'tls10' xrdp. xrdp has no chansrv, so the injector plays the
    rdpdr server towards the client after the Font Map (Server Announce, Core Capability,
    Client ID Confirm, User Logged On) and FreeRDP announces its devices; the client is ended
    once its Device List Announce with devices has gone by. The injected PDUs are stored like
    the others, flagged "injected" in the manifest and named injected_*."""
    subdir = "session_channels"
    host = lab.xrdp("tls10", name="xrdp-tls10-channels")
    share = lab.dir / "share"
    share.mkdir(exist_ok=True)
    inj = rdpdr_lab.ClientSideInjector(lab, host.port, name="injector-channels")
    mark = host.log_mark()
    args = [a.format(share=share) for a in CHANNEL_CLIENT_ARGS]
    res = lab.xfreerdp(inj.port, *args, timeout=30,
                       until_log=[(inj, rdpdr_lab.DEVICES_ANNOUNCED), (inj, rdpdr_lab.CLOSED)])
    inj.stop()
    if inj.error is not None:
        raise LabError(f"injector failed: {inj.error!r}\n{inj.describe()}\n{res.summary()}")
    announces = inj.device_announces("c2s")
    if not announces or not announces[-1]:
        raise LabError(f"no Device List Announce with devices\n{inj.describe()}\n"
                       f"{res.summary()}")
    log_slice = host.log_path.read_bytes()[mark:].decode(errors="replace")
    server_lines = [l.split("] ", 2)[-1] for l in log_slice.splitlines()
                    if re.search(r"Security protocol|connection established|Adding channel|"
                                 r"connecting to sesman", l)]
    d = out / subdir
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    namer = ChannelSessionNamer(inj)
    idx = {"c2s": 0, "s2c": 0}
    manifest, named = [], {}
    for rec in inj.pdus():
        n = idx[rec.direction]
        idx[rec.direction] += 1
        what = namer.name(rec.direction, n, rec.pdu)
        if what and rec.injected:
            what = "injected_" + what
        fname = f"{rec.direction}_{n:02d}" + (f"_{what}" if what else "") + ".bin"
        (d / fname).write_bytes(rec.pdu)
        label = describe_pdu(rec.pdu, rec.direction)
        sd = rdpdr_lab.send_data(rec.pdu) if rec.pdu[0] == 0x03 else None
        if sd is not None and sd.channel_id != inj.io_channel:
            label += f" [{inj.channel_name(sd.channel_id)}]"
            if what and "rdpdr" in what:
                label += " " + what.removeprefix("injected_")
        entry = {"order": len(manifest), "file": fname, "t": rec.t, "len": len(rec.pdu),
                 "kind": pdu_kind(rec.pdu), "label": label}
        if rec.injected:
            entry["injected"] = True
        manifest.append(entry)
        if what:
            key = what if what not in named else f"{what}_{n:02d}"
            named[key] = fname
    lab_dir = str(lab.dir)
    meta = {
        "what": "xfreerdp with redirected devices -> ClientSideInjector (tests/lab/rdpdr_lab.py:"
                " TLS terminated both legs, rdpdr server PDUs injected towards the client after "
                "the Font Map) -> xrdp 'tls10' profile (TLS 1.0 only, no chansrv)",
        "client_argv": [a.replace(lab_dir, "$LAB") for a in res.argv],
        "client_ended_by": res.ended_by, "client_states": res.states(),
        "client_errors": res.error_codes() + res.error_infos(),
        "xrdp_profile": host.profile,
        "xrdp_settings": {k: v for k, v in host.settings.items()
                          if k not in ("port", "certificate", "key_file")},
        "tls": inj.tls_info, "forwarder_closed_by": inj.closed_by,
        "xrdp_log": server_lines,
        "channels": {"cs_net": [{"name": n, "options": f"0x{o:08X}"} for n, o in inj.channels],
                     "sc_net_io": inj.io_channel, "sc_net": inj.channel_ids},
        "rdpdr_injected": inj.injected,
        "device_announces": [[{"type": dev.type, "type_name": dev.type_name, "id": dev.id,
                               "dos_name": dev.dos_name, "data": dev.data.hex()}
                              for dev in announce] for announce in announces],
        "named": named,
        "pdus": manifest,
    }
    (d / "manifest.json").write_text(json.dumps(meta, indent=1) + "\n")
    cap.run_note("channels session (injector)", res)
    cap.summary["files"][subdir + "/"] = {
        "count": dict(idx), "what": meta["what"], "tls": inj.tls_info,
        "client_states_last": (res.states() or [None])[-1],
        "channels": [n for n, _ in inj.channels],
        "devices": [str(dev) for dev in announces[-1]]}
    print(f"  {subdir + '/':45s} c2s={idx['c2s']} s2c={idx['s2c']} channels="
          f"{inj.channel_names()} devices={[str(x) for x in announces[-1]]}", flush=True)


def verify_tree(out: pathlib.Path) -> list:
    """Each .bin: TPKT (03 00, length == file size); in session dirs fast-path PDUs are
    accepted when their own length field equals the file size."""
    problems = []
    files = sorted(out.glob("*.bin")) + sorted(out.glob("session_*/*.bin"))
    for p in files:
        data = p.read_bytes()
        rel = p.relative_to(out)
        if data[:2] == b"\x03\x00":
            n = struct.unpack(">H", data[2:4])[0]
            if n != len(data):
                problems.append(f"{rel}: TPKT length {n} != size {len(data)}")
        elif rel.parts[0].startswith("session_") and data and data[0] & 3 == 0:
            fr = Framer()
            if fr.feed(data) != [data]:
                problems.append(f"{rel}: fast-path length mismatch")
        else:
            problems.append(f"{rel}: does not start with 03 00")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    ap.add_argument("--keep", action="store_true", help="keep the lab dir")
    ap.add_argument("--only", choices=["rdp-levels", "channels"],
                    help="capture only this group into the existing fixture tree "
                         "(channels: session_channels/; "
                         "rdp-levels: session_rdp_low/ and session_rdp_fips/, with the "
                         "existing xrdp_rsakeys.ini); capture_log.json is updated, not "
                         "replaced")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.monotonic()

    if args.only:
        return main_only(args, out, t_start)

    with Lab("capture", keep=True if args.keep else None) as lab:
        cap = Capture(out, lab)
        print(f"lab dir: {lab.dir}\nfixtures: {out}", flush=True)

        # ---- 1. client Connection Requests
        print("client Connection Requests:", flush=True)
        cr_tls = cap.client_request("x224_cr_freerdp_tls.bin", "FreeRDP /sec:tls CR",
                                    "xfreerdp", ["/sec:tls"])
        cr_nego = cap.client_request("x224_cr_freerdp_nego.bin", "FreeRDP negotiating CR",
                                     "xfreerdp", [])
        cr_rdp = cap.client_request("x224_cr_freerdp_rdp.bin", "FreeRDP /sec:rdp CR",
                                    "xfreerdp", ["/sec:rdp"])
        cr_nla = cap.client_request("x224_cr_freerdp_nla.bin", "FreeRDP /sec:nla CR",
                                    "xfreerdp", ["/sec:nla"])
        cap.client_request("x224_cr_rdesktop.bin", "rdesktop CR", "rdesktop", [])

        # ---- 2. server Connection Confirms (answers to the real requests above)
        print("server Connection Confirms:", flush=True)
        # Standard RDP Security key pair for the "rdp" hosts: a lab key kept with the
        # fixtures (so tests can decrypt the captured client random), not the machine's
        # /etc/xrdp/rsakeys.ini. Reused on re-runs.
        rsakeys = out / "xrdp_rsakeys.ini"
        if not rsakeys.exists():
            rsakeys.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(lab.make_rsakeys("fixture-rsakeys", bits=2048), rsakeys)
        tls10 = lab.xrdp("tls10")
        modern = lab.xrdp("modern")
        rdp = lab.xrdp("rdp", rsakeys=rsakeys)            # crypt_level=high
        cap.server_confirm("x224_cc_xrdp_tls.bin", tls10, cr_tls, "x224_cr_freerdp_tls.bin")
        cap.server_confirm("x224_cc_xrdp_modern.bin", modern, cr_nego,
                           "x224_cr_freerdp_nego.bin")
        cap.server_confirm("x224_cc_xrdp_rdp_failure.bin", rdp, cr_tls,
                           "x224_cr_freerdp_tls.bin")
        cap.server_confirm("x224_cc_xrdp_rdp.bin", rdp, cr_rdp, "x224_cr_freerdp_rdp.bin")
        # xrdp's "rdp" profile does not refuse a TLS-only request with RDP_NEG_FAILURE (it
        # answers RDP_NEG_RSP selecting PROTOCOL_RDP, see README). xrdp 0.9.21 sends a
        # genuine RDP_NEG_FAILURE only with security_layer=tls when an RDP_NEG_REQ lacks
        # PROTOCOL_SSL. No client here sends that (FreeRDP /sec:rdp sends no RDP_NEG_REQ,
        # /sec:nla asks SSL|HYBRID), so derive one from FreeRDP's /sec:tls request with
        # requestedProtocols = PROTOCOL_RDP (0); the server's answer is real.
        assert cr_tls[-8:-4] == b"\x01\x00\x08\x00", cr_tls.hex()
        cr_derived = cr_tls[:-4] + struct.pack("<I", 0)
        cap.save("x224_cr_derived_neg_rdp.bin", cr_derived,
                 "DERIVED, not captured: x224_cr_freerdp_tls.bin with requestedProtocols "
                 "set to 0 (PROTOCOL_RDP)")
        cap.server_confirm("x224_cc_xrdp_tls_failure.bin", tls10, cr_derived,
                           "x224_cr_derived_neg_rdp.bin")
        # the "rdp" host answering a request that carries RDP_NEG_REQ(PROTOCOL_RDP)
        cap.server_confirm("x224_cc_xrdp_rdp_negrsp.bin", rdp, cr_derived,
                           "x224_cr_derived_neg_rdp.bin")
        # ... and a request without any RDP_NEG_REQ gets a bare confirm, then a close
        cap.server_confirm("x224_cc_xrdp_tls_noneg.bin", tls10, cr_rdp,
                           "x224_cr_freerdp_rdp.bin")

        # ---- 3. MCS Connect Initial / Response + sessions through the forwarder
        print("sessions through the recording forwarder:", flush=True)
        recs, res, _ = cap.session(
            "session_rdp", rdp, "xfreerdp", ["/sec:rdp"],
            "xfreerdp /sec:rdp -> forwarder (plaintext relay) -> xrdp 'rdp' profile, "
            "crypt_level=high (FreeRDP 2.11 then fails xrdp's MAC check, see LAB-NOTES)")
        cap.save("mcs_connect_initial_freerdp.bin", mcs_pdu(recs, "c2s", b"\x7f\x65"),
                 "session_rdp capture (xfreerdp /sec:rdp via recording forwarder to the "
                 "'rdp' xrdp, crypt_level=high): first c2s PDU with MCS tag 7F65",
                 gcc_blocks=gcc_blocks(mcs_pdu(recs, "c2s", b"\x7f\x65")))
        cap.save("mcs_connect_response_xrdp_rdp.bin", mcs_pdu(recs, "s2c", b"\x7f\x66"),
                 "session_rdp capture: first s2c PDU with MCS tag 7F66",
                 gcc_blocks=gcc_blocks(mcs_pdu(recs, "s2c", b"\x7f\x66")))

        cap.session(
            "session_rdp_rdesktop", rdp, "rdesktop", [],
            "rdesktop 1.9 -> forwarder (plaintext relay) -> xrdp 'rdp' profile, "
            "crypt_level=high (reaches xrdp's login stage)")

        recs, res, fwd = cap.session(
            "session_tls", tls10, "xfreerdp", ["/sec:tls"],
            "xfreerdp /sec:tls -> forwarder (TLS terminated both legs) -> xrdp 'tls10' "
            "profile (TLS 1.0 only)")
        cap.save("mcs_connect_initial_freerdp_tls.bin", mcs_pdu(recs, "c2s", b"\x7f\x65"),
                 "session_tls capture (xfreerdp /sec:tls via TLS-terminating forwarder to "
                 "the 'tls10' xrdp): first c2s PDU with MCS tag 7F65, decrypted",
                 gcc_blocks=gcc_blocks(mcs_pdu(recs, "c2s", b"\x7f\x65")),
                 tls=fwd.tls_info)
        cap.save("mcs_connect_response_xrdp_tls.bin", mcs_pdu(recs, "s2c", b"\x7f\x66"),
                 "session_tls capture: first s2c PDU with MCS tag 7F66, decrypted",
                 gcc_blocks=gcc_blocks(mcs_pdu(recs, "s2c", b"\x7f\x66")),
                 tls=fwd.tls_info)

        for sd in ("session_rdp", "session_rdp_rdesktop"):
            chk = check_rdp_session(out / sd, rsakeys)
            cap.summary["files"][sd + "/"]["key_check"] = chk
            print(f"  {sd}: key check {chk}", flush=True)

        # ---- 4. Standard RDP Security at crypt_level=low and fips (same key pair)
        print("Standard RDP Security levels:", flush=True)
        capture_rdp_levels(cap, lab, out, rsakeys)

        # ---- 5. a session with channels and redirected devices (rdpdr injected)
        print("channels and redirected devices:", flush=True)
        capture_channels(cap, lab, out)
        problems = verify_tree(out)
        cap.summary["verify_problems"] = problems
        cap.summary["elapsed_s"] = round(time.monotonic() - t_start, 2)
        (out / "capture_log.json").write_text(json.dumps(cap.summary, indent=1) + "\n")
        print(f"verify: {'OK' if not problems else problems}")
        print(f"elapsed {cap.summary['elapsed_s']} s")
        if problems:
            lab.mark_failed()
            return 1
    return 0


def main_only(args, out: pathlib.Path, t_start: float) -> int:
    """--only GROUP: capture one group into an existing tree, merging capture_log.json."""
    rsakeys = out / "xrdp_rsakeys.ini"
    if not rsakeys.exists():
        print(f"{rsakeys} missing: run a full capture first", file=sys.stderr)
        return 2
    log_path = out / "capture_log.json"
    with Lab("capture", keep=True if args.keep else None) as lab:
        cap = Capture(out, lab)
        if log_path.exists():
            old = json.loads(log_path.read_text())
            cap.summary["files"] = old.get("files", {})
            cap.summary["runs"] = old.get("runs", [])
            cap.summary["versions_" + args.only] = cap.summary.pop("versions")
            cap.summary["versions"] = old.get("versions")
            cap.summary["date_utc_" + args.only] = cap.summary.pop("date_utc")
            cap.summary["date_utc"] = old.get("date_utc")
            for k, v in old.items():
                cap.summary.setdefault(k, v)
        print(f"lab dir: {lab.dir}\nfixtures: {out}", flush=True)
        if args.only == "rdp-levels":
            capture_rdp_levels(cap, lab, out, rsakeys)
        elif args.only == "channels":
            capture_channels(cap, lab, out)
        problems = verify_tree(out)
        cap.summary["verify_problems"] = problems
        cap.summary["elapsed_s_" + args.only] = round(time.monotonic() - t_start, 2)
        log_path.write_text(json.dumps(cap.summary, indent=1) + "\n")
        print(f"verify: {'OK' if not problems else problems}")
        if problems:
            lab.mark_failed()
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
