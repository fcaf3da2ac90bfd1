"""Scripted RDP peers for failure-path tests: a host and a client that follow the protocol up to a
chosen boundary and then close, reset or go silent. Standard library only.

Boundaries, counted in the scripted peer's own bytes:
  host:   "accept" (0 bytes, request not read), "request" (request read, 0 bytes),
          "confirm" (the 19-byte Connection Confirm), "mid_tls" (half of its first TLS flight),
          "tls" (handshake done), "established" (MCS Connect Response sent); a host that
          selects CredSSP (PROTOCOL_HYBRID) also "credssp" (the gateway's first TSRequest read).
  client: "connect" (0 bytes), "mid_request" (5 bytes of its X.224 request), "confirmed"
          (request sent, confirm read), "mid_tls" (half of its ClientHello), "tls" (handshake
          done), "credssp" (with PROTOCOL_HYBRID: FreeRDP's captured first TSRequest sent, the
          gateway's answer read), "mcs" (MCS Connect Initial sent, Response not read),
          "established" (MCS Connect Initial sent, Response read).
The Standard RDP Security boundaries (MCS domain, security exchange, licensing) are cut by
CuttingRelay in front of a real xrdp host.
Actions: "close" (FIN), "reset" (RST: SO_LINGER 0) and "silent" (sends nothing more, reads and
discards until the other side closes).

TLS runs on ssl.SSLObject over memory BIOs, so that a script can stop after any number of its
own handshake bytes.

As a script (for a peer inside a network namespace), runs one well-behaved host in the foreground:
    python3 peers.py host --bind ADDR --port PORT --cert CERT --key KEY
which prints "listening on ADDR:PORT" once it accepts connections; or a client that establishes
one session through the gateway and then stays connected without a word:
    python3 peers.py client --connect ADDR:PORT [--cookie NAME]
which prints "established from ADDR:PORT" (its own address) once the session is up; or
    python3 peers.py hold --connect ADDR:PORT --from SOURCE...   (silent connections, held)
    python3 peers.py probe --connect ADDR:PORT --from SOURCE     ("confirm 19" or "closed")
"""

from __future__ import annotations

import argparse
import os
import pathlib
import select
import socket
import ssl
import struct
import sys
import threading
import warnings
from typing import Callable, Optional

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
MCS_CONNECT_INITIAL = (FIXTURES / "mcs_connect_initial_freerdp_tls.bin").read_bytes()
MCS_CONNECT_RESPONSE = (FIXTURES / "mcs_connect_response_xrdp_tls.bin").read_bytes()
TSREQUEST_NEGOTIATE = (FIXTURES / "credssp" / "xfreerdp_v6_1_client.bin").read_bytes()

PROTOCOL_RDP = 0
PROTOCOL_SSL = 1
PROTOCOL_HYBRID = 2

HOST_BOUNDARIES = ("accept", "request", "confirm", "mid_tls", "tls", "established")
NLA_HOST_BOUNDARIES = ("tls", "credssp")
CLIENT_BOUNDARIES = ("connect", "mid_request", "confirmed", "mid_tls", "tls", "credssp", "mcs",
                     "established")
ACTIONS = ("close", "reset", "silent")


def x224_request(cookie: Optional[str] = None, protocols: int = PROTOCOL_SSL) -> bytes:
    body = b""
    if cookie:
        body += b"Cookie: mstshash=" + cookie.encode() + b"\r\n"
    body += bytes([0x01, 0x00, 0x08, 0x00]) + protocols.to_bytes(4, "little")
    li = 6 + len(body)
    return bytes([3, 0]) + (li + 5).to_bytes(2, "big") + bytes([li, 0xE0, 0, 0, 0, 0, 0]) + body


def x224_confirm(selected: int) -> bytes:
    """A Connection Confirm with RDP_NEG_RSP selecting `selected` (19 bytes)."""
    body = bytes([0x0E, 0xD0, 0, 0, 0x12, 0x34, 0]) + bytes([0x02, 0, 0x08, 0])
    body += selected.to_bytes(4, "little")
    return bytes([3, 0]) + (4 + len(body)).to_bytes(2, "big") + body


def cookie_of(request: bytes) -> Optional[str]:
    start = request.find(b"Cookie: mstshash=")
    if start < 0:
        return None
    start += len(b"Cookie: mstshash=")
    end = request.find(b"\r\n", start)
    return request[start:end].decode(errors="replace") if end > 0 else None


