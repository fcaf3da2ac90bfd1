"""Men-in-the-middle for static virtual channel tests: make FreeRDP announce its redirected
devices, and see what of them reaches the host. Standard library only (Python 3.11).

Why this exists: the lab's xrdp runs without sesman/chansrv, so it never opens the rdpdr
channel ([MS-RDPEFS]): no Server Announce, hence FreeRDP never sends its Client Device List
Announce, and a gateway that filters devices would have nothing to filter. Two tools close the
gap, both on 127.0.0.1 at a port the kernel picks, one connection each:

  ClientSideInjector   FreeRDP -> injector -> gateway (or xrdp directly)
      Relays the X.224 request/confirm in plaintext, then terminates TLS on both legs (its own
      self-signed certificate towards the client; no verification towards the gateway), so it
      sees every PDU. It learns the channel ids from the MCS Connect Initial (CS_NET: names in
      order) and Response (SC_NET: ids in the same order). Once the host has sent its Font Map
      (the last PDU of the connection sequence), it plays the rdpdr server towards the client,
      the way a Windows 7 host does:
          Server Announce Request         -> client: Announce Reply + Client Name Request
          on the Client Name Request:
          Server Core Capability Request  -> client: Core Capability Response
          Server Client ID Confirm        -> client: Device List Announce (smart cards only;
                                             FreeRDP holds the other devices back until logon)
          on that first Device List Announce:
          Server User Logged On           -> client: Device List Announce with every device
      The client's answers on rdpdr then go on towards the gateway like any channel data: the
      gateway's policy decides what the host gets. The client <-> gateway leg is always TLS,
      so this works in front of a gateway whatever security its host speaks.

  HostSideRecorder     gateway -> recorder -> xrdp host (TLS, or Standard RDP Security)
      The same relay without injection, between the gateway and the host: towards a TLS host
      it speaks TLS 1.0 with the gateway (like the Windows 7 host behind it) and TLS towards
      xrdp. It records what the host receives: the CS_NET channel names and the rdpdr PDUs,
      decoded. Towards a Standard RDP Security host it relays the bytes as they are, and reads
      them with the host's key pair (rsakeys=, see rdp_security.py): the client random in the
      gateway's Security Exchange, then every PDU towards the host, RC4-decrypted and
      MAC-checked.

Both record the PDUs of both directions in plaintext (`records`: every TPKT PDU and the first
`max_fastpath` fast-path PDUs each way, injected ones marked), reassemble virtual channel
chunks (CHANNEL_FLAG_FIRST .. LAST) per channel and direction, and write an event log
(`log_path`, one line per event) that tests wait on with lab.wait_file_regex or
Lab.run(until_log=(mitm, regex)); no sleeps.

    inj = ClientSideInjector(lab, upstream_port=gw.port)     # started, listening
    res = lab.xfreerdp(inj.port, "/sec:tls", "/drive:share,/tmp/x",
                       until_log=(inj, DEVICES_ANNOUNCED))
    inj.stop()
    inj.device_announces("c2s")   # [[], [Device(drive, 1, 'share'), ...]]
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import select
import socket
import ssl
import struct
import sys
import threading
import time
import warnings
from typing import Optional

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import rdp_security  # noqa: E402
from lab import LOOPBACK, LabError, listen_loopback, wait_file_regex  # noqa: E402

IO_TIMEOUT = 30.0            # a blocked send or handshake on loopback: something is wrong

# ----------------------------------------------------------------------------- constants
PROTOCOL_SSL = 0x1
PROTOCOL_HYBRID = 0x2

MCS_ATTACH_USER_CONFIRM = 11
MCS_CHANNEL_JOIN_REQUEST = 14
MCS_CHANNEL_JOIN_CONFIRM = 15
MCS_SEND_DATA_REQUEST = 25
MCS_SEND_DATA_INDICATION = 26

CS_NET = 0xC003
SC_SEC1 = 0x0C02
SC_NET = 0x0C03

CHANNEL_FLAG_FIRST = 0x01
CHANNEL_FLAG_LAST = 0x02

PDUTYPE_DATA = 7
PDUTYPE2_FONTMAP = 40

# [MS-RDPEFS] 2.2.1.1 RDPDR_HEADER
RDPDR_CTYP_CORE = 0x4472
RDPDR_CTYP_PRN = 0x5052
PACKET_IDS = {
    0x496E: "SERVER_ANNOUNCE",
    0x4343: "CLIENTID_CONFIRM",          # server's Client ID Confirm and client's Announce Reply
    0x434E: "CLIENT_NAME",
    0x4441: "DEVICELIST_ANNOUNCE",
    0x6472: "DEVICE_REPLY",
    0x4952: "DEVICE_IOREQUEST",
    0x4943: "DEVICE_IOCOMPLETION",
    0x5350: "SERVER_CAPABILITY",
    0x4350: "CLIENT_CAPABILITY",
    0x444D: "DEVICELIST_REMOVE",
    0x5043: "PRN_CACHE_DATA",
    0x554C: "USER_LOGGEDON",
    0x5543: "PRN_USING_XPS",
}
PAKID = {name: value for value, name in PACKET_IDS.items()}

# DeviceType of a DEVICE_ANNOUNCE ([MS-RDPEFS] 2.2.1.3), named as the gateway's policy names them
DEVICE_TYPES = {0x01: "serial", 0x02: "parallel", 0x04: "printer", 0x08: "drive",
                0x20: "smartcard"}

# What a Windows 7 / 2008 R2 host announces: RDPDR 1.12 ([MS-RDPEFS] 2.2.2.2). With a minor
# version other than 5, FreeRDP announces only smart cards until the User Logged On PDU.
RDPDR_VERSION_MAJOR = 1
RDPDR_VERSION_MINOR = 0x000C
RDPDR_CLIENT_ID = 2

# Event log lines tests wait on (re.search), see the module doc.
DEVICES_ANNOUNCED = r"^rdpdr c2s DEVICELIST_ANNOUNCE count=[1-9]"   # a non-empty list went by
ANY_DEVICE_LIST = r"^rdpdr c2s DEVICELIST_ANNOUNCE "
CONNECT_INITIAL_SEEN = r"^cs_net "
CLOSED = r"^closed: "


# ----------------------------------------------------------------------------- framing
class Framer:
    """Cuts a byte stream into RDP PDUs: TPKT (first byte 3, big-endian length at 2..3) or
    fast-path (low two bits of the first byte 0; length in byte 1, two bytes if its top bit is
    set). Raises ValueError on anything else."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data: bytes) -> list:
        self.buf += data
        out = []
        while True:
            n = self._needed()
            if n is None or len(self.buf) < n:
                return out
            out.append(bytes(self.buf[:n]))
            del self.buf[:n]

    def _needed(self) -> Optional[int]:
        b = self.buf
        if not b:
            return None
        if b[0] == 0x03:
            if len(b) < 4:
                return None
            n = struct.unpack(">H", b[2:4])[0]
            if n < 4:
                raise ValueError(f"bad TPKT length {n}")
            return n
        if b[0] & 0x03 == 0:
            if len(b) < 2 or (b[1] & 0x80 and len(b) < 3):
                return None
            n = ((b[1] & 0x7F) << 8) | b[2] if b[1] & 0x80 else b[1]
            if n < 2:
                raise ValueError(f"bad fast-path length {n}")
            return n
        raise ValueError(f"neither TPKT nor fast-path: first byte 0x{b[0]:02x}")


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"peer closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def recv_tpkt(sock: socket.socket) -> bytes:
    """Exactly one TPKT from a plain socket: for the X.224 exchange, where reading one byte
    too many would swallow the start of the TLS handshake."""
    head = recv_exact(sock, 4)
    if head[0] != 0x03:
        raise ValueError(f"not a TPKT: {head.hex()}")
    return head + recv_exact(sock, struct.unpack(">H", head[2:4])[0] - 4)


