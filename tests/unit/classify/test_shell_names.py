"""Names the shell resolves at run time: references (``declare -n``), ``unset``, what
xargs builds from its input, and findings of a script run on another machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsgate.guard import evaluate
from opsgate.models import Action, Environment, Verdict


def _decide(command: str, project: Path) -> tuple[Verdict, list[str], set[Environment | None]]:
    decision = evaluate(Action("", "Bash", {"command": command}, cwd=str(project),
                               project_dir=str(project)))  # fmt: skip
    findings = decision.classification.findings
    targets = [f.target or "" for f in findings]
    return decision.verdict, targets, {f.environment for f in findings}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "home" / "dev" / "app"
    root.mkdir(parents=True)
    return root


@pytest.mark.parametrize(
    "command",
    [
        'declare -n ref=target; target=build; rm -rf "./$ref"',
        'f() { local -n out=$1; out=build; }; f T; rm -rf "./$T"',
        'x=build; unset y; rm -rf "./$x"',
        "printf '%s\\0' build dist | xargs -0 rm -rf",
        "echo build dist | xargs -n1 rm -rf",
    ],
)
def test_names_known_now_allow_project_work(command: str, project: Path) -> None:
    verdict, targets, _ = _decide(command, project)
    assert verdict is Verdict.ALLOW, targets


@pytest.mark.parametrize(
    "command",
    [
        'declare -n r; r=H; H=/; rm -rf "$r"*',  # the first assignment names the variable
        'T=build; f() { local -n out=$1; out=/; }; f "$(cat n.txt)"; rm -rf "$T"*',
        'x=build; unset x; rm -rf "../app/$x"',  # $x is empty: the project itself
        "rm() { :; }; unset rm; rm -rf ~",  # no variable rm: the function is unset
        "printf '%s\\0' -rf ~ | xargs -0 rm",  # one command line: rm -rf ~
    ],
)
def test_names_resolved_at_run_time_are_judged(command: str, project: Path) -> None:
    verdict, targets, _ = _decide(command, project)
    assert verdict is not Verdict.ALLOW, targets


def test_a_local_target_in_a_remote_script_is_the_remote_machine(project: Path) -> None:
    _, targets, environments = _decide(
        "ssh db-prod-1 'sqlite3 /srv/app.db \"DELETE FROM sessions WHERE id = 4\"'", project
    )
    assert targets == ["db-prod-1:/srv/app.db"]
    assert Environment.LOCAL not in environments
