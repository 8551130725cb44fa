"""Issue 13, 7: the home directory, its dotfiles and the project root are never
disposable, wherever they live; scratch space stays scratch."""

from __future__ import annotations

import pytest

from opsgate.classify.paths import Workspace, Zone


@pytest.mark.parametrize(
    ("home", "project", "path", "zone"),
    [
        ("/tmp/h", "/work/p", "/tmp/h", Zone.HOME),
        ("/tmp/h", "/work/p", "/tmp/h/.ssh", Zone.HOME_FILE),
        ("/tmp/h", "/work/p", "/tmp/h/.opsgate", Zone.HOME_FILE),
        ("/tmp/h", "/work/p", "/tmp/h/notes", Zone.HOME_FILE),
        ("/tmp/h", "/work/p", "/tmp/h/.cache/pip", Zone.TEMP),
        ("/tmp/h", "/work/p", "/tmp/other", Zone.TEMP),
        ("/tmp", "/work/p", "/tmp", Zone.HOME),
        ("/tmp", "/work/p", "/tmp/.ssh", Zone.HOME_FILE),
        ("/tmp", "/work/p", "/tmp/build-123", Zone.TEMP),
        ("/root", "/tmp/ci/p", "/tmp/ci/p", Zone.PROJECT_ROOT),
        ("/root", "/tmp/ci/p", "/tmp/ci", Zone.PROJECT_ANCESTOR),
        ("/root", "/tmp/ci/p", "/tmp", Zone.PROJECT_ANCESTOR),
        ("/root", "/tmp/ci/p", "/tmp/ci/p/.git", Zone.PROJECT_GIT),
        ("/root", "/tmp/ci/p", "/tmp/ci/p/build", Zone.TEMP),
        ("/root", "/tmp/ci/p", "/tmp/ci/p/src", Zone.TEMP),
        ("/root", "/tmp/ci/p", "/tmp/ci/other", Zone.TEMP),
        ("/home/dev", "/home/dev/p", "/tmp/x", Zone.TEMP),
        ("/home/dev", "/home/dev/p", "/home/dev/p/src", Zone.PROJECT),
    ],
)
def test_zone(home: str, project: str, path: str, zone: Zone) -> None:
    assert Workspace(project, home).zone(path) is zone
