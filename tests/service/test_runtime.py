"""The SQLite writer lock that server processes share."""

from __future__ import annotations

import fcntl
import multiprocessing as mp
import os

import pytest

from credo.service.runtime import SerialWriter


def _hold(database: str, held, release) -> None:  # noqa: ANN001
    with SerialWriter(database):
        held.set()
        release.wait(30)


def _locked_elsewhere(path: str) -> bool:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_serial_writer_excludes_other_processes_until_released(tmp_path) -> None:  # noqa: ANN001
    database = str(tmp_path / "store.db")
    ctx = mp.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold, args=(database, held, release))
    child.start()
    try:
        assert held.wait(60)
        assert _locked_elsewhere(f"{database}.writer-lock")
    finally:
        release.set()
        child.join(60)
    assert child.exitcode == 0
    assert not _locked_elsewhere(f"{database}.writer-lock")


def test_serial_writer_is_reentrant_and_releases_on_the_outermost_exit(tmp_path) -> None:  # noqa: ANN001
    database = str(tmp_path / "store.db")
    writer = SerialWriter(database)
    with writer:
        with writer:
            pass
        ctx = mp.get_context("spawn")
        probe = ctx.Pool(1)
        try:
            assert probe.apply(_locked_elsewhere, (f"{database}.writer-lock",)) is True
        finally:
            probe.terminate()
    assert not _locked_elsewhere(f"{database}.writer-lock")


@pytest.mark.parametrize("database", [None, ":memory:"])
def test_serial_writer_without_a_file_is_a_thread_lock(database) -> None:  # noqa: ANN001
    with SerialWriter(database) as writer:
        assert writer._path is None
