"""The one place classification gets a file's text from: ``psql -f fix.sql``,
``bash deploy.sh``, ``< batch.txt``, a Makefile, a package.json.

A source answers ``read(path)`` with the text or None, and remembers what it was
asked: every file it read (path and SHA-256, for the grant to bind to), and every
secret file a command named (a secret read, whatever the program: SPEC §4
safeguard 1).  Three sources:

- ``LocalFiles``: the agent's own disk, where the hook and ``opsgate check`` run.
  A path is judged before it is opened — a secret file, opsgate's own data, or a
  place that is not a file (``/proc``, ``/sys``, ``/dev``) is never read — then
  resolved through symlinks and judged again, then opened without following a
  link, checked to be a regular file, and judged a third time by the path the
  kernel opened (a link swapped in between cannot redirect the read).  Bounded: a
  size cap per file, a total cap and a file count per classification.
- ``GivenFiles``: the texts the connected hook sent with a proposal (the control
  plane): exactly those, never the control plane's own disk.
- ``NoFiles``: nothing (the HTTP hook, MCP, a dry run with no files given).

Texts are for classification only; ``classify._evidence`` makes sure none of it
reaches a finding's text.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from opsgate.classify._paths_links import real_path
from opsgate.classify.paths import is_secret_path
from opsgate.models import FileRead

__all__ = [
    "MAX_FILE",
    "MAX_FILES",
    "MAX_HASHED",
    "MAX_TOTAL",
    "FileSource",
    "GivenFiles",
    "LocalFiles",
    "NoFiles",
    "Refusal",
    "file_digest",
]

# Variables that choose where a command acts, read from the agent's own environment
# (the hook's, which its shell inherits): a daemon, a cluster file, an account, a
# database host.  Only names whose values are no secrets (``DATABASE_URL`` and
# ``PGPASSWORD`` are not here), each one the hook also sends its resident service
# (``hooks._context.CONTEXT_ENV``).
AMBIENT = ("DOCKER_HOST", "DOCKER_CONTEXT", "KUBECONFIG", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
           "CLOUDSDK_CORE_PROJECT", "PGHOST", "PGSERVICE", "PGDATABASE", "MYSQL_HOST",
           "TF_WORKSPACE", "NOMAD_ADDR", "VAULT_ADDR")  # fmt: skip

# Set in the environment a protected-mode decision sees (``hooks._daemon``): the
# caller's own variables are not in it, so none may be taken as unset.
CALLER_ENV_HIDDEN = "_OPSGATE_CALLER_ENV_HIDDEN"

MAX_FILE = 64 * 1024  # bytes of one file's text the classifier reads
MAX_TOTAL = 256 * 1024  # bytes of text per classification, all files together
MAX_FILES = 32  # files per classification
MAX_HASHED = 8 * 1024 * 1024  # larger files are not hashed either (their digest is "")

# Where a path names something that is not a file's contents: process memory and
# environment, kernel state, devices.  Never opened.
_NOT_FILES = ("/proc/", "/sys/", "/dev/")
_PROCESS_SECRETS = ("environ", "mem", "auxv")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A secret file a command named: the classifier turns it into a secret read."""

    path: str
    why: str


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FileSource:
    """What every source records; subclasses decide where texts come from.  A plain
    class with slots: one is made for every classification, on the hook's hot path."""

    __slots__ = ("facts", "reads", "refused", "resolved")

    def __init__(self) -> None:
        self.reads: dict[str, FileRead] = {}
        self.refused: dict[str, Refusal] = {}
        self.facts: dict[str, str] = {}
        self.resolved: dict[str, str] = {}  # link resolutions, this classification only

    def read(self, path: str) -> str | None:
        """The text of the file at absolute ``path``, or None (unreadable, refused)."""
        if path in self.reads:
            return self.reads[path].text
        why = secret_reason(path, self.guarded_dirs())
        if why is not None:
            self.refused.setdefault(path, Refusal(path, why))
            return None
        if path.startswith(_NOT_FILES) or len(self.reads) >= MAX_FILES:
            return None
        found = self._load(path)
        self.reads[path] = found
        return found.text

    def read_code(self, path: str) -> str | None:
        """The text of a file that runs although its name is a credentials file's
        (``.envrc``, which direnv runs on every ``cd``): read to judge what it runs and
        recorded like every read, so none of its text reaches a reason (``_evidence``)."""
        if path not in self.reads:
            if path.startswith(_NOT_FILES) or len(self.reads) >= MAX_FILES:
                return None
            if self.real(path).rsplit("/", 1)[-1] != path.rsplit("/", 1)[-1]:
                return None  # a link to another file (a key, opsgate's own) is not read
            self.reads[path] = self._load(path, runs=True)
        return self.reads[path].text

    def variable(self, name: str) -> str | None:
        """One variable of the agent's environment (a hash where the resident service
        was sent one for a secret: set, value unknown); None here, where there is none."""
        return None

    def ambient(self) -> dict[str, str]:
        """The agent's environment variables that choose a target (``DOCKER_HOST``,
        ``AWS_PROFILE``, ``PGHOST`` …: ``AMBIENT``).  Not facts: a grant binds to them
        through the hook's context (``hooks._context``), which sends only hashes."""
        return {}

    def branch(self, cwd: str | None) -> str | None:
        """The checked-out git branch at ``cwd`` (recorded as a fact), or None."""
        if not cwd:
            return None
        key = f"git.branch@{cwd}"
        if key not in self.facts:
            self.facts[key] = self._branch(cwd) or ""
        return self.facts[key] or None

    def listener(self, port: int) -> str | None:
        """The command line of what listens on local TCP ``port`` (recorded as a
        fact: a grant for a request through a tunnel binds to the tunnel), or None."""
        key = f"listener@{port}"
        if key not in self.facts:
            self.facts[key] = self._listener(port) or ""
        return self.facts[key] or None

    def kind(self, path: str) -> str | None:
        """What is at absolute ``path`` without reading it: "file", "dir", "other", or
        None when nothing is there (a missing script runs nothing).  Recorded as a
        fact, so a grant binds to it: a file that appears later needs a new card."""
        key = f"kind@{path}"
        if key not in self.facts:
            self.facts[key] = self._kind(path) or ""
        return self.facts[key] or None

    def real(self, path: str) -> str:
        """Where absolute ``path`` really leads, through symlinks (``_paths_links``);
        recorded as a fact only when it leads elsewhere, so a link made or removed
        later changes what a grant was bound to."""
        hit = self.resolved.get(path)
        if hit is None:
            hit = self._real(path)
            if len(self.resolved) < 512:
                self.resolved[path] = hit
            if hit != path:
                self.facts[f"link@{path}"] = hit
        return hit

    def secret_file_in(
        self, directory: str, *, hidden: bool = True, tracked: bool = False
    ) -> str | None:
        """A credentials file (``.env``, ``config/secrets.yml``) a recursive search of
        ``directory`` would read, if there is one (recorded as a fact): a search for
        ``API_KEY`` there prints its value.  ``hidden``: dot files are searched
        (grep; ripgrep only with ``--hidden``); ``tracked``: only files git tracks are
        (``git grep``)."""
        key = f"secret-file{'' if hidden else ':visible'}{':tracked' if tracked else ''}"
        key += f"@{directory}"
        if key not in self.facts:
            self.facts[key] = self._secret_file_in(directory, hidden, tracked) or ""
        return self.facts[key] or None

    def secret_link_in(self, directory: str, home: str, *, dirs: bool, files: bool) -> str | None:
        """Where a link under ``directory`` leads when it leads to credentials (a program
        that follows links takes them), ``"?"`` when the tree is too large to check,
        else None; recorded as a fact."""
        key = f"secret-link:{'d' if dirs else ''}{'f' if files else ''}@{directory}"
        if key not in self.facts:
            self.facts[key] = self._secret_link_in(directory, home, dirs, files) or ""
        return self.facts[key] or None

    def glob_secret(self, pattern: str, home: str, *, trees: bool = False) -> str | None:
        """A credentials file (through links; with ``trees`` also a credentials
        directory or one above it) that absolute glob ``pattern`` expands to now,
        if any; recorded as a fact."""
        key = f"glob-secret{':tree' if trees else ''}@{pattern}"
        if key not in self.facts:
            self.facts[key] = self._glob_secret(pattern, home, trees) or ""
        return self.facts[key] or None

    def files_named(
        self,
        directory: str,
        patterns: tuple[str, ...],
        *,
        recursive: bool = False,
        newest: int = 0,
    ) -> tuple[str, ...] | None:
        """The files in (with ``recursive``, below) absolute ``directory`` whose names
        match ``patterns`` — what a runner would collect (``mk/*.mk``, pytest's test
        modules, Go files) — or None when they cannot be listed (too many, or no way
        to look); recorded as a fact, so a grant binds to the list."""
        key = _listing_key(directory, patterns, recursive, newest)
        if key not in self.facts:
            found = self._files_named(directory, patterns, recursive, newest)
            self.facts[key] = "?" if found is None else "\n".join(found)
        listed = self.facts[key]
        return None if listed == "?" else tuple(p for p in listed.split("\n") if p)

    def dotenv_names(self, path: str) -> tuple[str, ...] | None:
        """The names a dotenv file of plain assignments sets (``_dotenv``; its text is
        never kept), or None when it is anything else; recorded as a fact."""
        key = f"dotenv@{path}"
        if key not in self.facts:
            names = self._dotenv_names(path)
            self.facts[key] = "" if names is None else "=" + ",".join(names)
        value = self.facts[key]
        return tuple(n for n in value[1:].split(",") if n) if value else None

    def dbt_targets(self, path: str) -> tuple[tuple[str, str], ...] | None:
        """The (profile, default target) pairs of a dbt ``profiles.yml`` (``_files_dbt``;
        the rest of it, passwords included, is kept nowhere), or None; a fact."""
        from opsgate.classify._files_dbt import decode, encode

        key = f"dbt.targets@{path}"
        if key not in self.facts:
            self.facts[key] = encode(self._dbt_targets(path))
        return decode(self.facts[key])

    def npmrc_programs(self, path: str) -> dict[str, str]:
        """The settings of an ``.npmrc`` that name code npm runs (``_run_npmrc``; the
        rest of it, tokens included, is kept nowhere); a fact."""
        from opsgate.classify._run_npmrc import decode, encode

        key = f"npmrc@{path}"
        if key not in self.facts:
            self.facts[key] = encode(self._npmrc_programs(path))
        return decode(self.facts[key])

    def digest(self, path: str, suffixes: tuple[str, ...] = (), depth: int = 0) -> str:
        """A digest of what is at absolute ``path`` without reading it for
        classification: the file, or the files under the directory ending in
        ``suffixes`` (``_files_digest``), recorded as a fact so a grant binds to it
        (``terraform apply`` runs its directory's ``*.tf``).  "" when unknown."""
        key = f"digest:{','.join(suffixes)}:{depth}@{path}"
        if key not in self.facts:
            self.facts[key] = self._digest(path, suffixes, depth)
        return self.facts[key]

    def guarded_dirs(self) -> tuple[str, ...]:
        return ()

    def _files_named(
        self, directory: str, patterns: tuple[str, ...], recursive: bool, newest: int
    ) -> tuple[str, ...] | None:
        return None  # no way to look: what a runner collects is not known

    def _digest(self, path: str, suffixes: tuple[str, ...], depth: int) -> str:
        return ""  # without a way to look (the API, MCP): nothing to bind but the command

    # Without a way to look (the API, MCP), nothing is a link and nothing is found.
    def _real(self, path: str) -> str:
        return path

    def _secret_file_in(self, directory: str, hidden: bool, tracked: bool) -> str | None:
        return None

    def _secret_link_in(self, directory: str, home: str, dirs: bool, files: bool) -> str | None:
        return None

    def _glob_secret(self, pattern: str, home: str, trees: bool) -> str | None:
        return None

    def _dotenv_names(self, path: str) -> tuple[str, ...] | None:
        return None

    def _dbt_targets(self, path: str) -> tuple[tuple[str, str], ...] | None:
        return None

    def _npmrc_programs(self, path: str) -> dict[str, str] | None:
        return None

    def _kind(self, path: str) -> str | None:
        # Without a way to look, every file counts as there and unread (unknown).
        return "other"

    def _load(self, path: str, runs: bool = False) -> FileRead:
        return FileRead(path, "")

    def _branch(self, cwd: str) -> str | None:
        return None

    def _listener(self, port: int) -> str | None:
        return None

    def used(self) -> tuple[FileRead, ...]:
        if not self.reads:
            return ()
        return tuple(self.reads[p] for p in sorted(self.reads))


