"""Issue 14's reproductions of write-then-execute: each was allowed on e84f392.

They use only the public classifier API on real files, so they fail on the old code
for the right reason (the command is judged allowed), not for a missing import.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opsgate.classify import ClassifyContext, classify
from opsgate.models import Action, Effect, Impact

RM_HOME = "#!/bin/sh\nrm -rf ~/.ssh\n"

REPRODUCTIONS = {
    "./fix.sh": {"fix.sh": "kubectl --context prod-eu delete ns payments\nrm -rf /\n"},
    "chmod +x fix.sh && ./fix.sh": {"fix.sh": RM_HOME},
    "sh -c ./fix.sh": {"fix.sh": RM_HOME},
    "env ./fix.sh": {"fix.sh": RM_HOME},
    "{project}/fix.sh": {"fix.sh": RM_HOME},
    "cp fix.sh y.sh && bash y.sh": {"fix.sh": RM_HOME},
    "python3 fix.py": {
        "fix.py": "import subprocess\nsubprocess.run('kubectl delete ns x', shell=True)\n"
    },
    "node x.js": {"x.js": "require('child_process').execSync('rm -rf ~/.ssh')\n"},
    "make": {"Makefile": "all:\n\tkubectl --context prod-eu delete ns payments\n"},
    "make clean": {"Makefile": "clean:\n\trm -rf ~/.ssh\n"},
    "make test": {"Makefile": "test:\n\trm -rf ~/.ssh\n"},
    "printf 'clean:\\n\\trm -rf ~/.ssh\\n' >> Makefile && make clean": {"Makefile": "b:\n\ttrue\n"},
    "npm test": {"package.json": '{"scripts": {"test": "rm -rf ~/.ssh"}}'},
    "npm run lint": {"package.json": '{"scripts": {"lint": "rm -rf ~/.ssh"}}'},
    "just": {"justfile": "tidy:\n    rm -rf ~/.ssh\n"},
}


@pytest.mark.parametrize("command", sorted(REPRODUCTIONS))
def test_issue_reproductions_are_not_allowed(tmp_path: Path, command: str) -> None:
    for name, text in REPRODUCTIONS[command].items():
        (tmp_path / name).write_text(text)
        os.chmod(tmp_path / name, 0o755)
    ctx = ClassifyContext(project_dir=str(tmp_path), home="/home/dev")
    text = command.format(project=tmp_path)
    found = classify(Action("shell.exec", "Bash", {"command": text}, cwd=str(tmp_path)), ctx)
    assert found.effect >= Effect.WRITE, [f.reason for f in found.findings]
    assert found.impact is not Impact.SAFE


def test_a_file_larger_than_the_reader_reads_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "big.sh").write_text("# pad\n" * 20_000 + "echo ok\n")
    ctx = ClassifyContext(project_dir=str(tmp_path), home="/home/dev")
    action = Action("shell.exec", "Bash", {"command": "bash big.sh"}, cwd=str(tmp_path))
    assert classify(action, ctx).effect is Effect.UNKNOWN