class Wire:
    """One connection: raw bytes, then TLS once start_tls() was called."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.tls: Optional[ssl.SSLObject] = None
        self.close_notify_received = False
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.pending = b""  # plaintext read but not yet consumed

    # -- bytes
    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, data: bytes) -> None:
        if self.tls is None:
            return self.send_raw(data)
        self.tls.write(data)
        self.send_raw(self.outgoing.read())

    def recv(self) -> bytes:
        """Some bytes (plaintext under TLS); b"" once the peer closed."""
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        if self.tls is None:
            return self.sock.recv(65536)
        while True:
            try:
                return self.tls.read(65536)
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                self.close_notify_received = True
                return b""
            except ssl.SSLEOFError:
                return b""
            data = self.sock.recv(65536)
            if not data:
                return b""
            self.incoming.write(data)

    def read_tpkt(self) -> bytes:
        """One TPKT frame, or b"" if the peer closed first."""
        buf = b""
        while len(buf) < 4 or len(buf) < int.from_bytes(buf[2:4], "big"):
            more = self.recv()
            if not more:
                return b""
            buf += more
        length = int.from_bytes(buf[2:4], "big")
        self.pending = buf[length:]
        return buf[:length]

    def read_der(self) -> bytes:
        """One DER value (a CredSSP TSRequest), or b"" if the peer closed first."""
        buf = b""
        while True:
            if len(buf) >= 2:
                n = buf[1]
                header = 2 + (n & 0x7F if n & 0x80 else 0)
                if len(buf) >= header:
                    length = int.from_bytes(buf[2:header], "big") if n & 0x80 else n
                    if len(buf) >= header + length:
                        self.pending = buf[header + length:]
                        return buf[:header + length]
            more = self.recv()
            if not more:
                return b""
            buf += more

    # -- TLS
    def start_tls(self, ctx: ssl.SSLContext, server_side: bool) -> None:
        self.tls = ctx.wrap_bio(self.incoming, self.outgoing, server_side=server_side,
                                server_hostname=None if server_side else "gateway.invalid")

    def handshake(self, partial: bool = False) -> bool:
        """Runs the handshake; with `partial`, sends only half of this side's first flight and
        returns False."""
        while True:
            try:
                self.tls.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            out = self.outgoing.read()
            if out:
                if partial:
                    self.send_raw(out[:max(1, len(out) // 2)])
                    return False
                self.send_raw(out)
            if done:
                return True
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("peer closed during the TLS handshake")
            self.incoming.write(data)

    # -- ending
    def act(self, action: str, stop: Optional[threading.Event] = None) -> None:
        if action == "close":
            self.sock.close()
        elif action == "reset":
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()
        elif action == "silent":
            # Sends nothing more; takes what comes until the other side closes (or the test
            # ends, which shuts the socket down).
            try:
                while self.sock.recv(65536):
                    pass
            except OSError:
                pass
            self.sock.close()
        else:
            raise ValueError(action)

    def drain_and_close(self) -> None:
        try:
            while self.recv():
                pass
            if self.close_notify_received:
                # Answer the peer's close_notify as a TLS server does: OpenSSL keeps a session
                # resumable only when its connection ended with this side's close_notify too.
                self.tls.unwrap()
                self.send_raw(self.outgoing.read())
        except (OSError, ssl.SSLError, ValueError):
            pass
        self.sock.close()


def server_context(cert, key, tls10: bool = False) -> ssl.SSLContext:
    """tls10: only TLS 1.0 with the CBC-SHA suites, as Windows 7 / Server 2008 R2 speak it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    if tls10:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("AES256-SHA:AES128-SHA:@SECLEVEL=0")
    return ctx


