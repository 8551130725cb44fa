"""Windows paths: resolution against the project and home, and what deleting,
writing or reading one means.

Deletion follows the same zones as bash (``opsgate.classify.paths``): build
outputs and caches inside the project (``bin``, ``obj``, ``dist``,
``node_modules`` …) and temp directories are ordinary work; a recursive delete of
any other project directory (``.\\src``) loses source and is destructive, like
``rm -r src/``.
"""

from __future__ import annotations

import re

from opsgate.classify._command import Context
from opsgate.classify.paths import (
    Workspace,
    Zone,
    is_known_public,
    is_secret_dir,
    is_secret_path,
)
from opsgate.classify.powershell import _tables as t
from opsgate.classify.powershell._values import PsArg, Verdict
from opsgate.models import Effect, Impact

__all__ = ["Paths", "home_of"]

_LOCAL_WRITE: Verdict = (
    Effect.LOCAL,
    Impact.SAFE,
    "filesystem.write",
    "writes a file in the workspace",
)

_DRIVE = re.compile(r"^([a-z]):")
_PSDRIVE = re.compile(r"^([a-z][\w]+):(.*)$")
_SESSION_DRIVES = frozenset({"env", "function", "variable", "alias"})
_REGISTRY = re.compile(r"^(registry::|hk(lm|cu|cr|u|cc):|hkey_)")
# The bash zones, reused for the part of a path below the project directory.
_ZONES = Workspace("/p", "/h")


