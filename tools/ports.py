"""Local TCP ports: pick a free one, check one is free, and tell which process listens where.

``make up`` must never run against somebody else's broker or database: a port that merely answers proves
nothing, so :func:`wait_for_listener` waits until the listener belongs to the process we started (read from
``/proc`` on Linux; elsewhere it settles for "our process is alive and the port answers").
"""

from __future__ import annotations

import ipaddress
import os
import random
import socket
import subprocess
import time
from pathlib import Path

LOOPBACK = {"127.0.0.1", "::1"}
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's "st" column


class PortInUse(RuntimeError):
    """A port we were told to use is taken; the message names the port and the variable that sets it."""


# Listening ports come from below Linux's ephemeral range (32768-60999): a port the kernel hands out for bind(0)
# is also a candidate source port of every outgoing connection, so another process could take it between our
# choice and the server's bind.
LISTEN_PORTS = range(20_000, 32_000)
_handed_out: set[int] = set()


def free_port() -> int:
    """A port free on loopback now, never handed out before by this process."""
    for _ in range(200):
        port = random.choice(LISTEN_PORTS)  # noqa: S311 (not a secret)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as s:  # the range is crowded: let the kernel choose
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now (probed as servers bind: with SO_REUSEADDR)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            s.listen(1)
        except OSError:
            return False
    return True


def require_free(host: str, port: int, variable: str, what: str) -> None:
    if not port_is_free(host, port):
        raise PortInUse(f"{what}: port {port} on {host} is already in use by another process; "
                        f"set {variable} to a free port, or unset it to let Frontline pick one")


def _decode(hex_addr: str) -> tuple[str, int]:
    addr, port = hex_addr.split(":")
    raw = bytes.fromhex(addr)
    # the kernel prints each 32-bit word in host (little-endian) order
    host_bytes = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(host_bytes)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip), int(port, 16)


def _listening_inodes() -> dict[str, tuple[str, int]]:
    """Socket inode → (host, port) of every TCP listener on this machine (IPv4 and IPv6)."""
    found: dict[str, tuple[str, int]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9 and cols[3] == _LISTEN:
                found[cols[9]] = _decode(cols[1])
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def proc_supported() -> bool:
    return Path("/proc/net/tcp").exists() and Path(f"/proc/{os.getpid()}/fd").exists()


def listening_sockets(pid: int) -> set[tuple[str, int]]:
    """The (host, port) pairs process ``pid`` listens on (empty where /proc is missing or not ours to read)."""
    table = _listening_inodes()
    return {table[i] for i in _socket_inodes(pid) if i in table}


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, their children, ...), read from /proc/<n>/stat."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    frontier = {pid}
    while frontier:
        kids = {p for p, parent in parents.items() if parent in frontier}
        found += sorted(kids)
        frontier = kids
    return found


def listener_owner(pid: int, host: str, port: int) -> str:
    """Who listens on ``host:port`` (or on the wildcard that covers it): "ours" (``pid`` or a process below it),
    "foreign", or "none"."""
    table = _listening_inodes()
    matching = {i for i, (h, p) in table.items() if p == port and h in {host, "0.0.0.0", "::"}}
    if not matching:
        return "none"
    ours: set[str] = set()
    for p in (pid, *descendants(pid)):
        ours |= _socket_inodes(p)
    return "ours" if any(table[i] == (host, port) for i in matching & ours) else "foreign"


def wait_for_listener(proc: subprocess.Popen[bytes], host: str, port: int, what: str, variable: str,
                      timeout: float = 30.0) -> None:
    """Wait until ``proc`` itself listens on ``host:port``; fail at once if it dies or another process has it."""
    deadline = time.monotonic() + timeout
    own = proc_supported()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            hint = "" if port_is_free(host, port) else f"; port {port} is taken by another process (set {variable})"
            raise RuntimeError(f"{what} (pid {proc.pid}) exited with {proc.returncode} before listening "
                               f"on {host}:{port}{hint}")
        owner = listener_owner(proc.pid, host, port) if own else "none"
        if owner == "ours":
            return
        if owner == "foreign":
            raise PortInUse(f"{what}: another process answers on {host}:{port}, not ours (pid {proc.pid}); "
                            f"set {variable} to a free port, or unset it to let Frontline pick one")
        if not own:
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return
            except OSError:
                pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} (pid {proc.pid}) is not listening on {host}:{port} after {timeout}s")


def wait_for_port(host: str, port: int, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until something answers on ``host:port`` (a server of the test's own; for a process we started and
    must be sure of, use :func:`wait_for_listener`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")
