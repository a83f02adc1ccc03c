"""Ports of the one-machine setup: a taken port is named with its variable, and a listener is only "ours"
when the process we started holds it (never a stranger that happens to answer on the port)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tools.infra import KAFKA_PORT_VAR, MONGO_PORT_VAR, EmbeddedInfra
from tools.ports import (
    PortInUse,
    descendants,
    listener_owner,
    listening_sockets,
    port_is_free,
    proc_supported,
    require_free,
    wait_for_listener,
)

needs_proc = pytest.mark.skipif(not proc_supported(), reason="reads listeners from /proc (Linux)")


@pytest.fixture
def foreign() -> Iterator[int]:
    """A plain listener of this test process: 'somebody else' for any child we start."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield int(s.getsockname()[1])


def _child(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)


def test_a_listened_port_is_not_free_and_the_message_names_port_and_variable(foreign: int) -> None:
    assert not port_is_free("127.0.0.1", foreign)
    with pytest.raises(PortInUse) as err:
        require_free("127.0.0.1", foreign, KAFKA_PORT_VAR, "embedded broker")
    assert str(foreign) in str(err.value) and "FRONTLINE_KAFKA_PORT" in str(err.value)


@needs_proc
def test_listening_sockets_reads_this_process_listener(foreign: int) -> None:
    assert ("127.0.0.1", foreign) in listening_sockets(os.getpid())


@needs_proc
def test_a_stranger_answering_on_the_port_is_not_our_process(foreign: int) -> None:
    idle = _child("import time; time.sleep(60)")
    try:
        assert listener_owner(idle.pid, "127.0.0.1", foreign) == "foreign"
        with pytest.raises(PortInUse) as err:
            wait_for_listener(idle, "127.0.0.1", foreign, "embedded database", MONGO_PORT_VAR, timeout=20)
        assert str(foreign) in str(err.value) and "FRONTLINE_MONGO_PORT" in str(err.value)
    finally:
        idle.kill()
        idle.wait()


@needs_proc
def test_our_child_holding_the_port_is_ours_and_a_dead_child_is_reported() -> None:
    server = _child("import socket, sys, time\ns = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)\n"
                    "print(s.getsockname()[1], flush=True); time.sleep(60)")
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        wait_for_listener(server, "127.0.0.1", port, "test server", "TEST_PORT", timeout=20)
        assert listener_owner(server.pid, "127.0.0.1", port) == "ours"
        assert server.pid not in descendants(server.pid) and server.pid in descendants(os.getpid())
    finally:
        server.kill()
        server.wait()
    with pytest.raises(RuntimeError, match="exited"):
        wait_for_listener(server, "127.0.0.1", port, "test server", "TEST_PORT", timeout=20)


def test_embedded_infra_refuses_an_explicit_port_that_is_taken(foreign: int) -> None:
    infra = EmbeddedInfra(kafka_port=foreign)
    with pytest.raises(PortInUse) as err:
        infra.start()
    assert f"port {foreign}" in str(err.value) and KAFKA_PORT_VAR in str(err.value)
    assert infra.procs == []  # nothing was left running
