"""Captures the PROXY protocol headers Debian's HAProxy sends (send-proxy, send-proxy-v2; IPv4 and
IPv6 clients) into tests/fixtures/proxy/: python3 tests/lab/capture_proxy_headers.py tests/fixtures/proxy
Loopback only; each HAProxy is started and stopped here."""
import socket, subprocess, sys, time, pathlib
out = pathlib.Path(sys.argv[1])
def free():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
for ver, opt, src in (("v1", "send-proxy", "127.0.0.1"), ("v2", "send-proxy-v2", "127.0.0.1"), ("v1_ipv6", "send-proxy", "::1"), ("v2_ipv6", "send-proxy-v2", "::1")):
    backend = socket.create_server(("127.0.0.1", 0)); bport = backend.getsockname()[1]
    fport = free()
    bind = f"[::1]:{fport}" if ":" in src else f"127.0.0.1:{fport}"
    cfg = pathlib.Path(f"h_{ver}.cfg")
    cfg.write_text(f"""global
  log stderr local0
defaults
  mode tcp
  timeout connect 5s
  timeout client 5s
  timeout server 5s
frontend f
  bind {bind}
  default_backend b
backend b
  server s 127.0.0.1:{bport} {opt}
""")
    p = subprocess.Popen(["haproxy", "-f", str(cfg), "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            c = socket.create_connection((src, fport), timeout=1); break
        except OSError: time.sleep(0.05)
    x224 = bytes.fromhex("030000130ee000000000000100080001000000")
    c.sendall(x224)
    conn, _ = backend.accept(); conn.settimeout(3)
    data = b""
    while len(data) < 19 or not data.endswith(x224):
        more = conn.recv(4096)
        if not more: break
        data += more
    header = data[:-len(x224)]
    (out / f"proxy_{ver}_haproxy.bin").write_bytes(header)
    print(ver, len(header), header[:60])
    c.close(); conn.close(); p.terminate(); p.wait()
