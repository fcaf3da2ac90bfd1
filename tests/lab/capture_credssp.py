#!/usr/bin/python3
"""Capture real CredSSP (NLA) exchanges into tests/fixtures/credssp/.

    /usr/bin/python3 tests/lab/capture_credssp.py [--out DIR] [--keep]

Needs (Debian 12): python3-gssapi gss-ntlmssp (NTLM through MIT GSSAPI) for both parts, plus
freerdp2-x11 xvfb (part A) and freerdp2-shadow-x11 winpr-utils (part B). Everything runs on
127.0.0.1 with ports picked at run time, under a Lab (tests/lab/lab.py) that stops every process
it started. README.md in the output directory says what each file is; capture_log.json records
sizes, decoded fields and tool versions of the last run.

Part A, a real client: xfreerdp connects to NlaServer, a Python RDP server that answers the
X.224 Connection Request selecting PROTOCOL_HYBRID, wraps the socket in TLS (a self-signed
certificate made by openssl) and runs CredSSP as the server with gss-ntlmssp as the NTLM
acceptor (users file LAB:labuser:labpass-Secret1). It records every TSRequest both ways and,
being the acceptor, also what the client sealed: the pubKeyAuth plaintext (the binding value)
and the authInfo plaintext (FreeRDP's TSCredentials, holding the lab password). Run three
times: answering CredSSP version 6 (hash binding with a client nonce), version 3 (the public
key echoed), and with a users file holding another password (our server then answers with an
errorCode, and FreeRDP's reaction shows whether it read that encoding).

Part B, a real server: NlaClient, a Python CredSSP client with gss-ntlmssp as the NTLM
initiator, connects to freerdp-shadow-cli /sec:nla (a SAM file made by winpr-hash) and records
the server's TSRequests: its NTLM CHALLENGE, its pubKeyAuth answer, and, with a wrong
password, its errorCode.

The server TSRequests of part A and the client TSRequests of part B are encoded by this script
(the NTLM tokens and sealed values inside come from gss-ntlmssp); the others are the peers'
own bytes. Last, the TSCredentials no client here sends (smart card, Remote Credential Guard,
Restricted Admin mode) are built from [MS-CSSP]'s structures into built_*.bin.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import re
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import lab as labmod  # noqa: E402
from capture_fixtures import EventLog, parse_x224, read_one_pdu  # noqa: E402
from lab import DEFAULT_PASSWORD, DEFAULT_USER, LOOPBACK, Lab, LabError  # noqa: E402

try:
    import gssapi
except ImportError:
    sys.exit("capture_credssp.py needs python3-gssapi and gss-ntlmssp "
             "(apt-get install python3-gssapi gss-ntlmssp); run it with /usr/bin/python3")

DEFAULT_OUT = HERE.parent / "fixtures" / "credssp"
DOMAIN = "LAB"
IO_TIMEOUT = 10.0
NTLM_MECH = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
PROTOCOL_HYBRID = 0x2
CLIENT_MAGIC = b"CredSSP Client-To-Server Binding Hash\0"
SERVER_MAGIC = b"CredSSP Server-To-Client Binding Hash\0"
STATUS_LOGON_FAILURE = 0xC000006D


# ----------------------------------------------------------------------------- DER
def der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + der_length(len(content)) + content


def der_integer(value: int) -> bytes:
    """Minimal two's complement; NTSTATUS values are passed as signed 32-bit numbers."""
    size = 1
    while not -(1 << (8 * size - 1)) <= value < (1 << (8 * size - 1)):
        size += 1
    return tlv(0x02, value.to_bytes(size, "big", signed=True))


def ts_request(version: int, nego_token: bytes | None = None, pub_key_auth: bytes | None = None,
               auth_info: bytes | None = None, error_code: int | None = None,
               client_nonce: bytes | None = None) -> bytes:
    fields = tlv(0xA0, der_integer(version))
    if nego_token is not None:
        fields += tlv(0xA1, tlv(0x30, tlv(0x30, tlv(0xA0, tlv(0x04, nego_token)))))
    if auth_info is not None:
        fields += tlv(0xA2, tlv(0x04, auth_info))
    if pub_key_auth is not None:
        fields += tlv(0xA3, tlv(0x04, pub_key_auth))
    if error_code is not None:
        signed = error_code - (1 << 32) if error_code & 0x80000000 else error_code
        fields += tlv(0xA4, der_integer(signed))
    if client_nonce is not None:
        fields += tlv(0xA5, tlv(0x04, client_nonce))
    return tlv(0x30, fields)