def client_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class _Listener:
    """A loopback listener that serves each connection on a thread of its own (`_serve`) and,
    when closed, shuts down every socket it handed out."""

    def __init__(self, bind: str = "127.0.0.1", port: int = 0):
        self.listener = socket.create_server((bind, port), reuse_port=False)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self._lock = threading.Lock()
        self._socks: list = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                self.accepted += 1
                self._socks.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.append(sock)

    def _serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        with self._lock:
            self._closed = True
            socks = list(self._socks)
        self.listener.close()
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class ScriptedHost(_Listener):
    """An RDP host on a thread per connection: it answers an X.224 request by selecting
    `select`, runs TLS, answers the MCS Connect Initial with xrdp's captured Connect Response
    (the session is then established through the gateway) and reads until closed; unless the
    script (`when`, `action`) makes it stop at a boundary. `on_request(cookie, wire)` may take
    over a connection once its request is read (return True).

    TLS: `tls10` limits it to TLS 1.0 as Windows 7 speaks it. OpenSSL's server session cache
    lets a client resume; with `resume=False` every connection gets a context of its own, whose
    empty cache declines every offered session. `resumed` records, per TLS handshake, whether
    OpenSSL on this side resumed it."""

    def __init__(self, cert, key, when: Optional[str] = None, action: Optional[str] = None,
                 select: int = PROTOCOL_SSL, bind: str = "127.0.0.1", port: int = 0,
                 on_request: Optional[Callable[[Optional[str], Wire], bool]] = None,
                 echo: bool = False, tls10: bool = False, resume: bool = True):
        assert when is None or when in HOST_BOUNDARIES + NLA_HOST_BOUNDARIES, when
        self.ctx = server_context(cert, key, tls10)
        self._new_ctx = None if resume else (lambda: server_context(cert, key, tls10))
        self.resumed: list = []
        self.when, self.action, self.select = when, action, select
        self.on_request = on_request
        self.echo = echo  # once established, send back what comes (traffic both ways)
        self.cookies: list = []
        super().__init__(bind, port)

    def _serve(self, conn: socket.socket) -> None:
        w = Wire(conn)
        try:
            if self.when == "accept":
                return w.act(self.action)
            request = w.read_tpkt()
            if not request:
                return conn.close()
            cookie = cookie_of(request)
            with self._lock:
                self.cookies.append(cookie)
            if self.on_request is not None and self.on_request(cookie, w):
                return
            if self.when == "request":
                return w.act(self.action)
            w.send(x224_confirm(self.select))
            if self.when == "confirm":
                return w.act(self.action)
            w.start_tls(self._new_ctx() if self._new_ctx else self.ctx, server_side=True)
            if not w.handshake(partial=self.when == "mid_tls"):
                return w.act(self.action)
            with self._lock:
                self.resumed.append(w.tls.session_reused)
            if self.when == "tls":
                return w.act(self.action)
            if self.select != PROTOCOL_SSL:
                # CredSSP is scripted only as far as the gateway's first TSRequest.
                if self.when == "credssp" and w.read_der():
                    return w.act(self.action)
                return w.drain_and_close()
            if not w.read_tpkt():
                return conn.close()
            w.send(MCS_CONNECT_RESPONSE)
            if self.when == "established":
                return w.act(self.action)
            while self.echo and (data := w.recv()):
                w.send(data)
            w.drain_and_close()
        except (OSError, ssl.SSLError, ConnectionError):
            conn.close()


# ------------------------------------------------------------ Standard RDP Security hosts
RDP_BOUNDARIES = ("mcs", "security_exchange", "licensing")
SEC_EXCHANGE_PKT = 0x0001
SEC_LICENSE_PKT = 0x0080


def frame_length(buf: bytes) -> Optional[int]:
    """The length of the TPKT or fast-path frame at the start of `buf`, if its header is in."""
    if len(buf) < 2:
        return None
    if buf[0] == 3:
        return int.from_bytes(buf[2:4], "big") if len(buf) >= 4 else None
    if buf[1] & 0x80:
        return ((buf[1] & 0x7F) << 8 | buf[2]) if len(buf) >= 3 else None
    return buf[1]


def send_data_flags(frame: bytes) -> Optional[int]:
    """The security header flags of an MCS Send Data Request or Indication (TPKT, X.224 Data,
    then the MCS PDU: type, initiator, channel, priority, a PER length), else None."""
    if len(frame) < 14 or frame[0] != 3 or frame[5] != 0xF0 or frame[7] >> 2 not in (25, 26):
        return None
    pos = 13 + (2 if frame[13] & 0x80 else 1)
    return int.from_bytes(frame[pos:pos + 2], "little") if len(frame) >= pos + 2 else None


