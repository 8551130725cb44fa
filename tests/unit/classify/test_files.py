"""The classifier's one file reader (``classify._files``): what it refuses to open,
what it records, and that a command naming a secret file is a secret read whatever
the program (issue 13: psql -f ~/.aws/credentials showed the key to the model)."""

from __future__ import annotations

import ast
import hashlib
import os
import threading
from pathlib import Path

import pytest

from opsgate.classify import ClassifyContext, GivenFiles, LocalFiles, NoFiles, classify
from opsgate.classify._files import MAX_FILE, MAX_FILES, MAX_TOTAL
from opsgate.guard import evaluate
from opsgate.models import Action, Effect, FileRead, Verdict

CANARY = "AKIAZQ3CANARY7EXAMPL"
SRC = Path(__file__).resolve().parents[3] / "src" / "opsgate" / "classify"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home" / "dev"
    (home / "project").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("OPSGATE_HOME", str(home / ".opsgate"))
    return home


def bash(command: str, cwd: Path) -> Action:
    return Action("shell.exec", "Bash", {"command": command}, cwd=str(cwd), project_dir=str(cwd))


def decide(command: str, cwd: Path) -> tuple[str, str, list[str]]:
    decision = evaluate(bash(command, cwd))
    texts = [decision.to_json().__repr__(), *decision.reasons]
    return decision.verdict.value, decision.decided_by, texts


@pytest.mark.parametrize(
    "relative",
    [".aws/credentials", ".ssh/id_ed25519", "project/.env", "project/deploy.pem",
     ".opsgate/secret.key", ".opsgate/audit-signing-key.pem", ".opsgate/notes.sql"],
)  # fmt: skip
@pytest.mark.parametrize("program", ["psql -h db.staging.internal -f", "bash", "mysql <"])
def test_a_command_naming_a_secret_file_is_a_secret_read(
    home: Path, relative: str, program: str
) -> None:
    path = home / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"aws_secret_access_key = {CANARY}\n")
    verdict, decided_by, texts = decide(f"{program} {path}", home / "project")
    assert verdict == "deny" and decided_by == "safeguard.secrets"
    assert not any(CANARY in t for t in texts)


def test_a_link_to_a_secret_file_is_a_secret_read(home: Path) -> None:
    key = home / ".ssh" / "id_rsa"
    key.parent.mkdir()
    key.write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{CANARY}\n")
    (home / "project" / "fix.sql").symlink_to(key)
    verdict, decided_by, texts = decide("psql -h db.staging.internal -f fix.sql", home / "project")
    assert (verdict, decided_by) == ("deny", "safeguard.secrets")
    assert any("through a link" in t for t in texts)
    assert not any(CANARY in t for t in texts)


@pytest.mark.parametrize("path", ["/proc/self/environ", "/proc/1/environ", "/proc/self/mem"])
def test_process_memory_and_environment_are_never_read(home: Path, path: str) -> None:
    os.environ["OPSGATE_TEST_CANARY"] = CANARY
    try:
        verdict, decided_by, texts = decide(f"psql -f {path}", home / "project")
    finally:
        del os.environ["OPSGATE_TEST_CANARY"]
    assert (verdict, decided_by) == ("deny", "safeguard.secrets")
    assert not any(CANARY in t for t in texts)


def test_devices_fifos_and_directories_are_not_read(home: Path) -> None:
    project = home / "project"
    fifo = project / "pipe.sql"
    os.mkfifo(fifo)
    (project / "dir.sql").mkdir()
    (project / "zero.sql").symlink_to("/dev/zero")
    source = LocalFiles()
    done = threading.Event()

    def read_all() -> None:
        for name in ("pipe.sql", "dir.sql", "zero.sql"):
            assert source.read(str(project / name)) is None
        assert source.read("/dev/urandom") is None and source.read("/sys/kernel/x") is None
        done.set()

    thread = threading.Thread(target=read_all, daemon=True)
    thread.start()
    assert done.wait(10), "reading a FIFO or a device blocked"


