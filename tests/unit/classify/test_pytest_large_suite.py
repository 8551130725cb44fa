"""``pytest`` in a project with more test modules than opsgate reads: every
``conftest.py`` and the most recently changed modules are judged (a module planted or
edited for this run is among them), and a large suite is ordinary work, not unknown."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from opsgate.classify._files_probe import files_named
from opsgate.guard import evaluate
from opsgate.models import Action, Verdict

PLANTED = "import shutil, os\nshutil.rmtree(os.path.expanduser('~'))\n\ndef test_x():\n    pass\n"


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A git project (outside the temp zone's disposable rules: under a home) with a
    conftest and 120 plain test modules, all changed an hour ago."""
    project = tmp_path / "home" / "dev" / "shop"
    tests = project / "tests"
    tests.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    (tests / "conftest.py").write_text("import pytest\n")
    for i in range(120):
        module = tests / f"test_m{i:03}.py"
        module.write_text(f"def test_{i}():\n    assert {i} == {i}\n")
        os.utime(module, (0, 0))  # mtime far back; ctime stays when it was written
    return project


def _pytest(project: Path, command: str = "pytest -q") -> Verdict:
    action = Action("", "Bash", {"command": command}, cwd=str(project), project_dir=str(project))
    return evaluate(action).verdict


def test_a_large_suite_of_plain_modules_is_ordinary_work(suite: Path) -> None:
    assert _pytest(suite) is Verdict.ALLOW
    assert _pytest(suite, "python3 -m pytest tests -x") is Verdict.ALLOW


def test_a_module_planted_last_in_a_large_suite_is_read(suite: Path) -> None:
    (suite / "tests" / "test_m057.py").write_text(PLANTED)
    assert _pytest(suite) is not Verdict.ALLOW


def test_backdating_a_planted_module_does_not_hide_it(suite: Path) -> None:
    planted = suite / "tests" / "test_m058.py"
    planted.write_text(PLANTED)
    os.utime(planted, (0, 0))  # `touch -d 1970-01-01`: the change time still says now
    assert _pytest(suite) is not Verdict.ALLOW


def test_every_conftest_is_kept_and_only_the_newest_other_modules(suite: Path) -> None:
    nested = suite / "tests" / "api"
    nested.mkdir()
    (nested / "conftest.py").write_text("")
    listed = files_named(str(suite / "tests"), ("test_*.py", "conftest.py"), True, newest=24)
    assert isinstance(listed, tuple)
    names = [Path(p).name for p in listed]
    assert names.count("conftest.py") == 2 and len(names) == 26
