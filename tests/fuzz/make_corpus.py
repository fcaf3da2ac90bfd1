#!/usr/bin/env python3
"""Writes the fuzz seed corpora, tests/fuzz/corpus/<target>/<sha1>, from the captured PDUs in
tests/fixtures/ (see its README). Each seed is in its harness's input format (described at the
top of tests/fuzz/fuzz_<target>.cpp). Re-run after the fixtures are re-captured:

    python3 tests/fuzz/make_corpus.py            # replaces the corpora it makes in tests/fuzz/corpus/
    python3 tests/fuzz/make_corpus.py --out DIR  # elsewhere
"""
import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
MAX_SEEDS = 99


def read(path):
    with open(path, "rb") as f:
        return f.read()


def session_pdus(session_dir):
    """(direction, label, bytes) in capture order."""
    manifest = json.load(open(os.path.join(session_dir, "manifest.json")))
    out = []
    for p in sorted(manifest["pdus"], key=lambda p: p["order"]):
        out.append((p["file"][:3], p.get("label", ""), read(os.path.join(session_dir, p["file"]))))
    return out


def x224_payload(frame):
    """The X.224 Data payload of a TPKT frame, or None."""
    if len(frame) >= 7 and frame[0] == 3 and frame[4] == 2 and frame[5] == 0xF0:
        return frame[7:]
    return None


def ber_tlv(data, pos):
    """(tag, value_start, value_end) of the BER TLV at pos."""
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:
        tag = tag << 8 | data[pos]
        pos += 1
    length = data[pos]
    pos += 1
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    return tag, pos, pos + length


def gcc_user_data(payload):
    """The userData octet string of an MCS Connect Initial/Response payload."""
    tag, start, end = ber_tlv(payload, 0)
    fields = {0x7F65: 6, 0x7F66: 3}[tag]
    pos = start
    for _ in range(fields):
        _, _, pos = ber_tlv(payload, pos)
    _, s, e = ber_tlv(payload, pos)
    return payload[s:e]


def gcc_blocks(user_data):
    """{type: body} of the data blocks after the GCC preamble (found by their headers)."""
    # The blocks are the tail of the user data; find the first block type that parses through.
    for start in range(len(user_data) - 4):
        pos, blocks = start, {}
        while pos + 4 <= len(user_data):
            t, n = struct.unpack_from("<HH", user_data, pos)
            if n < 4 or pos + n > len(user_data) or (t & 0xFF00) not in (0xC000, 0x0C00):
                break
            blocks.setdefault(t, user_data[pos + 4:pos + n])
            pos += n
        if pos == len(user_data) and blocks:
            return blocks
    return {}


def send_data_user_data(payload):
    """User data of an MCS Send Data Request/Indication payload, or None."""
    if not payload or payload[0] >> 2 not in (25, 26) or len(payload) < 7:
        return None
    pos = 6
    length = payload[pos]
    pos += 1
    if length & 0x80:
        length = (length & 0x7F) << 8 | payload[pos]
        pos += 1
    return payload[pos:pos + length]


def der(tag, value):
    """A DER TLV (lengths up to 0xFFFF)."""
    n = len(value)
    length = bytes([n]) if n < 0x80 else (bytes([0x81, n]) if n < 0x100 else
                                          bytes([0x82]) + struct.pack(">H", n))
    return bytes([tag]) + length + value


def ts_request(version, token=None, auth_info=None, pub_key_auth=None):
    """A TSRequest with the given fields ([MS-CSSP] 2.2.1)."""
    body = der(0xA0, der(0x02, bytes([version])))
    if token is not None:
        body += der(0xA1, der(0x30, der(0x30, der(0xA0, der(0x04, token)))))
    if auth_info is not None:
        body += der(0xA2, der(0x04, auth_info))
    if pub_key_auth is not None:
        body += der(0xA3, der(0x04, pub_key_auth))
    return der(0x30, body)


