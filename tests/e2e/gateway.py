"""Starting rdpbridge inside a lab and reading its handshake log, for end-to-end tests.

The binary comes from $RDPBRIDGE_BIN (set by CTest); the lab library from tests/lab.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "lab"))

from lab import (DEFAULT_DOMAIN, DEFAULT_PASSWORD, DEFAULT_USER, LabTimeout,  # noqa: E402
                 free_port)

BIN = os.environ.get("RDPBRIDGE_BIN", str(pathlib.Path(__file__).resolve().parents[2] /
                                          "build" / "rdpbridge"))
POLL = 0.02
# How far a gateway's RSS may stay above its warm baseline once its connections are gone.
RSS_SLACK_KIB = 64 * 1024


class Gateway:
    def __init__(self, lab, proc, port, log_path, config_path=None):
        self.lab = lab
        self.proc = proc
        self.port = port
        self.log_path = pathlib.Path(log_path)
        self.config_path = config_path  # None for a quick start

    def reload(self, config=None, timeout=15.0):
        """Rewrites the config file with `config` (TOML text as for start_gateway), if given,
        sends SIGHUP and returns the config_reloaded or config_reload_failed event it caused."""
        if config is not None:
            self.config_path.write_text(config.format(port=self.port, log=self.log_path,
                                                      state=self.lab.dir / "state"))
        kinds = ("config_reloaded", "config_reload_failed")
        before = len([e for e in self.events() if e.get("event") in kinds])
        os.kill(self.proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while True:
            done = [e for e in self.events() if e.get("event") in kinds]
            if len(done) > before:
                return done[before]
            if time.monotonic() > deadline:
                raise LabTimeout(f"no reload event within {timeout}s")
            time.sleep(POLL)

    def events(self, event=None, conn=None):
        """Every parsed line of the handshake log (each complete line must be valid JSON).

        The writer's stdio buffer can end mid-line, so a read may catch the file with its last
        line half written: only newline-terminated lines count; the rest is read next time."""
        if not self.log_path.exists():
            return []
        out = []
        text = self.log_path.read_text()
        for line in text[:text.rfind("\n") + 1].splitlines():
            e = json.loads(line)
            if (event is None or e.get("event") == event) and (conn is None or e.get("conn") == conn):
                out.append(e)
        return out

    def wait_event(self, event, timeout=15.0, count=1, **match):
        """Waits until `count` events of this kind (with the given field values) are logged."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events(event)
                     if all(e.get(k) == v for k, v in match.items())]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise LabTimeout(f"no {count}x {event} {match} in {self.log_path} within "
                                 f"{timeout}s; log:\n" + self.log_path.read_text()[-4000:]
                                 if self.log_path.exists() else "(no log)")
            if not self.proc.alive():
                raise LabTimeout(f"rdpbridge died: {self.proc.describe()}")
            time.sleep(POLL)

    def failures(self):
        return self.events("handshake_failed")


def _front_listener(tables: str) -> str:
    """The state dir, the log, `tables`, and the loopback listener "front" that every e2e
    config has; {port}, {log} and {state} are left for start_gateway to fill."""
    return f"""
state_dir = "{{state}}"
[logging]
handshake_log = "{{log}}"
{tables}
[[listener]]
name = "front"
bind = "127.0.0.1:{{port}}"
"""


def single_backend_config(backend_port: int, *, backend: str = "host", tables: str = "",
                          backend_keys: str = "", listener_keys: str = "") -> str:
    """A config with one loopback listener whose default backend is 127.0.0.1:backend_port.
    `tables` adds top-level tables ([limits], [shield]); `backend_keys` adds keys and sub-tables
    to the [[backend]]; `listener_keys` adds keys to the [[listener]] (nla = ..., nla_users = ...).
    {port}, {log} and {state} are left for start_gateway to fill (so literal braces in the keys
    must be doubled)."""
    return _front_listener(tables) + f"""default_backend = "{backend}"
{listener_keys}
[[backend]]
name = "{backend}"
address = "127.0.0.1:{backend_port}"
{backend_keys}
"""


def routed_config(backends: dict, *, tables: str = "") -> str:
    """A config with one loopback listener, no default backend, and for each entry of
    `backends` ({name: port}) a [[backend]] at 127.0.0.1:port with a [[route]] that sends the
    clients whose cookie is that name (FreeRDP: /u:name) to it. `tables` as for
    single_backend_config."""
    blocks = "".join(f"""
[[backend]]
name = "{name}"
address = "127.0.0.1:{port}"
[[route]]
listener = "front"
mstshash = "{name}"
backend = "{name}"
""" for name, port in backends.items())
    return _front_listener(tables) + blocks


