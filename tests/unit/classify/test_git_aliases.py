"""``git NAME`` where NAME is an alias in git's configuration runs the alias's words."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from opsgate.guard import evaluate
from opsgate.models import Action, Verdict


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "-b", "feature/work", str(tmp_path)], check=True)
    return tmp_path


def _decide(command: str, cwd: Path) -> Verdict:
    action = Action("", "Bash", {"command": command}, cwd=str(cwd), project_dir=str(cwd))
    return evaluate(action).verdict


def _alias(repo: Path, name: str, value: str) -> None:
    subprocess.run(["git", "-C", str(repo), "config", f"alias.{name}", value], check=True)


def test_an_alias_stored_in_the_repository_runs_its_words(repo: Path) -> None:
    _alias(repo, "ship", "push --force origin HEAD:main")
    assert _decide("git ship", repo) is Verdict.DENY
    assert _decide("git Ship", repo) is Verdict.DENY  # alias names ignore case


def test_an_alias_to_a_shell_command_is_judged_as_that_command(repo: Path) -> None:
    _alias(repo, "nuke", "!rm -rf ~/.ssh")
    assert _decide("git nuke", repo) is not Verdict.ALLOW


def test_an_alias_of_an_alias_is_followed(repo: Path) -> None:
    _alias(repo, "fp", "push --force")
    _alias(repo, "ship", "fp origin main")
    assert _decide("git ship", repo) is Verdict.DENY


def test_ordinary_aliases_and_git_own_commands_pass(repo: Path) -> None:
    _alias(repo, "st", "status --short")
    _alias(repo, "lg", "log --oneline --graph")
    assert _decide("git st", repo) is Verdict.ALLOW
    assert _decide("git lg -20", repo) is Verdict.ALLOW
    # git runs its own command before any alias of the same name.
    _alias(repo, "status", "push --force origin main")
    assert _decide("git status", repo) is Verdict.ALLOW


def test_an_unknown_name_with_no_alias_is_what_it_was(repo: Path) -> None:
    assert _decide("git frobnicate", repo) is Verdict.ALLOW