def nego_tokens(ts_request):
    """The negoTokens of a TSRequest ([MS-CSSP] 2.2.1), or [] when it carries none."""
    tag, pos, end = ber_tlv(ts_request, 0)
    while tag == 0x30 and pos < end:
        field, start, pos = ber_tlv(ts_request, pos)
        if field != 0xA1:
            continue
        _, start, stop = ber_tlv(ts_request, start)  # SEQUENCE OF
        tokens = []
        while start < stop:
            _, item, start = ber_tlv(ts_request, start)  # NegoData
            _, value, _ = ber_tlv(ts_request, item)  # [0]
            _, s, e = ber_tlv(ts_request, value)  # OCTET STRING
            tokens.append(ts_request[s:e])
        return tokens
    return []


# RFC 2743 mechanism OIDs, content octets only (rdp/gss_token.hpp).
SPNEGO_OID = bytes([0x2B, 0x06, 0x01, 0x05, 0x05, 0x02])
KRB5_OID = bytes([0x2A, 0x86, 0x48, 0x86, 0xF7, 0x12, 0x01, 0x02, 0x02])


# The channel policy's harnesses, from the sessions' connect PDUs and static channel data
# (session_channels: rdpdr with a drive, two ports and a printer; rdpsnd, cliprdr, drdynvc).

def payloads_of(pdus):
    """(direction, label, X.224 Data payload or None) of a session's PDUs."""
    return [(d, label, x224_payload(b)) for d, label, b in pdus]


def channel_chunks(pdus, direction, marker):
    """The Send Data user data of the static channel PDUs whose label has `marker`."""
    chunks = [send_data_user_data(p) for d, label, p in payloads_of(pdus)
              if d == direction and p and marker in label]
    return [c for c in chunks if c is not None]


def channel_network_seeds(per_session, add):
    for pdus in per_session.values():
        payloads = payloads_of(pdus)
        ci = next((p for d, _, p in payloads if d == "c2s" and p and p[:2] == b"\x7f\x65"), None)
        cr = next((p for d, _, p in payloads if d == "s2c" and p and p[:2] == b"\x7f\x66"), None)
        cs_net = gcc_blocks(gcc_user_data(ci)).get(0xC003) if ci else None
        sc_net = gcc_blocks(gcc_user_data(cr)).get(0x0C03) if cr else None
        if cs_net is None or sc_net is None:
            continue
        # mode, choice: no rules; deny cliprdr; allow nothing; allow rdpdr; deny one of the
        # input's own names with device rules; allow one with printers only; devices only; a
        # host answering with too many ids; deny every fixed name but one.
        for mode, choice in ((0, 0), (1, 0x04), (2, 0), (3, 0), (0x0C, 0x80), (0x13, 0x82),
                             (0x08, 0), (0x21, 0x04), (0x0F, 0x01)):
            add("fuzz_channel_network",
                bytes([mode, choice]) + struct.pack("<H", len(cs_net)) + cs_net + sc_net)


def channel_reassembly_seeds(per_session, add):
    for pdus in per_session.values():
        for direction in ("c2s", "s2c"):
            chunks = [c for c in channel_chunks(pdus, direction, "virtual channel data")
                      if len(c) <= 255]
            if not chunks:
                continue
            pieces = b"".join(bytes([len(c)]) + c for c in chunks)
            # limit selector, chunk size, chunk flags: 255; 1600 with SHOW_PROTOCOL; 8; 4096
            # with chunks of one byte.
            for limit, size, flags in ((4, 16, 0), (5, 0, 0x10), (2, 200, 0), (6, 1, 0)):
                add("fuzz_channel_reassembly",
                    bytes([limit, size]) + struct.pack("<I", flags) + pieces)
        announce = device_list_announce(pdus)
        if announce:
            add("fuzz_channel_reassembly", bytes([5, 64]) + struct.pack("<I", 0) +
                b"".join(bytes([len(c)]) + c for c in announce_in_three(announce)))


def device_list_announce(pdus):
    """The client's (last) rdpdr Device List Announce message, or None."""
    for chunk in reversed(channel_chunks(pdus, "c2s", "[rdpdr]")):
        if chunk[8:12] == b"rDAD":
            return chunk[8:]
    return None