# ----------------------------------------------------------------------------- decoding
def selected_protocol(confirm: bytes) -> Optional[int]:
    """selectedProtocol of the RDP_NEG_RSP in an X.224 Connection Confirm; None when the
    confirm carries none (Standard RDP Security) or an RDP_NEG_FAILURE."""
    if len(confirm) >= 19 and confirm[11] == 0x02:
        return struct.unpack("<I", confirm[15:19])[0]
    return None


def per_length(data: bytes, pos: int) -> tuple:
    """(length, position after it) of a PER length determinant (one or two bytes)."""
    b = data[pos]
    if b & 0x80:
        return ((b & 0x3F) << 8) | data[pos + 1], pos + 2
    return b, pos + 1


def mcs_pdu(pdu: bytes) -> Optional[bytes]:
    """The MCS part of a TPKT + X.224 Data PDU (None for fast-path and X.224 connection PDUs)."""
    if len(pdu) < 8 or pdu[0] != 0x03 or pdu[5] != 0xF0:
        return None
    return pdu[7:]


def mcs_type(pdu: bytes) -> Optional[int]:
    """The DomainMCSPDU choice of a TPKT PDU, or None (Connect Initial/Response are BER
    application tags 101/102, `7F 65` / `7F 66`, and have none)."""
    mcs = mcs_pdu(pdu)
    if mcs is None or mcs[0] == 0x7F:
        return None
    return mcs[0] >> 2


@dataclasses.dataclass
class SendData:
    kind: int            # MCS_SEND_DATA_REQUEST (client) or MCS_SEND_DATA_INDICATION (host)
    initiator: bytes     # as on the wire (PER: user id - 1001, two bytes)
    channel_id: int
    payload: bytes


