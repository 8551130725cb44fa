"""Where a ``git push`` that names no refspec really goes: git's configuration.

A bare ``git push`` pushes what the configuration says, not always the branch on
disk: ``remote.origin.push = HEAD:main`` sends every push to main,
``remote.origin.mirror = true`` makes it a mirror (forced, deleting), ``push.default =
upstream`` sends it to the branch's upstream (which ``git branch -u origin/main``
may point at main), and ``push.default = matching`` pushes every branch the remote
also has, main among them.  Each is a local config write an agent can make in one
step and use in the next, or a setting given to one command, so the push reads the
configuration as git would, later sources winning (and adding to a list such as
``remote.origin.push``): the system file (``GIT_CONFIG_SYSTEM``, else
``/etc/gitconfig``, none under ``GIT_CONFIG_NOSYSTEM``), the user's
(``GIT_CONFIG_GLOBAL``, else ``$XDG_CONFIG_HOME/git/config`` and ``~/.gitconfig``),
the repository's ``.git/config`` (with values set earlier in the same command, noted
beside ``.git/HEAD`` like a checkout), each with its ``include.path`` files, then the
command line: ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``, then ``GIT_CONFIG_PARAMETERS``,
where ``git -c`` and ``--config-env`` put their settings (``git.py``).  Variables come
from the command, else the agent's environment.  A config file that is there but
cannot be read, or a setting whose name or value is built at run time, leaves the
push's destination unknown.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping

from opsgate.classify._command import Command, Context

__all__ = [
    "PUSH_KEYS",
    "UNKNOWN_BRANCH",
    "UNKNOWN_KEY",
    "UNKNOWN_VALUE",
    "configured_alias",
    "configured_refspecs",
    "env_configs",
    "forced_by_config",
    "git_variable",
    "note_config",
    "note_upstream",
    "parameters_env",
    "push_settings",
    "read_by_git",
]

# Keys that decide where a bare push goes (section and key lower-cased; the
# remote's or branch's own name kept as written).
PUSH_KEYS = re.compile(
    r"^(?:push\.default|remote\.pushdefault|remote\..+\.(?:push|mirror)"
    r"|branch\..+\.(?:merge|remote|pushremote))$"
)
_NOTE_DIR = ".git/opsgate-config/"  # a name git never writes
_UNKNOWN = "\x00unknown"  # a value set in this command that opsgate cannot name
UNKNOWN_VALUE = _UNKNOWN
_SECTION = re.compile(r'^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]')
_ENTRY = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$")
_TRUE = frozenset({"true", "yes", "on"})
_UNKNOWN_KEY = "\x00unknown-key"  # a setting whose name is built at run time
UNKNOWN_KEY = _UNKNOWN_KEY
_MAX_INCLUDES = 4


def note_config(cmd: Command, ctx: Context, key: str, value: str | None, *, add: bool) -> None:
    """``git config KEY VALUE`` earlier in the command (``None``: ``--unset``)."""
    scope = getattr(ctx, "scope", None)
    noted = PUSH_KEYS.match(_canonical(key)) or _canonical(key).startswith("alias.")
    if scope is None or ctx.remote is not None or not noted:
        return
    from opsgate.classify._shell_state import FileNote

    path = f"{_base(cmd, ctx)}/{_NOTE_DIR}{_canonical(key)}"
    before = scope.files.get(path)
    text = value if value is not None else ""
    if add and before is not None and before.text:
        text = f"{before.text}\n{text}"
    scope.files[path] = FileNote(text, False)


def note_upstream(cmd: Command, ctx: Context, branch: str | None, upstream: str | None) -> None:
    """``git branch -u origin/main``: ``branch`` (None: the checked-out one) now has
    ``upstream`` (None: one opsgate cannot name) as its upstream."""
    name = branch or ctx.git_branch(cmd.cwd)
    if name is None:
        return
    merge, remote = _UNKNOWN, _UNKNOWN
    if upstream is not None and "/" in upstream:
        remote, _, rest = upstream.partition("/")
        merge = f"refs/heads/{rest}"
    note_config(cmd, ctx, f"branch.{name}.merge", merge, add=False)
    note_config(cmd, ctx, f"branch.{name}.remote", remote, add=False)


def configured_alias(cmd: Command, ctx: Context, name: str) -> str | None:
    """What ``git NAME`` runs when NAME is an alias in git's configuration (set earlier
    in this command, in the environment, ``.git/config`` or ``~/.gitconfig``): its
    value, ``UNKNOWN_VALUE`` when it was set to a value opsgate cannot name, or None."""
    if ctx.remote is not None:
        return None
    return _Config(cmd, ctx).last(f"alias.{name.lower()}") or None


def configured_refspecs(cmd: Command, ctx: Context, remote: str | None) -> list[str] | None:
    """The refspecs a push naming no refspec pushes, when the configuration decides
    them (``HEAD:main``, ``+refs/heads/*:refs/heads/*`` for a mirror); None when it
    is git's default (the checked-out branch, to its own name)."""
    if ctx.remote is not None:
        return None
    config = _Config(cmd, ctx)
    branch = ctx.git_branch(cmd.cwd)
    remote = config.push_remote(remote, branch)
    if remote == _UNKNOWN or config.unreadable():
        return [_UNKNOWN_SPEC]  # a remote, a setting or a file opsgate cannot name
    if config.mirror(remote):
        return ["+refs/heads/*:refs/heads/*"]
    specs = [s for s in config.every(f"remote.{remote}.push") if s]
    if specs:
        return [_UNKNOWN_SPEC if s == _UNKNOWN else s for s in specs]
    mode = (config.last("push.default") or "simple").lower()
    if mode in ("upstream", "tracking"):
        merge = config.last(f"branch.{branch}.merge")
        if merge is None:
            return None  # no upstream: git refuses the push
        if merge == _UNKNOWN:
            return [_UNKNOWN_SPEC]
        return [f"HEAD:{merge.removeprefix('refs/heads/')}"]
    if mode == "matching":
        return ["main"]  # every branch the remote also has: main is one
    if mode == _UNKNOWN:
        return [_UNKNOWN_SPEC]
    return None


def forced_by_config(cmd: Command, ctx: Context, remote: str | None) -> tuple[str, bool] | None:
    """Why the configuration forces this push (``remote.NAME.mirror`` forces every push
    to NAME, refspecs on the command line too: git's ``do_push``), and whether that is
    known (False: it may, being beyond opsgate); None when it does not."""
    if ctx.remote is not None:
        return None
    config = _Config(cmd, ctx)
    name = config.push_remote(remote, ctx.git_branch(cmd.cwd))
    if config.mirror(name):
        return f"remote.{name}.mirror makes every push to it a forced mirror", True
    if name == _UNKNOWN or config.unreadable():
        return "git's configuration, which may force the push, is beyond opsgate", False
    return None


def read_by_git(cmd: Command, ctx: Context, path: str) -> bool:
    """Whether git reads the config file at ``path`` (``git config --file PATH``): one of
    the system, user and repository files, or a file one of them includes."""
    if ctx.remote is not None:
        return False
    config = _Config(cmd, ctx)
    config.unreadable()  # every file read, includes followed
    return config.file(path) in config.visited


def parameters_env(env: Mapping[str, str], settings: list[tuple[str, str]]) -> dict[str, str]:
    """``env`` with ``settings`` (``git -c``) added to ``GIT_CONFIG_PARAMETERS``, as git
    passes them to the commands it runs (its own subcommands and ``!`` aliases)."""
    if not settings:
        return dict(env)
    import shlex

    words = [shlex.quote(f"{k}={v}") for k, v in settings]
    given = env.get("GIT_CONFIG_PARAMETERS", "")
    return {**env, "GIT_CONFIG_PARAMETERS": " ".join([given, *words]).strip()}


def push_settings(settings: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The ``git -c`` settings that decide where a push goes (what a ``!`` alias's own
    git is judged with; the rest were judged once already)."""
    return [(k, v) for k, v in settings if k == _UNKNOWN_KEY or PUSH_KEYS.match(_canonical(k))]


def _true(value: str | None) -> bool:
    if value is None:
        return False
    value = value.strip().lower()
    return value in _TRUE or (value.lstrip("-").isdigit() and int(value) != 0)


UNKNOWN_BRANCH = "(a branch opsgate cannot name)"
_UNKNOWN_SPEC = f"HEAD:{UNKNOWN_BRANCH}"


def _canonical(key: str) -> str:
    """Section and variable lower-cased, the subsection (a remote's or branch's
    name) kept: ``Remote.origin.Push`` is ``remote.origin.push``."""
    first, _, rest = key.partition(".")
    middle, _, last = rest.rpartition(".")
    return (
        f"{first.lower()}.{middle}.{last.lower()}" if middle else f"{first.lower()}.{last.lower()}"
    )


def _base(cmd: Command, ctx: Context) -> str:
    return (cmd.cwd or ctx.project_dir or "").rstrip("/")


class _Config:
    """git's configuration for one push, read lazily in git's order (later wins):
    the files, this command's notes in place of the repository's values for their
    keys, then the command line and the environment."""

    def __init__(self, cmd: Command, ctx: Context) -> None:
        self.cmd, self.ctx = cmd, ctx
        self._entries: list[tuple[str, str]] | None = None
        self._given = _env_entries(cmd, ctx)
        self.unknown = any(k == _UNKNOWN_KEY for k, _ in self._given)
        self.visited: set[str] = set()

    def last(self, key: str) -> str | None:
        values = self.every(key)
        return values[-1] if values else None

    def every(self, key: str) -> list[str]:
        noted = self._noted(key)
        if noted is None:
            if self._entries is None:
                self._entries = list(self._files())
            noted = [v for k, v in self._entries if k == key]
        return noted + [v for k, v in self._given if _canonical(k) == key]

    def push_remote(self, remote: str | None, branch: str | None) -> str:
        """The remote a push goes to: the one named, else the configured one."""
        if remote is not None:
            return remote
        return (
            self.last(f"branch.{branch}.pushremote")
            or self.last("remote.pushdefault")
            or self.last(f"branch.{branch}.remote")
            or "origin"
        )

    def mirror(self, remote: str) -> bool:
        value = self.last(f"remote.{remote}.mirror")
        return value == _UNKNOWN or _true(value)

    def unreadable(self) -> bool:
        """Whether a setting's name, or a file, is beyond opsgate (every file read)."""
        if self._entries is None:
            self._entries = list(self._files())
        return self.unknown

    def file(self, path: str) -> str:
        base = self.cmd.cwd or self.ctx.project_dir or "/"
        home = self.ctx.home or "~"
        path = home + path[1:] if path == "~" or path.startswith("~/") else path
        return posixpath.normpath(posixpath.join(base, path))

    def _noted(self, key: str) -> list[str] | None:
        files = getattr(getattr(self.ctx, "scope", None), "files", None)
        if not files:
            return None
        path = (self.cmd.cwd or self.ctx.project_dir or "").rstrip("/")
        while True:
            note = files.get(f"{path}/{_NOTE_DIR}{key}")
            if note is not None:
                return [v for v in (note.text or "").split("\n") if v] if note.text else []
            if not path:
                return None
            path = path.rsplit("/", 1)[0]

    def _files(self) -> Iterator[tuple[str, str]]:
        for path in self._paths():
            yield from self._read(path, 0)

    def _paths(self) -> Iterator[str]:
        """The system, user and repository files, in the order git reads them."""
        cmd, ctx = self.cmd, self.ctx
        if not _true(git_variable(cmd, ctx, "GIT_CONFIG_NOSYSTEM")):
            yield self.file(git_variable(cmd, ctx, "GIT_CONFIG_SYSTEM") or "/etc/gitconfig")
        chosen = git_variable(cmd, ctx, "GIT_CONFIG_GLOBAL")
        if chosen:  # in place of both user files
            yield self.file(chosen)
        elif ctx.home:
            xdg = git_variable(cmd, ctx, "XDG_CONFIG_HOME") or posixpath.join(ctx.home, ".config")
            yield self.file(posixpath.join(xdg, "git", "config"))
            yield posixpath.join(ctx.home, ".gitconfig")
        config = _repository_config(ctx, cmd.cwd or ctx.project_dir)
        if config is not None:
            yield config

    def _read(self, path: str, depth: int) -> Iterator[tuple[str, str]]:
        self.visited.add(posixpath.normpath(path))
        text = self._text(path)
        if not text:
            return
        for key, value in _parse(text):
            if key == "include.path" or (key.startswith("includeif.") and key.endswith(".path")):
                if depth >= _MAX_INCLUDES:
                    self.unknown = True  # git reads deeper than opsgate does
                elif value:
                    home = self.ctx.home or "~"
                    target = value.replace("~", home, 1) if value.startswith("~") else value
                    full = posixpath.join(posixpath.dirname(path), target)
                    yield from self._read(full, depth + 1)
                continue
            yield key, value

    def _text(self, path: str) -> str | None:
        """A config file's text; None when it is not there (git skips it).  One that is
        there but cannot be read (refused, too large, not text) makes the configuration
        unknown."""
        if path == "/dev/null":
            return None
        text = self.ctx.read_text(path, None)
        files = getattr(getattr(self.ctx, "session", None), "files", None)
        if text is None and files is not None:
            read = files.reads.get(path)
            self.unknown |= path in files.refused or (read is not None and bool(read.sha256))
        return text


def git_variable(cmd: Command, ctx: Context, name: str) -> str | None:
    """``name`` as git sees it: set by the command, else the agent's environment (in
    protected mode, where the agent's variables are not sent, git's usual files)."""
    value = cmd.env.get(name)
    if value is not None or ctx.remote is not None:
        return value
    files = getattr(getattr(ctx, "session", None), "files", None)
    found = files.variable(name) if files is not None else None
    return None if found == _HIDDEN else found


_HIDDEN = "?"  # ``LocalFiles.variable`` in protected mode: set or not, unknown


def _repository_config(ctx: Context, cwd: str | None) -> str | None:
    """``.git/config`` of the repository around ``cwd`` (a worktree's ``.git`` file
    points at its git dir, whose ``commondir`` holds the shared config)."""
    path = (cwd or "").rstrip("/") or "/"
    for _ in range(32):
        if ctx.read_text(posixpath.join(path, ".git", "HEAD"), None) is not None:
            return posixpath.join(path, ".git", "config")
        pointer = ctx.read_text(posixpath.join(path, ".git"), None)
        if pointer is not None and pointer.startswith("gitdir:"):
            gitdir = posixpath.join(path, pointer.removeprefix("gitdir:").strip())
            common = ctx.read_text(posixpath.join(gitdir, "commondir"), None)
            root = posixpath.normpath(posixpath.join(gitdir, common.strip())) if common else gitdir
            return posixpath.join(root, "config")
        parent = posixpath.dirname(path)
        if parent == path:
            return None
        path = parent
    return None


def _parse(text: str) -> Iterator[tuple[str, str]]:
    """``(section[.subsection].key, value)`` for each entry of a git config file."""
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        header = _SECTION.match(line)
        if header is not None:
            name, sub = header.group(1), header.group(2)
            if sub is not None:
                section = f"{name.lower()}.{sub.replace(chr(92) + chr(34), chr(34))}"
            elif "." in name:  # the old ``[branch.main]`` form: the name lower-cased
                head, _, tail = name.partition(".")
                section = f"{head.lower()}.{tail.lower()}"
            else:
                section = name.lower()
            line = line[header.end() :].strip()
            if not line:
                continue
        entry = _ENTRY.match(line)
        if entry is None or not section:
            continue
        yield f"{section}.{entry.group(1).lower()}", _value(entry.group(2))


def _value(raw: str | None) -> str:
    if raw is None:
        return "true"  # a bare key is a true boolean
    out: list[str] = []
    quoted = False
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == '"':
            quoted = not quoted
        elif ch == "\\" and i + 1 < len(raw):
            i += 1
            out.append({"n": "\n", "t": "\t"}.get(raw[i], raw[i]))
        elif ch in "#;" and not quoted:
            break
        else:
            out.append(ch)
        i += 1
    return "".join(out).strip()


def env_configs(cmd: Command) -> list[tuple[str, str]]:
    """Settings the command's environment gives git, as ``git -c`` would
    (``GIT_CONFIG_COUNT``/``KEY_n``/``VALUE_n``, then ``GIT_CONFIG_PARAMETERS``), keys
    lower-cased like ``-c`` keys."""
    return [(k.lower(), v) for k, v in _env_entries(cmd, None)]


def _parameters(value: str) -> list[tuple[str, str]]:
    """``GIT_CONFIG_PARAMETERS="'alias.st'='!…' 'core.pager'='…'"``: git's own quoting,
    which shell words read (a word without ``=`` is a key set to true)."""
    import shlex

    try:
        words = shlex.split(value)
    except ValueError:
        return [(_UNKNOWN_KEY, _UNKNOWN)]
    return [(k, v if sep else "true") for k, sep, v in (w.partition("=") for w in words if w)]


def _env_entries(cmd: Command, ctx: Context | None) -> list[tuple[str, str]]:
    """``GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=… GIT_CONFIG_VALUE_0=…`` then
    ``GIT_CONFIG_PARAMETERS`` (git's order: ``-c`` wins), from the command or, given
    ``ctx``, the agent's environment."""

    def get(name: str) -> str | None:
        return cmd.env.get(name) if ctx is None else git_variable(cmd, ctx, name)

    out: list[tuple[str, str]] = []
    try:
        count = int(get("GIT_CONFIG_COUNT") or "0")
    except ValueError:
        count = 0
    for n in range(min(count, 64)):
        key = get(f"GIT_CONFIG_KEY_{n}")
        out.append((key, get(f"GIT_CONFIG_VALUE_{n}") or "") if key else (_UNKNOWN_KEY, ""))
    given = get("GIT_CONFIG_PARAMETERS")
    return out + (_parameters(given) if given else [])
