"""Read a Standard RDP Security connection with the host's key pair: the lab's xrdp hosts use a
key pair the lab made (Lab.make_rsakeys, or the committed tests/fixtures/xrdp_rsakeys.ini),
so a tool that sees the bytes between a client (or the gateway) and such a host can decrypt
them. Standard library only (Python 3.11).

Why: towards a Standard RDP Security host everything after the Security Exchange is RC4 (or
3DES) on the wire. A test that must show what such a host *received* (a Device List Announce
without the drive, say) reads it here, on the host's side of the gateway, instead of taking
the gateway's word for it.

The key schedule and the per-direction ciphers are tests/fixtures/kat/generate_kat.py's: the
independent Python implementation of [MS-RDPBCGR] 5.3 written for the known-answer vectors,
so this reader shares no code with rdp/standard_security.cpp, which it checks.

    reader = Reader(rsakeys_path)
    reader.server_security(sc_sec1_body)     # from the MCS Connect Response (SC_SEC1)
    for direction, pdu in pdus:              # every PDU after the X.224 exchange, in order
        opened = reader.open(direction, pdu, send_data_payload_or_None)
        # opened.plain: the PDU's data in clear, its security header removed
"""

from __future__ import annotations

import dataclasses
import importlib.util
import pathlib
import re
import struct
import sys
from typing import Optional

KAT_SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "kat" / "generate_kat.py"

# [MS-RDPBCGR] 2.2.8.1.1.2.1 Basic Security Header flags
SEC_EXCHANGE_PKT = 0x0001
SEC_ENCRYPT = 0x0008
SEC_SECURE_CHECKSUM = 0x0800
# 2.2.8.1.2 fast-path header: the two top bits of the first byte
FASTPATH_SECURE_CHECKSUM = 0x1
FASTPATH_ENCRYPTED = 0x2


def load_kat():
    """tests/fixtures/kat/generate_kat.py as a module (without writing __pycache__ into the
    fixtures directory)."""
    spec = importlib.util.spec_from_file_location("generate_kat", KAT_SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    keep, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.dont_write_bytecode = keep
    return mod


def rsakeys_fields(rsakeys: pathlib.Path) -> dict:
    """pub_exp, pub_mod, pri_exp of an xrdp rsakeys.ini, as little-endian bytes."""
    text = pathlib.Path(rsakeys).read_text()
    return {k: bytes(int(x, 16) for x in
                     re.search(rf"^{k}=(.*)$", text, re.M).group(1).split(","))
            for k in ("pub_exp", "pub_mod", "pri_exp")}


@dataclasses.dataclass
class Opened:
    """One protected PDU, opened."""
    plain: bytes
    mac_ok: bool
    salted: bool
    fast_path: bool


class Reader:
    """Both directions of one connection, from the host's key pair. Feed it every PDU of the
    connection in wire order (the RC4 state runs across slow-path and fast-path PDUs alike)."""

    def __init__(self, rsakeys: pathlib.Path):
        self.kat = load_kat()
        fields = rsakeys_fields(rsakeys)
        self._n = int.from_bytes(fields["pub_mod"], "little")
        self._d = int.from_bytes(fields["pri_exp"], "little")
        self._nbytes = len(fields["pub_mod"])
        self.method = 0                  # encryptionMethod the host chose (0: none, or TLS)
        self.level = 0
        self.server_random = b""
        self.client_random: Optional[bytes] = None
        self._dirs: Optional[dict] = None

    @property
    def encrypting(self) -> bool:
        """True once the Security Exchange has given the session keys."""
        return self._dirs is not None

    def server_security(self, sc_sec1: bytes) -> None:
        """The host's SC_SEC1 block body ([MS-RDPBCGR] 2.2.1.4.3): method, level, random."""
        self.method, self.level, rlen, _ = struct.unpack("<IIII", sc_sec1[:16])
        self.server_random = sc_sec1[16:16 + rlen]

    def open(self, direction: str, pdu: bytes, payload: Optional[bytes]) -> Optional[Opened]:
        """pdu: a whole TPKT or fast-path PDU; payload: for a TPKT one, the user data of its
        MCS Send Data (security header first), or None when it is no Send Data. Returns the PDU
        opened, or None when it carries nothing protected (no Send Data, the Security Exchange,
        a PDU before it, or one without the encryption flag: a licensing PDU, or anything at
        crypt_level=low from the host)."""
        fips = self.method == self.kat.METHOD_FIPS
        if pdu[0] == 0x03:
            if payload is None or self.method == 0 or len(payload) < 4:
                return None
            flags = struct.unpack("<H", payload[:2])[0]
            if flags & SEC_EXCHANGE_PKT:
                self._exchange(payload)
                return None
            if not self.encrypting or not flags & SEC_ENCRYPT:
                return None
            salted = bool(flags & SEC_SECURE_CHECKSUM)
            if fips:
                pad, mac, ct = payload[7], payload[8:16], payload[16:]
            else:
                pad, mac, ct = None, payload[4:12], payload[12:]
            fast_path = False
        else:
            hdr = 3 if pdu[1] & 0x80 else 2
            flags = pdu[0] >> 6
            if not self.encrypting or not flags & FASTPATH_ENCRYPTED:
                return None
            salted = bool(flags & FASTPATH_SECURE_CHECKSUM)
            if fips:
                pad, mac, ct = pdu[hdr + 3], pdu[hdr + 4:hdr + 12], pdu[hdr + 12:]
            else:
                pad, mac, ct = None, pdu[hdr:hdr + 8], pdu[hdr + 8:]
            fast_path = True
        side = self._dirs[direction]
        plain, ok = side.open(ct, mac, pad) if fips else side.open(ct, mac, salted)
        return Opened(plain, ok, salted, fast_path)

    def _exchange(self, payload: bytes) -> None:
        """The client's Security Exchange PDU: its random, encrypted with the host's public
        key (raw RSA, little-endian), gives the session keys."""
        length = struct.unpack("<I", payload[4:8])[0]
        c = int.from_bytes(payload[8:8 + length][:self._nbytes], "little")
        self.client_random = pow(c, self._d, self._n).to_bytes(self._nbytes, "little")[:32]
        keys = self.kat.derive_keys(self.method, self.client_random, self.server_random)
        self._dirs = dict(zip(("c2s", "s2c"), self.kat.client_directions(self.method, keys)))