def ts_credentials(domain: str, user: str, password: str) -> bytes:
    creds = b"".join(tlv(0xA0 + i, tlv(0x04, s.encode("utf-16-le")))
                     for i, s in enumerate((domain, user, password)))
    return tlv(0x30, tlv(0xA0, der_integer(1)) + tlv(0xA1, tlv(0x04, tlv(0x30, creds))))


def utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def built_ts_credentials() -> dict[str, tuple[bytes, str]]:
    """TSCredentials no client here sends, built from [MS-CSSP] 2.2.1.2: file name ->
    (bytes, how). Deterministic, so re-runs leave them unchanged."""
    def creds(cred_type: int, inner: bytes) -> bytes:
        return tlv(0x30, tlv(0xA0, der_integer(cred_type)) + tlv(0xA1, tlv(0x04, inner)))

    def field(n: int, content: bytes) -> bytes:
        return tlv(0xA0 + n, content)

    csp_data = tlv(0x30, field(0, der_integer(1))                     # keySpec AT_KEYEXCHANGE
                   + field(1, tlv(0x04, utf16("LAB CARD")))
                   + field(2, tlv(0x04, utf16("LAB READER 0")))
                   + field(3, tlv(0x04, utf16("lab-container")))
                   + field(4, tlv(0x04, utf16("Microsoft Base Smart Card Crypto Provider"))))
    smart_card = tlv(0x30, field(0, tlv(0x04, utf16("123456")))          # pin
                     + field(1, csp_data)
                     + field(2, tlv(0x04, utf16(DEFAULT_USER)))          # userHint
                     + field(3, tlv(0x04, utf16(DOMAIN))))               # domainHint
    logon_cred = tlv(0x30, field(0, tlv(0x04, utf16("Kerberos")))        # packageName
                     + field(1, tlv(0x04, bytes(range(32)))))            # credBuffer
    remote_guard = tlv(0x30, field(0, logon_cred))
    return {
        "built_ts_credentials_restricted_admin.bin": (
            ts_credentials("", "", ""),
            "BUILT: credType 1 with empty domainName, userName and password, what a client "
            "in Restricted Admin mode sends ([MS-RDPBCGR] 2.2.1.1.1)"),
        "built_ts_credentials_smart_card.bin": (
            creds(2, smart_card),
            "BUILT: credType 2, TSSmartCardCreds (pin 123456, TSCspDataDetail, userHint, "
            "domainHint) per [MS-CSSP] 2.2.1.2.2"),
        "built_ts_credentials_remote_guard.bin": (
            creds(6, remote_guard),
            "BUILT: credType 6, TSRemoteGuardCreds with one logonCred (packageName "
            "\"Kerberos\" in UTF-16LE, a 32-byte dummy credBuffer) per [MS-CSSP] 2.2.1.2.3"),
    }


