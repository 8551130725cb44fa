"""Labelled corpora through the Claude Code hook, one test per case and mode.

``tests/corpus/*.jsonl`` is opsgate's own corpus (every bypass or false positive
found becomes a named case there); ``../shared/corpus/agent-actions.jsonl`` is the
shared development corpus, scored when present.  Each case runs in Claude Code's
``default`` mode and in ``bypassPermissions``, where an ``ask`` would be accepted
without a person and so counts as an allow: the labels must hold in both.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from corpus_agents import MODES, ensure_project, verdict

ROOT = Path(__file__).resolve().parent
SHARED = ROOT.parents[1] / "shared" / "corpus" / "agent-actions.jsonl"
# Labels that contradict SPEC.md: opsgate follows the spec (see CHANGELOG/notes).
SPEC_OVERRIDES: dict[str, str] = {}
# Known gaps in opsgate's own corpora: each is a real mistake, kept visible.  strict
# xfail: the day one is fixed, its test fails until the entry is removed.
KNOWN_GAPS: dict[str, str] = {}


# A round written before its fixes keeps its open gaps beside it as data
# (``corpus/<round>_gaps.json``: ``{"case-id": "reason"}``), strict xfail like the above.
for _gaps in sorted((ROOT / "corpus").glob("*_gaps.json")):
    KNOWN_GAPS.update(json.loads(_gaps.read_text("utf-8")))


def _load(path: Path) -> list[dict]:
    cases = []
    for line in path.read_text("utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("//"):
            cases.append(json.loads(line))
    return cases


def _params(paths: list[Path]) -> list:
    out = []
    for path in paths:
        if path.exists():
            for case in _load(path):
                gap = KNOWN_GAPS.get(case["id"])
                marks = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
                out.append(pytest.param(case, id=case["id"], marks=marks))
    return out


@pytest.fixture(scope="module", autouse=True)
def corpus_project() -> None:
    """The corpora's project directory (``corpus_agents.ensure_project``)."""
    try:
        ensure_project()
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot create the corpus project ({exc}); run as a user who can")


@pytest.fixture(scope="module")
def corpus_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One clean opsgate home for the whole corpus (as ``hook_env`` gives one per test):
    every case still writes its audit entry, without creating a trail per case.

    The home lies in memory (/dev/shm) where the machine has room: each audit append
    waits for its fsync, about 20 ms on this disk against 1 ms in memory, and the corpus
    is some 15,000 decisions.  What the corpus tests is the verdict; the audit trail's
    durability has its own tests."""
    with (
        tempfile.TemporaryDirectory(prefix="opsgate-corpus-", dir=_memory_dir()) as base,
        pytest.MonkeyPatch.context() as mp,
    ):
        (Path(base) / "opsgate-home").mkdir(mode=0o700)  # as `opsgate install` makes it
        mp.setenv("OPSGATE_HOME", str(Path(base) / "opsgate-home"))
        for name in ("OPSGATE_POLICY", "OPSGATE_DATABASE_URL", "CLAUDE_PROJECT_DIR"):
            mp.delenv(name, raising=False)
        yield


def _memory_dir() -> str | None:
    """/dev/shm when it is a writable tmpfs with 1 GiB free; else the usual temp dir."""
    shm = "/dev/shm"
    try:
        free = os.statvfs(shm)
    except OSError:
        return None
    if not os.access(shm, os.W_OK) or free.f_bavail * free.f_frsize < 1 << 30:
        return None
    return shm


def hook_verdict(case: dict, mode: str = "default") -> str:
    """The verdict of the case's agent's hook (Claude Code unless it names another)."""
    return verdict(case, mode)[0]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", _params(sorted((ROOT / "corpus").glob("*.jsonl"))))
def test_own_corpus(case: dict, mode: str, corpus_env: None) -> None:
    assert hook_verdict(case, mode) == case["expect"], case.get("why")


@pytest.mark.skipif(not SHARED.exists(), reason="shared corpus not present beside the repo")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", _params([SHARED]))
def test_shared_corpus(case: dict, mode: str, corpus_env: None) -> None:
    expected = SPEC_OVERRIDES.get(case["id"], case["expect"])
    assert hook_verdict(case, mode) == expected, case.get("why")
