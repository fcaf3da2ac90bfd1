"""rdpbridge end-to-end lab: real RDP hosts (xrdp) and clients (FreeRDP, rdesktop)
on loopback, started and stopped by the tests.

Standard library only (Python 3.11, run with /usr/bin/python3).

Rules this module keeps:
  * every process it starts runs in its own process group and is stopped by the lab
    (SIGTERM to the group, then SIGKILL), on close(), on exceptions and at interpreter exit;
  * each Lab owns a fresh temporary directory; it is removed on success and kept (path
    printed to stderr) when the test failed or RDPBRIDGE_KEEP_LAB=1;
  * no sleeps as synchronisation: readiness is a listening port or a log line, each
    polled with short intervals under a bounded deadline; a timeout raises LabTimeout
    with the last log lines.
  * all traffic stays on 127.0.0.1;
  * a process marked `expect_clean_exit` (the gateway under test) must exit 0, printing no
    sanitizer report, when the lab stops it: close() raises LabError otherwise.

Typical use in a unittest:

    from lab import Lab, lab_for_test

    class T(unittest.TestCase):
        def test_tls10(self):
            lab = lab_for_test(self)                 # closed (and kept on failure) by cleanup
            host = lab.xrdp("tls10")
            # end the client once the server has passed the whole connection sequence
            res = lab.xfreerdp(host.port, "/sec:tls",
                               until_log=(host, r"connecting to sesman"))
            self.assertEqual(res.ended_by, "until", res.summary())
            self.assertTrue(res.reached("CONNECTION_STATE_FINALIZATION"), res.summary())

            res = lab.xfreerdp(host.port, "/sec:tls", "/tls-seclevel:3")   # fails by itself
            self.assertEqual(res.error_code(), "ERRCONNECT_TLS_CONNECT_FAILED", res.summary())

or `with Lab("name") as lab: ...` (kept when an exception leaves the block).

An NLA host like Windows 7 / 2008 R2 with NLA on (freerdp-shadow-cli, TLS 1.0 only):

            host = lab.nla_host()                    # {DEFAULT_USER: DEFAULT_PASSWORD}
            res = lab.xfreerdp(host.port, "/sec:nla", f"/d:{DEFAULT_DOMAIN}",
                               until=CLIENT_DESKTOP_UPDATE)
            host.wait_log(SHADOW_NLA_OK)

Host identity (the host reinstalled, or an impostor on its address):

            host = lab.xrdp("rdp", rsakeys=lab.make_rsakeys("old"))   # own RSA key
            key = host.rdp_key()                     # RdpServerKey from the Connect Response
            new = lab.replace_xrdp(host, rsakeys=lab.make_rsakeys("new"))   # same port
            tls = lab.xrdp("tls10"); cert_sha256(tls.cert_path), spki_sha256(tls.cert_path)
            impostor = lab.replace_xrdp(tls, "rdp")  # new certificate too, and RDP security
            mark = impostor.log_mark()               # ... a connection, then:
            impostor.wait_log(XRDP_CONNECTION_CLOSED, since=mark)
            assert impostor.count(XRDP_MCS_CONNECT_INITIAL, since=mark) == 0
"""

from __future__ import annotations

import atexit
import datetime as _dt
import hashlib
import itertools
import os
import pathlib
import re
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from typing import Iterable, Mapping, Optional, Sequence, Union

__all__ = [
    "free_port", "wait_port", "wait_listening", "wait_file_regex", "tail",
    "Lab", "lab_for_test", "Proc", "XrdpHost", "ShadowHost", "ClientResult",
    "LabError", "LabTimeout", "ProcessDied",
    "STATE_FINALIZATION", "STATE_ACTIVE", "XRDP_PROFILES",
    "DEFAULT_USER", "DEFAULT_PASSWORD", "DEFAULT_DOMAIN", "tool_versions",
    "SHADOW_NLA_OK", "SHADOW_NLA_FAILED", "SHADOW_NLA_BAD_PASSWORD", "SHADOW_ACTIVATED",
    "CLIENT_DESKTOP_UPDATE",
    "cert_sha256", "spki_sha256", "RdpServerKey", "rdp_server_key",
    "XRDP_CONNECTION_CLOSED", "XRDP_TLS_ACCEPT_FAILED", "XRDP_NO_MCS_CONNECT_INITIAL",
    "XRDP_MCS_CONNECT_INITIAL", "XRDP_NO_ERECT_DOMAIN", "XRDP_CLIENT_INFO",
]

LOOPBACK = "127.0.0.1"
DEFAULT_USER = "labuser"
DEFAULT_PASSWORD = "labpass-Secret1"
DEFAULT_DOMAIN = "LAB"            # what NLA clients send with /d: (the SAM file has none)
XRDP_SYSTEM_INI = pathlib.Path("/etc/xrdp/xrdp.ini")
# xrdp 0.9.21 reads its Standard-RDP-Security key pair from XRDP_CFG_PATH/rsakeys.ini,
# a compile-time path (/etc/xrdp); the -c ini path does not change it.
XRDP_SYSTEM_RSAKEYS = pathlib.Path("/etc/xrdp/rsakeys.ini")
XRDP_SOCKDIR = pathlib.Path("/run/xrdp/sockdir")

# until= patterns for Lab.xfreerdp. Note: FreeRDP logs FINALIZATION when it *receives*
# the Demand Active, before it sends Confirm Active and the finalization PDUs, and ACTIVE
# when it receives the Font Map; xrdp logs "connecting to sesman" a moment *after* that.
# Ending the client on either state is therefore racy for server-side assertions on
# "connecting to sesman" (xrdp aborts the login when the client is gone; +auth-only has
# the same race). For those, end the client on the server's line instead:
#     lab.xfreerdp(port, ..., until_log=(host, r"connecting to sesman"))
STATE_FINALIZATION = r"rdp_client_transition_to_state \S+ --> CONNECTION_STATE_FINALIZATION"
STATE_ACTIVE = r"rdp_client_transition_to_state \S+ --> CONNECTION_STATE_ACTIVE"
# FreeRDP client (/log-level:DEBUG): a frame of the host's desktop arrived whole. Comes after
# CONNECTION_STATE_ACTIVE, so ending the client on it leaves no race with the host's
# "is activated" line. freerdp-shadow-cli sends surface bits with frame markers.
CLIENT_DESKTOP_UPDATE = r"SurfaceFrameMarker: action: End|recv Update Data PDU"

# freerdp-shadow-cli (FreeRDP 2.11, WLOG_LEVEL=DEBUG) log lines, see Lab.nla_host:
#   NLA succeeded: the client's TSCredentials arrived and the server moved on to MCS
#   ("[nla_recv] Receive Encryption Credentials" comes right before it);
SHADOW_NLA_OK = r"rdp_server_transition_to_state CONNECTION_STATE_INITIAL --> CONNECTION_STATE_NEGO"
#   NLA failed for any reason, including a client that closed mid-way (no errorCode is sent,
#   the connection is closed);
SHADOW_NLA_FAILED = r"client authentication failure"
#   the password was wrong: with FreeRDP's client NTLM's MIC check fails (SEC_E_MESSAGE_ALTERED),
#   with gss-ntlmssp's initiator (raw NTLM, no MIC) the NTLMv2 proof does (SEC_E_LOGON_DENIED);
#   both are followed by SHADOW_NLA_FAILED;
SHADOW_NLA_BAD_PASSWORD = r"(NtProofString|Message Integrity Check \(MIC\)) verification failed"
#   the session is live (Demand Active .. Font Map done).
SHADOW_ACTIVATED = r"Client from \S+ is activated"

# xrdp 0.9.21.1 log lines (LogLevel DEBUG, the lab's default) that tell how far a connection got,
# for tests asserting that a peer sent nothing beyond a point. In the order a connection
# passes them:
#   the connection ended, whatever the reason: the last line xrdp logs for it (the listening
#   socket's own "Closed socket" comes only when xrdp stops). Wait for it before asserting
#   that something was *not* logged for a connection;
XRDP_CONNECTION_CLOSED = r"Closed socket \d+ \(AF_INET"
#   the peer closed (or failed) during the TLS handshake (ERROR);
XRDP_TLS_ACCEPT_FAILED = r"ssl_tls_accept failed"
#   the peer closed where xrdp waits for the MCS Connect Initial: after the X.224 exchange
#   and, with TLS, the TLS handshake (ERROR);
XRDP_NO_MCS_CONNECT_INITIAL = r"\[MCS Connection Sequence\] receive connection request failed"
#   the MCS Connect Initial arrived (INFO; the first line xrdp logs on parsing it, at DEBUG
#   "[MCS Connection Sequence] construct connection response" follows);
XRDP_MCS_CONNECT_INITIAL = (r"Connected client computer name|"
                            r"\[MCS Connection Sequence\] construct connection response")
