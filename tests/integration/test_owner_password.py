"""The first owner's generated password never reaches a log: printed only to a
terminal, otherwise written to a file only its user can read (the review: the
password went to stdout, and so into service logs)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from opsgate.approvals.model import Role, User
from opsgate.cli.serve import PASSWORD_FILE, announce_owner

OWNER = User(id="u_1", name="owner", role=Role.OWNER)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_the_password_and_no_file_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdout", Terminal())
    text = announce_owner(OWNER, "s3cret-pass", "http://127.0.0.1:8470", tmp_path)
    assert "s3cret-pass" in text
    assert not (tmp_path / PASSWORD_FILE).exists()


def test_otherwise_the_password_goes_to_a_0600_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    stale = tmp_path / PASSWORD_FILE
    stale.write_text("old\n")
    stale.chmod(0o644)  # a leftover with a lax mode is replaced, not reused
    text = announce_owner(OWNER, "s3cret-pass", "http://127.0.0.1:8470", tmp_path)
    assert "s3cret-pass" not in text
    assert str(stale) in text
    assert stale.read_text() == "s3cret-pass\n"
    assert stale.stat().st_mode & 0o777 == 0o600


def test_init_into_a_pipe_prints_only_the_path(tmp_path: Path) -> None:
    opsgate = str(Path(sys.executable).parent / "opsgate")
    home = tmp_path / "home"
    out = subprocess.run(
        [opsgate, "init", "--data-dir", str(home)], capture_output=True, text=True, check=True
    )
    password = (home / PASSWORD_FILE).read_text().strip()
    assert len(password) >= 16
    assert password not in out.stdout + out.stderr
    assert str(home / PASSWORD_FILE) in out.stdout