def read_tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, value_start, value_end) of the one-octet-tag TLV at pos."""
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise ValueError(f"TLV at {pos} runs past the data")
    return tag, pos, pos + length


def children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out = []
    while start < end:
        t, s, e = read_tlv(data, start)
        out.append((t, s, e))
        start = e
    return out


def parse_ts_request(pdu: bytes) -> dict:
    """The fields of a TSRequest, for checking and for capture_log.json (not a validator:
    the C++ decoder under test is that)."""
    tag, s, e = read_tlv(pdu, 0)
    if tag != 0x30 or e != len(pdu):
        raise ValueError(f"not one TSRequest: {pdu[:8].hex()}")
    out: dict = {}
    for t, fs, fe in children(pdu, s, e):
        inner_tag, vs, ve = read_tlv(pdu, fs)
        value = pdu[vs:ve]
        if t == 0xA0:
            out["version"] = int.from_bytes(value, "big", signed=True)
        elif t == 0xA1:
            tokens = []
            for _, is_, ie in children(pdu, vs, ve):            # NegoDataItem SEQUENCE
                _, ts_, te = read_tlv(pdu, is_)                  # [0]
                _, os_, oe = read_tlv(pdu, ts_)                  # OCTET STRING
                tokens.append(pdu[os_:oe])
            out["nego_tokens"] = tokens
        elif t == 0xA2:
            out["auth_info"] = value
        elif t == 0xA3:
            out["pub_key_auth"] = value
        elif t == 0xA4:
            out["error_code"] = int.from_bytes(value, "big", signed=True) & 0xFFFFFFFF
            out["error_code_octets"] = len(value)
        elif t == 0xA5:
            out["client_nonce"] = value
        else:
            raise ValueError(f"unexpected TSRequest field {t:#x}")
    return out


def describe(pdu: bytes) -> dict:
    f = parse_ts_request(pdu)
    d: dict = {"size": len(pdu), "version": f["version"]}
    for token in f.get("nego_tokens", []):
        kind = struct.unpack_from("<I", token, 8)[0] if token[:8] == b"NTLMSSP\0" else None
        d.setdefault("nego_tokens", []).append(
            {"size": len(token),
             "ntlm": {1: "NEGOTIATE", 2: "CHALLENGE", 3: "AUTHENTICATE"}.get(kind, "?")})
    for k in ("auth_info", "pub_key_auth", "client_nonce"):
        if k in f:
            d[k] = len(f[k])
    if "error_code" in f:
        d["error_code"] = f"0x{f['error_code']:08X}"
        d["error_code_octets"] = f["error_code_octets"]
    return d


def subject_public_key(cert_der: bytes) -> bytes:
    """Contents of the certificate's subjectPublicKey BIT STRING, unused-bits octet removed
    (written independently of the C++ helper, which uses OpenSSL, to cross-check it)."""
    _, s, e = read_tlv(cert_der, 0)                    # Certificate
    _, s, e = read_tlv(cert_der, s)                    # tbsCertificate
    fields = children(cert_der, s, e)
    if fields[0][0] == 0xA0:                           # version [0]
        fields = fields[1:]
    _, spki_s, spki_e = fields[5]                      # serial, sig, issuer, validity, subject
    _, bits_s, bits_e = children(cert_der, spki_s, spki_e)[1]
    if cert_der[bits_s] != 0:
        raise ValueError("subjectPublicKey with unused bits")
    return cert_der[bits_s + 1:bits_e]


def client_binding(version: int, public_key: bytes, nonce: bytes) -> bytes:
    return hashlib.sha256(CLIENT_MAGIC + nonce + public_key).digest() if version >= 5 \
        else public_key


def server_binding(version: int, public_key: bytes, nonce: bytes) -> bytes:
    if version >= 5:
        return hashlib.sha256(SERVER_MAGIC + nonce + public_key).digest()
    return bytes([(public_key[0] + 1) & 0xFF]) + public_key[1:]


# ----------------------------------------------------------------------------- I/O
def recv_exact(sock, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"peer closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def read_ts_request(sock) -> bytes:
    """One TSRequest from the TLS stream, cut by its outer DER header (no TPKT)."""
    head = recv_exact(sock, 2)
    if head[0] != 0x30:
        raise ValueError(f"not a TSRequest: {head.hex()}")
    extra = head[1] & 0x7F if head[1] & 0x80 else 0
    head += recv_exact(sock, extra)
    length = int.from_bytes(head[2:], "big") if extra else head[1]
    return head + recv_exact(sock, length)


def connection_confirm(selected: int) -> bytes:
    """TPKT + X.224 Connection Confirm + RDP_NEG_RSP selecting `selected`."""
    neg = struct.pack("<BBHI", 2, 0, 8, selected)
    x224 = bytes([6 + len(neg), 0xD0, 0, 0, 0x12, 0x34, 0]) + neg
    return struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224


class Transcript:
    """TSRequests in the order they crossed the wire, plus the plaintexts we could unseal."""

    def __init__(self):
        self.messages: list[tuple[str, bytes]] = []   # (sender "client"/"server", bytes)
        self.plain: dict[str, tuple[int, bytes]] = {}   # label: (message number, bytes)
        self.notes: dict = {}
        self.server_certificate: bytes | None = None      # DER, as the TLS server sent it


# ----------------------------------------------------------------------------- part A
class NlaServer(threading.Thread):
    """Accepts one RDP connection and runs CredSSP as the server (see module doc)."""

    def __init__(self, lab: Lab, name: str, cert: pathlib.Path, key: pathlib.Path,
                 users_file: pathlib.Path, answer_version: int):
        super().__init__(daemon=True, name=f"nla-server-{name}")
        self.sock, self.port = labmod.listen_loopback(1)
        self.log = EventLog(lab.dir / f"nla-server-{name}.log")
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert), str(key))
        self.public_key = subject_public_key(ssl.PEM_cert_to_DER_cert(cert.read_text()))
        self.users_file = users_file
        self.answer_version = answer_version
        self.t = Transcript()
        self.error: BaseException | None = None

    def run(self):
        try:
            self.sock.settimeout(IO_TIMEOUT * 2)
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(IO_TIMEOUT)
                request = read_one_pdu(conn)
                self.t.notes["x224_request"] = parse_x224(request)
                conn.sendall(connection_confirm(PROTOCOL_HYBRID))
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    self.t.notes["tls"] = f"{tls.version()} {tls.cipher()[0]}"
                    self.credssp(tls)
            self.log.write("done")
        except BaseException as e:               # reported by the caller
            self.error = e
            self.log.write(f"error {e!r}")
        finally:
            self.sock.close()

    def receive(self, tls) -> dict:
        pdu = read_ts_request(tls)
        self.t.messages.append(("client", pdu))
        return parse_ts_request(pdu)

    def send(self, tls, pdu: bytes) -> None:
        self.t.messages.append(("server", pdu))
        tls.sendall(pdu)

    def credssp(self, tls):
        # gss-ntlmssp reads the acceptor's users from this file on every accept
        os.environ["NTLM_USER_FILE"] = str(self.users_file)
        acceptor = gssapi.SecurityContext(usage="accept")
        negotiate = self.receive(tls)
        version = min(self.answer_version, negotiate["version"])
        challenge = acceptor.step(negotiate["nego_tokens"][0])
        self.send(tls, ts_request(version, nego_token=challenge))

        authenticate = self.receive(tls)
        try:
            acceptor.step(authenticate["nego_tokens"][0])
        except gssapi.exceptions.GSSError as e:
            self.t.notes["acceptor_error"] = str(e).splitlines()[0]
            self.send(tls, ts_request(version, error_code=STATUS_LOGON_FAILURE))
            self.log.write("sent errorCode")
            tls.recv(1)                          # wait for the client to close
            return
        nonce = authenticate.get("client_nonce", b"")
        sealed = acceptor.unwrap(authenticate["pub_key_auth"]).message
        self.t.plain["pubkeyauth_plaintext"] = (len(self.t.messages), sealed)
        if sealed != client_binding(version, self.public_key, nonce):
            raise LabError("client pubKeyAuth does not bind to our certificate")
        answer = acceptor.wrap(server_binding(version, self.public_key, nonce), True).message
        self.send(tls, ts_request(version, pub_key_auth=answer))

        credentials = self.receive(tls)
        self.t.plain["ts_credentials"] = (len(self.t.messages),
                                          acceptor.unwrap(credentials["auth_info"]).message)
        self.log.write("credentials received")


# ----------------------------------------------------------------------------- part B
NTLMSSP_NEGOTIATE_UNICODE = 0x1
NTLMSSP_NEGOTIATE_OEM = 0x2


def without_oem_flag(challenge: bytes) -> bytes:
    """FreeRDP 2.11's NTLM server echoes the client's UNICODE|OEM flags in its CHALLENGE
    instead of choosing one, and gss-ntlmssp 1.2.0's initiator then fails with "Invalid
    combinations of negotiate flags". Feed it the CHALLENGE with OEM cleared (the recorded
    bytes stay as the server sent them). Safe: without SPNEGO gss-ntlmssp adds no MIC, the
    only thing that would cover the CHALLENGE's bytes."""
    flags = struct.unpack_from("<I", challenge, 20)[0]
    if flags & NTLMSSP_NEGOTIATE_UNICODE:
        flags &= ~NTLMSSP_NEGOTIATE_OEM
    return challenge[:20] + struct.pack("<I", flags) + challenge[24:]