def announce_in_three(announce):
    """An rdpdr message in three chunks, FIRST, neither and LAST, as Send Data user data."""
    third = len(announce) // 3
    return [struct.pack("<II", len(announce), flags) + part
            for flags, part in ((1, announce[:third]), (0, announce[third:2 * third]),
                                (2, announce[2 * third:]))]


def rdpdr_seeds(per_session, add):
    for pdus in per_session.values():
        chunks = channel_chunks(pdus, "c2s", "[rdpdr]")
        if not chunks:
            continue
        messages = b"".join(struct.pack("<H", len(c) - 8) + c[8:] for c in chunks)
        raw = b"".join(struct.pack("<H", len(c)) + c for c in chunks)
        split = b"".join(struct.pack("<H", len(c)) + c
                         for c in announce_in_three(device_list_announce(pdus)))
        for seed in (0, 7):
            # mode: device rules 0-7; bit 4 compressed, bit 5 SHOW_PROTOCOL; bit 3: raw chunks.
            for mode in (0, 1, 2, 3, 4, 5, 6, 7, 0x10, 0x20):
                add("fuzz_rdpdr", bytes([mode]) + struct.pack("<I", seed) + messages)
            for mode in (0x08, 0x09, 0x0B, 0x0E):
                add("fuzz_rdpdr", bytes([mode]) + struct.pack("<I", seed) + raw)
                add("fuzz_rdpdr", bytes([mode]) + struct.pack("<I", seed) + split)


