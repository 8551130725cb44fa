"""Windows programs and cmd.exe built-ins with rules of their own: ``rd /s``,
``del``, ``type``/``findstr`` of a secret file, ``copy``, ``reg delete``,
``sc stop``, ``taskkill``, ``format``, ``diskpart``, ``vssadmin``, ``wsl`` …
Everything else goes to the bash-side family handlers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from opsgate.classify.powershell._cmdexe import wsl
from opsgate.classify.powershell._rules_ops import kill, mass_kill
from opsgate.classify.powershell._values import PsArg, finding, secret
from opsgate.models import Effect, Impact

if TYPE_CHECKING:
    from opsgate.classify.powershell._walk import Walk

__all__ = ["WINDOWS"]

Rule = Callable[["Walk", list[PsArg], str], None]
_WinRule = Callable[["Walk", list[str], str], None]


def _plain(rule: _WinRule) -> Rule:
    def adapted(w: Walk, words: list[PsArg], text: str) -> None:
        rule(w, [x.value for x in words], text)

    return adapted


def _operands(words: list[PsArg]) -> list[PsArg]:
    return [x for x in words if not x.value.startswith("/")]


def _switches(words: list[PsArg]) -> set[str]:
    return {x.value.lower() for x in words if x.value.startswith("/")}


def _rd_del(w: Walk, words: list[PsArg], text: str) -> None:
    """``rd /s``, ``rmdir``, ``del /s``, ``erase``: /s recurses."""
    recursive = "/s" in _switches(words)
    for target in _operands(words):
        w.add(w.paths.delete(target, recursive=recursive), text, target.value)


def _reader(pattern_first: bool) -> Rule:
    """``type``/``more`` print files; ``findstr``/``find`` print matching lines."""

    def rule(w: Walk, words: list[PsArg], text: str) -> None:
        files = _operands(words)[1 if pattern_first else 0 :]
        for target in files:
            if w.paths.secret(target):
                w.out.append(secret(text, f"prints the secret file {target.value}", target.value))

    return rule


def _copy(move: bool) -> Rule:
    def rule(w: Walk, words: list[PsArg], text: str) -> None:
        paths = _operands(words)
        if len(paths) < 2:
            return
        dest = paths[-1]
        for src in paths[:-1]:
            if move:
                verdict = w.paths.delete(src)
                if verdict[0] is not Effect.LOCAL:
                    w.add((verdict[0], verdict[1], "filesystem.move", verdict[3]), text, src.value)
            w.copied(src, dest, text, recursive=True)
        w.add(w.paths.write(dest, creating=True), text, dest.value)

    return rule


def _win(category: str, impact: Impact, reason: str) -> _WinRule:
    def rule(w: Walk, words: list[str], text: str) -> None:
        w.out.append(finding(category, impact, Effect.WRITE, text, reason))

    return rule


def _sub(table: dict[str, tuple[str, Impact, str] | None], default: str | None) -> _WinRule:
    """A tool judged by its first word (``reg delete``, ``sc stop``)."""

    def rule(w: Walk, words: list[str], text: str) -> None:
        first = next((x.lower().lstrip("/-") for x in words if x), "")
        verdict = table.get(first, table.get(default or ""))
        if verdict is not None:
            w.out.append(finding(verdict[0], verdict[1], Effect.WRITE, text, verdict[2]))

    return rule


# taskkill filters that pick processes by what they are, not by which user or state:
# any other filter alone (``/FI "USERNAME eq dev"``) selects en masse.
_NAMING_FILTERS = ("imagename", "pid", "windowtitle", "modules", "services")


def _taskkill(w: Walk, words: list[str], text: str) -> None:
    low = [x.lower() for x in words]
    targets = [words[i + 1] for i, x in enumerate(low[:-1]) if x in ("/im", "/pid")]
    filters = [words[i + 1].strip("'\"").lower() for i, x in enumerate(low[:-1]) if x == "/fi"]
    named = any(f.startswith(_NAMING_FILTERS) for f in filters)
    if not targets and filters and not named:
        mass_kill(w, text, f"stops every process the filter {filters[0]!r} selects")
        return
    kill(w, targets, bool(targets), text)


def _shutdown(w: Walk, words: list[str], text: str) -> None:
    if any(x.lower() in ("/a", "-a", "/?") for x in words):
        return
    w.out.append(
        finding(
            "system.power", Impact.CAUTION, Effect.WRITE, text, "shuts down or restarts the machine"
        )
    )


def _netsh(w: Walk, words: list[str], text: str) -> None:
    low = [x.lower() for x in words]
    if not any(x in ("set", "add", "delete", "reset") for x in low):
        return
    category = "firewall.change" if any("firewall" in x for x in low) else "network.change"
    w.out.append(
        finding(
            category, Impact.CAUTION, Effect.WRITE, text, "changes network or firewall settings"
        )
    )


def _robocopy(w: Walk, words: list[str], text: str) -> None:
    paths = [x for x in words if not x.startswith("/")]
    if any(x.lower() in ("/mir", "/purge") for x in words) and len(paths) > 1:
        w.add(w.paths.delete(PsArg(paths[1] + "\\*")), text, paths[1])
    elif len(paths) > 1:
        w.add(w.paths.write(PsArg(paths[1]), creating=True), text, paths[1])
    if len(paths) > 1:  # robocopy copies the files of a directory, at least
        w.copied(PsArg(paths[0]), PsArg(paths[1]), text, recursive=True)


def _acl(w: Walk, words: list[str], text: str) -> None:
    for word in words:
        if not word.startswith("/"):
            w.add(w.paths.write(PsArg(word), creating=True), text, word)
            return


_SVC_W = ("service.change", Impact.CAUTION, "changes a Windows service")
_PLAIN: dict[str, _WinRule] = {
    "format": _win("disk.format", Impact.DESTRUCTIVE, "formats a volume"),
    "diskpart": _win("disk.format", Impact.DESTRUCTIVE, "partitions or wipes disks"),
    "cipher": _sub({"w": ("disk.wipe", Impact.DESTRUCTIVE, "wipes disk space")}, None),
    "reg": _sub(
        {
            "delete": ("registry.delete", Impact.DESTRUCTIVE, "deletes registry keys"),
            **dict.fromkeys(
                ("add", "import", "copy", "restore", "load", "unload"),
                ("registry.write", Impact.CAUTION, "changes the registry"),
            ),
        },
        None,
    ),
    "sc": _sub(
        {
            "delete": ("service.delete", Impact.DESTRUCTIVE, "deletes a Windows service"),
            **dict.fromkeys(
                (
                    "stop",
                    "start",
                    "pause",
                    "continue",
                    "config",
                    "failure",
                    "create",
                    "control",
                    "sdset",
                ),
                _SVC_W,
            ),
        },
        None,
    ),
    "net": _sub(
        dict.fromkeys(
            (
                "stop",
                "start",
                "pause",
                "continue",
                "user",
                "localgroup",
                "group",
                "share",
                "accounts",
            ),
            _SVC_W,
        ),
        None,
    ),
    "taskkill": _taskkill,
    "shutdown": _shutdown,
    "vssadmin": _sub(
        {
            x: ("backup.delete", Impact.DESTRUCTIVE, "deletes or resizes shadow copies")
            for x in ("delete", "resize")
        },
        None,
    ),
    "wbadmin": _sub({"delete": ("backup.delete", Impact.DESTRUCTIVE, "deletes backups")}, None),
    "wevtutil": _sub(
        {
            x: ("logs.delete", Impact.DESTRUCTIVE, "clears an event log")
            for x in ("cl", "clear-log")
        },
        None,
    ),
    "bcdedit": _sub(
        {
            x: ("system.boot", Impact.CAUTION, "changes boot configuration")
            for x in ("set", "delete", "deletevalue", "create", "import")
        },
        None,
    ),
    "netsh": _netsh,
    "schtasks": _sub(
        {
            x: ("service.change", Impact.CAUTION, "changes scheduled tasks")
            for x in ("create", "delete", "change", "run", "end")
        },
        None,
    ),
    "robocopy": _robocopy,
    "icacls": _acl,
    "takeown": _acl,
}


WINDOWS: dict[str, Rule] = {
    **{name: _plain(rule) for name, rule in _PLAIN.items()},
    **dict.fromkeys(("rd", "rmdir", "del", "erase"), _rd_del),
    **dict.fromkeys(("type", "more"), _reader(pattern_first=False)),
    "findstr": _reader(pattern_first=True),
    **dict.fromkeys(("copy", "xcopy"), _copy(move=False)),
    "move": _copy(move=True),
    "wsl": wsl,
}