class CuttingRelay(_Listener):
    """Stands in for a Standard RDP Security host: relays each connection, frame by frame, to a
    real one (xrdp on 127.0.0.1:target) and at the boundary `when` stops as ScriptedHost does
    (`action`): "mcs" (the host's MCS Connect Response passed on), "security_exchange" (the
    gateway's Security Exchange PDU taken, not passed on), "licensing" (the host's first
    licensing PDU passed on, what follows it not). Standard RDP Security frames its PDUs in the
    clear, so the relay sees the boundaries without any key."""

    def __init__(self, target: int, when: str, action: str):
        assert when in RDP_BOUNDARIES and action in ACTIONS, (when, action)
        self.target, self.when, self.action = target, when, action
        self.cut = 0  # connections stopped at the boundary
        super().__init__()

    def _serve(self, conn: socket.socket) -> None:
        try:
            host = socket.create_connection(("127.0.0.1", self.target), timeout=10)
        except OSError:
            return conn.close()
        host.settimeout(None)
        self._track(host)
        pending = {conn: b"", host: b""}
        host_frames = 0
        try:
            while True:
                readable, _, _ = select.select([conn, host], [], [], 60)
                if not readable:
                    break
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    pending[s] += data
                    while (n := frame_length(pending[s])) is not None and len(pending[s]) >= n:
                        frame, pending[s] = pending[s][:n], pending[s][n:]
                        flags = send_data_flags(frame)
                        if s is conn:  # from the gateway
                            if (self.when == "security_exchange" and flags is not None and
                                    flags & SEC_EXCHANGE_PKT):
                                return self._stop(conn, host)
                            host.sendall(frame)
                            continue
                        conn.sendall(frame)
                        host_frames += 1
                        if ((self.when == "mcs" and host_frames == 2) or
                                (self.when == "licensing" and flags is not None and
                                 flags & SEC_LICENSE_PKT)):
                            return self._stop(conn, host)
        except OSError:
            pass
        finally:
            host.close()
            conn.close()

    def _stop(self, conn: socket.socket, host: socket.socket) -> None:
        with self._lock:
            self.cut += 1
        host.close()
        Wire(conn).act(self.action)


def request_until_closed(port: int, request: bytes, source: str = "127.0.0.1",
                         before: Optional[Callable[[], None]] = None) -> str:
    """Sends `request` to the gateway on 127.0.0.1:port and reads until the gateway closes
    (or 10 s pass); returns the client's "ip:port". `before` runs just before the send."""
    with socket.create_connection(("127.0.0.1", port), source_address=(source, 0)) as s:
        local = "%s:%d" % s.getsockname()
        if before:
            before()
        s.sendall(request)
        s.settimeout(10)
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass
    return local


class ClientRun:
    """What a scripted client did: its local address (to find its connection in the gateway's
    log) and how far it got."""

    def __init__(self):
        self.local = None        # "ip:port"
        self.confirm = b""       # the gateway's Connection Confirm, if one came
        self.established = False  # the MCS Connect Response came back
        self.error = None


def run_client(port: int, *, when: Optional[str] = None, action: Optional[str] = None,
               cookie: Optional[str] = None, protocols: int = PROTOCOL_SSL,
               source: str = "127.0.0.1", timeout: float = 20.0) -> ClientRun:
    """One scripted client connection to the gateway on 127.0.0.1:port, run to its boundary (or,
    without `when`, through an established session that it then closes, or with action
    "silent" leaves to the gateway to close)."""
    assert when is None or when in CLIENT_BOUNDARIES, when
    run = ClientRun()
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                    source_address=(source, 0))
    sock.settimeout(timeout)
    local = sock.getsockname()
    run.local = f"{local[0]}:{local[1]}"
    w = Wire(sock)
    try:
        if when == "connect":
            w.act(action)
            return run
        request = x224_request(cookie, protocols)
        if when == "mid_request":
            w.send_raw(request[:5])
            w.act(action)
            return run
        w.send_raw(request)
        run.confirm = w.read_tpkt()
        if when == "confirmed" or len(run.confirm) < 19 or run.confirm[11] != 0x02:
            w.act(action or "close")
            return run
        w.start_tls(client_context(), server_side=False)
        if not w.handshake(partial=when == "mid_tls") or when == "tls":
            w.act(action)
            return run
        if when == "credssp":
            w.send(TSREQUEST_NEGOTIATE)
            w.read_der()
            w.act(action)
            return run
        w.send(MCS_CONNECT_INITIAL)
        if when == "mcs":
            w.act(action)
            return run
        run.established = bool(w.read_tpkt())
        w.act(action or "close")
    except (OSError, ssl.SSLError, ConnectionError) as e:
        run.error = e
        sock.close()
    return run