class NoFiles(FileSource):
    """Reads nothing: a path is still judged (a named secret file is a secret read)."""

    __slots__ = ()


class GivenFiles(FileSource):
    """The files and facts the connected hook sent: the control plane's only source."""

    __slots__ = ("given", "given_facts")

    def __init__(
        self,
        given: Mapping[str, FileRead] | None = None,
        given_facts: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.given = given or {}
        self.given_facts = given_facts or {}

    @classmethod
    def of(cls, files: Iterable[FileRead], facts: Iterable[tuple[str, str]]) -> GivenFiles:
        return cls({f.path: f for f in files}, dict(facts))

    def _load(self, path: str, runs: bool = False) -> FileRead:
        return self.given.get(path) or FileRead(path, "")

    def _branch(self, cwd: str) -> str | None:
        return self.given_facts.get(f"git.branch@{cwd}") or None

    def _listener(self, port: int) -> str | None:
        return self.given_facts.get(f"listener@{port}") or None

    def _given(self, key: str) -> str | None:
        return self.given_facts.get(key) or None

    def _real(self, path: str) -> str:
        return self.given_facts.get(f"link@{path}") or path

    def _secret_file_in(self, directory: str, hidden: bool, tracked: bool) -> str | None:
        key = f"secret-file{'' if hidden else ':visible'}{':tracked' if tracked else ''}"
        return self._given(f"{key}@{directory}")

    def _secret_link_in(self, directory: str, home: str, dirs: bool, files: bool) -> str | None:
        return self._given(f"secret-link:{'d' if dirs else ''}{'f' if files else ''}@{directory}")

    def _glob_secret(self, pattern: str, home: str, trees: bool) -> str | None:
        return self._given(f"glob-secret{':tree' if trees else ''}@{pattern}")

    def _files_named(
        self, directory: str, patterns: tuple[str, ...], recursive: bool, newest: int
    ) -> tuple[str, ...] | None:
        listed = self.given_facts.get(_listing_key(directory, patterns, recursive, newest))
        if listed is None or listed == "?":
            return None
        return tuple(p for p in listed.split("\n") if p)

    def _dotenv_names(self, path: str) -> tuple[str, ...] | None:
        value = self.given_facts.get(f"dotenv@{path}")
        return tuple(n for n in value[1:].split(",") if n) if value else None

    def _dbt_targets(self, path: str) -> tuple[tuple[str, str], ...] | None:
        from opsgate.classify._files_dbt import decode

        return decode(self.given_facts.get(f"dbt.targets@{path}"))

    def _npmrc_programs(self, path: str) -> dict[str, str] | None:
        from opsgate.classify._run_npmrc import decode

        value = self.given_facts.get(f"npmrc@{path}")
        return None if value is None else decode(value)

    def _digest(self, path: str, suffixes: tuple[str, ...], depth: int) -> str:
        return self.given_facts.get(f"digest:{','.join(suffixes)}:{depth}@{path}") or ""

    def _kind(self, path: str) -> str | None:
        # What the hook saw on the agent's machine; a path it did not report is there
        # and unread, so a command that runs it is unknown, never judged as missing.
        given = self.given_facts.get(f"kind@{path}")
        if given is not None:
            return given or None
        return "file" if path in self.given else "other"


class LocalFiles(FileSource):
    """The agent's own disk (the hook, ``opsgate check``), bounded and judged."""

    __slots__ = ("environ", "opsgate_home", "parents", "total")

    def __init__(
        self, opsgate_home: str | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        super().__init__()
        self.total = 0
        self.opsgate_home = opsgate_home
        # The agent's environment: the hook's own, or the one the resident service
        # was sent with the request (``hooks._daemon``).
        self.environ = os.environ if environ is None else environ
        # Directories above missing paths, resolved once for this classification.
        self.parents: dict[str, str] = {}

    def guarded_dirs(self) -> tuple[str, ...]:
        home = self.opsgate_home or os.environ.get("OPSGATE_HOME")
        if not home:
            home = os.path.join(os.path.expanduser("~"), ".opsgate")
        return (home.rstrip("/") + "/",)

    def variable(self, name: str) -> str | None:
        if self.environ.get(CALLER_ENV_HIDDEN):  # protected mode: the agent's are not sent
            return "?"
        return self.environ.get(name)

    def ambient(self) -> dict[str, str]:
        environ = self.environ
        return {name: environ[name] for name in AMBIENT if environ.get(name)}

    def _load(self, path: str, runs: bool = False) -> FileRead:
        real = os.path.realpath(path)
        why = None if real == path else self._refusal(real, runs)
        if why is not None or real.startswith(_NOT_FILES):
            if why is not None:
                self.refused.setdefault(path, Refusal(path, f"{why} (through a link)"))
            return FileRead(path, "")
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        try:
            fd = os.open(real, flags)
        except OSError:
            return FileRead(path, "")
        try:
            return self._from_fd(path, fd, runs)
        finally:
            os.close(fd)

    def _refusal(self, real: str, runs: bool) -> str | None:
        """Why ``real`` is not read; a file read because it runs (``read_code``) is
        judged by its directory only, never by its own (credentials-like) name."""
        if runs:
            real = real.rsplit("/", 1)[0] + "/opsgate-runs-this-file"
        return secret_reason(real, self.guarded_dirs())

    def _from_fd(self, path: str, fd: int, runs: bool = False) -> FileRead:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return FileRead(path, "")  # a FIFO, a device, a socket: never read
        opened = _opened_path(fd)
        why = None if opened is None else self._refusal(opened, runs)
        if why is not None or (opened or "").startswith(_NOT_FILES):
            if why is not None:
                self.refused.setdefault(path, Refusal(path, f"{why} (through a link)"))
            return FileRead(path, "")
        if info.st_size > MAX_HASHED:
            return FileRead(path, "")
        data = _read_all(fd, info.st_size)
        digest = file_digest(data)
        if len(data) > MAX_FILE or self.total + len(data) > MAX_TOTAL:
            return FileRead(path, digest)
        self.total += len(data)
        try:
            return FileRead(path, digest, data.decode("utf-8"))
        except UnicodeDecodeError:
            return FileRead(path, digest)

    def _branch(self, cwd: str) -> str | None:
        return read_branch(cwd)

    def _listener(self, port: int) -> str | None:
        from opsgate.classify._files_listen import listener_command

        return listener_command(port)

    def _real(self, path: str) -> str:
        return real_path(path, parents=self.parents)

    def _secret_file_in(self, directory: str, hidden: bool, tracked: bool) -> str | None:
        from opsgate.classify import _files_probe as probe

        found = probe.secret_file_under(directory, hidden=hidden)
        if found == probe.TOO_MANY:
            return None  # a search this large is judged by its pattern and names alone
        if tracked:
            root = _repository_of(directory)
            found = tuple(
                p for p in found if root is None or probe.tracked(root, p[len(root) + 1 :])
            )
        return found[0] if found else None

    def _dotenv_names(self, path: str) -> tuple[str, ...] | None:
        """Read here (links followed, as the shell does), judged, and kept nowhere."""
        from opsgate.classify._dotenv import MAX_BYTES, assigned_names

        text = _read_kept_nowhere(path, MAX_BYTES)
        return None if text is None else assigned_names(text)

    def _dbt_targets(self, path: str) -> tuple[tuple[str, str], ...] | None:
        """Read here like a dotenv file; only the default targets' names are kept."""
        from opsgate.classify._files_dbt import MAX_BYTES, default_targets

        text = _read_kept_nowhere(path, MAX_BYTES)
        return None if text is None else default_targets(text)

    def _npmrc_programs(self, path: str) -> dict[str, str] | None:
        """Read here like a dotenv file; only the settings that name code are kept."""
        from opsgate.classify._run_npmrc import MAX_BYTES, program_settings

        text = _read_kept_nowhere(path, MAX_BYTES)
        return None if text is None else program_settings(text)

    def _secret_link_in(self, directory: str, home: str, dirs: bool, files: bool) -> str | None:
        from opsgate.classify._files_probe import secret_link_under

        return secret_link_under(directory, home, dirs=dirs, files=files)

    def _glob_secret(self, pattern: str, home: str, trees: bool) -> str | None:
        from opsgate.classify._files_probe import glob_secret

        return glob_secret(pattern, home, trees=trees)

    def _files_named(
        self, directory: str, patterns: tuple[str, ...], recursive: bool, newest: int
    ) -> tuple[str, ...] | None:
        from opsgate.classify._files_probe import TOO_MANY, files_named

        found = files_named(directory, patterns, recursive, newest)
        return None if found == TOO_MANY else tuple(found)

    def _digest(self, path: str, suffixes: tuple[str, ...], depth: int) -> str:
        from opsgate.classify._files_digest import tree_digest

        return tree_digest(path, suffixes, depth, self.guarded_dirs())

    def _kind(self, path: str) -> str | None:
        try:
            mode = os.stat(path).st_mode
        except OSError:
            return "other" if os.path.lexists(path) else None
        return "dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"


def _repository_of(directory: str) -> str | None:
    """The top of the git work tree that holds ``directory``, or None."""
    path = directory.rstrip("/") or "/"
    for _ in range(64):
        if os.path.lexists(os.path.join(path, ".git")):
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent
    return None


def secret_reason(path: str, guarded: tuple[str, ...] = ()) -> str | None:
    """Why opsgate never reads the file at ``path``, or None."""
    if any(path.startswith(d) or path == d.rstrip("/") for d in guarded):
        return f"{path} is opsgate's own data"
    if path.startswith("/proc/") and path.rsplit("/", 1)[-1] in _PROCESS_SECRETS:
        return f"{path} is a process's memory or environment"
    if is_secret_path(path):
        return f"{path} holds credentials"
    return None


def _opened_path(fd: int) -> str | None:
    """The path the kernel opened for ``fd`` (Linux), to judge what was really read."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def _read_all(fd: int, size: int) -> bytes:
    chunks = []
    left = min(size, MAX_HASHED) + 1  # a file that grew since fstat is cut, not trusted
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_branch(cwd: str) -> str | None:
    """The checked-out branch, read from ``.git/HEAD`` (no git process); a worktree's
    ``.git`` file points at its own HEAD."""
    path = cwd.rstrip("/") or "/"
    for _ in range(64):
        text = _small(os.path.join(path, ".git", "HEAD"))
        if text is None:
            pointer = _small(os.path.join(path, ".git"))
            if pointer is not None and pointer.startswith("gitdir:"):
                gitdir = os.path.join(path, pointer.removeprefix("gitdir:").strip())
                text = _small(os.path.join(gitdir, "HEAD"))
        if text is not None:
            text = text.strip()
            return text.removeprefix("ref: refs/heads/") if text.startswith("ref:") else None
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent
    return None


def _small(path: str, limit: int = 4096) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError:
        return None


def _listing_key(directory: str, patterns: tuple[str, ...], recursive: bool, newest: int) -> str:
    flags = (":r" if recursive else "") + (f":n{newest}" if newest else "")
    return f"files:{'|'.join(patterns)}{flags}@{directory}"


def _read_kept_nowhere(path: str, limit: int) -> str | None:
    """The text of a regular file of at most ``limit`` bytes (links followed, as the
    program that reads it does), for a caller that keeps only what it judges."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(os.path.realpath(path), flags)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        return _read_all(fd, info.st_size).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    finally:
        os.close(fd)
