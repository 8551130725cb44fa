"""The table of cross-cutting checks (``_cross_cutting``) skips a check for a program
only where that check finds nothing: every program a family or a check's own tables
name, in a few shapes that wake the checks (a credentials path, an opsgate package, an
inline pager, code given to an interpreter), decides exactly as when every check runs
for every command.  A check that starts to answer for a new program without its
predicate (``watches``, ``may_reveal`` …) saying so fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsgate.classify import _autorun_shell, _cross_cutting, _exec_options, _guard
from opsgate.classify import _unknown_tools as unknown_tools
from opsgate.classify.families import _index
from opsgate.classify.families import secrets as secrets_family
from opsgate.guard import evaluate
from opsgate.models import Action

# Shapes that reach into each check: secret paths and an opsgate file (secret routes,
# guard), a package verb (guard), a variable that runs a command and one that does
# not (exec options), an option that takes a command, a write into a CI workflow
# (auto-run files), a release and pgbench's reset.
_SHAPES = (
    "{n}",
    "{n} -i ~/.ssh/id_rsa .env ~/.opsgate/audit.db",
    "PAGER='rm -rf ~' FOO=1 {n} install opsgate",
    "{n} -e 'rm -rf ~/.opsgate' --to-command='sh x' publish .github/workflows/ci.yml",
)

_EXTRA = ("frobnicate", "python3.12", "pip3.11", "node18", "gsed", "gmake", "pgbench",
          "vim", "gawk", "ed", "direnv", "ps", "sqlite3", "duckdb")  # fmt: skip


def _names() -> list[str]:
    names = set(_index.INDEX) | set(_EXTRA)
    for table in (
        _guard._PACKAGE_TOOLS, _guard._SESSION_ENV, _guard.TARGET_PROGRAMS,
        _guard._CHANGES_ALL, _guard._CHANGES_LAST, _guard._INTERPRETERS, _guard._KILLERS,
        _guard.AGENT_CLIS, unknown_tools.PUBLISHERS, _autorun_shell._WRITERS,
        _exec_options._OPTIONS, secrets_family._REVEALS,
    ):  # fmt: skip
        names |= set(table)
    return sorted(n for n in names if n.replace("-", "").replace("_", "").isalnum())


def _every_check(name: str, has_args: bool, has_env: bool) -> tuple[_cross_cutting.Check, ...]:
    return tuple(check for check, _ in _cross_cutting._CHECKS)


def _decisions(project: Path) -> list[str]:
    out = []
    for name in _names():
        for shape in _SHAPES:
            command = shape.format(n=name)
            action = Action("", "Bash", {"command": command}, cwd=str(project),
                            project_dir=str(project))  # fmt: skip
            out.append(f"{command}\t{evaluate(action)!r}")
    return out


def test_skipped_checks_find_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.setenv("HOME", str(tmp_path))
    with_table = _decisions(project)
    monkeypatch.setattr(_cross_cutting, "_checks", _every_check)
    every = _decisions(project)
    assert len(with_table) > 2000
    assert [a for a, b in zip(with_table, every, strict=True) if a != b] == []


def test_the_table_skips_most_checks() -> None:
    """What the table is for: ``ls`` with arguments runs none of them (its variables
    are still read), ``git`` four of seven, ``docker`` alone none."""
    checks = _cross_cutting._checks
    assert checks("ls", True, False) == ()
    assert checks("ls", True, True) == (_exec_options.exec_findings,)
    assert checks("git", True, False) == (
        secrets_family.reveals,
        _guard.command_findings,
        _exec_options.exec_findings,  # GIT_PAGER, GIT_SSH_COMMAND …
        _autorun_shell.writes,
    )
    assert checks("docker", False, False) == ()