#   the peer closed where xrdp waits for the Erect Domain Request, right after xrdp sent its
#   MCS Connect Response: no Security Exchange, no Client Info came (ERROR);
XRDP_NO_ERECT_DOMAIN = r"\[MCS Connection Sequence\] receive erect domain request failed"
#   the Client Info PDU arrived (DEBUG; for TLS connections "TLS connection established"
#   is logged right before it, late).
XRDP_CLIENT_INFO = r"Client supplied (username|domain|password)"

_SETPRIV = shutil.which("setpriv")

POLL_INTERVAL = 0.02          # seconds between polls of a file / port / process
TERM_GRACE = 3.0              # seconds between SIGTERM and SIGKILL
TAIL_LINES = 40

PathLike = Union[str, os.PathLike]


# ----------------------------------------------------------------------------- errors

def with_test_workers(argv: Sequence[str]) -> list:
    """`rdpbridge run ...` with `--workers N` added when RDPBRIDGE_TEST_WORKERS=N is set: CI
    runs the end-to-end suites once with one worker loop and once with two (the flag overrides
    [service] workers of a config file too)."""
    argv = list(argv)
    workers = os.environ.get("RDPBRIDGE_TEST_WORKERS", "")
    for i in range(len(argv) - 1):
        if os.path.basename(str(argv[i])) == "rdpbridge" and argv[i + 1] == "run":
            if workers and "--workers" not in argv:
                argv.append("--workers")
                argv.append(workers)
            break
    return argv

class LabError(RuntimeError):
    """Something in the lab could not be set up."""


class LabTimeout(LabError):
    """A bounded wait ran out; the message carries the last log lines."""


class ProcessDied(LabError):
    """A process exited while we were waiting for it to become ready."""


# ----------------------------------------------------------------------------- helpers
def free_port() -> int:
    """Bind 127.0.0.1:0 and return the port the kernel picked (closed again)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def listen_loopback(backlog: int = 4) -> tuple:
    """A TCP socket listening on 127.0.0.1 at a port the kernel picked: (socket, port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, 0))
    sock.listen(backlog)
    return sock, sock.getsockname()[1]


