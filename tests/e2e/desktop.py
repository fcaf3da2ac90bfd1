"""A real desktop behind xrdp for tests that need screen updates to flow: an Xvnc server with an
xterm that keeps redrawing, and the xrdp section that makes xrdp show it (LAB-NOTES.md)."""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

import gateway  # noqa: F401  (puts tests/lab on sys.path)
from lab import free_port

# xterm's default font ("fixed", 6x13 pixels) and size (80x24 characters).
_CELL_W, _CELL_H = 6, 13


@dataclass(frozen=True)
class Desktop:
    port: int      # VNC port (for desk_overrides)
    display: str   # X display of the desktop, ":N" (where its pointer can be read)


def free_display() -> int:
    n = 40 + free_port() % 400
    while pathlib.Path(f"/tmp/.X11-unix/X{n}").exists() or pathlib.Path(f"/tmp/.X{n}-lock").exists():
        n += 1
    return n


def vnc_desktop(lab, geometry: str = "800x600", pause: str = "0") -> Desktop:
    """Starts the desktop (owned by the lab). `pause` slows the redraw loop ("0.3" for many
    concurrent desktops on a small machine).

    The screen must really change: Xvnc compares framebuffers and sends nothing for a redraw
    that leaves the pixels as they were, and the same listing scrolled to the same place does.
    So every round ends with a line that differs (the time in nanoseconds), and the xterm is
    sized to fit the screen so that its last line is visible."""
    display, vnc_port = free_display(), free_port()
    lab.start(["Xvnc", f":{display}", "-rfbport", str(vnc_port), "-SecurityTypes", "None",
               "-geometry", geometry, "-localhost", "-AlwaysShared", "-nolisten", "tcp"],
              "xvnc", ready_port=vnc_port)
    width, height = (int(v) for v in geometry.split("x"))
    cols, rows = min(80, width // _CELL_W - 2), min(24, height // _CELL_H - 1)
    lab.start(["xterm", "-geometry", f"{cols}x{rows}+0+0", "-e", "sh", "-c",
               f"while true; do ls -la /usr/lib; date +%s.%N; sleep {pause}; done"],
              "xterm", env={"DISPLAY": f":{display}"})
    return Desktop(vnc_port, f":{display}")


def start_vnc_desktop(lab, geometry: str = "800x600", pause: str = "0") -> int:
    """vnc_desktop(), returning only its VNC port."""
    return vnc_desktop(lab, geometry, pause).port


def desk_overrides(vnc_port: int) -> dict:
    """Keyword arguments for lab.xrdp() that make every session show the VNC desktop."""
    return {"autorun": "Desk",
            "sections": {"Desk": {"name": "Desk", "lib": "libvnc.so", "username": "na",
                                  "password": "na", "ip": "127.0.0.1", "port": str(vnc_port)}}}