def norm(path: str) -> str:
    parts: list[str] = []
    head, rest = (path[:2], path[2:]) if _DRIVE.match(path) else ("", path)
    for part in rest.split("\\"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    prefix = "\\\\" if path.startswith("\\\\") else ("\\" if not head else "")
    return head + ("\\" if head and parts else prefix) + "\\".join(parts)


class Paths:
    def __init__(self, home: str, project: str) -> None:
        self.home = norm(home.lower())
        self.project = norm(project.lower())
        self.temp = self.home + "\\appdata\\local\\temp"
        # Files that received a copy of a secret earlier in the same script.
        self.tainted: set[str] = set()

    def resolve(self, arg: PsArg) -> str | None:
        """Absolute, lower-case, normalised; ``reg:``/``session:``/``other:`` for
        non-file providers; None when the path is known only at run time."""
        if not arg.static or not arg.value.strip():
            return None
        low = arg.value.strip().strip("'\"").lower().replace("/", "\\")
        low = re.sub(r"^(microsoft\.powershell\.core\\)?filesystem::", "", low)
        if _REGISTRY.match(low):
            return "reg:" + low
        drive = _PSDRIVE.match(low)
        if drive:
            kind = "session:" if drive.group(1) in _SESSION_DRIVES else "other:"
            return kind + low
        if low == "~" or low.startswith("~\\"):
            low = self.home + low[1:]
        if _DRIVE.match(low):
            low = low[:2] + "\\" + low[2:].lstrip("\\")
        elif not low.startswith("\\\\"):
            low = (self.project[:2] + low) if low.startswith("\\") else self.project + "\\" + low
        return norm(low)

    def inside(self, path: str, root: str) -> bool:
        return path.startswith(root.rstrip("\\") + "\\")

    def delete(self, arg: PsArg, *, recursive: bool = False) -> Verdict:
        path = self.resolve(arg)
        if path is None:
            return (
                Effect.UNKNOWN,
                Impact.CAUTION,
                "filesystem.delete",
                "deletes a path known only at run time",
            )
        if path.startswith("reg:"):
            return Effect.WRITE, Impact.DESTRUCTIVE, "registry.delete", "deletes registry keys"
        if path.startswith("session:"):
            return Effect.LOCAL, Impact.SAFE, "session.change", "changes only this session"
        if path.startswith("other:"):
            return (
                Effect.WRITE,
                Impact.DESTRUCTIVE,
                "system.delete",
                "deletes items from a system provider",
            )
        if path.rsplit("\\", 1)[-1] in ("*", "*.*"):
            path = path.rsplit("\\", 1)[0] or path
            recursive = True  # everything in the directory
        return self._delete_file(path, recursive)

    def _delete_file(self, path: str, recursive: bool) -> Verdict:
        bad = Effect.WRITE, Impact.DESTRUCTIVE, "filesystem.delete"
        proj = self.project
        if path == proj:
            return (*bad, "deletes the project directory itself")
        if path == proj + "\\.git" or self.inside(path, proj + "\\.git"):
            return (*bad, "deletes the repository's .git (history and uncommitted state)")
        if self.inside(path, proj):
            relative = path[len(proj) + 1 :].replace("\\", "/")
            zone = _ZONES.zone("/p/" + relative)
            if recursive and zone is Zone.PROJECT:
                return (*bad, f"deletes {path} recursively (source files in the project)")
            return (
                Effect.LOCAL,
                Impact.SAFE,
                "filesystem.delete",
                "deletes files inside the workspace",
            )
        if self.inside(path, self.temp) or self._system_temp(path):
            return (Effect.LOCAL, Impact.SAFE, "filesystem.delete", "deletes temporary files")
        if self.inside(proj, path):
            return (*bad, f"deletes {path}, a parent of the project")
        if self.inside(self.home, path) or path == self.home:
            return (*bad, "deletes the user profile")
        if any(path == d or self.inside(path, d) for d in t.SYSTEM_DIRS):
            return (*bad, "deletes system files")
        return (*bad, "deletes files outside the project")

    def _system_temp(self, path: str) -> bool:
        return any(self.inside(path, d) for d in ("c:\\temp", "c:\\tmp", "c:\\windows\\temp"))

    def write(self, arg: PsArg, *, creating: bool = False) -> Verdict | None:
        """A write to ``arg``: a local one when it stays in the workspace (named, so
        that the guard sees a write to ``.claude\\settings.json`` or ``.mise.toml``);
        None for this session's own drives."""
        if arg.value.lower() == "$null":
            return None
        path = self.resolve(arg)
        if path is None:
            return (
                Effect.UNKNOWN,
                Impact.CAUTION,
                "filesystem.write",
                "writes to a path known only at run time",
            )
        if path.startswith("reg:"):
            return Effect.WRITE, Impact.CAUTION, "registry.write", "changes the registry"
        if path.startswith("session:"):
            return None
        if path.startswith("other:"):
            return Effect.WRITE, Impact.CAUTION, "system.write", "changes a system provider"
        proj = self.project
        git = proj + "\\.git"
        if self.inside(path, git + "\\hooks") or path == git + "\\config":
            return (
                Effect.WRITE,
                Impact.CAUTION,
                "filesystem.write_protected",
                "writes git hooks or config, which run or redirect code",
            )
        if self.inside(path, proj) or self.inside(path, self.temp) or self._system_temp(path):
            return _LOCAL_WRITE
        if any(path == d or self.inside(path, d) for d in t.SYSTEM_DIRS):
            return Effect.WRITE, Impact.CAUTION, "filesystem.write_protected", "writes system files"
        if any(path.startswith(self.home + s) for s in t.PROTECTED_WRITE_SUFFIXES):
            return (
                Effect.WRITE,
                Impact.CAUTION,
                "filesystem.write_protected",
                "writes a profile, startup, credential or agent settings file",
            )
        if creating or self.inside(path, self.home + "\\source"):
            return _LOCAL_WRITE
        return (
            Effect.WRITE,
            Impact.CAUTION,
            "filesystem.write",
            "overwrites a file outside the project",
        )

    def secret(self, arg: PsArg) -> bool:
        """Whether ``arg`` names a file holding secret values, or a copy of one."""
        path = self.resolve(arg) or arg.value.lower().replace("/", "\\")
        path = path.removeprefix("session:")
        if path in self.tainted:
            return True
        posix = path.replace("\\", "/")
        # One predicate with the shell's: a public key or known_hosts is no secret here either.
        if is_secret_path(posix):
            return True
        if is_known_public(posix):
            return False
        return bool(t.SECRET_FILE.search(path) or t.SECRET_FILE.search(path + "\\"))

    def secret_dir(self, arg: PsArg) -> bool:
        """Whether ``arg`` is a credentials directory (``~\\.aws``, ``~\\.ssh``)."""
        path = self.resolve(arg)
        return path is not None and is_secret_dir(path.replace("\\", "/"))

    def keeps_secret(self, source: PsArg, dest: PsArg) -> bool:
        """``Copy-Item .env .env.bak``, ``Copy-Item ~\\.ssh\\id_rsa C:\\backup\\``: the
        copy is itself a credentials file by its name, as guarded as the original."""
        if self.secret(dest):
            return True
        if not dest.value.endswith(("\\", "/")):
            return False
        name = source.value.replace("/", "\\").rstrip("\\").rsplit("\\", 1)[-1]
        return self.secret(PsArg(dest.value + name, dest.static))

    def copied(self, source: PsArg, dest: PsArg | None) -> None:
        """Remember that ``dest`` now holds whatever ``source`` held."""
        if dest is None or not self.secret(source):
            return
        resolved = self.resolve(dest)
        if resolved is None:
            return
        # The destination may be a directory: the copy keeps the source's name in it.
        name = source.value.replace("/", "\\").rstrip("\\").rsplit("\\", 1)[-1].lower()
        self.tainted.update((resolved, resolved + "\\" + name))


def home_of(ctx: Context, cwd: str) -> str:
    match = re.match(r"^[a-zA-Z]:\\users\\[^\\]+", cwd, re.IGNORECASE)
    if match:
        return match.group(0)
    if ":" in ctx.home or "\\" in ctx.home:
        return ctx.home
    return "C:\\Users\\dev"