# LeakSanitizer suppressions for the GSSAPI libraries (gss-ntlmssp, krb5) a gateway with NLA
# loads: their own leaks, not ours (see the file). Full stacks are needed to match them, since
# OpenSSL and krb5 are built without frame pointers. Ignored by builds without sanitizers.
NLA_LSAN_SUPPRESSIONS = pathlib.Path(__file__).resolve().parents[1] / "unit" / "nla_lsan.supp"


def nla_sanitizer_env() -> dict:
    """Environment for a gateway that runs NLA: LSAN_OPTIONS with the GSSAPI suppressions
    (appended to any LSAN_OPTIONS already set)."""
    mine = f"suppressions={NLA_LSAN_SUPPRESSIONS}:fast_unwind_on_malloc=0"
    old = os.environ.get("LSAN_OPTIONS", "")
    return {"LSAN_OPTIONS": f"{old}:{mine}" if old else mine}


def start_gateway(lab, target_port=None, *extra, config=None, name="rdpbridge", env=None,
                  binary=None, wrapper=()):
    """Quick start in front of 127.0.0.1:target_port, or `config` (TOML text in which
    {port} and {log} are substituted). `extra` command-line options are passed in both modes
    (e.g. "--log-level", "debug"). `binary` replaces $RDPBRIDGE_BIN (e.g. a faults build);
    `wrapper` is a command line that runs it (e.g. prlimit ... --)."""
    port = free_port()
    log = lab.dir / f"{name}-handshake.jsonl"
    if config is not None:
        path = lab.dir / f"{name}.toml"
        path.write_text(config.format(port=port, log=log, state=lab.dir / "state"))
        argv = [binary or BIN, "run", "--config", str(path), *extra]
    else:
        argv = [binary or BIN, "run", "--listen", f"127.0.0.1:{port}", "--target",
                f"127.0.0.1:{target_port}", "--handshake-log", str(log),
                "--state-dir", str(lab.dir / "state"), *extra]
    proc = lab.start([*wrapper, *argv], name, ready_regex=r"listening on 127\.0\.0\.1:%d" % port,
                     env=env)
    # SIGTERM ends it with 0; anything else, or a sanitizer report (ASan, TSan and UBSan
    # builds), fails the test when the lab is closed.
    proc.expect_clean_exit = True
    return Gateway(lab, proc, port, log, path if config is not None else None)


def private_file(lab, name: str, text: str):
    """A file in the lab dir that is mode 0600 from its creation (users files, passwords)."""
    path = lab.dir / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def users_file(lab, entries=((DEFAULT_DOMAIN, DEFAULT_USER, DEFAULT_PASSWORD),),
               name="nla-users"):
    """The gateway's gss-ntlmssp users file: DOMAIN:USER:PASSWORD lines, mode 0600."""
    return private_file(lab, name, "".join(f"{d}:{u}:{p}\n" for d, u, p in entries))


# %-formatted so that start_gateway's str.format only sees the config's own placeholders.
_ROUTED_BACKEND = """
[[backend]]
name = "%(name)s"
address = "%(address)s"
%(extra)s
[[route]]
mstshash = "%(name)s"
backend = "%(name)s"
"""


def routed_backends(backends) -> str:
    """[[backend]] blocks, each routed by the cookie of its name: (name, address, extra TOML)."""
    return "".join(_ROUTED_BACKEND % {"name": n, "address": a, "extra": e}
                   for n, a, e in backends)


# ----------------------------------------------------------------------------- vitals
def http_status(url):
    """The HTTP status of GET url (an error status too, not an exception)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def socket_count(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except FileNotFoundError:
            pass
    return n


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise LabTimeout(f"{what}: not within {timeout}s")
        time.sleep(0.05)


class Vitals:
    """A warm gateway's descriptors and RSS, to prove that connections gave back what they took.
    Take it once every path has run (TLS contexts built, files opened lazily) and the warm-up
    connections are closed: `sockets` is the count of sockets at start (its listeners)."""

    def __init__(self, gw, sockets: int, timeout: float = 15.0):
        self.pid = gw.proc.pid
        self.sockets = sockets
        wait_for("warm-up sockets closed", lambda: socket_count(self.pid) == sockets, timeout)
        self.fds, self.rss = fd_count(self.pid), rss_kib(self.pid)

    def assert_back(self, test, timeout: float = 15.0):
        """Descriptors back to the baseline, and RSS within RSS_SLACK_KIB of it (not under the
        sanitizers, whose quarantine keeps freed memory resident by design)."""
        try:
            wait_for("descriptors back to the baseline", lambda: fd_count(self.pid) == self.fds,
                     timeout)
        except LabTimeout:
            test.fail(f"descriptors: baseline {self.fds}, now {fd_count(self.pid)}")
        if not os.environ.get("RDPBRIDGE_SANITIZED"):
            grown = rss_kib(self.pid) - self.rss
            test.assertLess(grown, RSS_SLACK_KIB, f"RSS grew by {grown} KiB")