def send_data(pdu: bytes) -> Optional[SendData]:
    """Send Data Request / Indication ([T.125] 11.32, 11.33) of a TPKT PDU, or None."""
    kind = mcs_type(pdu)
    if kind not in (MCS_SEND_DATA_REQUEST, MCS_SEND_DATA_INDICATION):
        return None
    mcs = mcs_pdu(pdu)
    n, pos = per_length(mcs, 6)
    return SendData(kind, bytes(mcs[1:3]), struct.unpack(">H", mcs[3:5])[0],
                    bytes(mcs[pos:pos + n]))


def send_data_indication(initiator: bytes, channel_id: int, payload: bytes) -> bytes:
    """A host's Send Data Indication on `channel_id` carrying `payload`, framed in X.224 and
    TPKT the way xrdp frames them (one-byte PER length below 128)."""
    n = len(payload)
    length = bytes([n]) if n < 0x80 else struct.pack(">H", 0x8000 | n)
    mcs = (bytes([MCS_SEND_DATA_INDICATION << 2]) + initiator + struct.pack(">H", channel_id)
           + b"\x70" + length + payload)          # 0x70: priority high, segmentation begin|end
    body = b"\x02\xf0\x80" + mcs                  # X.224 Data TPDU, EOT
    return struct.pack(">BBH", 3, 0, 4 + len(body)) + body


def gcc_user_data(pdu: bytes) -> dict:
    """{block type: body} of the GCC user data of an MCS Connect Initial (after the H.221 key
    "Duca") or Connect Response ("McDn"); {} if the PDU is neither."""
    if pdu[7:9] == b"\x7f\x65":
        key = b"Duca"
    elif pdu[7:9] == b"\x7f\x66":
        key = b"McDn"
    else:
        return {}
    at = pdu.find(key)
    if at < 0:
        return {}
    n, pos = per_length(pdu, at + 4)
    data, blocks, i = pdu[pos:pos + n], {}, 0
    while i + 4 <= len(data):
        btype, blen = struct.unpack("<HH", data[i:i + 4])
        if blen < 4 or i + blen > len(data):
            break
        blocks[btype] = data[i + 4:i + blen]
        i += blen
    return blocks


def cs_net_channels(connect_initial: bytes) -> list:
    """[(name, options)] of the CS_NET block of an MCS Connect Initial, in order; [] when the
    PDU has no CS_NET (a client, or a gateway, that asks for no channel at all)."""
    body = gcc_user_data(connect_initial).get(CS_NET)
    if body is None or len(body) < 4:
        return []
    count = struct.unpack("<I", body[:4])[0]
    out = []
    for i in range(count):
        raw = body[4 + 12 * i:16 + 12 * i]
        if len(raw) < 12:
            break
        name = raw[:8].split(b"\0", 1)[0].decode("ascii", "replace")
        out.append((name, struct.unpack("<I", raw[8:12])[0]))
    return out


def sc_net_channel_ids(connect_response: bytes) -> tuple:
    """(I/O channel id, [channel ids in CS_NET order]) of the SC_NET block of an MCS Connect
    Response; (None, []) if it has none."""
    body = gcc_user_data(connect_response).get(SC_NET)
    if body is None or len(body) < 4:
        return None, []
    io, count = struct.unpack("<HH", body[:4])
    return io, list(struct.unpack(f"<{count}H", body[4:4 + 2 * count]))


def is_font_map(payload: bytes) -> bool:
    """A Font Map PDU ([MS-RDPBCGR] 2.2.1.22): the host's last word of the connection
    sequence. Share Control Header pduType DATA, Share Data Header pduType2 FONTMAP."""
    return (len(payload) >= 15 and struct.unpack("<H", payload[:2])[0] == len(payload)
            and struct.unpack("<H", payload[2:4])[0] & 0x0F == PDUTYPE_DATA
            and payload[14] == PDUTYPE2_FONTMAP)


@dataclasses.dataclass(frozen=True)
class Device:
    """One DEVICE_ANNOUNCE of a Client Device List Announce ([MS-RDPEFS] 2.2.1.3)."""
    type: int
    id: int
    dos_name: str
    data: bytes = b""

    @property
    def type_name(self) -> str:
        return DEVICE_TYPES.get(self.type, f"0x{self.type:x}")

    def __str__(self):
        return f"{self.type_name}/{self.id}/{self.dos_name}"


def rdpdr_header(message: bytes) -> tuple:
    """(component, packet id, name) of an rdpdr message."""
    if len(message) < 4:
        return None, None, "SHORT"
    component, packet = struct.unpack("<HH", message[:4])
    name = PACKET_IDS.get(packet, f"0x{packet:04X}")
    if component == RDPDR_CTYP_PRN:
        name = "PRN_" + name.removeprefix("PRN_")
    elif component != RDPDR_CTYP_CORE:
        name = f"component 0x{component:04X} {name}"
    return component, packet, name


def device_list(message: bytes) -> list:
    """The devices of a Client Device List Announce message (header included)."""
    count = struct.unpack("<I", message[4:8])[0]
    devices, pos = [], 8
    for _ in range(count):
        dtype, did = struct.unpack("<II", message[pos:pos + 8])
        dos = message[pos + 8:pos + 16].split(b"\0", 1)[0].decode("ascii", "replace")
        dlen = struct.unpack("<I", message[pos + 16:pos + 20])[0]
        devices.append(Device(dtype, did, dos, bytes(message[pos + 20:pos + 20 + dlen])))
        pos += 20 + dlen
    return devices