def tail(path: PathLike, lines: int = TAIL_LINES) -> str:
    """Last `lines` lines of a text file ('' if missing)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 256 * 1024))
            data = f.read()
    except FileNotFoundError:
        return f"<{path} does not exist>"
    text = data.decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


def _deadline_loop(timeout: float):
    """Yield until the deadline passes, sleeping POLL_INTERVAL between iterations
    (the first iteration runs immediately)."""
    deadline = time.monotonic() + timeout
    yield
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(POLL_INTERVAL, left))
        yield


def wait_port(port: int, host: str = LOOPBACK, timeout: float = 10.0,
              proc: "Optional[Proc]" = None, what: str = "") -> None:
    """Poll connect() to host:port (short connect timeout) until it is accepted.

    Raises ProcessDied if `proc` exits meanwhile, LabTimeout after `timeout` seconds."""
    last_err: Optional[BaseException] = None
    for _ in _deadline_loop(timeout):
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError as e:
            last_err = e
        if proc is not None and proc.poll() is not None:
            raise ProcessDied(f"{proc.name} exited with {proc.returncode} before "
                              f"{host}:{port} accepted connections\n{proc.describe()}")
    raise LabTimeout(f"{what or host}:{port} did not accept connections within "
                     f"{timeout}s (last error: {last_err})"
                     + (f"\n{proc.describe()}" if proc is not None else ""))


def _listening_on(port: int, host: str = LOOPBACK) -> bool:
    """True if a TCP socket is in LISTEN state on host:port (reads /proc/net/tcp{,6}),
    without connecting (so the server does not see and log a probe connection)."""
    want_v4 = socket.inet_aton(host)[::-1].hex().upper()   # /proc shows little-endian words
    for name, addrs in (("/proc/net/tcp", {want_v4, "00000000"}),
                        ("/proc/net/tcp6", None)):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local, state = parts[1], parts[3]
                    addr, _, p = local.rpartition(":")
                    if state != "0A" or int(p, 16) != port:
                        continue
                    if addrs is None or addr in addrs:
                        return True
        except FileNotFoundError:
            continue
    return False


def wait_listening(port: int, host: str = LOOPBACK, timeout: float = 10.0,
                   proc: "Optional[Proc]" = None, what: str = "") -> None:
    """Like wait_port() but checks the kernel's socket table for LISTEN instead of
    connecting: once a socket listens, connects are accepted by the kernel."""
    for _ in _deadline_loop(timeout):
        if _listening_on(port, host):
            return
        if proc is not None and proc.poll() is not None:
            raise ProcessDied(f"{proc.name} exited with {proc.returncode} before "
                              f"listening on {host}:{port}\n{proc.describe()}")
    raise LabTimeout(f"{what or host}:{port} not listening within {timeout}s"
                     + (f"\n{proc.describe()}" if proc is not None else ""))


def _compile(regex: Union[str, "re.Pattern[str]"]) -> "re.Pattern[str]":
    return regex if isinstance(regex, re.Pattern) else re.compile(regex)


def wait_file_regex(path: PathLike, regex: Union[str, "re.Pattern[str]"],
                    timeout: float = 10.0, since: int = 0,
                    proc: "Optional[Proc]" = None, what: str = "") -> str:
    """Poll a (growing) text file until a line matching `regex` (re.search) appears at
    or after byte offset `since`; return that line (without newline).

    If `proc` is given and exits, the file is read one final time and ProcessDied is
    raised if the line is still missing. LabTimeout after `timeout` seconds."""
    pat = _compile(regex)
    path = pathlib.Path(path)
    pos = since
    partial = b""
    died = False
    for _ in _deadline_loop(timeout):
        # check the process first so that a final read happens after its exit
        if proc is not None and proc.poll() is not None:
            died = True
        try:
            with open(path, "rb") as f:
                f.seek(pos)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        if chunk:
            pos += len(chunk)
            data = partial + chunk
            lines = data.split(b"\n")
            partial = lines.pop()          # incomplete last line (or b"")
            for raw in lines:
                line = raw.decode("utf-8", "replace").rstrip("\r")
                if pat.search(line):
                    return line
        if died:
            if partial:
                line = partial.decode("utf-8", "replace")
                if pat.search(line):
                    return line
            raise ProcessDied(f"{proc.name} exited ({proc.returncode}) without logging "
                              f"/{pat.pattern}/ in {path}\n--- last lines of {path}:\n"
                              f"{tail(path)}")
    if partial and pat.search(partial.decode("utf-8", "replace")):
        return partial.decode("utf-8", "replace")
    raise LabTimeout(f"{what + ': ' if what else ''}/{pat.pattern}/ did not appear in "
                     f"{path} within {timeout}s\n--- last lines of {path}:\n{tail(path)}")


def tool_versions(display: Optional[str] = None) -> dict:
    """Versions of the lab's tools (for reports / fixture README). xfreerdp refuses to
    print even its version without an X display: pass one (Lab.xvfb())."""
    def first_line(argv, pattern=None):
        try:
            out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 timeout=10,
                                 env={**os.environ, "DISPLAY": display or ""}).stdout
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"unavailable ({e})"
        text = out.decode("utf-8", "replace")
        if pattern:
            m = re.search(pattern, text)
            return m.group(0) if m else text.strip().splitlines()[0] if text.strip() else ""
        return text.strip().splitlines()[0] if text.strip() else ""
    vers = {
        "xrdp": first_line(["xrdp", "--version"], r"xrdp \S+"),
        "xfreerdp": first_line(["xfreerdp", "/version"], r"FreeRDP version \S+ \([^)]*\)"),
        "rdesktop": first_line(["rdesktop"], r"Version \S+"),
        "openssl": first_line(["openssl", "version"]),
        "python": sys.version.split()[0],
    }
    for pkg in ("xrdp", "freerdp2-x11", "rdesktop", "xvfb", "openssl"):
        try:
            out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 timeout=10).stdout.decode()
            vers[f"deb:{pkg}"] = out or "?"
        except (OSError, subprocess.TimeoutExpired):
            pass
    return vers


# ----------------------------------------------------------------------------- host identity
FIXTURES_DIR = pathlib.Path(__file__).resolve().parent.parent / "fixtures"


def _pem_der(cert: PathLike) -> bytes:
    """DER of the first certificate of a PEM file."""
    text = pathlib.Path(cert).read_text()
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)
    if m is None:
        raise LabError(f"no PEM certificate in {cert}")
    return ssl.PEM_cert_to_DER_cert(m.group(0))


def cert_sha256(cert: PathLike) -> str:
    """SHA-256 of a PEM certificate's DER encoding, 64 lower-case hex digits (what
    `openssl x509 -fingerprint -sha256` prints, without the colons)."""
    return hashlib.sha256(_pem_der(cert)).hexdigest()


def _der_tlv(data: bytes, pos: int) -> tuple:
    """(tag, start of value, end of value) of the DER TLV at `pos`."""
    tag = data[pos]
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(data[pos:pos + k], "big")
        pos += k
    if pos + n > len(data):
        raise LabError("truncated DER")
    return tag, pos, pos + n


def spki_der(cert: PathLike) -> bytes:
    """The DER SubjectPublicKeyInfo of a PEM certificate (the key, without the rest of the
    certificate), found by walking Certificate > tbsCertificate."""
    der = _pem_der(cert)
    _, cert_v, _ = _der_tlv(der, 0)                # Certificate SEQUENCE
    tag, pos, tbs_end = _der_tlv(der, cert_v)      # tbsCertificate SEQUENCE
    if tag != 0x30:
        raise LabError("not a certificate")
    fields = []
    while pos < tbs_end:
        t, v, e = _der_tlv(der, pos)
        fields.append((t, pos, e))
        pos = e
    if fields and fields[0][0] == 0xA0:             # [0] version
        fields = fields[1:]
    # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
    _, start, end = fields[5]
    return der[start:end]


def spki_sha256(cert: PathLike) -> str:
    """SHA-256 of a PEM certificate's SubjectPublicKeyInfo (DER), 64 lower-case hex digits:
    the fingerprint of the certificate's key, which stays when only the certificate is
    renewed (`openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum`)."""
    return hashlib.sha256(spki_der(cert)).hexdigest()


class RdpServerKey:
    """The Standard RDP Security server key an RDP host presented in its MCS Connect Response
    (SC_SECURITY's proprietary certificate; see rdp_server_key)."""

    def __init__(self, exponent: int, modulus: int, bits: int, blob: bytes,
                 certificate: bytes, encryption_method: int, encryption_level: int):
        self.exponent = exponent
        self.modulus = modulus
        self.bits = bits
        self.blob = blob                 # the PublicKeyBlob (RSA1 magic .. modulus + padding)
        self.certificate = certificate   # the whole serverCertificate field
        self.encryption_method = encryption_method
        self.encryption_level = encryption_level

    def modulus_sha256(self) -> str:
        """SHA-256 of the modulus as big-endian bytes (no padding): a key fingerprint that
        does not depend on how a certificate wraps the key."""
        return hashlib.sha256(self.modulus.to_bytes((self.modulus.bit_length() + 7) // 8,
                                                    "big")).hexdigest()

    def wire_sha256(self) -> str:
        """SHA-256 over the modulus as sent (little-endian, keylen bytes without the 8 padding
        zeros) followed by the public exponent as 4 little-endian bytes: how rdpbridge
        fingerprints a Standard RDP Security key (rdp_key_sha256, rdp/host_identity.hpp)."""
        keylen = struct.unpack("<I", self.blob[4:8])[0]
        modulus = self.blob[20:20 + keylen - 8]
        return hashlib.sha256(modulus + struct.pack("<I", self.exponent)).hexdigest()

    def __eq__(self, other):
        return (isinstance(other, RdpServerKey) and self.exponent == other.exponent
                and self.modulus == other.modulus)

    def __hash__(self):
        return hash((self.exponent, self.modulus))

    def __repr__(self):
        return (f"<RdpServerKey RSA-{self.bits} e={self.exponent} "
                f"modulus sha256={self.modulus_sha256()[:16]}...>")


def _recv_tpkt(sock: socket.socket) -> bytes:
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise LabError(f"peer closed after {len(buf)} of {n} bytes")
            buf += chunk
        return buf
    head = exact(4)
    if head[0] != 3:
        raise LabError(f"not a TPKT: {head.hex()}")
    n = struct.unpack(">H", head[2:4])[0]
    return head + exact(n - 4)


def rdp_server_key(port: int, host: str = LOOPBACK, timeout: float = 10.0) -> RdpServerKey:
    """Connect to an RDP host that speaks Standard RDP Security and read the RSA key of its
    proprietary server certificate: the X.224 request and the MCS Connect Initial of
    `xfreerdp /sec:rdp` (the captured fixtures x224_cr_freerdp_rdp.bin and
    mcs_connect_initial_freerdp.bin), then the MCS Connect Response is parsed (GCC user data
    > SC_SECURITY > serverCertificate > PublicKeyBlob) and the connection closed. The host
    sees one connection that ends after its Connect Response (xrdp: XRDP_NO_ERECT_DOMAIN).
    Raises LabError if the host answers otherwise (TLS, X.509 certificate chain, no key)."""
    request = (FIXTURES_DIR / "x224_cr_freerdp_rdp.bin").read_bytes()
    initial = (FIXTURES_DIR / "mcs_connect_initial_freerdp.bin").read_bytes()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(request)
        confirm = _recv_tpkt(sock)
        if len(confirm) < 7 or confirm[5] != 0xD0:
            raise LabError(f"no X.224 Connection Confirm: {confirm.hex()}")
        if len(confirm) >= 19 and confirm[11] == 0x03:
            raise LabError(f"RDP_NEG_FAILURE code {confirm[15]} from {host}:{port}")
        sock.sendall(initial)
        response = _recv_tpkt(sock)
    if response[7:9] != b"\x7f\x66":
        raise LabError(f"no MCS Connect Response: {response[:16].hex()}")
    at = response.find(b"McDn")
    if at < 0:
        raise LabError("MCS Connect Response without GCC user data (McDn)")
    pos = at + 4
    n = response[pos]
    pos += 2 if n & 0x80 else 1
    blocks = {}
    while pos + 4 <= len(response):
        btype, blen = struct.unpack("<HH", response[pos:pos + 4])
        if blen < 4 or pos + blen > len(response):
            break
        blocks[btype] = response[pos + 4:pos + blen]
        pos += blen
    sec = blocks.get(0x0C02)
    if sec is None or len(sec) < 8:
        raise LabError(f"no SC_SECURITY in the Connect Response (blocks {list(blocks)})")
    method, level = struct.unpack("<II", sec[:8])
    if method == 0 or len(sec) < 16:
        raise LabError(f"host uses no Standard RDP Security (method {method}, level {level})")
    rnd_len, cert_len = struct.unpack("<II", sec[8:16])
    certificate = sec[16 + rnd_len:16 + rnd_len + cert_len]
    version = struct.unpack("<I", certificate[:4])[0] & 0x7FFFFFFF
    if version != 1:
        raise LabError(f"server certificate version {version}, not proprietary (1)")
    blob_type, blob_len = struct.unpack("<HH", certificate[12:16])
    blob = certificate[16:16 + blob_len]
    magic, keylen, bitlen, _datalen, exponent = struct.unpack("<4sIIII", blob[:20])
    if blob_type != 6 or magic != b"RSA1":
        raise LabError(f"unexpected public key blob type {blob_type} / magic {magic!r}")
    modulus = int.from_bytes(blob[20:20 + keylen], "little")
    return RdpServerKey(exponent, modulus, bitlen, bytes(blob), bytes(certificate),
                        method, level)


# ----------------------------------------------------------------------------- Proc
# The first line of a sanitizer report (ASan, LSan, TSan, UBSan) in a process's output.
_SANITIZER_REPORT_RE = re.compile(
    r"^(?:==\d+==ERROR: \w+Sanitizer|WARNING: ThreadSanitizer|.*: runtime error: )", re.M)


class Proc:
    """A process started by a Lab, in its own process group, output in `log_path`."""

    def __init__(self, name: str, argv: Sequence[str], popen: subprocess.Popen,
                 log_path: pathlib.Path):
        # Set by the owner for processes that must end cleanly when stopped (our own binary):
        # Lab.close() then fails unless it exited 0 with no sanitizer report in its output.
        self.expect_clean_exit = False
        self.name = name
        self.argv = list(argv)
        self.popen = popen
        self.pid = popen.pid
        self.log_path = log_path
        self.started = time.monotonic()
        self._stopped = False

    # state
    def poll(self) -> Optional[int]:
        return self.popen.poll()

    @property
    def returncode(self) -> Optional[int]:
        return self.popen.returncode

    def alive(self) -> bool:
        return self.popen.poll() is None

    # logs
    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_mark(self) -> int:
        """Current size of the log: pass as `since=` to wait_log to only see new lines."""
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def wait_log(self, regex, timeout: float = 10.0, since: int = 0) -> str:
        return wait_file_regex(self.log_path, regex, timeout, since=since, proc=self,
                               what=self.name)

    def exit_problem(self) -> Optional[str]:
        """For a process that has ended: None if it exited 0 and printed no sanitizer report,
        else what went wrong with the report (whole, up to 200 lines) or the log's tail."""
        text = self.log_text()
        m = _SANITIZER_REPORT_RE.search(text)
        if m:
            report = "\n".join(text[m.start():].splitlines()[:200])
            return (f"{self.name} (pid {self.pid}, rc={self.returncode}) printed a sanitizer "
                    f"report ({self.log_path}):\n{report}")
        if self.returncode != 0:
            return (f"{self.name} (pid {self.pid}) exited with {self.returncode}, not 0\n"
                    f"{self.describe()}")
        return None

    def describe(self) -> str:
        rc = self.poll()
        state = "running" if rc is None else f"exited rc={rc}"
        return (f"[{self.name} pid={self.pid} {state}] {' '.join(self.argv)}\n"
                f"--- last lines of {self.log_path}:\n{tail(self.log_path)}")

    # control
    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)            # pgid == pid (start_new_session)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self, timeout: float) -> Optional[int]:
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = TERM_GRACE) -> Optional[int]:
        """SIGTERM the process group, SIGKILL it after `grace` s; reap. Idempotent."""
        if self._stopped:
            return self.popen.returncode
        self._stopped = True
        if self.popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            if self.wait(grace) is None:
                self._signal_group(signal.SIGKILL)
                self.wait(10)
        # leftover members of the group (children of a process that already exited)
        self._signal_group(signal.SIGKILL)
        return self.popen.returncode

    def __repr__(self):
        return f"<Proc {self.name} pid={self.pid} rc={self.poll()}>"