def test_sizes_and_counts_are_bounded(home: Path) -> None:
    project = home / "project"
    big = project / "big.sql"
    big.write_text("SELECT 1;\n" * (MAX_FILE // 10 + 1))
    source = LocalFiles()
    assert source.read(str(big)) is None
    assert source.reads[str(big)].sha256 == hashlib.sha256(big.read_bytes()).hexdigest()
    chunk = "-- x\n" * (MAX_FILE // 5 - 1)
    for i in range(MAX_TOTAL // len(chunk) + 2):
        (project / f"{i}.sql").write_text(chunk)
    texts = [source.read(str(project / f"{i}.sql")) for i in range(MAX_TOTAL // len(chunk) + 2)]
    assert sum(len(t or "") for t in texts) <= MAX_TOTAL and texts[-1] is None
    many = LocalFiles()
    for i in range(MAX_FILES + 5):
        many.read(str(project / f"n{i}.sql"))
    assert len(many.reads) == MAX_FILES


def test_text_that_is_not_utf8_is_hashed_not_read(home: Path) -> None:
    path = home / "project" / "latin1.sql"
    path.write_bytes("DROP TABLE caf\xe9;".encode("latin-1"))
    source = LocalFiles()
    assert source.read(str(path)) is None
    assert source.reads[str(path)].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_classification_records_what_it_read(home: Path) -> None:
    project = home / "project"
    (project / "fix.sql").write_text("CREATE INDEX i ON orders (id);\n")
    c = classify(bash("psql -h db -f fix.sql && psql -f gone.sql", project), ClassifyContext())
    assert [(f.path, f.sha256) for f in c.files] == [
        (str(project / "fix.sql"), hashlib.sha256(b"CREATE INDEX i ON orders (id);\n").hexdigest()),
        (str(project / "gone.sql"), ""),
    ]


def test_given_files_are_the_only_source_on_the_control_plane(tmp_path: Path) -> None:
    """Nothing of the control plane's own disk: a file that exists here but was not
    given is unreadable, a given one is read as given."""
    here = tmp_path / "fix.sql"
    here.write_text("DROP TABLE orders;")
    given = FileRead(str(tmp_path / "other.sql"), "0" * 64, "SELECT 1;")
    source = GivenFiles.of([given], [(f"git.branch@{tmp_path}", "main")])
    assert source.read(str(here)) is None
    assert source.read(given.path) == "SELECT 1;"
    assert source.branch(str(tmp_path)) == "main"
    assert NoFiles().read(str(here)) is None
    nothing = NoFiles()
    nothing.read("/home/dev/.aws/credentials")
    assert "/home/dev/.aws/credentials" in nothing.refused  # judged even when not read


def test_control_plane_classification_never_reads_its_disk(tmp_path: Path) -> None:
    (tmp_path / "fix.sql").write_text(f"SELECT '{CANARY}';")
    action = bash("psql -h db.staging.internal -f fix.sql", tmp_path)
    c = classify(action, ClassifyContext(files=lambda: GivenFiles.of((), ())))
    assert "cannot read" in " ".join(f.reason for f in c.findings)
    assert c.files == (FileRead(str(tmp_path / "fix.sql"), ""),)


def test_secret_read_findings_come_from_the_reader(home: Path) -> None:
    decision = evaluate(bash("psql -f ~/.aws/credentials", home / "project"))
    secret = [f for f in decision.classification.findings if f.effect is Effect.SECRET]
    assert decision.verdict is Verdict.DENY and secret
    assert secret[0].target == str(home / ".aws" / "credentials")


def test_one_reader_nothing_else_in_the_classifier_opens_files() -> None:
    """Every file text the classifier sees comes through ``_files`` (so it is judged,
    bounded, recorded for the grant and scrubbed from the evidence)."""
    calls = {"open", "read_text", "read_bytes", "readlink", "realpath", "fdopen", "scandir"}
    for path in sorted(SRC.rglob("*.py")):
        # _paths_links resolves symlinks (O_PATH descriptors, readlink) and _files_probe
        # walks directories, expands globs and looks a name up in git's index for the
        # file source: neither reads a file's text.  _files_digest hashes the files of
        # a directory a command runs as a whole, for the file source: no text either.
        # _files_listen reads /proc for which program listens on a port (no file text).
        if path.name in (
            "_files.py",
            "_paths_links.py",
            "_files_probe.py",
            "_files_digest.py",
            "_files_listen.py",
        ):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            receiver = ast.unparse(node.func.value) if isinstance(node.func, ast.Attribute) else ""
            if receiver in ("self", "ctx", "w") or receiver.endswith(".ctx"):
                continue  # the walker's Context.read_text: the reader behind it
            assert name not in calls, f"{path.relative_to(SRC)}:{node.lineno} calls {name}"