class EchoSession:
    """A scripted client with an established session to an echoing host: `exchange()` sends
    bytes through the gateway and reads them back."""

    def __init__(self, port, cookie="echo", source="127.0.0.1"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15,
                                             source_address=(source, 0))
        self.local = "%s:%d" % self.sock.getsockname()
        self.wire = Wire(self.sock)
        self.wire.send_raw(x224_request(cookie))
        if len(self.wire.read_tpkt()) != 19:
            raise AssertionError("no Connection Confirm")
        self.wire.start_tls(client_context(), server_side=False)
        self.wire.handshake()
        self.certificate = self.wire.tls.getpeercert(binary_form=True)
        self.wire.send(MCS_CONNECT_INITIAL)
        if not self.wire.read_tpkt():
            raise AssertionError("no MCS Connect Response")

    def exchange(self, n=4096):
        payload = os.urandom(n)
        self.wire.send(payload)
        got = b""
        while len(got) < n:
            more = self.wire.recv()
            if not more:
                raise ConnectionError(f"closed after {len(got)} of {n} echoed bytes")
            got += more
        return got == payload

    def close(self):
        self.sock.close()


def send_and_wait_close(port, payload, source="127.0.0.1"):
    """Connects, sends `payload` and waits until the gateway closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5,
                                  source_address=(source, 0)) as s:
        s.sendall(payload)
        s.settimeout(10)
        try:
            while s.recv(4096):
                pass
        except (ConnectionResetError, socket.timeout):
            pass


def tls_hello_without_x224(port):
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        ctx.wrap_socket(raw, server_hostname="gw").do_handshake()
    except (ssl.SSLError, OSError):
        pass
    finally:
        raw.close()


def _main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    host = sub.add_parser("host")
    host.add_argument("--bind", required=True)
    host.add_argument("--port", type=int, required=True)
    host.add_argument("--cert", required=True)
    host.add_argument("--key", required=True)
    client = sub.add_parser("client")
    client.add_argument("--connect", required=True, help="ADDR:PORT of the gateway")
    client.add_argument("--cookie")
    hold = sub.add_parser("hold")
    hold.add_argument("--connect", required=True, help="ADDR:PORT of the gateway")
    hold.add_argument("--from", dest="sources", nargs="+", required=True)
    probe = sub.add_parser("probe")
    probe.add_argument("--connect", required=True, help="ADDR:PORT of the gateway")
    probe.add_argument("--from", dest="source", required=True)
    args = parser.parse_args()
    if args.command in ("hold", "probe"):
        addr, port = args.connect.rsplit(":", 1)
        target = (addr.strip("[]"), int(port))
    if args.command == "hold":
        # One silent connection from each source address, held open.
        held = [socket.create_connection(target, timeout=15, source_address=(a, 0))
                for a in args.sources]
        print(f"holding {len(held)}", flush=True)
        threading.Event().wait()
    if args.command == "probe":
        # Sends an X.224 request: "confirm N" (the gateway answered with N bytes) or "closed".
        sock = socket.create_connection(target, timeout=15, source_address=(args.source, 0))
        w = Wire(sock)
        try:
            w.send_raw(x224_request())
            answer = w.read_tpkt()
        except OSError:
            answer = b""
        print(f"confirm {len(answer)}" if answer else "closed", flush=True)
        return 0
    if args.command == "client":
        # Establishes a session, says so, then stays connected without a word.
        addr, port = args.connect.rsplit(":", 1)
        sock = socket.create_connection((addr, int(port)), timeout=15)
        w = Wire(sock)
        w.send_raw(x224_request(args.cookie))
        w.read_tpkt()
        w.start_tls(client_context(), server_side=False)
        w.handshake()
        w.send(MCS_CONNECT_INITIAL)
        if not w.read_tpkt():
            print("no MCS Connect Response", flush=True)
            return 1
        print("established from %s:%d" % sock.getsockname(), flush=True)
        threading.Event().wait()
        return 0
    h = ScriptedHost(args.cert, args.key, bind=args.bind, port=args.port)
    print(f"listening on {args.bind}:{h.port}", flush=True)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(_main())