# ----------------------------------------------------------------------------- results
_TRANSITION_RE = re.compile(
    r"rdp_client_transition_to_state (CONNECTION_STATE_\w+) --> (CONNECTION_STATE_\w+)")
_ERRCONNECT_RE = re.compile(r"\b(ERRCONNECT_[A-Z0-9_]+)\b")


class ClientResult:
    """Outcome of a bounded client run (xfreerdp, rdesktop, anything via Lab.run)."""

    def __init__(self, argv: Sequence[str], returncode: Optional[int], output: str,
                 duration: float, ended_by: str, matched_line: Optional[str],
                 log_path: pathlib.Path):
        self.argv = list(argv)
        self.returncode = returncode
        self.output = output
        self.duration = duration
        self.ended_by = ended_by          # "exit" | "until" | "timeout"
        self.matched_line = matched_line  # the line that matched until=, if any
        self.log_path = log_path

    @property
    def timed_out(self) -> bool:
        return self.ended_by == "timeout"

    @property
    def until_matched(self) -> bool:
        return self.ended_by == "until"

    def states(self) -> list:
        """FreeRDP connection states entered, in order (needs /log-level:DEBUG)."""
        return [m.group(2) for m in _TRANSITION_RE.finditer(self.output)]

    def reached(self, state_name: str) -> bool:
        """True if FreeRDP logged a transition into `state_name`
        ("CONNECTION_STATE_FINALIZATION" or just "FINALIZATION")."""
        if not state_name.startswith("CONNECTION_STATE_"):
            state_name = "CONNECTION_STATE_" + state_name
        return state_name in self.states()

    def error_codes(self) -> list:
        """All distinct ERRCONNECT_* names printed, in order of first appearance."""
        seen = []
        for m in _ERRCONNECT_RE.finditer(self.output):
            if m.group(1) not in seen:
                seen.append(m.group(1))
        return seen

    def error_code(self) -> Optional[str]:
        """The first ERRCONNECT_* name printed (the root cause; FreeRDP may print a
        follow-up one such as ERRCONNECT_CONNECT_CANCELLED after +auth-only)."""
        codes = self.error_codes()
        return codes[0] if codes else None

    def error_infos(self) -> list:
        """ERRINFO_* names (server Set Error Info PDU, e.g. ERRINFO_LOGOFF_BY_USER)."""
        seen = []
        for m in re.finditer(r"\b(ERRINFO_[A-Z0-9_]+)\b", self.output):
            if m.group(1) not in seen:
                seen.append(m.group(1))
        return seen

    def summary(self, lines: int = TAIL_LINES) -> str:
        """For assertion messages: argv, outcome, states and the last output lines."""
        out = "\n".join(self.output.splitlines()[-lines:])
        return (f"argv: {' '.join(self.argv)}\nended_by={self.ended_by} "
                f"rc={self.returncode} duration={self.duration:.2f}s "
                f"states={self.states()} errors={self.error_codes() + self.error_infos()}\n"
                f"--- last lines of {self.log_path}:\n{out}")

    def __repr__(self):
        return (f"<ClientResult rc={self.returncode} ended_by={self.ended_by} "
                f"{self.duration:.2f}s last_state={(self.states() or [None])[-1]} "
                f"error={self.error_code()}>")


# ----------------------------------------------------------------------------- xrdp
XRDP_PROFILES: dict = {
    # Windows 7 / 2008 R2 like: TLS 1.0 only, old RSA-kx ciphers
    "tls10": {
        "security_layer": "tls",
        "ssl_protocols": "TLSv1",
        "tls_ciphers": "AES128-SHA:AES256-SHA:DES-CBC3-SHA:@SECLEVEL=0",
    },
    # modern host
    "modern": {
        "security_layer": "negotiate",
        "ssl_protocols": "TLSv1.2, TLSv1.3",
    },
    # XP / 2003 like: Standard RDP Security only
    "rdp": {
        "security_layer": "rdp",
        "crypt_level": "high",
    },
}


class XrdpHost:
    """A running xrdp instance of the lab."""

    def __init__(self, lab: "Lab", name: str, profile: str, port: int,
                 ini_path: pathlib.Path, log_path: pathlib.Path,
                 cert_path: pathlib.Path, key_path: pathlib.Path,
                 rsakeys_path: pathlib.Path, settings: dict, proc: Proc):
        self.lab = lab
        self.name = name
        self.profile = profile
        self.port = port
        self.host = LOOPBACK
        self.ini_path = ini_path
        self.log_path = log_path
        self.cert_path = cert_path
        self.key_path = key_path
        self.rsakeys_path = rsakeys_path
        self.settings = settings          # the [Globals] keys the lab set
        self.proc = proc

    @property
    def address(self) -> tuple:
        return (self.host, self.port)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_mark(self) -> int:
        """Current log size; pass as since= to wait_log() to wait for new lines only."""
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def wait_log(self, regex, timeout: float = 10.0, since: int = 0) -> str:
        """Wait until xrdp's log file has a line matching `regex`; return the line."""
        return wait_file_regex(self.log_path, regex, timeout, since=since,
                               proc=self.proc, what=f"xrdp[{self.name}]")

    def log_since(self, since: int = 0) -> str:
        """The log written at or after byte offset `since` (a log_mark())."""
        try:
            return self.log_path.read_bytes()[since:].decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def count(self, regex, since: int = 0) -> int:
        """Lines matching `regex` logged at or after byte offset `since`."""
        pat = _compile(regex)
        return sum(1 for line in self.log_since(since).splitlines() if pat.search(line))

    def rdp_key(self, timeout: float = 10.0) -> "RdpServerKey":
        """The Standard RDP Security key this host presents (rdp_server_key; one connection
        that ends after the MCS Connect Response)."""
        return rdp_server_key(self.port, self.host, timeout)

    def alive(self) -> bool:
        return self.proc.alive()

    def stop(self) -> Optional[int]:
        return self.proc.stop()

    def __repr__(self):
        return f"<XrdpHost {self.name} profile={self.profile} port={self.port}>"


