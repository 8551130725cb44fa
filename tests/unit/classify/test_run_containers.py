"""Image builds, bake files and compose stacks read the files they run
(``classify._run_containers``): each case is the files, the command, and whether what
it would do is ordinary local work or needs a human."""

from __future__ import annotations

import pytest

from opsgate.classify._run_containers import _bake_hcl
from opsgate.classify.families._containers_spec import image_program
from opsgate.models import Effect
from run_files_disk import Disk, run, worst

PY = "FROM python:3.12-slim\nCOPY . /app\nRUN pip install -r /app/requirements.txt\n"
DROP = "FROM postgres:16\nRUN psql -h db.prod.acme.internal -U a shop -c 'DROP TABLE t'\n"
RM_INSIDE = "FROM debian\nRUN rm -rf /var/lib/apt/lists/* /root/.cache /home/*/.cache\n"

CASES = [
    # --- docker build ---------------------------------------------------------------
    ("build-ok", {"Dockerfile": PY}, "docker build -t a .", False),
    ("build-rm-inside", {"Dockerfile": RM_INSIDE}, "docker build .", False),
    ("build-prod-drop", {"Dockerfile": DROP}, "docker build -t a .", True),
    (
        "build-file-flag",
        {"ops/seed.Dockerfile": DROP},
        "docker build -f ops/seed.Dockerfile .",
        True,
    ),
    ("build-context-dir", {"db/Dockerfile": DROP}, "docker build db", True),
    ("podman-containerfile", {"Containerfile": DROP}, "podman build .", True),
    (
        "podman-containerfile-first",
        {"Containerfile": PY, "Dockerfile": DROP},
        "podman build .",
        False,
    ),
    ("buildx-build", {"Dockerfile": DROP}, "docker buildx build --load .", True),
    (
        "secret-printed",
        {"Dockerfile": "FROM alpine\nRUN --mount=type=secret,id=t cat /run/secrets/t\n"},
        "docker build --secret id=t,src=t.txt .",
        True,
    ),
    (
        "secret-used",
        {"Dockerfile": "FROM node\nRUN --mount=type=secret,id=n,target=/root/.npmrc npm ci\n"},
        "docker build --secret id=n,src=.npmrc .",
        False,
    ),
    ("context-home", {"Dockerfile": PY}, "docker build -f Dockerfile /home/dev", True),
    ("context-ssh", {"Dockerfile": PY}, "docker build --build-context k=/home/dev/.ssh .", True),
    ("context-project", {"Dockerfile": PY}, "docker build --build-context a=./assets .", False),
    ("no-dockerfile", {}, "docker build .", False),
    # --- bake -------------------------------------------------------------------------
    (
        "bake-registry",
        {
            "docker-bake.hcl": 'target "default" {\n  output = ["type=registry"]\n}\n',
            "Dockerfile": PY,
        },
        "docker buildx bake",
        True,
    ),
    (
        "bake-load",
        {
            "docker-bake.hcl": 'target "default" {\n  output = ["type=registry"]\n}\n',
            "Dockerfile": PY,
        },
        "docker buildx bake --load",
        False,
    ),
    (
        "bake-group-inherits",
        {
            "docker-bake.hcl": 'group "default" {\n  targets = ["b"]\n}\n'
            'target "base" {\n  context = "db"\n}\ntarget "b" {\n  inherits = ["base"]\n}\n',
            "db/Dockerfile": DROP,
        },
        "docker buildx bake",
        True,
    ),
    (
        "bake-other-target",
        {
            "docker-bake.hcl": 'target "a" {\n}\ntarget "b" {\n  context = "db"\n}\n',
            "Dockerfile": PY,
            "db/Dockerfile": DROP,
        },
        "docker buildx bake a",
        False,
    ),
    # --- compose ----------------------------------------------------------------------
    (
        "compose-root-mount",
        {"compose.yaml": "services:\n  a:\n    image: alpine\n    volumes: ['/:/h']\n"},
        "docker compose up -d",
        True,
    ),
    (
        "compose-project-mount",
        {
            "compose.yaml": "services:\n  a:\n    image: node\n    volumes: ['.:/app']\n"
            "    command: npm test\n"
        },
        "docker compose up -d",
        False,
    ),
    (
        "compose-env-prod",
        {
            "compose.yaml": "services:\n  m:\n    image: postgres\n    environment:\n"
            "      PGHOST: db.prod.acme.internal\n    command: psql -c 'DROP TABLE t'\n"
        },
        "docker compose run --rm m",
        True,
    ),
    (
        "compose-own-db",
        {
            "compose.yaml": "services:\n  db:\n    image: postgres\n  m:\n    image: postgres\n"
            "    command: psql -h db -c 'CREATE TABLE t (a int)'\n"
        },
        "docker compose run --rm m",
        False,
    ),
    (
        "compose-profile-inactive",
        {
            "compose.yaml": "services:\n  a:\n    image: alpine\n  x:\n    image: alpine\n"
            "    profiles: [danger]\n    volumes: ['/:/h']\n"
        },
        "docker compose up -d",
        False,
    ),
    (
        "compose-profile-active",
        {
            "compose.yaml": "services:\n  x:\n    image: alpine\n"
            "    profiles: [danger]\n    volumes: ['/:/h']\n"
        },
        "docker compose --profile danger up -d",
        True,
    ),
    (
        "compose-build",
        {"compose.yaml": "services:\n  a:\n    build: db\n", "db/Dockerfile": DROP},
        "docker compose build",
        True,
    ),
    (
        "compose-include-unknown",
        {"compose.yaml": "include:\n  - other.yaml\nservices:\n  a:\n    image: alpine\n"},
        "docker compose up -d",
        True,
    ),
]


@pytest.mark.parametrize(("files", "command", "stopped"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_containers_read_their_files(files: dict[str, str], command: str, stopped: bool) -> None:
    effect = worst(run(command, Disk(files)))[0]
    assert (effect >= Effect.WRITE) is stopped, effect


def test_bake_hcl_blocks() -> None:
    targets, groups = _bake_hcl(
        'group "default" {\n  targets = ["api", "web"]\n}\n'
        'target "api" {\n  context = "."\n  contexts = {\n    src = "../lib"\n  }\n'
        '  output = ["type=image,push=true"]\n  tags = ["x:${TAG}"]\n}\n'
    ) or ({}, {})
    assert groups == {"default": ["api", "web"]}
    assert targets["api"]["context"] == "."
    assert targets["api"]["contexts"] == {"src": "../lib"}
    assert targets["api"]["output"] == ["type=image,push=true"]


@pytest.mark.parametrize(
    ("image", "words", "argv", "known"),
    [
        ("amazon/aws-cli:2.17.0", ["s3", "ls"], ("aws", "s3", "ls"), True),
        ("docker.io/library/alpine:3.20", ["ls"], ("ls",), True),
        ("localhost:5000/acme/tool", ["sync"], ("sync",), False),
        ("python", [], None, True),
    ],
)
def test_image_program(
    image: str, words: list[str], argv: tuple[str, ...] | None, known: bool
) -> None:
    spec = image_program(image, None, words)
    assert (spec.argv, spec.known) == (argv, known)