# ----------------------------------------------------------------------------- rdpdr server
def _rdpdr(packet: str, body: bytes = b"") -> bytes:
    return struct.pack("<HH", RDPDR_CTYP_CORE, PAKID[packet]) + body


def server_announce(minor: int = RDPDR_VERSION_MINOR, client_id: int = RDPDR_CLIENT_ID) -> bytes:
    """Server Announce Request ([MS-RDPEFS] 2.2.2.2)."""
    return _rdpdr("SERVER_ANNOUNCE", struct.pack("<HHI", RDPDR_VERSION_MAJOR, minor, client_id))


def server_core_capability(minor: int = RDPDR_VERSION_MINOR) -> bytes:
    """Server Core Capability Request ([MS-RDPEFS] 2.2.2.7) with the five capability sets a
    Windows host sends. Only known set types: FreeRDP 2 stops at an unknown one."""
    general = struct.pack("<IIHHIIIII",
                          0x00000002,        # osType (ignored)
                          0,                 # osVersion
                          1, minor,          # protocolMajorVersion, protocolMinorVersion
                          0x0000FFFF,        # ioCode1: every IRP major function
                          0,                 # ioCode2
                          0x00000007,        # extendedPDU: DEVICE_REMOVE, DISPLAY_NAME,
                                             # USER_LOGGEDON
                          0x00000001,        # extraFlags1: ENABLE_ASYNCIO
                          0)                 # extraFlags2
    general += struct.pack("<I", 0)          # SpecialTypeDeviceCap
    sets = [struct.pack("<HHI", 1, 8 + len(general), 2) + general]     # GENERAL, version 2
    for cap_type, version in ((2, 1), (3, 1), (4, 2), (5, 1)):        # PRINTER PORT DRIVE SMARTCARD
        sets.append(struct.pack("<HHI", cap_type, 8, version))
    return _rdpdr("SERVER_CAPABILITY", struct.pack("<HH", len(sets), 0) + b"".join(sets))


def server_client_id_confirm(minor: int = RDPDR_VERSION_MINOR,
                             client_id: int = RDPDR_CLIENT_ID) -> bytes:
    """Server Client ID Confirm ([MS-RDPEFS] 2.2.2.6)."""
    return _rdpdr("CLIENTID_CONFIRM", struct.pack("<HHI", RDPDR_VERSION_MAJOR, minor, client_id))


def server_user_logged_on() -> bytes:
    """Server User Logged On ([MS-RDPEFS] 2.2.2.5)."""
    return _rdpdr("USER_LOGGEDON")


def channel_chunk(message: bytes) -> bytes:
    """A whole virtual channel message in one chunk: CHANNEL_PDU_HEADER FIRST|LAST + data."""
    return struct.pack("<II", len(message), CHANNEL_FLAG_FIRST | CHANNEL_FLAG_LAST) + message


# ----------------------------------------------------------------------------- plumbing
class EventLog:
    """Append-only text log, one event a line, flushed at once (tests poll it)."""

    def __init__(self, path: pathlib.Path):
        self.path = path
        self.lock = threading.Lock()
        path.write_text("")

    def write(self, line: str) -> None:
        with self.lock, open(self.path, "a") as f:
            f.write(line.rstrip("\n") + "\n")


