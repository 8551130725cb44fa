"""Where a ``git push`` that names no refspec really goes: git's configuration.

A bare ``git push`` pushes what the configuration says, not always the branch on
disk: ``remote.origin.push = HEAD:main`` sends every push to main,
``remote.origin.mirror = true`` makes it a mirror (forced, deleting), ``push.default =
upstream`` sends it to the branch's upstream (which ``git branch -u origin/main``
may point at main), and ``push.default = matching`` pushes every branch the remote
also has, main among them.  Each is a local config write an agent can make in one
step and use in the next, so the push reads the configuration as git would: values
set earlier in the same command (noted beside ``.git/HEAD``, like a checkout), the
``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n`` environment, the repository's
``.git/config``, then the user's ``~/.gitconfig``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from opsgate.classify._command import Command, Context

__all__ = [
    "PUSH_KEYS",
    "UNKNOWN_BRANCH",
    "UNKNOWN_VALUE",
    "configured_alias",
    "configured_refspecs",
    "env_configs",
    "note_config",
    "note_upstream",
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
_TRUE = frozenset({"true", "yes", "on", "1", ""})
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
    if remote is None:
        remote = (
            config.last(f"branch.{branch}.pushremote")
            or config.last("remote.pushdefault")
            or config.last(f"branch.{branch}.remote")
            or "origin"
        )
    if remote == _UNKNOWN:
        return [_UNKNOWN_SPEC]  # a remote opsgate cannot name
    mirror = config.last(f"remote.{remote}.mirror")
    if mirror is not None and mirror.lower() in _TRUE:
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
    """git's configuration for one push, read lazily: this command's notes, the
    environment, ``.git/config``, ``~/.gitconfig`` (later sources lose)."""

    def __init__(self, cmd: Command, ctx: Context) -> None:
        self.cmd, self.ctx = cmd, ctx
        self._entries: list[tuple[str, str]] | None = None

    def last(self, key: str) -> str | None:
        values = self.every(key)
        return values[-1] if values else None

    def every(self, key: str) -> list[str]:
        noted = self._noted(key)
        if noted is not None:
            return noted
        env = [v for k, v in _env_entries(self.cmd) if _canonical(k) == key]
        if env:
            return env
        if self._entries is None:
            self._entries = list(self._files())
        return [v for k, v in self._entries if k == key]

    def _file(self, path: str) -> str:
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
        # The user's file first: the repository's values come later and win.
        home = self.ctx.home
        env = self.cmd.env
        if env.get("GIT_CONFIG_SYSTEM"):
            yield from _read(self.ctx, self._file(env["GIT_CONFIG_SYSTEM"]), 0)
        if env.get("GIT_CONFIG_GLOBAL"):  # in place of ~/.gitconfig
            yield from _read(self.ctx, self._file(env["GIT_CONFIG_GLOBAL"]), 0)
        elif home:
            yield from _read(self.ctx, posixpath.join(home, ".gitconfig"), 0)
        config = _repository_config(self.ctx, self.cmd.cwd or self.ctx.project_dir)
        if config is not None:
            yield from _read(self.ctx, config, 0)


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


def _read(ctx: Context, path: str, depth: int) -> Iterator[tuple[str, str]]:
    text = ctx.read_text(path, None)
    if not text:
        return
    for key, value in _parse(text):
        if key == "include.path" or (key.startswith("includeif.") and key.endswith(".path")):
            if depth < _MAX_INCLUDES and value:
                home = ctx.home or "~"
                target = value.replace("~", home, 1) if value.startswith("~") else value
                full = posixpath.join(posixpath.dirname(path), target)
                yield from _read(ctx, full, depth + 1)
            continue
        yield key, value


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
    (``GIT_CONFIG_PARAMETERS``, then ``GIT_CONFIG_COUNT``/``KEY_n``/``VALUE_n``), keys
    lower-cased like ``-c`` keys."""
    return [(k.lower(), v) for k, v in _env_entries(cmd)]


def _parameters(value: str) -> list[tuple[str, str]]:
    """``GIT_CONFIG_PARAMETERS="'alias.st'='!…' 'core.pager'='…'"``: git's own quoting,
    which shell words read (a word without ``=`` is a key set to true)."""
    import shlex

    try:
        words = shlex.split(value)
    except ValueError:
        return [("\x00unreadable", value)]
    return [(w.partition("=")[0], w.partition("=")[2]) for w in words if w]


def _env_entries(cmd: Command) -> list[tuple[str, str]]:
    """``GIT_CONFIG_PARAMETERS`` and ``GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=…
    GIT_CONFIG_VALUE_0=…`` on the command."""
    env = cmd.env
    given = _parameters(env["GIT_CONFIG_PARAMETERS"]) if env.get("GIT_CONFIG_PARAMETERS") else []
    try:
        count = int(env.get("GIT_CONFIG_COUNT", "0") or "0")
    except ValueError:
        return given
    out = given
    for n in range(min(count, 64)):
        key = env.get(f"GIT_CONFIG_KEY_{n}")
        if key:
            out.append((key, env.get(f"GIT_CONFIG_VALUE_{n}", "")))
    return out
