"""The member file: one recorded member id per group and worker, handed out once."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from shared.runtime import group_leave
from shared.runtime.group_leave import MemberFile, worker_name


def test_a_recorded_member_is_taken_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = MemberFile.of("frontline-sla", worker_name(8004), tmp_path)
    file.save("member-1", 3)
    file.save("member-2", 4)  # a later assignment replaces the id
    monkeypatch.setattr(group_leave, "PROCESS", "a process started after the one that recorded it")
    assert file.take() == "member-2"
    assert not file.path.exists()
    assert file.take() is None


def test_a_member_of_a_worker_still_running_is_never_taken(tmp_path: Path) -> None:
    """Two workers of one name in one process (a test's), or another live process: neither evicts the other."""
    file = MemberFile(tmp_path / "m.json")
    file.save("member-1", 1)
    assert file.take() is None and file.path.exists()
    parent = {"member_id": "member-2", "generation": 1, "pid": os.getppid(), "process": "another"}
    file.path.write_text(json.dumps(parent))
    assert file.take() is None and file.path.exists()
    restarted = {"member_id": "member-3", "generation": 1, "pid": os.getpid(), "process": "a container's previous run"}
    file.path.write_text(json.dumps(restarted))
    assert file.take() == "member-3"


def test_a_damaged_or_empty_file_names_no_member_and_is_removed(tmp_path: Path) -> None:
    for text in ("{not json", "[]", '{"member_id": ""}', '{"member_id": 7}'):
        file = MemberFile(tmp_path / "m.json")
        file.path.write_text(text)
        assert file.take() is None, text
        assert not file.path.exists()


def test_each_group_and_worker_has_its_own_file_under_the_root(tmp_path: Path) -> None:
    names = {MemberFile.of(group, worker, tmp_path).path
             for group in ("t1.frontline-sla", "t2.frontline-sla") for worker in ("host-8004", "host-8014")}
    assert len(names) == 4
    hostile = MemberFile.of("../../etc", "../passwd", tmp_path).path
    assert hostile.resolve().is_relative_to(tmp_path.resolve())


def test_the_worker_name_is_the_host_and_its_port() -> None:
    assert worker_name(8004) != worker_name(8014)
    assert worker_name(8004).endswith("-8004")