class Leg:
    """One TCP connection of the man-in-the-middle: plain bytes until start_tls(), then TLS over
    memory BIOs, so that a single thread can select() on both legs' sockets and every byte
    OpenSSL has decrypted is handed out at once (no plaintext left waiting inside an SSL
    object while select() sleeps)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.sock.settimeout(IO_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.tls: Optional[ssl.SSLObject] = None
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.framer = Framer()
        self.closed = False          # the peer sent its TLS close_notify

    def start_tls(self, ctx: ssl.SSLContext, server_side: bool) -> None:
        self.tls = ctx.wrap_bio(self.incoming, self.outgoing, server_side=server_side)
        while True:
            try:
                self.tls.do_handshake()
                self._flush()
                return
            except ssl.SSLWantReadError:
                self._flush()
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("peer closed during the TLS handshake")
                self.incoming.write(data)

    def send(self, data: bytes) -> None:
        if self.tls is None:
            self.sock.sendall(data)
        else:
            self.tls.write(data)
            self._flush()

    def _flush(self) -> None:
        out = self.outgoing.read()
        if out:
            self.sock.sendall(out)

    def receive(self) -> Optional[bytes]:
        """What one socket read brought (plaintext; may be b"" mid-record); None at EOF."""
        data = self.sock.recv(65536)
        if not data:
            return None
        if self.tls is None:
            return data
        self.incoming.write(data)
        return self.decrypted()

    def decrypted(self) -> bytes:
        """Every plaintext byte OpenSSL can produce from what it has been given so far. A
        close_notify from the peer sets `closed` (read() then returns b"" for ever)."""
        out = []
        while not self.closed:
            try:
                chunk = self.tls.read(65536)
            except ssl.SSLWantReadError:
                break
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                chunk = b""
            if not chunk:
                self.closed = True
                break
            out.append(chunk)
        self._flush()        # TLS 1.3 may answer (key update)
        return b"".join(out)

    def version(self) -> Optional[str]:
        return self.tls.version() if self.tls else None

    def cipher(self) -> Optional[str]:
        return self.tls.cipher()[0] if self.tls else None

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


@dataclasses.dataclass
class Record:
    t: float              # seconds since the connection was accepted
    direction: str        # "c2s" (towards the host) or "s2c"
    pdu: bytes
    injected: bool = False


class Mitm(threading.Thread):
    """A recording TLS-terminating relay for one connection (see the module doc). Subclasses
    react to PDUs and whole channel messages (on_pdu, on_channel_message)."""

    role = "mitm"

    def __init__(self, lab, upstream_port: int, *, name: Optional[str] = None,
                 client_tls: Optional[ssl.SSLContext] = None,
                 upstream_tls: Optional[ssl.SSLContext] = None,
                 max_fastpath: int = 200, rsakeys: Optional[pathlib.Path] = None):
        """lab: the Lab whose directory holds the certificate and the event log.
        client_tls / upstream_tls: the contexts of the two legs (defaults: see
        default_server_context / default_client_context).
        max_fastpath: fast-path PDUs recorded per direction (a desktop sends thousands;
        slow-path PDUs are all kept).
        rsakeys: the upstream host's rsakeys.ini. Without TLS, the PDUs towards the host are
        then decrypted and read (records keep them as on the wire); without it, a connection
        without TLS is relayed unread."""
        uname = lab._unique(name or self.role)
        super().__init__(daemon=True, name=uname)
        self.upstream_port = upstream_port
        self.listener, self.port = listen_loopback(4)
        self.log = EventLog(lab.dir / f"{uname}.log")
        self.log_path = self.log.path
        if client_tls is None:
            cert, key = lab.make_cert(f"{uname}-cert", cn=f"rdpbridge-lab-{self.role}")
            client_tls = self.client_context(cert, key)
        self.client_tls = client_tls
        self.upstream_tls = upstream_tls or default_client_context()
        self.max_fastpath = max_fastpath
        self.security = rdp_security.Reader(rsakeys) if rsakeys is not None else None
        self.unreadable: Optional[str] = None   # why reading the RDP-security stream stopped
        self.records: list = []
        self.tls_info: dict = {}
        self.error: Optional[BaseException] = None
        self.closed_by: Optional[str] = None
        self.channels: list = []            # [(name, options)] from the CS_NET
        self.channel_ids: dict = {}         # name -> id, from the SC_NET
        self.io_channel: Optional[int] = None
        self.messages: list = []            # [(direction, channel name, message)]
        self._partial: dict = {}            # (direction, channel id) -> bytearray
        self._fastpath = {"c2s": 0, "s2c": 0}
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._t0 = time.monotonic()
        self.client: Optional[Leg] = None
        self.upstream: Optional[Leg] = None
        self.start()

    def client_context(self, cert, key) -> ssl.SSLContext:
        """The TLS context towards the peer that connects to us."""
        return default_server_context(cert, key)

    # -- for lab.wait_file_regex (duck-typed Proc) and Lab.run(until_log=...)
    def poll(self) -> Optional[int]:
        return None if self.is_alive() else (0 if self.error is None else 1)

    @property
    def returncode(self) -> Optional[int]:
        return self.poll()

    def wait_log(self, regex, timeout: float = 15.0, since: int = 0) -> str:
        """Wait for an event line matching `regex`; return it. Raises LabTimeout, or
        ProcessDied when the connection ended without it."""
        return wait_file_regex(self.log_path, regex, timeout, since=since, proc=self,
                               what=self.name)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def describe(self) -> str:
        return (f"[{self.name} {'running' if self.is_alive() else 'ended'} "
                f"error={self.error!r} closed_by={self.closed_by}]\n{self.log_text()[-3000:]}")

    def stop(self, timeout: float = 10.0) -> None:
        """End the relay (both connections closed) and wait for the thread."""
        self._halt.set()
        for leg in (self.client, self.upstream):
            if leg is not None:
                try:
                    leg.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        try:
            self.listener.shutdown(socket.SHUT_RDWR)     # wakes a thread blocked in accept()
        except OSError:
            pass
        try:
            self.listener.close()
        except OSError:
            pass
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- the connection
    def run(self) -> None:
        try:
            self.listener.settimeout(IO_TIMEOUT * 2)
            sock, peer = self.listener.accept()
            self.listener.close()
            self._t0 = time.monotonic()
            self.client = Leg(sock)
            self.upstream = Leg(socket.create_connection((LOOPBACK, self.upstream_port),
                                                         timeout=IO_TIMEOUT))
            self.log.write(f"accepted {peer[0]}:{peer[1]} -> {LOOPBACK}:{self.upstream_port}")
            if self._x224():
                self.upstream.start_tls(self.upstream_tls, server_side=False)
                self.client.start_tls(self.client_tls, server_side=True)
                self.tls_info = {
                    "client_leg": {"version": self.client.version(),
                                   "cipher": self.client.cipher()},
                    "upstream_leg": {"version": self.upstream.version(),
                                     "cipher": self.upstream.cipher()}}
                self.log.write(f"tls {json.dumps(self.tls_info)}")
            self._relay()
        except BaseException as e:          # reported through error / the log
            if not self._halt.is_set():
                self.error = e
                self.log.write(f"error: {e!r}")
                self.closed_by = self.closed_by or f"error {e!r}"
        finally:
            for leg in (self.client, self.upstream):
                if leg is not None:
                    leg.close()
            try:
                self.listener.close()
            except OSError:
                pass
            how = self.closed_by or ("stopped" if self._halt.is_set() else "?")
            self.log.write(f"closed: {how}")

    def _x224(self) -> bool:
        """Relay the Connection Request and Confirm; True if TLS follows."""
        request = recv_tpkt(self.client.sock)
        self._record("c2s", request)
        self.upstream.send(request)
        confirm = recv_tpkt(self.upstream.sock)
        self._record("s2c", confirm)
        self.client.send(confirm)
        selected = selected_protocol(confirm)
        self.log.write(f"x224 selected={selected}")
        if selected is not None and selected & PROTOCOL_HYBRID:
            raise LabError("the confirm selected CredSSP: run the client with /sec:tls")
        if selected != PROTOCOL_SSL:
            self.log.write("no TLS: relaying Standard RDP Security bytes unread")
        return selected == PROTOCOL_SSL

    def _relay(self) -> None:
        legs = {self.client.sock: (self.client, self.upstream, "c2s"),
                self.upstream.sock: (self.upstream, self.client, "s2c")}
        read = self.client.tls is not None or self.security is not None
        # plaintext that arrived together with the last handshake flight
        for leg, other, direction in legs.values():
            if leg.tls is not None:
                self._pass(direction, leg, other, leg.decrypted())
        while not self._halt.is_set():
            ready, _, _ = select.select(list(legs), [], [], 0.2)
            for sock in ready:
                leg, other, direction = legs[sock]
                try:
                    data = leg.receive()
                except (OSError, ssl.SSLError) as e:
                    self.closed_by = f"{direction} source error {e!r}"
                    return
                if data is None:
                    self.closed_by = ("client" if direction == "c2s" else "upstream") + " EOF"
                    return
                # A peer that went away while we forward (a test ends the client as soon as
                # it has seen what it waited for) ends the relay; it is no error of ours.
                try:
                    if read:
                        self._pass(direction, leg, other, data)
                    else:
                        other.send(data)     # RC4 inside, and no key to read it
                except (OSError, ssl.SSLError) as e:
                    self.closed_by = f"{direction} sink error {e!r}"
                    return
                if leg.closed:
                    self.closed_by = ("client" if direction == "c2s" else "upstream") + \
                        " close_notify"
                    return

    def _pass(self, direction: str, leg: Leg, other: Leg, data: bytes) -> None:
        """Forward whole PDUs only, so that injected PDUs fall between them."""
        for pdu in leg.framer.feed(data):
            self._record(direction, pdu)
            other.send(pdu)
            self._inspect(direction, pdu)

    def inject_to_client(self, pdu: bytes) -> None:
        self._record("s2c", pdu, injected=True)
        self.client.send(pdu)

    # -- recording and decoding
    def _record(self, direction: str, pdu: bytes, injected: bool = False) -> None:
        if pdu[0] != 0x03:
            if self._fastpath[direction] >= self.max_fastpath:
                return
            self._fastpath[direction] += 1
        with self._lock:
            self.records.append(Record(round(time.monotonic() - self._t0, 4), direction, pdu,
                                       injected))

    def _inspect(self, direction: str, pdu: bytes) -> None:
        if pdu[0] == 0x03 and pdu[7:9] == b"\x7f\x65":
            self.channels = cs_net_channels(pdu)
            self.log.write("cs_net " + ",".join(n for n, _ in self.channels))
        elif pdu[0] == 0x03 and pdu[7:9] == b"\x7f\x66":
            self.io_channel, ids = sc_net_channel_ids(pdu)
            self.channel_ids = {n: i for (n, _), i in zip(self.channels, ids)}
            self.log.write(f"sc_net io={self.io_channel} " +
                           ",".join(f"{n}={i}" for n, i in self.channel_ids.items()))
            sec = gcc_user_data(pdu).get(SC_SEC1)
            if self.security is not None and sec is not None and len(sec) >= 16:
                self.security.server_security(sec)
        sd = send_data(pdu) if pdu[0] == 0x03 else None
        payload = sd.payload if sd is not None else None
        if self.security is not None and self.security.method:
            payload = self._open(direction, pdu, payload)
        if payload is not None:
            name = self.channel_name(sd.channel_id)
            if name is not None:
                self._chunk(direction, sd.channel_id, name, payload)
        self.on_pdu(direction, pdu, sd)

    def _open(self, direction: str, pdu: bytes, payload: Optional[bytes]) -> Optional[bytes]:
        """Under Standard RDP Security: the Send Data payload in clear, or None. Only the
        direction towards the host is read (what it receives; the host's screen updates
        would cost a pure-Python RC4 dearly), fast-path input included so that the RC4 state
        keeps step. A MAC that does not verify stops the reading, logged: what follows would
        be noise."""
        if direction != "c2s" or self.unreadable is not None:
            return None
        had_keys = self.security.encrypting
        opened = self.security.open(direction, pdu, payload)
        if self.security.encrypting and not had_keys:
            self.log.write(f"rdp_security method=0x{self.security.method:02x} "
                           f"level={self.security.level}: session keys from the host's key")
        if opened is None:
            return None
        if not opened.mac_ok:
            self.unreadable = f"MAC mismatch on a {direction} PDU of {len(pdu)} bytes"
            self.log.write(f"rdp_security: {self.unreadable}; reading stops")
            return None
        return None if opened.fast_path else opened.plain

    def _chunk(self, direction: str, channel_id: int, name: str, payload: bytes) -> None:
        """Reassemble CHANNEL_PDU_HEADER chunks ([MS-RDPBCGR] 2.2.6.1) into messages."""
        if len(payload) < 8:
            return
        total, flags = struct.unpack("<II", payload[:8])
        key = (direction, channel_id)
        if flags & CHANNEL_FLAG_FIRST:
            self._partial[key] = bytearray()
        part = self._partial.get(key)
        if part is None:
            self.log.write(f"chunk without FIRST on {name} {direction}")
            return
        part += payload[8:]
        if flags & CHANNEL_FLAG_LAST:
            del self._partial[key]
            message = bytes(part)
            if len(message) != total:
                self.log.write(f"{name} {direction}: {len(message)} bytes, header said {total}")
            with self._lock:
                self.messages.append((direction, name, message))
            if name == "rdpdr":
                self._log_rdpdr(direction, message)
            self.on_channel_message(direction, name, message)

    def _log_rdpdr(self, direction: str, message: bytes) -> None:
        _, _, what = rdpdr_header(message)
        line = f"rdpdr {direction} {what}"
        if what == "DEVICELIST_ANNOUNCE" and direction == "c2s":
            devices = device_list(message)
            line += f" count={len(devices)} devices=" + ",".join(map(str, devices))
        self.log.write(line)

    def channel_name(self, channel_id: int) -> Optional[str]:
        for name, cid in self.channel_ids.items():
            if cid == channel_id:
                return name
        return None

    # -- hooks
    def on_pdu(self, direction: str, pdu: bytes, sd: Optional[SendData]) -> None:
        pass

    def on_channel_message(self, direction: str, name: str, message: bytes) -> None:
        pass

    # -- what a test asks
    def channel_names(self) -> list:
        """The channel names of the CS_NET that went by ([] before or without one)."""
        return [n for n, _ in self.channels]

    def channel_messages(self, name: str, direction: str) -> list:
        with self._lock:
            return [m for d, n, m in self.messages if d == direction and n == name]

    def rdpdr_messages(self, direction: str = "c2s") -> list:
        """[(packet name, message)] of the rdpdr channel, in order."""
        return [(rdpdr_header(m)[2], m) for m in self.channel_messages("rdpdr", direction)]

    def device_announces(self, direction: str = "c2s") -> list:
        """Each Client Device List Announce's devices, in order."""
        return [device_list(m) for what, m in self.rdpdr_messages(direction)
                if what == "DEVICELIST_ANNOUNCE"]

    def devices(self, direction: str = "c2s") -> list:
        """Every device announced, over all the Device List Announces."""
        return [d for announce in self.device_announces(direction) for d in announce]

    def pdus(self, direction: Optional[str] = None) -> list:
        with self._lock:
            return [r for r in self.records if direction is None or r.direction == direction]