def bridge_channels_seeds(per_session, add):
    # The streams after the X.224 exchange (mode bit 6: the peers play along with the policy),
    # towards a TLS host, and (bit 3) the channels session's client towards the Standard RDP
    # Security host of session_rdp.
    for name in ("session_channels", "session_tls"):
        pdus = per_session.get(name, [])
        client = b"".join(b for d, _, b in pdus[2:] if d == "c2s")
        host = b"".join(b for d, _, b in pdus[2:] if d == "s2c")
        for mode in (0x40, 0x41, 0x42, 0x43, 0x44, 0x47, 0x51, 0x53, 0x54, 0x65, 0x15, 0x01):
            for chunk_seed in (0, 5):
                header = bytes([mode, 2]) + struct.pack("<IH", chunk_seed, len(client))
                add("fuzz_bridge_channels", header + client + host)
    client = b"".join(b for d, _, b in per_session["session_channels"][2:] if d == "c2s")
    rdp_host = b"".join(b for d, _, b in per_session["session_rdp"][2:] if d == "s2c")
    for mode in (0x48, 0x49, 0x59):
        header = bytes([mode, 2]) + struct.pack("<IH", 0, len(client))
        add("fuzz_bridge_channels", header + client + rdp_host)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(HERE, "corpus"))
    args = ap.parse_args()

    seeds = {}

    def add(target, data):
        seeds.setdefault(target, {})[hashlib.sha1(data).hexdigest()] = data

    singles = sorted(glob.glob(os.path.join(FIXTURES, "*.bin")))
    sessions = sorted(d for d in glob.glob(os.path.join(FIXTURES, "session_*")) if os.path.isdir(d))
    all_pdus = [read(p) for p in singles]
    per_session = {os.path.basename(d): session_pdus(d) for d in sessions}
    for pdus in per_session.values():
        all_pdus += [b for _, _, b in pdus]

    connect_payloads = []
    for frame in all_pdus:
        payload = x224_payload(frame)
        if frame[:1] == b"\x03" and len(frame) > 4 and frame[5] & 0xF0 in (0xE0, 0xD0):
            add("fuzz_x224", frame)  # Connection Request / Confirm
        if payload is not None and payload[:2] in (b"\x7f\x65", b"\x7f\x66"):
            connect_payloads.append(payload)

    for payload in connect_payloads:
        add("fuzz_mcs_connect", payload)
        add("fuzz_ber_per", bytes([0 if payload[1] == 0x65 else 1]) + payload)
        user_data = gcc_user_data(payload)
        add("fuzz_gcc_blocks", user_data)
        add("fuzz_ber_per", bytes([2]) + user_data)  # PER lengths inside
        blocks = gcc_blocks(user_data)
        if 0x0C02 in blocks:
            add("fuzz_server_security", blocks[0x0C02])
        if 0xC003 in blocks:
            add("fuzz_gcc_blocks", blocks[0xC003])  # also taken whole as a CS_NET body

    for name, pdus in per_session.items():
        for direction in ("c2s", "s2c"):
            stream = b"".join(b for d, _, b in pdus if d == direction)
            for seed in (0, 1, 7):
                add("fuzz_tpkt_framer", bytes([0]) + struct.pack("<I", seed) + stream)
        seen_labels = set()
        for d, label, frame in pdus:
            kind = label.split(" ch=")[0]
            if kind not in seen_labels:  # one PDU of each kind on its own
                seen_labels.add(kind)
                add("fuzz_tpkt_framer", bytes([0]) + struct.pack("<I", 3) + frame)
            if frame[0] & 0x03 == 0:
                add("fuzz_fastpath", frame)
                continue
            payload = x224_payload(frame)
            if payload is None or payload[:1] == b"\x7f":
                continue
            add("fuzz_mcs_domain", payload)
            user_data = send_data_user_data(payload)
            if user_data is None or "encrypted" in label:
                continue
            flags = struct.unpack_from("<H", user_data)[0] if len(user_data) >= 4 else 0
            if flags & 0x0080 or flags & 0x0040 or flags & 0x0001:  # LICENSE / INFO / EXCHANGE
                user_data = user_data[4:]
            add("fuzz_sec_payload", user_data)

        # The host -> client watcher: the host's stream after the X.224 exchange.
        host_stream = b"".join(b for d, _, b in pdus[2:] if d == "s2c")
        for seed in (0, 9):
            add("fuzz_pdu_watch", bytes([0]) + struct.pack("<I", seed) + host_stream)

        # The bridge: the streams after the X.224 exchange, once per kind of host.
        client = b"".join(b for d, _, b in pdus[2:] if d == "c2s")
        host = b"".join(b for d, _, b in pdus[2:] if d == "s2c")
        requested = 1 if name == "session_tls" else 0  # kProtocols index: ssl / rdp
        for back in (0, 1):  # kProtocols index: rdp, ssl
            # flags 0: no auto-logon; 2 and 6: auto-logon with credentials 0 and 1.
            for chunk_seed, flags in ((0, 0), (5, 0), (5, 2), (0, 6)):
                header = bytes([requested, 1, back, 0, flags, 0x1B, 0x42])
                header += struct.pack("<IH", chunk_seed, len(client))
                add("fuzz_bridge", header + client + host)

    # The channel policy's harnesses.
    channel_network_seeds(per_session, add)
    channel_reassembly_seeds(per_session, add)
    rdpdr_seeds(per_session, add)
    bridge_channels_seeds(per_session, add)

    # One Save Session Info PDU (Logon Info Extended with an auto-reconnect cookie), built
    # here: no captured session reaches one. Share Control (6) + Share Data (12) headers,
    # infoType 3, Length, FieldsPresent 1, cbFieldData 28, ARC_SC_PRIVATE_PACKET (28), pad.
    arc = struct.pack("<III", 28, 1, 0x12345678) + bytes(range(16))
    logon = struct.pack("<HI", 2 + 4 + 4 + len(arc), 1) + struct.pack("<I", len(arc)) + arc
    body = struct.pack("<I", 3) + logon + bytes(570)
    share_data = struct.pack("<IBBHBBH", 0x103EA, 0, 1, 0, 0x26, 0, 0)
    pdu = share_data + body
    pdu = struct.pack("<HHH", 6 + len(pdu), 0x17, 1002) + pdu
    share = bytearray(pdu)
    struct.pack_into("<H", share, 6 + 6, len(pdu) - 6)  # uncompressedLength
    add("fuzz_sec_payload", bytes(share))

    # A Set Error Info PDU (errorInfo ERRINFO_LOGOFF_BY_USER 0x0C) in a Send Data Indication,
    # then a Disconnect Provider Ultimatum: built here, no captured session ends that way.
    share = struct.pack("<HHH", 22, 0x17, 1002) + struct.pack("<IBBHBBH", 0x103EA, 0, 1, 4, 0x2F, 0, 0)
    share += struct.pack("<I", 0x0C)
    sdi = bytes([26 << 2]) + struct.pack(">HH", 1, 1003) + bytes([0x70, len(share)]) + share
    dpu = bytes([0x21, 0x80])
    stream = b""
    for payload in (sdi, dpu):
        stream += struct.pack(">BBH", 3, 0, 7 + len(payload)) + bytes([2, 0xF0, 0x80]) + payload
    add("fuzz_pdu_watch", bytes([0]) + struct.pack("<I", 2) + stream)

    # CredSSP (tests/fixtures/credssp/, see its README): every file on its own, and each run's
    # TSRequests of one side back to back, the stream complete_ts_request_size cuts.
    runs = {}
    for path in sorted(glob.glob(os.path.join(FIXTURES, "credssp", "*.bin"))):
        data = read(path)
        add("fuzz_credssp", struct.pack("<I", 0) + data)
        m = re.fullmatch(r"(.+)_(\d+)_(client|server)\.bin", os.path.basename(path))
        if m:
            runs.setdefault((m.group(1), m.group(3)), []).append((int(m.group(2)), data))
    for _, messages in sorted(runs.items()):
        stream = b"".join(data for _, data in sorted(messages))
        for seed in (1, 7):
            add("fuzz_credssp", struct.pack("<I", seed) + stream)

    # The CredSSP server (its fake package completes on the token given by flags bits 1-2 and
    # unseals as the identity, see fuzz_credssp_server.cpp): each captured client's messages as
    # one stream, and whole runs at version 2, where the binding is the fake's public key itself,
    # so that the seeds reach the delegated credentials.
    for (run, side), messages in sorted(runs.items()):
        if side != "client":
            continue
        stream = b"".join(data for _, data in sorted(messages))
        for flags in (2, 3, 10):  # NTLM completes on the 2nd token; HYBRID_EX; a last token
            for seed in (0, 7):
                add("fuzz_credssp_server", bytes([flags]) + struct.pack("<I", seed) + stream)
    for credentials in ("xfreerdp_v6_5_ts_credentials.bin",
                        "built_ts_credentials_restricted_admin.bin"):
        plain = read(os.path.join(FIXTURES, "credssp", credentials))
        stream = (ts_request(2, token=b"N") + ts_request(2, token=b"A", pub_key_auth=b"KEY") +
                  ts_request(2, auth_info=plain))
        for flags in (2, 3):
            add("fuzz_credssp_server", bytes([flags]) + struct.pack("<I", 1) + stream)

    # First tokens and CHALLENGEs (fuzz_gss_token): every captured NTLMSSP token raw, as FreeRDP 2
    # sends it, and inside the initial context token of SPNEGO and of bare Kerberos, which no
    # captured peer sent.
    for path in sorted(glob.glob(os.path.join(FIXTURES, "credssp", "*.bin"))):
        if os.path.basename(path).startswith("built_") or "plaintext" in path:
            continue
        for token in nego_tokens(read(path)):
            add("fuzz_gss_token", token)
            if token[8:9] == b"\x01":  # NEGOTIATE: the first token
                for oid in (SPNEGO_OID, KRB5_OID):
                    add("fuzz_gss_token", der(0x60, der(0x06, oid) + token))

    # Only the corpora made here are replaced: others are written by hand (fuzz_proxy_header's
    # seeds are HAProxy's own headers, which no fixture capture holds).
    for target, files in sorted(seeds.items()):
        d = os.path.join(args.out, target)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        for digest, data in sorted(files.items())[:MAX_SEEDS]:
            with open(os.path.join(d, digest), "wb") as f:
                f.write(data)
        print(f"{target}: {min(len(files), MAX_SEEDS)} seeds")


if __name__ == "__main__":
    main()
