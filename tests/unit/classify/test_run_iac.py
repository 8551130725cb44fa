"""Read-only verbs of infrastructure tools run project code here: terraform's external
programs, terragrunt hooks, pulumi programs, helmfile and skaffold hooks, kustomize
exec functions, Tiltfile commands, ansible tasks that leave check mode, zx scripts.
Each case: the files, the command, and the worst effect and impact opsgate must find."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsgate.classify._run_hcl import attribute, blocks, calls, uncommented
from opsgate.classify._run_hooks import RUNTIME, argv_line
from opsgate.guard import evaluate
from opsgate.models import Action, Effect, Impact
from run_files_disk import worst

OK = (Effect.LOCAL, Impact.SAFE)
DESTROYS = (Effect.WRITE, Impact.DESTRUCTIVE)
RM = '["sh", "-c", "rm -rf ~"]'

CASES = [
    ("tf-plan-external", {"main.tf": f'data "external" "x" {{\n  program = {RM}\n}}\n'},
     "terraform plan", DESTROYS),
    ("tf-validate-external", {"main.tf": f'data "external" "x" {{\n  program = {RM}\n}}\n'},
     "terraform validate", OK),
    ("tf-plan-local-exec", {"main.tf": 'resource "null_resource" "x" {\n  provisioner '
                            '"local-exec" {\n    command = "rm -rf ~"\n  }\n}\n'},
     "terraform plan", OK),
    ("tf-apply-local-exec", {"main.tf": 'resource "null_resource" "x" {\n  provisioner '
                             '"local-exec" {\n    command = "rm -rf ~"\n  }\n}\n'},
     "terraform apply", DESTROYS),
    ("tf-module", {"main.tf": 'module "m" {\n  source = "./m"\n}\n',
                   "m/main.tf": f'data "external" "x" {{\n  program = {RM}\n}}\n'},
     "terraform plan", DESTROYS),
    ("tf-var-program", {"main.tf": 'data "external" "x" {\n  program = [var.p]\n}\n'},
     "terraform plan", None),
    ("tg-hook", {"terragrunt.hcl": f'terraform {{\n  before_hook "h" {{\n    commands = '
                 f'["plan"]\n    execute = {RM}\n  }}\n}}\n'}, "terragrunt plan", DESTROYS),
    ("tg-hook-other", {"terragrunt.hcl": f'terraform {{\n  before_hook "h" {{\n    commands = '
                       f'["destroy"]\n    execute = {RM}\n  }}\n}}\n'}, "terragrunt plan", OK),
    ("tg-hclfmt", {"terragrunt.hcl": 'locals {\n  x = run_cmd("rm", "-rf", "/home")\n}\n'},
     "terragrunt hclfmt", OK),
    ("tg-run-cmd", {"terragrunt.hcl": 'locals {\n  x = run_cmd("rm", "-rf", "/home")\n}\n'},
     "terragrunt render-json", DESTROYS),
    ("pulumi-node", {"Pulumi.yaml": "name: a\nruntime: nodejs\n",
                     "index.js": "require('child_process').execSync('rm -rf ~')\n"},
     "pulumi preview", DESTROYS),
    ("pulumi-yaml", {"Pulumi.yaml": "name: a\nruntime: yaml\nresources: {}\n"},
     "pulumi preview", OK),
    ("helmfile-prepare", {"helmfile.yaml": "releases:\n  - name: a\n    chart: ./c\n    hooks:\n"
                          "      - events: [prepare]\n        command: rm\n"
                          "        args: [-rf, /home]\n"}, "helmfile template", DESTROYS),
    ("helmfile-presync", {"helmfile.yaml": "releases:\n  - name: a\n    chart: ./c\n    hooks:\n"
                          "      - events: [presync]\n        command: rm\n"
                          "        args: [-rf, /home]\n"}, "helmfile template", OK),
    ("skaffold-hook", {"skaffold.yaml": "build:\n  artifacts:\n    - image: a\n      hooks:\n"
                       "        before:\n          - command: [rm, -rf, /home]\n"},
     "skaffold build", DESTROYS),
    ("tilt-local", {"Tiltfile": "local('rm -rf ~')\n"}, "tilt up", DESTROYS),
    # a deploy to the local cluster is still a change to a cluster (SPEC §3)
    ("tilt-plain", {"Tiltfile": "k8s_yaml('app.yaml')\n"}, "tilt ci",
     (Effect.WRITE, Impact.CAUTION)),
    ("ansible-check", {"p.yml": "- hosts: all\n  tasks:\n    - command: reboot\n"},
     "ansible-playbook p.yml --check", (Effect.READ, Impact.SAFE)),
    ("ansible-check-false", {"p.yml": "- hosts: all\n  tasks:\n    - command: reboot\n"
                             "      check_mode: false\n"},
     "ansible-playbook p.yml --check", (Effect.WRITE, Impact.CAUTION)),
    ("zx", {"x.mjs": "await $`rm -rf ~`\n"}, "zx x.mjs", DESTROYS),
]  # fmt: skip


@pytest.mark.parametrize(
    ("files", "command", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_read_only_verbs_run_project_code(
    files: dict[str, str], command: str, expected: tuple[Effect, Impact] | None, tmp_path: Path
) -> None:
    for name, text in files.items():  # on disk: the tools list their directories
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    cwd = str(tmp_path)
    decision = evaluate(Action("", "Bash", {"command": command}, cwd=cwd, project_dir=cwd))
    found = worst(list(decision.classification.findings))
    if expected is None:  # named at run time: never allowed
        assert found[0] >= Effect.WRITE or found[0] is Effect.UNKNOWN
    elif expected == OK:
        assert found[0] <= Effect.LOCAL, found
    else:
        assert found == expected


def test_hcl_reading() -> None:
    text = uncommented(
        '# data "external" "no" { program = ["x"] }\n'
        'data "external" "x" {\n  program = ["a", "${path.module}/b", "${var.c}", <<EOT\n'
        'line\nEOT\n  ]\n}\nlocals {\n  y = run_cmd("echo", "hi")\n}\n'
    )
    found = list(blocks(text, frozenset({"data"})))
    assert [b.labels for b in found] == [("external", "x")]
    _, program = attribute(found[0].body, "program", {"path.module": "/m"}.get)
    assert program == ["a", "/m/b", RUNTIME, "line"]
    assert [args for _at, args in calls(text, "run_cmd", lambda _x: None)] == [["echo", "hi"]]
    assert argv_line(["rm", f"{RUNTIME}/x"]) == 'rm "$RUNTIME_VALUE"/x'