def tls_versions(ctx: ssl.SSLContext, minimum: Optional[ssl.TLSVersion] = ssl.TLSVersion.TLSv1,
                 maximum: Optional[ssl.TLSVersion] = None) -> ssl.SSLContext:
    """Set a context's versions; TLS 1.0 is the point here, so ssl's deprecation warning for it
    is silenced (also under unittest, which turns warnings back on)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if minimum is not None:
            ctx.minimum_version = minimum
        if maximum is not None:
            ctx.maximum_version = maximum
    return ctx


def default_server_context(cert, key) -> ssl.SSLContext:
    """Towards the peer that connects to us: anything from TLS 1.0 (the gateway's backend
    leg may be held to what the legacy host speaks) with a self-signed certificate."""
    ctx = tls_versions(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def default_client_context() -> ssl.SSLContext:
    """Towards the gateway or xrdp: no verification (lab certificates), TLS 1.0 allowed."""
    ctx = tls_versions(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


# ----------------------------------------------------------------------------- the two tools
class ClientSideInjector(Mitm):
    """FreeRDP -> injector -> gateway/xrdp: plays the rdpdr server towards the client (see the
    module doc), everything else relayed as is."""

    role = "injector"

    def __init__(self, lab, upstream_port: int, *, version_minor: int = RDPDR_VERSION_MINOR,
                 user_logged_on: bool = True, **kw):
        """version_minor: the RDPDR minor version announced (0x000C like Windows 7; 0x0005 makes
        FreeRDP announce every device at once, with no User Logged On).
        user_logged_on: send User Logged On after the client's first Device List Announce."""
        self.version_minor = version_minor
        self.user_logged_on = user_logged_on
        self.initiator: Optional[bytes] = None   # the host's, copied from its Send Data Indications
        self.injected: list = []                 # names of the rdpdr PDUs injected, in order
        super().__init__(lab, upstream_port, **kw)

    def on_pdu(self, direction: str, pdu: bytes, sd: Optional[SendData]) -> None:
        if direction != "s2c" or sd is None:
            return
        if self.initiator is None:
            self.initiator = sd.initiator
        # The Font Map is the host's last PDU of the connection sequence. FreeRDP 2 becomes
        # ACTIVE on it and leaves its read loop at once (rdp_recv_callback returns 2), then
        # connects its channel plugins (freerdp_channels_post_connect) before it reads the
        # next PDU: an rdpdr PDU sent right behind the Font Map finds rdpdr open. (Sent any
        # earlier, FreeRDP drops it silently: the plugin has not opened its channel yet.)
        if sd.channel_id == self.io_channel and is_font_map(sd.payload) and not self.injected:
            self._inject("SERVER_ANNOUNCE", server_announce(self.version_minor))

    def on_channel_message(self, direction: str, name: str, message: bytes) -> None:
        if direction != "c2s" or name != "rdpdr":
            return
        _, _, what = rdpdr_header(message)
        if what == "CLIENT_NAME":
            # Windows answers the Client Name Request with both at once
            self._inject("SERVER_CAPABILITY", server_core_capability(self.version_minor))
            self._inject("CLIENTID_CONFIRM", server_client_id_confirm(self.version_minor))
        elif (what == "DEVICELIST_ANNOUNCE" and self.user_logged_on
              and "USER_LOGGEDON" not in self.injected):
            self._inject("USER_LOGGEDON", server_user_logged_on())

    def _inject(self, what: str, message: bytes) -> None:
        channel = self.channel_ids.get("rdpdr")
        if channel is None or self.initiator is None:
            self.log.write(f"cannot inject {what}: the client has no rdpdr channel "
                           f"({self.channel_names()})")
            return
        self.inject_to_client(send_data_indication(self.initiator, channel,
                                                   channel_chunk(message)))
        self.injected.append(what)
        self.log.write(f"inject rdpdr {what} channel={channel} len={len(message)}")


