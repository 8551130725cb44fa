"""The pure parts of the newer planted-file readers: a container image's command line,
the command-line twins of destroying SDK calls, and the readers' steps."""

from __future__ import annotations

import pytest

from opsgate.classify._autorun import Runs, kind_of
from opsgate.classify._autorun_extra import READERS, image_command, vscode_task_steps
from opsgate.classify._autorun_sdk import api_commands


@pytest.mark.parametrize(
    ("image", "entrypoint", "args", "expected"),
    [
        ("bitnami/kubectl:1.30", None, "--context prod delete ns x",
         "kubectl --context prod delete ns x"),
        ("hashicorp/terraform:1.9", "sh", '-c "terraform destroy -auto-approve"',
         "sh -c 'terraform destroy -auto-approve'"),
        ("amazon/aws-cli:2", None, "s3 rb s3://b", "aws s3 rb s3://b"),
        ("alpine:3.20", None, "echo hi", "echo hi"),
        ("gcr.io/cloud-builders/gcloud", None, ["sql", "instances", "delete", "db"],
         "gcloud sql instances delete db"),
        ("alpine", None, "'unclosed", None),
    ],
)  # fmt: skip
def test_image_command(image: str, entrypoint: str | None, args: object,
                       expected: str | None) -> None:  # fmt: skip
    assert image_command(image, entrypoint, args) == expected


@pytest.mark.parametrize(
    ("code", "lang", "expected"),
    [
        ("await github.rest.git.deleteRef({ owner: o, repo: r, ref: 'heads/main' })", "node",
         ["git push origin --delete main"]),
        ("github.rest.git.updateRef({ref: 'heads/main', sha: s, force: true})", "node",
         ["git push --force origin HEAD:main"]),
        ("github.rest.issues.deleteComment({comment_id: 1})", "node", []),
        ("github.rest.git.updateRef({ref: 'heads/main', sha: s})", "node", []),
        ("import boto3\nboto3.resource('s3').Bucket('b').objects.all().delete()", "python",
         ["aws s3 rm s3://b --recursive"]),
        ("from kubernetes import client\nclient.CoreV1Api().delete_namespace('x')", "python",
         ["kubectl delete namespace x"]),
        ("import boto3\nboto3.client('s3').list_buckets()", "python", []),
        ("rm -rf /", "sh", []),
    ],
)  # fmt: skip
def test_api_commands(code: str, lang: str, expected: list[str]) -> None:
    assert api_commands(code, lang) == expected


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/p/cloudbuild.yaml", "Google Cloud Build config"),
        ("/p/.github/actions/release/dist/index.js", "GitHub Actions action code"),
        ("/p/docker-entrypoint.sh", "container entrypoint"),
        ("/p/.venv/lib/python3.12/site-packages/x.pth", "Python start-up file"),
        ("/p/.lintstagedrc.json", "lint-staged config"),
        ("/p/.yarnrc.yml", "yarn config"),
        ("/p/.vscode/tasks.json", "VS Code tasks"),
        ("/p/.envrc", "direnv .envrc"),
    ],
)
def test_kinds(path: str, name: str) -> None:
    kind = kind_of(path)
    assert kind is not None and kind.name == name


def test_ordinary_files_are_not_kinds() -> None:
    for path in ("/p/scripts/entry.py", "/p/src/actions/index.js", "/p/lib/site.pth.txt"):
        assert kind_of(path) is None


def test_pth_runs_only_import_lines() -> None:
    whole, _ = READERS["pth"]
    steps = whole("/p/src\nimport os; os.system('x')\n# import y\n", Runs.HERE)
    assert steps is not None and [s.script for s in steps] == ["import os; os.system('x')"]
    assert whole("/p/src\n/p/lib\n", Runs.HERE) == []


def test_folder_open_tasks_with_their_dependencies() -> None:
    doc = {"tasks": [
        {"label": "a", "command": "rm -rf ~/x"},
        {"label": "b", "command": "npm", "args": ["run", "dev"], "dependsOn": ["a"],
         "runOptions": {"runOn": "folderOpen"}},
        {"label": "c", "type": "npm", "script": "build"},
    ]}  # fmt: skip
    assert sorted(s.script for s in vscode_task_steps(doc, Runs.HERE)) == [
        "npm run dev",
        "rm -rf ~/x",
    ]


def test_yarnrc_runs_its_paths_with_node() -> None:
    whole, _ = READERS["yarnrc"]
    steps = whole("yarnPath: .yarn/releases/y.cjs\nplugins:\n  - path: p.cjs\n", Runs.HERE)
    assert steps is not None
    assert [s.script for s in steps] == ["node .yarn/releases/y.cjs", "node p.cjs"]


def test_entrypoint_hands_over_its_arguments() -> None:
    whole, _ = READERS["entrypoint"]
    steps = whole('#!/bin/sh\nexec gosu app "$@"\n', Runs.CONTAINER)
    assert steps is not None and "gosu app true" in steps[0].script
