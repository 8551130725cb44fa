"""Structure that must not drift: import direction, a core free of I/O libraries, a
lean hook fast path, and the pinned public API."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "opsgate"

# Layer → packages it must never import (SPEC: models → classify → policy → audit → edges).
FORBIDDEN = {
    "models.py": ("opsgate.classify", "opsgate.policy", "opsgate.hooks", "opsgate.cli",
                  "opsgate.audit"),
    "classify": ("opsgate.policy", "opsgate.hooks", "opsgate.cli", "opsgate.audit"),
    "policy": ("opsgate.hooks", "opsgate.cli", "opsgate.audit"),
    "audit": ("opsgate.hooks", "opsgate.cli", "opsgate.classify", "opsgate.policy"),
}  # fmt: skip
IO_LIBRARIES = ("sqlite3", "psycopg", "socket", "http", "urllib.request", "fastapi",
                "starlette", "uvicorn", "requests", "httpx", "subprocess")  # fmt: skip


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _files(layer: str) -> list[Path]:
    target = SRC / layer
    return [target] if target.is_file() else sorted(target.rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_one_way(layer: str) -> None:
    for path in _files(layer):
        bad = {m for m in _imports(path) if m.startswith(FORBIDDEN[layer])}
        assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"


@pytest.mark.parametrize("layer", ["models.py", "classify", "policy", "environments.py"])
def test_core_does_no_io(layer: str) -> None:
    for path in _files(layer):
        bad = {m for m in _imports(path) if m.split(".")[0] in IO_LIBRARIES or m in IO_LIBRARIES}
        assert not bad, f"{path.relative_to(SRC)} imports I/O libraries {sorted(bad)}"


def test_hook_fast_path_imports_almost_nothing() -> None:
    """The hook client runs once per tool call; heavy imports cost milliseconds."""
    code = (
        "import sys; import opsgate.cli, opsgate.hooks, opsgate.hooks.claude_code, "
        "opsgate.hooks._client; heavy = [m for m in ('typing', 'json', 'tree_sitter', "
        "'sqlglot', 'yaml', 'jsonschema', 'dataclasses', 'sqlite3', 'argparse', 'subprocess') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)  # fmt: skip
    assert out.stdout.strip() == "", f"the hook fast path imports {out.stdout.strip()}"


def test_public_api_is_pinned() -> None:
    import opsgate
    import opsgate.models
    import opsgate.policy
    import opsgate.sdk

    assert opsgate.__all__ == [
        "ActionDenied", "Answer", "ApprovalRequired", "CardInfo", "CardTimeout", "Gate",
        "GateUnavailable", "NotAllowed", "__version__",
    ]  # fmt: skip
    assert sorted(opsgate.sdk.__all__) == [
        "ActionDenied", "ActionLike", "Answer", "ApprovalRequired", "CardInfo", "CardTimeout",
        "Gate", "GateUnavailable", "Guarded", "NotAllowed",
    ]  # fmt: skip
    assert all(getattr(opsgate, n) is getattr(opsgate.sdk, n) for n in opsgate.__all__[:-1])
    assert sorted(opsgate.models.__all__) == [
        "Action", "Classification", "Decision", "Effect", "Environment", "FileRead", "Finding",
        "Impact", "Verdict",
    ]  # fmt: skip
    assert sorted(opsgate.policy.__all__) == [
        "DEFAULT_POLICY", "Policy", "Rule", "Settings", "decide", "decide_failure",
    ]  # fmt: skip


def test_sdk_import_is_light() -> None:
    """``import opsgate`` and a remote ``Gate`` load no server stack, no classifier and
    no HTTP client until the first call (httpx then, and only httpx)."""
    code = (
        "import sys, opsgate; gate = opsgate.Gate('http://127.0.0.1:1', 'og_x'); "
        "heavy = [m for m in ('fastapi', 'starlette', 'sqlalchemy', 'uvicorn', 'pydantic', "
        "'httpx', 'asyncio', 'tree_sitter', 'sqlglot', 'yaml', 'cryptography') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)  # fmt: skip
    assert out.stdout.strip() == "", f"import opsgate + Gate(url, token) loads {out.stdout}"


def test_family_index_is_current() -> None:
    from opsgate.classify.families import build_index
    from opsgate.classify.families._index import INDEX

    assert build_index() == INDEX, "run: python -m opsgate.classify.families"