class HostSideRecorder(Mitm):
    """gateway -> recorder -> TLS xrdp: records and decodes what the host receives (see the
    module doc). By default it speaks to the gateway what the lab's tls10 xrdp speaks (TLS 1.0
    only, AES-CBC-SHA suites with RSA key exchange, like Windows 7), so that the gateway's
    backend leg is the legacy one it would be without the recorder."""

    role = "recorder"

    def __init__(self, lab, upstream_port: int, *, legacy_front: bool = True, **kw):
        """legacy_front: False accepts any TLS version and suite from the gateway."""
        self.legacy_front = legacy_front
        super().__init__(lab, upstream_port, **kw)

    def client_context(self, cert, key) -> ssl.SSLContext:
        ctx = default_server_context(cert, key)
        if self.legacy_front:
            tls_versions(ctx, ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1)
            ctx.set_ciphers("AES256-SHA:AES128-SHA:@SECLEVEL=0")
        return ctx


__all__ = [
    "ClientSideInjector", "HostSideRecorder", "Mitm", "Device", "Record", "DEVICE_TYPES",
    "DEVICES_ANNOUNCED", "ANY_DEVICE_LIST", "CONNECT_INITIAL_SEEN", "CLOSED",
    "MCS_CHANNEL_JOIN_REQUEST", "MCS_CHANNEL_JOIN_CONFIRM", "MCS_SEND_DATA_REQUEST",
    "MCS_SEND_DATA_INDICATION", "mcs_type", "cs_net_channels", "sc_net_channel_ids",
    "send_data", "send_data_indication",
    "device_list", "rdpdr_header", "server_announce", "server_core_capability",
    "server_client_id_confirm", "server_user_logged_on", "channel_chunk",
]
