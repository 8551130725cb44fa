"""Group commit, the cached checkpoint schedule, verify's inlined chain and
the SQLite row reader's fast path."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from audit_helpers import make_log, run_verify

from opsgate.audit import AuditConfigError, open_log
from opsgate.audit._store import GroupCommit
from opsgate.audit.chain import genesis, link_hash
from opsgate.audit.events import Entry
from opsgate.audit.verify import verify
from opsgate.audit.witness import read_witness


class SlowStore:
    """A write that takes a while, as an fsync does; records each batch."""

    def __init__(self, delay: float = 0.01, fail_on: int | None = None) -> None:
        self.delay = delay
        self.fail_on = fail_on
        self.batches: list[list[int]] = []
        self.seq = 0

    def write(self, documents: list[dict[str, Any]]) -> list[Entry]:
        time.sleep(self.delay)
        self.batches.append([d["n"] for d in documents])
        if self.fail_on is not None and any(d["n"] == self.fail_on for d in documents):
            raise OSError("disk full")
        out = []
        for d in documents:
            self.seq += 1
            out.append(Entry(self.seq, b"{}", b"", d))
        return out


def _run(commit: GroupCommit, n: int) -> tuple[dict[int, Entry], dict[int, BaseException]]:
    got: dict[int, Entry] = {}
    failed: dict[int, BaseException] = {}
    start = threading.Barrier(n)

    def call(k: int) -> None:
        start.wait()
        try:
            got[k] = commit.submit({"n": k})
        except BaseException as exc:
            failed[k] = exc

    threads = [threading.Thread(target=call, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return got, failed


def test_group_commit_batches_and_every_caller_gets_its_own_entry() -> None:
    store = SlowStore()
    got, failed = _run(GroupCommit(store.write), 16)
    assert not failed
    assert sorted(e.seq for e in got.values()) == list(range(1, 17))
    assert all(e.data["n"] == k for k, e in got.items())
    assert sorted(n for b in store.batches for n in b) == list(range(16))
    assert len(store.batches) < 16  # callers shared commits


def test_group_commit_a_written_caller_does_not_wait_for_the_next_commit() -> None:
    """A caller returns when its own batch commits, not after a later one."""
    store = SlowStore(delay=0.2)
    commit = GroupCommit(store.write)
    done: dict[str, float] = {}
    started = time.perf_counter()

    def call(name: str) -> None:
        commit.submit({"n": 0})
        done[name] = time.perf_counter() - started

    first = threading.Thread(target=call, args=("first",))
    first.start()
    time.sleep(0.05)  # the first commit is under way: these two queue behind it
    rest = [threading.Thread(target=call, args=(f"q{k}",)) for k in range(2)]
    for t in rest:
        t.start()
    for t in [first, *rest]:
        t.join(timeout=10)
    assert [len(b) for b in store.batches] == [1, 2]
    assert done["first"] < 0.35  # returned after its own commit (~0.2 s), not after two


def test_group_commit_failure_reaches_every_caller_of_the_batch_and_then_recovers() -> None:
    store = SlowStore(delay=0.05, fail_on=3)
    commit = GroupCommit(store.write)
    got, failed = _run(commit, 8)
    failing = next(b for b in store.batches if 3 in b)
    assert set(failed) == set(failing)
    assert all(isinstance(e, OSError) for e in failed.values())
    assert set(got) == set(range(8)) - set(failing)
    assert commit.submit({"n": 99}).data["n"] == 99  # the next caller leads again


def test_sqlite_checkpoint_schedule_is_cached_from_the_write(tmp_path: Path) -> None:
    log = make_log(tmp_path, 3)
    store: Any = log.store
    fresh = store.last_checkpoint()
    assert fresh is not None and store.last_checkpoint(cached=True) == fresh
    # another process's checkpoint: a cached read may miss it, a fresh one never does
    other = open_log(tmp_path / "data")
    other.checkpoint()
    newer = other.store.last_checkpoint()
    assert newer is not None and newer[0] > fresh[0]
    assert store.last_checkpoint(cached=True) == fresh
    assert store.last_checkpoint() == newer
    assert store.last_checkpoint(cached=True) == newer
    other.close()
    log.close()


def test_a_due_checkpoint_is_rechecked_fresh(tmp_path: Path) -> None:
    """A stale cached schedule may say "due"; the re-check must ask the store."""
    log = open_log(tmp_path)
    log.every = 5
    for _ in range(4):
        log.append("decision.made")
    other = open_log(tmp_path)
    other.checkpoint()  # another process just checkpointed
    before = len(log.store.checkpoint_bodies())
    log.append("decision.made")  # seq - cached last seq >= 5, but a fresh read says no
    assert len(log.store.checkpoint_bodies()) == before
    other.close()
    log.close()


def test_verify_inlined_chain_matches_chain_module() -> None:
    prev, rows = genesis("L"), []
    for seq in range(1, 200):
        body = b'{"seq":%d,"x":"%s"}' % (seq, b"y" * seq)
        prev = link_hash(prev, seq, body)
        rows.append((seq, body, prev))
    report = verify("L", rows)
    assert report.ok and report.head == prev and report.entries == 199
    rows[100] = (101, rows[100][1].replace(b"y", b"z", 1), rows[100][2])
    assert [(p.seq, p.kind) for p in verify("L", rows).problems] == [(101, "edited")]


def test_sqlite_rows_fast_path_and_text_values(tmp_path: Path) -> None:
    log = make_log(tmp_path, 5)
    path = Path(log.store.location)  # type: ignore[attr-defined]
    assert all(type(b) is bytes and type(lk) is bytes for _, b, lk in log.store.rows())
    with sqlite3.connect(path, isolation_level=None) as con:
        con.execute("UPDATE audit_entries SET body = CAST(body AS TEXT) WHERE seq = 3")
    rows = list(open_log(db_file=path, readonly=True).store.rows())
    assert all(type(b) is bytes for _, b, _ in rows)
    report = run_verify(log)
    assert report.ok  # same bytes, only the stored type changed
    log.close()


def test_http_witness_cannot_be_read_and_says_what_to_do() -> None:
    with pytest.raises(AuditConfigError, match="only receives checkpoints") as info:
        read_witness("https://witness.example/checkpoints")
    assert "mirror" in (info.value.hint or "")


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts /proc/self/fd")
def test_opening_and_closing_logs_keeps_no_descriptors(tmp_path: Path) -> None:
    """Each opening of a log made a new -shm file; the descriptor kept for the
    immutable-file check stayed open for every one of them, so a process deciding many
    times in process (a harness, an embedding) ran out of descriptors and failed
    closed after about a thousand decisions."""
    from opsgate.audit import EventType

    def open_descriptors() -> int:
        return len(list(Path("/proc/self/fd").iterdir()))

    def one_append() -> None:
        log = open_log(tmp_path)
        log.append(EventType.DECISION_MADE, actor={"type": "agent", "name": "a"}, decision="allow")
        log.close()

    one_append()
    before = open_descriptors()
    for _ in range(40):
        one_append()
    assert open_descriptors() <= before + 1
    log = open_log(tmp_path)
    try:
        assert run_verify(log).ok
    finally:
        log.close()
