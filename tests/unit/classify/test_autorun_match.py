"""The fast paths of ``_autorun``'s path tests answer exactly as the plain patterns do.

``kind_of`` searches one alternation guarded to start only at the path's start, a "/"
or a "."; ``might_run`` tests ASCII paths by substring.  Both are checked here against
the straightforward forms (every kind's pattern as one alternation, the hint regex),
on the table's own example paths and on generated ones, Unicode case folding included.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from opsgate.classify._autorun import _HINTS, KINDS, kind_of, might_run

_PLAIN_KINDS = re.compile(
    "|".join(f"(?P<k{i}>{kind.pattern})" for i, kind in enumerate(KINDS)), re.IGNORECASE
)
_PLAIN_HINT = re.compile("|".join(re.escape(h) for h in _HINTS), re.IGNORECASE)

_PIECES = [
    *_HINTS, "/", ".", "-", "_", "home/dev/project", ".github/", "workflows", "ci.yml",
    "action.yml", ".gitlab-ci.yml", ".gitlab/ci/x.yml", "Jenkinsfile", "x.jenkinsfile",
    "Dockerfile.prod", "Containerfile", "x.code-workspace", ".devcontainer/", "mise.toml",
    ".mise/config.toml", "docker-entrypoint.d/", "entrypoint.sh", "site-packages/", "a.pth",
    "sitecustomize.py", ".lintstagedrc", ".yarnrc.yml", ".envrc", "tasks.json", "K", "ſ",
    "İ", "Ⓚ", "ß", "\\", " ",
]  # fmt: skip


def _plain_kind(path: str) -> str | None:
    path = path.replace("\\", "/")
    if _PLAIN_HINT.search(path) is None:
        return None
    match = _PLAIN_KINDS.search(path)
    if match is None or match.lastgroup is None:
        return None
    return KINDS[int(match.lastgroup[1:])].name


def _check(path: str) -> None:
    assert might_run(path) == (_PLAIN_HINT.search(path) is not None), path
    found = kind_of(path)
    assert (found.name if found else None) == _plain_kind(path), path


def _branches(pattern: str) -> list[str]:
    """The top-level alternatives of a pattern (outside any group or class)."""
    out, depth, start, escaped, in_class = [], 0, 0, False, False
    for i, ch in enumerate(pattern):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
    return [*out, pattern[start:]]


def test_every_kind_starts_where_the_guard_lets_it() -> None:
    """The guard's premise: every alternative starts with ``(^|/)`` or ``\\.``."""
    for kind in KINDS:
        for branch in _branches(kind.pattern):
            assert branch.startswith(("(^|/)", r"\.")), (kind.name, branch)


def test_the_table_paths_answer_as_before() -> None:
    for piece in _PIECES:
        for prefix in ("", "/", "/home/dev/project/", "C:\\Users\\dev\\", "./sub/"):
            _check(prefix + piece)
            _check(prefix + piece.upper())


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_PIECES) | st.text(max_size=4), max_size=8))
def test_generated_paths_answer_as_before(parts: list[str]) -> None:
    _check("".join(parts))