class NlaClient:
    """A CredSSP client towards a real RDP server (see module doc)."""

    def __init__(self, port: int, request: bytes, password: str, version: int = 6):
        self.port, self.request, self.password, self.version = port, request, password, version
        self.t = Transcript()

    def send(self, tls, pdu: bytes) -> None:
        self.t.messages.append(("client", pdu))
        tls.sendall(pdu)

    def receive(self, tls) -> dict | None:
        try:
            pdu = read_ts_request(tls)
        except (ConnectionError, ssl.SSLError) as e:
            self.t.notes["server_closed"] = repr(e)
            return None
        self.t.messages.append(("server", pdu))
        return parse_ts_request(pdu)

    def run(self) -> Transcript:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        name = gssapi.Name(f"{DOMAIN}\\{DEFAULT_USER}", gssapi.NameType.user)
        creds = gssapi.raw.acquire_cred_with_password(
            name, self.password.encode(), usage="initiate", mechs=[NTLM_MECH]).creds
        initiator = gssapi.SecurityContext(
            name=gssapi.Name("TERMSRV@127.0.0.1", gssapi.NameType.hostbased_service),
            creds=creds, mech=NTLM_MECH, usage="initiate")
        with socket.create_connection((LOOPBACK, self.port), timeout=IO_TIMEOUT) as conn:
            conn.sendall(self.request)
            confirm = read_one_pdu(conn)
            self.t.notes["x224_confirm"] = parse_x224(confirm)
            with ctx.wrap_socket(conn) as tls:
                self.t.notes["tls"] = f"{tls.version()} {tls.cipher()[0]}"
                self.t.server_certificate = tls.getpeercert(binary_form=True)
                public_key = subject_public_key(self.t.server_certificate)
                self.send(tls, ts_request(self.version, nego_token=initiator.step()))
                challenge = self.receive(tls)
                if challenge is None:
                    return self.t
                version = min(self.version, challenge["version"])
                nonce = os.urandom(32)
                authenticate = initiator.step(
                    without_oem_flag(challenge["nego_tokens"][0]))
                binding = initiator.wrap(client_binding(version, public_key, nonce), True)
                self.send(tls, ts_request(self.version, nego_token=authenticate,
                                          pub_key_auth=binding.message,
                                          client_nonce=nonce if version >= 5 else None))
                answer = self.receive(tls)
                if answer is None or "pub_key_auth" not in answer:
                    return self.t
                plain = initiator.unwrap(answer["pub_key_auth"]).message
                self.t.plain["pubkeyauth_plaintext"] = (len(self.t.messages), plain)
                if plain != server_binding(version, public_key, nonce):
                    raise LabError("server pubKeyAuth does not bind to its certificate")
                sealed = initiator.wrap(ts_credentials(DOMAIN, DEFAULT_USER, self.password),
                                        True)
                self.send(tls, ts_request(self.version, auth_info=sealed.message))
                # The server now expects the MCS Connect Initial: the CredSSP run is over.
        return self.t


