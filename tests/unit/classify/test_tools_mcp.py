"""MCP tool calls and secret file names: the classes of mistake red-team round 4 found."""

from __future__ import annotations

from typing import Any

import pytest

from opsgate.classify import ClassifyContext, classify
from opsgate.classify.paths import is_secret_path
from opsgate.models import Action, Effect, Impact

PROJECT = "/home/dev/project"
R, L, W, S, U = Effect.READ, Effect.LOCAL, Effect.WRITE, Effect.SECRET, Effect.UNKNOWN


def _effect(tool: str, args: dict[str, Any]) -> tuple[Effect, Impact]:
    action = Action("mcp.call", tool, args, cwd=PROJECT, project_dir=PROJECT)
    result = classify(action, ClassifyContext(project_dir=PROJECT, home="/home/dev"))
    return result.effect, result.impact


ROLLOUT = {"resourceType": "deployment", "name": "api", "namespace": "shop"}


@pytest.mark.parametrize(
    ("tool", "args", "effect"),
    [
        # The operation named by an argument decides, in both directions.
        ("mcp__kubernetes__kubectl_rollout", ROLLOUT | {"subCommand": "status"}, R),
        ("mcp__kubernetes__kubectl_rollout", ROLLOUT | {"subCommand": "history"}, R),
        ("mcp__kubernetes__kubectl_rollout", ROLLOUT | {"subCommand": "restart"}, W),
        ("mcp__kubernetes__kubectl_rollout", ROLLOUT | {"subCommand": "undo"}, U),
        ("mcp__kubernetes__kubectl_rollout", ROLLOUT, U),
        ("mcp__cloud__resource", {"action": "describe", "id": "i-1"}, R),
        ("mcp__cloud__resource", {"action": "delete", "id": "i-1"}, W),
        # A name that destroys is not softened by a reading argument.
        ("mcp__cloud__delete_resource", {"action": "get", "id": "i-1"}, W),
        # Suggesting a command runs nothing.
        ("mcp__aws-api__suggest_aws_commands", {"query": "delete every bucket"}, R),
        # GitHub: commits to a feature branch are like pushing it; main is protected.
        ("mcp__github__delete_file",
         {"owner": "a", "repo": "b", "path": "x.py", "message": "m", "branch": "feature/x"}, L),
        ("mcp__github__delete_file",
         {"owner": "a", "repo": "b", "path": "x.py", "message": "m", "branch": "main"}, W),
        ("mcp__github__update_pull_request_branch", {"owner": "a", "repo": "b", "pullNumber": 1},
         L),
        ("mcp__github__delete_repository", {"owner": "a", "repo": "b"}, W),
        # A CLI server's one-word command is the verb, not a command line to parse.
        ("mcp__kubernetes__kubectl_generic", {"command": "delete", "resourceType": "pvc"}, W),
        ("mcp__kubernetes__kubectl_generic", {"command": "get", "resourceType": "pods"}, R),
        ("mcp__desktop-commander__execute_command", {"command": "ls"}, R),
    ],
)  # fmt: skip
def test_mcp_verbs(tool: str, args: dict[str, Any], effect: Effect) -> None:
    assert _effect(tool, args)[0] is effect


def test_feature_branch_file_delete_is_not_destructive_but_repo_delete_is() -> None:
    assert _effect("mcp__github__delete_repository", {"owner": "a", "repo": "b"})[1] is (
        Impact.DESTRUCTIVE
    )


@pytest.mark.parametrize(
    ("path", "secret"),
    [
        ("infra/prod/secrets.auto.tfvars", True),
        ("infra/db-secret.tfvars", True),
        ("config/secrets.prod.yaml", True),
        ("infra/prod/terraform.tfvars.example", False),
        ("src/opsgate/families/secrets.py", False),
        ("infra/variables.tf", False),
        ("**/.env*", True),
        ("/home/dev/.ssh/id_*", True),
        ("src/**/*.py", False),
        ("*", False),
    ],
)
def test_secret_file_names(path: str, secret: bool) -> None:
    assert is_secret_path(path) is secret


def _shell(command: str) -> tuple[Effect, Impact]:
    action = Action("shell.exec", "Bash", {"command": command}, cwd=PROJECT, project_dir=PROJECT)
    result = classify(action, ClassifyContext(project_dir=PROJECT, home="/home/dev"))
    return result.effect, result.impact


@pytest.mark.parametrize(
    ("command", "effect"),
    [
        ("/bin/r? -rf /home/dev", U),  # the program is picked by pathname expansion
        ("'/bin/r?' --version", R),  # quoted: no expansion, an unknown literal name
        ("[ -f x ] && echo ok", R),
        ("python manage.py shell -c 'User.objects.all().delete()'", U),  # -c is Django's
        ("python -c 'print(1)'", R),
        ("kubectl cp shop/api-0:/app/.env ./api.env", S),
        ("kubectl cp shop/api-0:/app/logs ./logs", L),
        ("docker cp api:/app/.env -", S),
        ("git reset --keep HEAD~1", R),
        ("git reset --merge HEAD~1", W),
        ("az deployment group what-if -g rg --template-file main.bicep", R),
    ],
)
def test_shell_classes(command: str, effect: Effect) -> None:
    got = _shell(command)[0]
    assert got is effect or (effect is R and got in (R, L)), got
