"""A real desktop behind xrdp for tests that need screen updates to flow: an Xvnc server with an
xterm that keeps redrawing, and the xrdp section that makes xrdp show it (LAB-NOTES.md)."""

from __future__ import annotations

import pathlib

import gateway  # noqa: F401  (puts tests/lab on sys.path)
from lab import free_port


def free_display() -> int:
    n = 40 + free_port() % 400
    while pathlib.Path(f"/tmp/.X11-unix/X{n}").exists() or pathlib.Path(f"/tmp/.X{n}-lock").exists():
        n += 1
    return n


def start_vnc_desktop(lab, geometry: str = "800x600", pause: str = "0") -> int:
    """Starts the desktop (owned by the lab) and returns its VNC port. `pause` slows the
    redraw loop ("0.2" for many concurrent viewers on a small machine)."""
    display, vnc_port = free_display(), free_port()
    lab.start(["Xvnc", f":{display}", "-rfbport", str(vnc_port), "-SecurityTypes", "None",
               "-geometry", geometry, "-localhost", "-AlwaysShared", "-nolisten", "tcp"],
              "xvnc", ready_port=vnc_port)
    lab.start(["xterm", "-e", "sh", "-c", f"while true; do ls -la /usr/lib; sleep {pause}; done"],
              "xterm", env={"DISPLAY": f":{display}"})
    return vnc_port


def desk_overrides(vnc_port: int) -> dict:
    """Keyword arguments for lab.xrdp() that make every session show the VNC desktop."""
    return {"autorun": "Desk",
            "sections": {"Desk": {"name": "Desk", "lib": "libvnc.so", "username": "na",
                                  "password": "na", "ip": "127.0.0.1", "port": str(vnc_port)}}}