# ----------------------------------------------------------------------------- capture
class Capture:
    def __init__(self, out: pathlib.Path, lab: Lab):
        self.out = out
        self.lab = lab
        versions = labmod.tool_versions(lab.xvfb())
        for pkg in ("freerdp2-shadow-x11", "gss-ntlmssp", "python3-gssapi", "libgssapi-krb5-2"):
            versions["deb:" + pkg] = subprocess.run(
                ["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True,
                text=True).stdout or None
        self.log: dict = {"files": {}, "runs": {}, "versions": versions,
                          "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    def save(self, name: str, data: bytes, how: str, **extra) -> None:
        (self.out / name).write_bytes(data)
        self.log["files"][name] = {"size": len(data), "how": how, **extra}
        print(f"  {name:42s} {len(data):5d} bytes  {data[:12].hex()}", flush=True)

    def save_transcript(self, prefix: str, t: Transcript, how: dict[str, str]) -> None:
        for i, (sender, pdu) in enumerate(t.messages, 1):
            self.save(f"{prefix}_{i}_{sender}.bin", pdu, how[sender], ts_request=describe(pdu))
        for label, (index, data) in t.plain.items():
            self.save(f"{prefix}_{index}_{label}.bin", data,
                      f"plaintext of message {index}, unsealed by the capture script "
                      "(gss_unwrap)")

    def client_run(self, prefix: str, server: NlaServer, what: str) -> None:
        """xfreerdp against one NlaServer; the client is ended once the server is done."""
        server.start()
        res = self.lab.xfreerdp(server.port, f"/d:{DOMAIN}", "/sec:nla", timeout=30,
                                until_log=[(server.log.path, r"^(done|error)")])
        server.join(IO_TIMEOUT * 2 + 5)
        if server.error is not None:
            raise LabError(f"{prefix}: {server.error!r}\n{res.summary()}")
        self.log["runs"][prefix] = {"what": what, "client_argv": res.argv,
                                    "client_ended_by": res.ended_by,
                                    "client_states": res.states(),
                                    "client_errors": res.error_codes(),
                                    # how FreeRDP read an errorCode it received
                                    "client_read_status": re.findall(
                                        r"received NTSTATUS: (\S+ \[0x[0-9A-Fa-f]+\])",
                                        res.output),
                                    **server.t.notes}
        self.save_transcript(prefix, server.t, {
            "client": "xfreerdp /v:127.0.0.1:PORT /cert:ignore /u:labuser /p:*** /d:LAB "
                      "/sec:nla, recorded by NlaServer",
            "server": "encoded by NlaServer (capture_credssp.py) around gss-ntlmssp's "
                      "tokens / sealed values"})


def make_users_file(lab: Lab, name: str, password: str) -> pathlib.Path:
    path = lab.dir / name
    path.write_text(f"{DOMAIN}:{DEFAULT_USER}:{password}\n")
    return path


def shadow_server(lab: Lab) -> int:
    """freerdp-shadow-cli /sec:nla on a free port, sharing the lab's Xvfb."""
    hashed = subprocess.run(["winpr-hash", "-u", DEFAULT_USER, "-p", DEFAULT_PASSWORD,
                             "-f", "sam"], check=True, capture_output=True, text=True)
    sam = lab.dir / "shadow.sam"
    sam.write_text(hashed.stdout)
    port = labmod.free_port()
    lab.start(["freerdp-shadow-cli", f"/port:{port}", f"/bind-address:{LOOPBACK}", "/sec:nla",
               f"/sam-file:{sam}", "+auth"], "freerdp-shadow", ready_port=port,
              env=lab.client_env())
    return port


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    ap.add_argument("--keep", action="store_true", help="keep the lab dir")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.monotonic()

    with Lab("capture-credssp", keep=True if args.keep else None) as lab:
        cap = Capture(out, lab)
        print(f"lab dir: {lab.dir}\nfixtures: {out}", flush=True)
        cert, key = lab.make_cert("credssp-server", cn="rdpbridge-lab-credssp")
        cap.save("nlaserver_cert.der", ssl.PEM_cert_to_DER_cert(cert.read_text()),
                 "NlaServer's TLS certificate: self-signed RSA-2048 (openssl req), DER")
        good = make_users_file(lab, "users-good", DEFAULT_PASSWORD)
        bad = make_users_file(lab, "users-other-password", "not-" + DEFAULT_PASSWORD)

        print("part A: xfreerdp -> NlaServer", flush=True)
        cap.client_run("xfreerdp_v6", NlaServer(lab, "v6", cert, key, good, 6),
                       "NlaServer answering CredSSP version 6")
        cap.client_run("xfreerdp_v3", NlaServer(lab, "v3", cert, key, good, 3),
                       "NlaServer answering CredSSP version 3 (public key echo)")
        cap.client_run("xfreerdp_logon_failure", NlaServer(lab, "fail", cert, key, bad, 6),
                       "NlaServer whose users file holds another password: it answers the "
                       "AUTHENTICATE with errorCode STATUS_LOGON_FAILURE")

        print("part B: NlaClient -> freerdp-shadow-cli", flush=True)
        port = shadow_server(lab)
        request = (HERE.parent / "fixtures" / "x224_cr_freerdp_nla.bin").read_bytes()
        how = {"server": "freerdp-shadow-cli /sec:nla /sam-file +auth, recorded by NlaClient",
               "client": "encoded by NlaClient (capture_credssp.py) around gss-ntlmssp's "
                         "tokens / sealed values"}
        for prefix, password in (("shadow_v6", DEFAULT_PASSWORD),
                                 ("shadow_logon_failure", "not-" + DEFAULT_PASSWORD)):
            t = NlaClient(port, request, password).run()
            cap.log["runs"][prefix] = {"what": f"NlaClient -> freerdp-shadow-cli, password "
                                               f"{'right' if password == DEFAULT_PASSWORD else 'wrong'}",
                                       **t.notes}
            cap.save_transcript(prefix, t, how)
            if prefix == "shadow_v6":
                cap.save("shadow_cert.der", t.server_certificate,
                         "freerdp-shadow-cli's TLS certificate (self-made at start), DER")

        print("built from the spec:", flush=True)
        for name, (data, how) in built_ts_credentials().items():
            cap.save(name, data, how)

        cap.log["elapsed_s"] = round(time.monotonic() - t_start, 2)
        (out / "capture_log.json").write_text(json.dumps(cap.log, indent=1) + "\n")
        print(f"elapsed {cap.log['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