def _edit_ini(text: str, changes: Mapping[str, Mapping[str, object]]) -> str:
    """Line-based ini editor that keeps comments: for each section in `changes`, replace
    the first active `key=` line (case-insensitive key; later duplicates are dropped) or
    add the key at the end of the section; a missing section is appended. A value of
    None removes the key."""
    want = {sec.lower(): (sec, {k.lower(): (k, v) for k, v in kv.items()})
            for sec, kv in changes.items()}
    out: list = []
    seen_sections: set = set()
    done: set = set()
    current: Optional[str] = None

    def flush(section):
        if section not in want:
            return
        insert_at = len(out)       # before the section's trailing blank/comment lines
        while insert_at > 0 and (not out[insert_at - 1].strip()
                                 or out[insert_at - 1].lstrip().startswith((";", "#"))):
            insert_at -= 1
        extra = [f"{k}={v}" for lk, (k, v) in want[section][1].items()
                 if (section, lk) not in done and v is not None]
        out[insert_at:insert_at] = extra

    for line in text.splitlines():
        m = re.match(r"^\s*\[([^\]]+)\]\s*$", line)
        if m:
            flush(current)
            current = m.group(1).strip().lower()
            seen_sections.add(current)
            out.append(line)
            continue
        if current in want:
            km = re.match(r"^\s*([^=;#\s][^=]*?)\s*=", line)
            lk = km.group(1).lower() if km else None
            if lk in want[current][1]:
                key, val = want[current][1][lk]
                if (current, lk) not in done and val is not None:
                    out.append(f"{key}={val}")
                done.add((current, lk))
                continue
        out.append(line)
    flush(current)
    for sec, (orig, kv) in want.items():
        if sec not in seen_sections:
            out += ["", f"[{orig}]"] + [f"{k}={v}" for k, v in kv.values() if v is not None]
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- NLA host
class ShadowHost:
    """A running freerdp-shadow-cli of the lab: an RDP host that requires NLA (see
    Lab.nla_host). Its log is FreeRDP's WLog output (stdout, line-buffered)."""

    def __init__(self, lab: "Lab", name: str, port: int, sam_path: pathlib.Path,
                 users: Mapping[str, str], tls10: bool, proc: Proc):
        self.lab = lab
        self.name = name
        self.port = port
        self.host = LOOPBACK
        self.sam_path = sam_path
        self.users = dict(users)          # user -> password the host accepts
        self.tls10 = tls10
        self.proc = proc
        self.log_path = proc.log_path

    @property
    def address(self) -> tuple:
        return (self.host, self.port)

    def log_text(self) -> str:
        return self.proc.log_text()

    def log_mark(self) -> int:
        return self.proc.log_mark()

    def wait_log(self, regex, timeout: float = 10.0, since: int = 0) -> str:
        return wait_file_regex(self.log_path, regex, timeout, since=since, proc=self.proc,
                               what=f"freerdp-shadow[{self.name}]")

    def count(self, regex, since: int = 0) -> int:
        """Lines matching `regex` logged at or after byte offset `since`."""
        pat = _compile(regex)
        try:
            data = self.log_path.read_bytes()[since:]
        except FileNotFoundError:
            return 0
        return sum(1 for l in data.decode("utf-8", "replace").splitlines() if pat.search(l))

    def tail(self, lines: int = TAIL_LINES) -> str:
        return tail(self.log_path, lines)

    def alive(self) -> bool:
        return self.proc.alive()

    def stop(self) -> Optional[int]:
        return self.proc.stop()

    def __repr__(self):
        return f"<ShadowHost {self.name} port={self.port} tls10={self.tls10}>"


TLS10_PRELOAD_SOURCE = pathlib.Path(__file__).resolve().parent / "tls10_only_preload.c"


# ----------------------------------------------------------------------------- Lab
_open_labs: "weakref.WeakSet[Lab]" = weakref.WeakSet()


@atexit.register
def _close_open_labs():
    for lab in list(_open_labs):
        try:
            lab.close()
        except Exception:
            pass


def _env_keep() -> bool:
    return os.environ.get("RDPBRIDGE_KEEP_LAB", "").strip().lower() in ("1", "true", "yes")


