"""Execution reads what it runs (``classify._run_files``): the reader's bounds, missing
and unreadable files, cycles and depth, notes of files written in the command, and
evidence that names a file and line but never quotes it.

Most tests use ``Disk``, an in-memory file source with the classifier's reader
interface (text or None, and what is at a path); the issue's reproductions run on
real files through ``classify()``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from opsgate.classify import ClassifyContext, classify
from opsgate.classify._run_files import MAX_FILES, MAX_NESTING, script_language
from opsgate.models import Action, Effect, Impact
from run_files_disk import PROJECT, Disk, run, worst

RM_HOME = "#!/bin/sh\nrm -rf ~/.ssh\n"


# --- missing, unreadable, binary, unmodelled ---------------------------------------------


def test_missing_script_runs_nothing() -> None:
    assert run("./scripts/missing.sh", Disk({})) == []


def test_withheld_script_is_unknown() -> None:
    found = run("./fix.sh", Disk({}, withheld=("fix.sh",)))
    assert [f.effect for f in found] == [Effect.UNKNOWN]
    assert "cannot read" in found[0].reason


def test_binary_in_project_is_unknown() -> None:
    found = run("./tool", Disk({"tool": "\x7fELF\x02\x01\x01\x00\x00\x00"}))
    assert worst(found)[0] is Effect.UNKNOWN
    assert "binary" in found[0].reason


def test_unknown_interpreter_is_unknown() -> None:
    found = run("./x.rkt", Disk({"x.rkt": "#!/usr/bin/env racket\n(displayln 1)\n"}))
    assert worst(found)[0] is Effect.UNKNOWN


def test_system_and_tool_directories_are_judged_by_name() -> None:
    disk = Disk({"node_modules/.bin/eslint": RM_HOME, ".venv/bin/pytest": RM_HOME})
    assert run("node_modules/.bin/eslint src && .venv/bin/pytest -q", disk) == []
    assert run("/usr/bin/env true", disk) == []
    assert disk.reads == Counter()


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("echo hi\n", "shell"),
        ("#!/bin/bash -e\n", "shell"),
        ("#!/usr/bin/env python3\n", "python"),
        ("#!/usr/bin/env -S deno run -A\n", "node"),
        ("#!/usr/bin/env -u X ruby\n", "ruby"),
        ("#!/usr/bin/make -f\n", "make"),
        ("#!/usr/bin/env -S uv run --script\n", "python"),
        ("#!/usr/bin/env -S npx -y tsx\n", "node"),
        ("#!/usr/bin/env racket\n", None),
    ],
)
def test_shebang_picks_the_language(text: str, lang: str | None) -> None:
    assert script_language(text) == lang


@pytest.mark.parametrize(
    "command",
    ["find . -name 'f*.sh' -exec {} \\;", "find . -exec sh {} \\;", "for f in *.sh; do ./$f; done"],
)
def test_programs_chosen_at_run_time_are_unknown(command: str) -> None:
    assert worst(run(command, Disk({"fix.sh": "echo hi\n"})))[0] is Effect.UNKNOWN


# --- bounds: depth, cycles, budget, one read per file ------------------------------------


def test_nesting_deeper_than_the_limit_is_unknown() -> None:
    files = {f"s{i}.sh": f"./s{i + 1}.sh\n" for i in range(MAX_NESTING + 2)}
    files[f"s{MAX_NESTING + 2}.sh"] = "echo done\n"
    found = run("./s0.sh", Disk(files))
    assert any(f.effect is Effect.UNKNOWN and "nested deeper" in f.reason for f in found)


def test_a_cycle_is_judged_once_and_ends() -> None:
    disk = Disk({"a.sh": "echo a\n./b.sh\n", "b.sh": "echo b\n./a.sh\n"})
    assert run("./a.sh", disk) == []
    assert max(disk.reads.values()) == 1


def test_each_file_is_read_once_per_classification() -> None:
    disk = Disk({"fix.sh": RM_HOME})
    found = run("./fix.sh && bash fix.sh; sh ./fix.sh; ./fix.sh", disk)
    assert worst(found) == (Effect.WRITE, Impact.DESTRUCTIVE)
    assert disk.reads == Counter({f"{PROJECT}/fix.sh": 1})


def test_files_beyond_the_count_budget_are_unknown() -> None:
    files = {f"s{i}.sh": "echo ok\n" for i in range(MAX_FILES + 4)}
    command = " && ".join(f"./s{i}.sh" for i in range(MAX_FILES + 4))
    found = run(command, Disk(files))
    assert any(
        f.effect is Effect.UNKNOWN and "beyond what opsgate reads" in f.reason for f in found
    )


def test_probing_missing_names_spends_no_read() -> None:
    disk = Disk({"Makefile": "test:\n\tpytest\n"})
    assert worst(run("make test", disk))[0] <= Effect.LOCAL
    assert set(disk.reads) == {f"{PROJECT}/Makefile"}


# --- files written earlier in the same command ---------------------------------------------


@pytest.mark.parametrize(
    "command", ["bash -o pipefail fix.sh", "bash -eux fix.sh", "sudo -u dev ./fix.sh"]
)
def test_shell_options_do_not_hide_the_script(command: str) -> None:
    assert worst(run(command, Disk({"fix.sh": RM_HOME}))) == (Effect.WRITE, Impact.DESTRUCTIVE)


@pytest.mark.parametrize(
    "command",
    [
        "cp fix.sh y.sh && bash y.sh",
        "cp fix.sh /tmp/y.sh && chmod +x /tmp/y.sh && /tmp/y.sh",
        "mv fix.sh run.sh && sh run.sh",
        "ln -s fix.sh run && ./run",
        "install -m 755 fix.sh bin/fix && bin/fix",
        "cp -r . /tmp/copy && /tmp/copy/fix.sh",
        "cat fix.sh > y.sh && ./y.sh",
    ],
)
def test_a_copy_runs_the_original_text(command: str) -> None:
    assert worst(run(command, Disk({"fix.sh": RM_HOME}))) == (Effect.WRITE, Impact.DESTRUCTIVE)


@pytest.mark.parametrize(
    "command",
    [
        "sed -i s/a/b/ build.sh && ./build.sh",
        "python3 gen.py > build.sh && ./build.sh",
        "perl -pi -e s/a/b/ build.sh && bash build.sh",
        "git checkout -- build.sh && ./build.sh",
    ],
)
def test_a_file_changed_in_an_unknown_way_is_unknown(command: str) -> None:
    found = run(command, Disk({"build.sh": "echo building\n", "gen.py": "print(1)\n"}))
    assert worst(found)[0] is Effect.UNKNOWN


def test_appending_to_a_makefile_is_judged_with_what_was_there() -> None:
    disk = Disk({"Makefile": "build:\n\tgo build ./...\n"})
    found = run("printf 'clean:\\n\\trm -rf ~/.ssh\\n' >> Makefile && make clean", disk)
    assert worst(found) == (Effect.WRITE, Impact.DESTRUCTIVE)
    assert (
        worst(run("printf 'x:\\n\\techo x\\n' >> Makefile && make build", disk))[0] <= Effect.LOCAL
    )


# --- evidence: file and line, never the text ----------------------------------------------


def test_evidence_names_file_and_line_not_text() -> None:
    disk = Disk({"deploy.sh": "#!/bin/sh\necho start\nrm -rf ~/.zz-marker-dir\n"})
    found = run("./deploy.sh", disk)
    assert found and all(f.evidence == "file ./deploy.sh:3" for f in found)
    assert all("marker" not in f.evidence + f.reason for f in found)


def test_nested_files_chain_their_evidence() -> None:
    disk = Disk({"ci.sh": "./lib/prep.sh\n", "lib/prep.sh": "echo\nrm -rf ~/.kube\n"})
    found = run("./ci.sh", disk)
    assert {f.evidence for f in found} == {"file ./ci.sh > ./lib/prep.sh:2"}


# --- remote and disabled reading ----------------------------------------------------------


def test_a_script_on_another_machine_is_unknown() -> None:
    found = run("ssh web-1 ./deploy.sh", Disk({}))
    assert any(f.effect is Effect.UNKNOWN or f.effect is Effect.WRITE for f in found)
    assert any("another machine" in f.reason for f in found)


def test_with_reading_off_a_present_script_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "fix.sh").write_text("echo hi\n")
    ctx = ClassifyContext(project_dir=str(tmp_path), home="/home/dev", read_files=False)
    found = classify(Action("shell.exec", "Bash", {"command": "./fix.sh"}, cwd=str(tmp_path)), ctx)
    assert found.effect is Effect.UNKNOWN