class Lab:
    """Owns a temporary directory and every process started through it."""

    def __init__(self, name: str, keep: Optional[bool] = None,
                 base_dir: Optional[PathLike] = None, display: Optional[str] = None):
        """display: an X display (":N") that clients of this lab use instead of an Xvfb of
        its own, e.g. another (longer-lived) lab's xvfb(), to share its start-up cost
        between tests. This lab does not own or stop it."""
        self.name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "lab"
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix=f"rdpbridge-lab-{self.name}-",
                                                 dir=base_dir))
        self.keep = keep                 # None: decided by failure / env at close()
        self.failed = False
        self.closed = False
        self.procs: list = []
        self._display: Optional[str] = None
        self._xvfb: Optional[Proc] = None
        self._external_display = display
        self._lock = threading.RLock()
        self._seq = itertools.count(1)
        self.home = self.dir / "home"    # HOME for clients (FreeRDP writes ~/.config)
        self.home.mkdir()
        _open_labs.add(self)

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        self.failed = True
        try:
            self.close()
        except LabError as e:            # do not mask the original exception
            print(f"[lab] {e}", file=sys.stderr, flush=True)

    def mark_failed(self) -> None:
        """Keep the lab directory when it is closed."""
        self.failed = True

    def close(self, failed: Optional[bool] = None) -> None:
        """Stop all processes (reverse start order), then remove the directory unless
        the lab failed or RDPBRIDGE_KEEP_LAB=1 (its path is printed then)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        if failed:
            self.failed = True
        errors = []
        for p in reversed(self.procs):
            try:
                p.stop()
            except Exception as e:       # keep stopping the others
                errors.append(f"{p.name}: {e}")
        for p in self.procs:
            problem = p.exit_problem() if p.expect_clean_exit else None
            if problem:
                errors.append(problem)
                self.failed = True       # keep the logs
        _open_labs.discard(self)
        keep = self.keep if self.keep is not None else (self.failed or _env_keep())
        if keep:
            why = "failed" if self.failed else "RDPBRIDGE_KEEP_LAB" if _env_keep() else "keep"
            print(f"[lab] kept lab dir ({why}): {self.dir}", file=sys.stderr, flush=True)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if errors:
            raise LabError("errors while stopping processes: " + "; ".join(errors))

    def _check_open(self):
        if self.closed:
            raise LabError(f"lab {self.name} is closed")

    def _unique(self, stem: str) -> str:
        return f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', stem)}-{next(self._seq)}"

    # ---------------------------------------------------------------- processes
    def _popen(self, argv: Sequence[str], name: str, log_path: pathlib.Path,
               env: Optional[Mapping[str, str]] = None, cwd: Optional[PathLike] = None,
               pass_fds: Iterable[int] = (), stdin=subprocess.DEVNULL) -> Proc:
        self._check_open()
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        exec_argv = list(argv)
        # Parent-death signal: if the test runner itself is SIGKILLed, the kernel kills
        # the child too. Set through util-linux setpriv (no preexec_fn, which is unsafe
        # with threads). PDEATHSIG follows the spawning *thread*, so only from the main
        # thread: a worker thread that exits would otherwise kill its processes.
        if threading.current_thread() is threading.main_thread() and _SETPRIV:
            exec_argv = [_SETPRIV, "--pdeathsig", "KILL", "--"] + exec_argv
        with open(log_path, "ab", buffering=0) as logf:
            popen = subprocess.Popen(
                exec_argv, stdin=stdin, stdout=logf, stderr=subprocess.STDOUT,
                env=full_env, cwd=str(cwd or self.dir), start_new_session=True,
                pass_fds=tuple(pass_fds), close_fds=True)
        proc = Proc(name, argv, popen, log_path)
        with self._lock:
            self.procs.append(proc)
        return proc

    def start(self, argv: Sequence[str], name: str, ready_regex=None,
              ready_port: Optional[int] = None, env: Optional[Mapping[str, str]] = None,
              timeout: float = 15.0, cwd: Optional[PathLike] = None,
              log_path: Optional[PathLike] = None) -> Proc:
        """Start a long-running process (own process group, output to
        LABDIR/<name>-N.log) and wait for readiness: `ready_regex` in its output
        (or in `log_path` if it logs to a file of its own) and/or `ready_port` accepting
        connections on 127.0.0.1. Raises ProcessDied / LabTimeout with the log tail."""
        uname = self._unique(name)
        out_path = self.dir / f"{uname}.log"
        argv = with_test_workers(argv)
        proc = self._popen(argv, uname, out_path, env=env, cwd=cwd)
        if log_path is not None:
            proc.log_path = pathlib.Path(log_path)   # wait_log/describe use its own log
        deadline = time.monotonic() + timeout
        if ready_regex is not None:
            proc.wait_log(ready_regex, timeout=timeout)
        if ready_port is not None:
            wait_port(ready_port, timeout=max(0.1, deadline - time.monotonic()),
                      proc=proc, what=uname)
        return proc

    def stop(self, proc: Proc) -> Optional[int]:
        return proc.stop()

    def run(self, argv: Sequence[str], name: str, timeout: float = 30.0, until=None,
            env: Optional[Mapping[str, str]] = None, cwd: Optional[PathLike] = None,
            input_bytes: Optional[bytes] = None, until_log=None) -> ClientResult:
        """Run a client-like command to completion with a hard timeout. If `until`
        (regex) matches a line of its output, the process group is ended at once
        (SIGTERM, then SIGKILL) and ended_by='until'.

        until_log: (target, regex) or a list of them; target is an XrdpHost, a Proc or
        a log path:
        end the client as soon as that *other* log gets a new matching line (only lines
        written after the client was started count), e.g. (host, r"connecting to
        sesman") for clients without a usable success line of their own (rdesktop).
        The matching line is ClientResult.matched_line, ended_by='until'.

        Never raises on failure of the command itself; inspect the ClientResult."""
        uname = self._unique(name)
        out_path = self.dir / f"{uname}.log"
        pat = _compile(until) if until is not None else None
        watches = []
        if until_log is not None:
            pairs = [until_log] if isinstance(until_log, tuple) else list(until_log)
            for target, rx in pairs:
                wpath = pathlib.Path(getattr(target, "log_path", target))
                try:
                    wpos = wpath.stat().st_size
                except FileNotFoundError:
                    wpos = 0
                watches.append([wpath, _compile(rx), wpos, b""])
        t0 = time.monotonic()
        proc = self._popen(argv, uname, out_path, env=env, cwd=cwd,
                           stdin=subprocess.PIPE if input_bytes is not None
                           else subprocess.DEVNULL)
        if input_bytes is not None:
            try:
                proc.popen.stdin.write(input_bytes)
                proc.popen.stdin.close()
            except OSError:
                pass
        ended_by = "timeout"
        matched = None
        pos = 0
        partial = b""
        deadline = t0 + timeout
        while True:
            exited = proc.poll() is not None
            if pat is not None:
                with open(out_path, "rb") as f:
                    f.seek(pos)
                    chunk = f.read()
                pos += len(chunk)
                lines = (partial + chunk).split(b"\n")
                partial = b"" if exited else lines.pop()
                for raw in lines:
                    line = raw.decode("utf-8", "replace")
                    if pat.search(line):
                        matched = line
                        break
                if matched is not None:
                    ended_by = "until"
                    break
            for watch in watches:
                matched = self._scan_watch(watch)
                if matched is not None:
                    break
            if matched is not None:
                ended_by = "until"
                break
            if exited:
                ended_by = "exit"
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            proc.wait(min(POLL_INTERVAL, left))
        proc.stop()
        duration = time.monotonic() - t0
        output = out_path.read_text(errors="replace")
        return ClientResult(argv, proc.returncode, output, duration, ended_by, matched,
                            out_path)

    @staticmethod
    def _scan_watch(watch: list) -> Optional[str]:
        path, pat, pos, partial = watch
        try:
            with open(path, "rb") as f:
                f.seek(pos)
                chunk = f.read()
        except FileNotFoundError:
            return None
        watch[2] = pos + len(chunk)
        lines = (partial + chunk).split(b"\n")
        watch[3] = lines.pop()
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            if pat.search(line):
                return line
        return None

    # ---------------------------------------------------------------- X display
    def xvfb(self, screen: str = "1280x1024x24", timeout: float = 15.0) -> str:
        """Start this lab's Xvfb (once; cached) and return its display ":N".
        Xvfb picks a free display itself and reports it through -displayfd, so
        parallel labs cannot race for the same number."""
        with self._lock:
            if self._external_display is not None:
                return self._external_display
            if self._display is not None and self._xvfb is not None and self._xvfb.alive():
                return self._display
            rfd, wfd = os.pipe()
            try:
                argv = ["Xvfb", "-displayfd", str(wfd), "-screen", "0", screen,
                        "-nolisten", "tcp", "-noreset"]
                proc = self._popen(argv, self._unique("xvfb"), self.dir / "xvfb.log",
                                   pass_fds=(wfd,))
            finally:
                os.close(wfd)
            try:
                data = b""
                deadline = time.monotonic() + timeout
                while not data.endswith(b"\n"):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise LabTimeout(f"Xvfb did not report its display within "
                                         f"{timeout}s\n{proc.describe()}")
                    r, _, _ = select.select([rfd], [], [], min(left, 0.5))
                    if r:
                        chunk = os.read(rfd, 64)
                        if not chunk:
                            raise ProcessDied(f"Xvfb closed -displayfd without a display"
                                              f"\n{proc.describe()}")
                        data += chunk
                    elif proc.poll() is not None:
                        raise ProcessDied(f"Xvfb exited\n{proc.describe()}")
            finally:
                os.close(rfd)
            self._xvfb = proc
            self._display = ":" + data.decode().strip()
            return self._display

    def client_env(self, display: Optional[str] = None) -> dict:
        """Environment for X clients: this lab's display and a private HOME."""
        return {
            "DISPLAY": display or self.xvfb(),
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_RUNTIME_DIR": str(self.home),
        }

    # ---------------------------------------------------------------- certificates
    def make_cert(self, stem: str = "cert", days: int = 365,
                  not_after: Union[None, str, _dt.datetime] = None,
                  cn: Optional[str] = None, bits: int = 2048) -> tuple:
        """Self-signed RSA certificate + key (PEM) in the lab dir; returns (cert, key).

        not_after: datetime (naive = UTC) or 'YYYYmmddHHMMSSZ' / ISO string. OpenSSL 3.0's
        `req` has no -not_after (3.4+) and refuses -days <= 0, so the certificate is made
        under faketime at not_after - days (notBefore = that instant). A past not_after
        gives an expired certificate."""
        cert = self.dir / f"{stem}.pem"
        key = self.dir / f"{stem}.key"
        argv = ["openssl", "req", "-x509", "-newkey", f"rsa:{bits}", "-nodes",
                "-keyout", str(key), "-out", str(cert), "-days", str(int(days)),
                "-subj", f"/CN={cn or 'rdpbridge-lab-' + stem}", "-sha256"]
        env = dict(os.environ)
        if not_after is not None:
            if isinstance(not_after, str):
                s = not_after.strip()
                if re.fullmatch(r"\d{14}Z", s):
                    na = _dt.datetime.strptime(s, "%Y%m%d%H%M%SZ")
                else:
                    na = _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
            else:
                na = not_after
            if na.tzinfo is not None:
                na = na.astimezone(_dt.timezone.utc).replace(tzinfo=None)
            start = na - _dt.timedelta(days=int(days))
            if shutil.which("faketime") is None:
                raise LabError("cert not_after needs faketime (apt-get install faketime)")
            # -f: libfaketime format; an absolute date without '@' freezes the clock, so
            # notBefore/notAfter are exact to the second
            argv = ["faketime", "-f", start.strftime("%Y-%m-%d %H:%M:%S")] + argv
            env["TZ"] = "UTC"
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60, env=env, cwd=self.dir)
        if r.returncode != 0 or not cert.exists():
            raise LabError(f"openssl failed ({r.returncode}): {' '.join(argv)}\n"
                           f"{r.stdout.decode(errors='replace')}")
        return cert, key

    def cert_dates(self, cert: PathLike) -> tuple:
        """(notBefore, notAfter) strings of a PEM certificate, via openssl x509."""
        r = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-startdate",
                            "-enddate"], stdout=subprocess.PIPE, check=True, timeout=30)
        d = dict(l.split("=", 1) for l in r.stdout.decode().splitlines() if "=" in l)
        return d.get("notBefore"), d.get("notAfter")

    def make_rsakeys(self, stem: str = "rsakeys", bits: int = 2048) -> pathlib.Path:
        """Generate an xrdp rsakeys.ini (Standard RDP Security key pair) in the lab dir
        with xrdp-keygen. 512 or 2048 bits (what xrdp-keygen offers)."""
        path = self.dir / f"{stem}.ini"
        r = subprocess.run(["xrdp-keygen", "xrdp", str(path), str(bits)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        if r.returncode != 0 or not path.exists():
            raise LabError(f"xrdp-keygen failed: {r.stdout.decode(errors='replace')}")
        return path

    # ---------------------------------------------------------------- xrdp
    def xrdp(self, profile: str, *, name: Optional[str] = None,
             port: Optional[int] = None, cert_days: int = 365,
             cert_not_after: Union[None, str, _dt.datetime] = None,
             rsakeys: Optional[PathLike] = None, log_level: str = "DEBUG",
             sections: Optional[Mapping[str, Mapping[str, object]]] = None,
             timeout: float = 15.0, **overrides) -> XrdpHost:
        """Start an xrdp instance shaped like a legacy host, listening on 127.0.0.1.

        profile: "tls10" | "modern" | "rdp" (see XRDP_PROFILES).
        overrides: extra/replacement [Globals] keys, e.g. crypt_level="low",
            tls_ciphers="...", max_bpp=16. certificate=/key_file= may be given to use
            an existing pair; otherwise a self-signed one is made (cert_days,
            cert_not_after: make it expired with a past date).
        rsakeys: path of an rsakeys.ini to use instead of /etc/xrdp/rsakeys.ini
            (see make_rsakeys). xrdp reads that file from the compile-time path only,
            so the lab runs xrdp in a private mount namespace (unshare -m) with the file
            bind-mounted over /etc/xrdp/rsakeys.ini. Only that xrdp sees it.
        sections: extra ini sections / keys, {"Desk": {"lib": "libvnc.so", ...}}.
        """
        if profile not in XRDP_PROFILES:
            raise ValueError(f"unknown xrdp profile {profile!r}; have {list(XRDP_PROFILES)}")
        self._check_open()
        uname = self._unique(name or f"xrdp-{profile}")
        hostdir = self.dir / uname
        hostdir.mkdir()
        if "certificate" in overrides or "key_file" in overrides:
            cert = pathlib.Path(str(overrides.get("certificate", "")))
            key = pathlib.Path(str(overrides.get("key_file", "")))
        else:
            cert, key = self.make_cert(f"{uname}/cert", days=cert_days,
                                       not_after=cert_not_after, cn=f"xrdp-{profile}")
        if rsakeys is None and profile == "rdp" and not XRDP_SYSTEM_RSAKEYS.exists():
            rsakeys = self.make_rsakeys(f"{uname}/rsakeys")   # none installed: make one
        XRDP_SOCKDIR.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(XRDP_SOCKDIR, 0o1777)
        except PermissionError:
            pass
        base = XRDP_SYSTEM_INI.read_text(errors="replace")
        log_path = hostdir / "xrdp.log"
        attempts = 1 if port is not None else 3        # retry if a free_port() got taken
        last_exc: Optional[BaseException] = None
        for attempt in range(attempts):
            p = port if port is not None else free_port()
            settings = {
                "port": f"tcp://{LOOPBACK}:{p}",
                "fork": "false",
                "certificate": str(cert),
                "key_file": str(key),
            }
            settings.update(XRDP_PROFILES[profile])
            settings.update({k: v for k, v in overrides.items()})
            changes = {"Globals": settings,
                       "Logging": {"LogFile": str(log_path), "LogLevel": log_level,
                                   "EnableSyslog": "false", "EnableConsole": "false"}}
            for sec, kv in (sections or {}).items():
                changes.setdefault(sec, {}).update(kv)
            ini_path = hostdir / "xrdp.ini"
            ini_path.write_text(_edit_ini(base, changes))
            argv = ["xrdp", "--nodaemon", "--config", str(ini_path)]
            if rsakeys is not None:
                rk = pathlib.Path(rsakeys).resolve()
                if not rk.exists():
                    raise LabError(f"rsakeys file {rk} does not exist")
                argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        'mount --bind "$1" /etc/xrdp/rsakeys.ini && shift && exec "$@"',
                        "sh", str(rk)] + argv
            mark = log_path.stat().st_size if log_path.exists() else 0
            proc = self._popen(argv, f"{uname}-a{attempt}", hostdir / "xrdp.stdout.log")
            proc.log_path = log_path
            try:
                wait_listening(p, timeout=timeout, proc=proc, what=uname)
                break
            except ProcessDied as e:
                last_exc = e
                proc.stop()
                text = (log_path.read_bytes()[mark:].decode(errors="replace")
                        if log_path.exists() else "")
                if port is None and re.search(r"in use|Address already|bind", text, re.I):
                    continue
                raise ProcessDied(f"{e}\n--- xrdp stdout:\n"
                                  f"{tail(hostdir / 'xrdp.stdout.log')}") from None
        else:
            raise last_exc  # type: ignore[misc]
        return XrdpHost(self, uname, profile, p, ini_path, log_path, cert, key,
                        pathlib.Path(rsakeys) if rsakeys else XRDP_SYSTEM_RSAKEYS,
                        settings, proc)

    def replace_xrdp(self, old: XrdpHost, profile: Optional[str] = None, *,
                     name: Optional[str] = None, timeout: float = 15.0, **kw) -> XrdpHost:
        """Stop `old` and start another xrdp on the same port: the host reinstalled, or an
        impostor answering on its address. profile: the new instance's (default: old's);
        the other arguments as for xrdp(). Unless given, the new instance has identities of
        its own: a new self-signed certificate and key, and for Standard RDP Security the
        rsakeys= given (else /etc/xrdp/rsakeys.ini, i.e. pass make_rsakeys() for a new key).
        The old instance's log stays where it was; the new one logs to its own file."""
        port = old.port
        old.stop()
        # the listening socket is gone once the process is reaped; wait for the kernel to
        # agree before binding again (xrdp sets SO_REUSEADDR, so TIME_WAIT does not matter)
        for _ in _deadline_loop(timeout):
            if not _listening_on(port):
                break
        else:
            raise LabTimeout(f"{old.name} still listening on {port} after it was stopped")
        return self.xrdp(profile or old.profile, name=name or f"{old.name}-next", port=port,
                         timeout=timeout, **kw)

    # ---------------------------------------------------------------- NLA host
    def tls10_preload(self) -> pathlib.Path:
        """Build tests/lab/tls10_only_preload.c into this lab's dir (once per lab; needs cc
        and the OpenSSL headers) and return the .so: LD_PRELOADed into an OpenSSL program
        it limits every SSL object to TLS 1.0 with AES256-SHA/AES128-SHA, security level 0."""
        with self._lock:
            so = self.dir / "tls10_only_preload.so"
            if so.exists():
                return so
            cc = shutil.which("cc") or shutil.which("gcc")
            if cc is None:
                raise LabError("tls10_preload needs a C compiler (apt-get install gcc)")
            tmp = so.with_suffix(".so.tmp")
            r = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-Wall", "-o", str(tmp),
                                str(TLS10_PRELOAD_SOURCE), "-ldl"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
            if r.returncode != 0 or not tmp.exists():
                raise LabError(f"building {TLS10_PRELOAD_SOURCE.name} failed:\n"
                               f"{r.stdout.decode(errors='replace')}")
            tmp.rename(so)
            return so

    def make_sam(self, users: Mapping[str, str], stem: str = "sam") -> pathlib.Path:
        """A FreeRDP SAM file (winpr-hash -f sam: `USER:::NTHASH:::`, no domain, so any
        domain the client sends matches) with one line per user -> password."""
        lines = []
        for user, password in users.items():
            r = subprocess.run(["winpr-hash", "-u", user, "-p", password, "-f", "sam"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
            out = r.stdout.decode(errors="replace").strip()
            if r.returncode != 0 or not out.startswith(user + ":"):
                raise LabError(f"winpr-hash failed for {user!r} (apt-get install winpr-utils)"
                               f": rc={r.returncode} {out}")
            lines.append(out)
        path = self.dir / stem
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def nla_host(self, users: Optional[Mapping[str, str]] = None, *, tls10: bool = True,
                 name: str = "shadow-nla", port: Optional[int] = None,
                 log_level: str = "DEBUG", timeout: float = 15.0) -> ShadowHost:
        """Start an RDP host that requires NLA, like Windows 7 / 2008 R2 with NLA on:
        `freerdp-shadow-cli /port:P /bind-address:127.0.0.1 /sec:nla /sam-file:SAM +auth`
        sharing this lab's Xvfb. It negotiates PROTOCOL_HYBRID only (a /sec:tls client gets
        ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED) and authenticates NTLM against the SAM file.

        users: user -> password the host accepts (default {DEFAULT_USER: DEFAULT_PASSWORD}).
        tls10: LD_PRELOAD the TLS-1.0-only shim (tls10_preload()), so the host speaks TLSv1
            with AES256-SHA/AES128-SHA only, like Windows 7.
        log_level: WLOG_LEVEL (freerdp-shadow-cli has no log-level option); DEBUG logs the
            NLA steps (SHADOW_NLA_OK / SHADOW_NLA_FAILED / SHADOW_NLA_BAD_PASSWORD) and the
            state transitions. The host never logs the user name (only the X.224 cookie).
        Ready when it logs `Listening on [127.0.0.1]:P` and the port is in LISTEN (no probe
        connection, which it would log as a failed client)."""
        self._check_open()
        users = dict(users or {DEFAULT_USER: DEFAULT_PASSWORD})
        uname = self._unique(name)
        sam = self.make_sam(users, f"{uname}.sam")
        env = dict(self.client_env())
        env["WLOG_LEVEL"] = log_level
        env["WLOG_APPENDER"] = "CONSOLE"
        preload = None
        if tls10:
            preload = self.tls10_preload()
            env["LD_PRELOAD"] = str(preload)
        if shutil.which("freerdp-shadow-cli") is None:
            raise LabError("freerdp-shadow-cli missing (apt-get install freerdp2-shadow-x11)")
        attempts = 1 if port is not None else 3     # retry if a free_port() got taken
        last_exc: Optional[BaseException] = None
        for attempt in range(attempts):
            p = port if port is not None else free_port()
            argv = ["freerdp-shadow-cli", f"/port:{p}", f"/bind-address:{LOOPBACK}",
                    "/sec:nla", f"/sam-file:{sam}", "+auth"]
            cmd = (["stdbuf", "-oL", "-eL"] if shutil.which("stdbuf") else []) + argv
            proc = self._popen(cmd, f"{uname}-a{attempt}", self.dir / f"{uname}-a{attempt}.log",
                               env=env)
            try:
                proc.wait_log(r"Listening on \[127\.0\.0\.1\]:%d\b" % p, timeout=timeout)
                wait_listening(p, timeout=timeout, proc=proc, what=uname)
                break
            except ProcessDied as e:
                last_exc = e
                proc.stop()
                if port is None and re.search(r"bind|in use|listen", proc.log_text(), re.I):
                    continue
                raise
        else:
            raise last_exc  # type: ignore[misc]
        if preload is not None:
            try:
                maps = pathlib.Path(f"/proc/{proc.pid}/maps").read_text()
            except OSError as e:
                raise LabError(f"cannot read {uname}'s memory map: {e}") from None
            if preload.name not in maps:
                proc.stop()
                raise LabError(f"{uname}: {preload.name} is not loaded in freerdp-shadow-cli "
                               f"(LD_PRELOAD lost?)\n{proc.describe()}")
        return ShadowHost(self, uname, p, sam, users, tls10, proc)

    # ---------------------------------------------------------------- clients
    def xfreerdp(self, port: int, *args: str, timeout: float = 30.0,
                 user: Optional[str] = DEFAULT_USER,
                 password: Optional[str] = DEFAULT_PASSWORD,
                 until=None, host: str = LOOPBACK, log_level: str = "DEBUG",
                 env: Optional[Mapping[str, str]] = None, until_log=None) -> ClientResult:
        """Run `xfreerdp /v:HOST:PORT /cert:ignore /u: /p: /log-level:DEBUG <args>`
        under the lab's Xvfb with a hard timeout.

        until: regex (e.g. STATE_FINALIZATION, STATE_ACTIVE or
            r"Authentication only, exit status"); the client is ended (SIGTERM, then
            SIGKILL) as soon as a line of its output matches. Without it a successful
            session stays connected until `timeout` (ended_by="timeout").
        Output is line-buffered through stdbuf so that until= sees lines at once
        (FreeRDP's log goes to a block-buffered stdout otherwise)."""
        argv = [f"/v:{host}:{port}", "/cert:ignore"]
        if user is not None:
            argv.append(f"/u:{user}")
        if password is not None:
            argv.append(f"/p:{password}")
        if log_level:
            argv.append(f"/log-level:{log_level}")
        argv += list(args)
        cmd = ["xfreerdp"] + argv
        if shutil.which("stdbuf"):
            cmd = ["stdbuf", "-oL", "-eL"] + cmd
        e = self.client_env()
        if env:
            e.update(env)
        return self.run(cmd, "xfreerdp", timeout=timeout, until=until, env=e,
                        until_log=until_log)

    def rdesktop(self, port: int, *args: str, timeout: float = 30.0,
                 user: Optional[str] = DEFAULT_USER,
                 password: Optional[str] = DEFAULT_PASSWORD,
                 until=None, host: str = LOOPBACK,
                 env: Optional[Mapping[str, str]] = None, until_log=None) -> ClientResult:
        """Run `rdesktop -u U -p P <args> HOST:PORT` under the lab's Xvfb (Standard RDP
        Security). rdesktop has no connection-state log: its 'Connection established
        using plain RDP.' comes right after the X.224 exchange, before MCS, so it is no
        success signal. Use until_log=(host, r"connecting to sesman") to end it when
        the server has accepted the whole connection sequence."""
        argv = ["rdesktop"]
        if user is not None:
            argv += ["-u", user]
        if password is not None:
            argv += ["-p", password]
        argv += list(args) + [f"{host}:{port}"]
        cmd = (["stdbuf", "-oL", "-eL"] if shutil.which("stdbuf") else []) + argv
        e = self.client_env()
        if env:
            e.update(env)
        return self.run(cmd, "rdesktop", timeout=timeout, until=until, env=e,
                        until_log=until_log)

    def __repr__(self):
        return f"<Lab {self.name} dir={self.dir} procs={len(self.procs)}>"


def lab_for_test(testcase, name: Optional[str] = None, **kw) -> Lab:
    """Create a Lab for a unittest.TestCase; it is closed by the test's cleanup and its
    directory kept if the test failed (or RDPBRIDGE_KEEP_LAB=1)."""
    lab = Lab(name or testcase.id().rsplit(".", 2)[-2] + "." + testcase._testMethodName,
              **kw)

    def _cleanup():
        lab.close(failed=_test_failed(testcase))
    testcase.addCleanup(_cleanup)
    return lab


def _test_failed(testcase) -> bool:
    """Has this unittest.TestCase (or one of its subtests) recorded a failure/error so
    far? (During cleanups unittest's own _Outcome.success is reset to True, so look at
    the result's lists instead.)"""
    outcome = getattr(testcase, "_outcome", None)
    result = getattr(outcome, "result", None)
    for attr in ("failures", "errors", "unexpectedSuccesses"):
        for entry in getattr(result, attr, None) or []:
            test = entry[0] if isinstance(entry, tuple) else entry
            if test is testcase or getattr(test, "test_case", None) is testcase:
                return True
    return False
