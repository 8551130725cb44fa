""".NET and COM calls: ``[IO.Directory]::Delete(path, $true)``, ``[IO.File]::Copy``,
``(New-Object -ComObject Scripting.FileSystemObject).DeleteFolder(path)``,
``(Get-Item .\\src).Delete($true)``.  A call that deletes, writes or reads by path
is judged by that path, exactly like the matching cmdlet."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opsgate.classify.powershell import _tables as t
from opsgate.classify.powershell._parse import descendants, first, text
from opsgate.classify.powershell._values import (
    PsArg,
    call_args,
    finding,
    parse_call,
    secret,
    unknown,
)
from opsgate.models import Effect, Impact

if TYPE_CHECKING:
    from opsgate.classify.powershell._walk import Walk

__all__ = ["assignment", "dotnet"]

_Rule = Callable[["Walk", str, str, list[PsArg]], None]
_TYPE = re.compile(r"^\[(?:system\.)?([\w.]+)\]$")
# Types commonly written without their namespace (``using namespace System.IO``).
_SHORT = {"file": "io.file", "directory": "io.directory", "path": "io.path"}
_FILE_OBJECTS = ("io.fileinfo", "io.directoryinfo", "system.io.fileinfo", "system.io.directoryinfo")


def dotnet(w: Walk, node: Any) -> None:
    """One method call, static (``[Type]::M()``) or on an object (``$x.M()``)."""
    source = text(node)
    low = re.sub(r"\s+", "", source.lower())
    receiver = node.named_children[0] if node.named_child_count else None
    member = first(node, "member_name")
    args_node = first(node, "argument_list")
    args = call_args(args_node, w.vars) if args_node is not None else []
    if receiver is None or member is None:
        return
    method = text(member).lower()
    if receiver.type == "type_literal":
        match = _TYPE.match(re.sub(r"\s+", "", text(receiver).lower()))
        if match is None:
            return
        name = _SHORT.get(match.group(1), match.group(1))
        rule = _STATIC.get(f"{name}::{method}")
        if rule is not None:
            rule(w, source, low, args)
        return
    if ".getnetworkcredential()" in low and "password" in low:
        w.out.append(secret(source, "prints a credential's plain-text password"))
    rule = _INSTANCE.get(method)
    if rule is not None:
        rule(w, source, low, args)
    elif method == "delete" and args_node is not None:
        _object_delete(w, receiver, source, args)


def assignment(w: Walk, node: Any) -> None:
    """``$x = Get-Item path`` / ``New-Object IO.DirectoryInfo path``: remember the path."""
    left = first(node, "left_assignment_expression")
    variables = list(descendants(left, "variable")) if left is not None else []
    if len(variables) != 1:
        return
    name = text(variables[0]).lower()
    value = next(
        (c for c in node.named_children if c.type in ("pipeline", "command")),
        None,
    )
    path = _object_path(w, value) if value is not None else None
    if path is None:
        w.objects.pop(name, None)
    else:
        w.objects[name] = path
    _bind(w, name, value)


def _bind(w: Walk, name: str, value: Any) -> None:
    """A variable assigned once to a plain path holds it from here on (``_bindings``);
    any other assignment makes its value unknown, an automatic one's too
    (``$env:TEMP = $HOME``)."""
    from opsgate.classify.powershell._bindings import path_of

    key = name.lstrip("$").strip("{}")
    for prefix in ("global:", "script:", "local:", "private:"):
        key = key.removeprefix(prefix)
    if key in ("null", "true", "false"):
        return
    bound = path_of(w, value) if value is not None and key in w.bindable else None
    if bound is None:
        w.vars.known.pop(key, None)
    else:
        w.vars.known[key] = bound


def _object_path(w: Walk, node: Any) -> PsArg | None:
    """The file-system path an expression's object stands for, when it is plain."""
    while node is not None and node.type != "command" and node.named_child_count == 1:
        if node.type == "invokation_expression":
            break
        node = node.named_children[0]
    if node is None:
        return None
    if node.type == "variable":
        return w.objects.get(text(node).lower())
    if node.type == "invokation_expression":
        inner = node.named_children[0] if node.named_child_count else None
        member = first(node, "member_name")
        args_node = first(node, "argument_list")
        if (
            inner is not None
            and inner.type == "type_literal"
            and member is not None
            and text(member).lower() == "new"
            and any(k in text(inner).lower() for k in _FILE_OBJECTS)
            and args_node is not None
        ):
            args = call_args(args_node, w.vars)
            return args[0] if args else None
        return None
    if node.type != "command":
        return None
    call = parse_call(node, w.vars, w.aliases)
    if call is None:
        return None
    if call.name in ("get-item", "get-childitem", "resolve-path"):
        named = call.values("path", "literalpath", "pspath", "lp")
        targets = named or call.positionals
        return targets[0] if len(targets) == 1 else None
    if call.name == "new-object":
        kind = call.value("typename", position=0)
        com = call.value("comobject")
        if com is not None:
            return PsArg("com:" + com.value.lower(), False)
        rest = call.values("argumentlist") or call.positionals[1:]
        if kind is not None and kind.value.lower() in _FILE_OBJECTS and rest:
            return rest[0]
    return None


def _object_delete(w: Walk, receiver: Any, source: str, args: list[PsArg]) -> None:
    """``.Delete()`` on a FileInfo/DirectoryInfo; any other object is unknown."""
    path = _object_path(w, receiver)
    recursive = bool(args) and args[0].value.lower() == "$true"
    if path is None or path.value.startswith("com:"):
        w.out.append(unknown(source, "deletes an object chosen at run time", "filesystem.delete"))
        return
    w.add(w.paths.delete(path, recursive=recursive), source, path.value)


# --------------------------------------------------------------------------- rules


def _arg(args: list[PsArg], index: int) -> PsArg:
    return args[index] if index < len(args) else PsArg("", False)


def _delete(recursive: bool | int) -> _Rule:
    """Deletes its first argument.  ``recursive`` is fixed (``DeleteFolder``
    always recurses, ``File.Delete`` never does) or the index of the argument
    that asks for it (``Directory.Delete(path, $true)``)."""

    def rule(w: Walk, source: str, low: str, args: list[PsArg]) -> None:
        deep = recursive
        if not isinstance(recursive, bool):
            flag = args[recursive] if recursive < len(args) else PsArg("$false")
            low_flag = flag.value.lower()
            deep = low_flag in ("$true", "deletedirectory", "1") or not flag.static
        target = _arg(args, 0)
        w.add(w.paths.delete(target, recursive=bool(deep)), source, target.value or None)

    return rule


def _write(w: Walk, source: str, low: str, args: list[PsArg]) -> None:
    target = _arg(args, 0)
    w.add(w.paths.write(target), source, target.value or None)


def _copy(move: bool) -> _Rule:
    def rule(w: Walk, source: str, low: str, args: list[PsArg]) -> None:
        src, dest = _arg(args, 0), _arg(args, 1)
        if move:
            verdict = w.paths.delete(src, recursive=True)
            if verdict[0] is not Effect.LOCAL:
                w.add(
                    (verdict[0], verdict[1], "filesystem.move", verdict[3]),
                    source,
                    src.value or None,
                )
        w.copied(src, dest, source)
        w.add(w.paths.write(dest, creating=True), source, dest.value or None)

    return rule


def _read(w: Walk, source: str, low: str, args: list[PsArg]) -> None:
    target = _arg(args, 0)
    if w.paths.secret(target) or (not target.static and t.SECRET_FILE.search(target.value)):
        w.out.append(secret(source, f"reads the secret file {target.value}", target.value))


def _env_get(w: Walk, source: str, low: str, args: list[PsArg]) -> None:
    name = _arg(args, 0)
    if name.static and name.value and not t.SECRET_ENV_NAME.search(name.value):
        return
    w.out.append(secret(source, "reads the value of a secret environment variable"))


def _env_dump(w: Walk, source: str, low: str, args: list[PsArg]) -> None:
    w.out.append(secret(source, "returns every environment variable with its value"))


def _env_set(w: Walk, source: str, low: str, args: list[PsArg]) -> None:
    # 'User' and 'Machine' scopes persist (PATH hijacks survive the session); the
    # default 'Process' scope dies with this shell.
    if "machine" in low or "'user'" in low or '"user"' in low or "::user" in low:
        w.out.append(
            finding(
                "system.change",
                Impact.CAUTION,
                Effect.WRITE,
                source,
                "changes a machine-wide environment variable",
            )
        )


def _plain(w: Walk, source: str, low: str, args: list[PsArg]) -> None:
    w.out.append(secret(source, "decrypts a SecureString to plain text"))


def _scriptblock(w: Walk, source: str, low: str, args: list[PsArg]) -> None:
    from opsgate.classify.powershell._rules import dynamic_code

    body = _arg(args, 0)
    if body.static and body.value:
        w.out.extend(w.nested(body.value, "scriptblock"))
    else:
        dynamic_code(w, source, source)


def _start(w: Walk, source: str, low: str, args: list[PsArg]) -> None:
    w.out.append(unknown(source, "starts a process through .NET"))


_STATIC: dict[str, _Rule] = {
    "environment::getenvironmentvariable": _env_get,
    "environment::getenvironmentvariables": _env_dump,
    "environment::setenvironmentvariable": _env_set,
    "io.file::delete": _delete(False),
    "io.directory::delete": _delete(1),
    "microsoft.visualbasic.fileio.filesystem::deletedirectory": _delete(True),
    "microsoft.visualbasic.fileio.filesystem::deletefile": _delete(False),
    **dict.fromkeys(
        (
            "io.file::writealltext",
            "io.file::writeallbytes",
            "io.file::writealllines",
            "io.file::appendalltext",
            "io.file::appendalllines",
            "io.file::create",
            "io.file::createtext",
            "io.file::openwrite",
        ),
        _write,
    ),
    "io.file::copy": _copy(move=False),
    "io.file::move": _copy(move=True),
    "io.directory::move": _copy(move=True),
    "microsoft.visualbasic.fileio.filesystem::copyfile": _copy(move=False),
    "microsoft.visualbasic.fileio.filesystem::movefile": _copy(move=True),
    "microsoft.visualbasic.fileio.filesystem::movedirectory": _copy(move=True),
    **dict.fromkeys(
        (
            "io.file::readalltext",
            "io.file::readalllines",
            "io.file::readallbytes",
            "io.file::readlines",
            "io.file::opentext",
            "io.file::openread",
            "io.file::open",
            "microsoft.visualbasic.fileio.filesystem::readalltext",
        ),
        _read,
    ),
    **dict.fromkeys(
        (
            "runtime.interopservices.marshal::ptrtostringauto",
            "runtime.interopservices.marshal::ptrtostringbstr",
            "runtime.interopservices.marshal::ptrtostringuni",
            "net.networkcredential::new",
        ),
        _plain,
    ),
    "management.automation.scriptblock::create": _scriptblock,
    "scriptblock::create": _scriptblock,
    "diagnostics.process::start": _start,
}

# Methods whose names say what they do whatever object they are called on
# (Scripting.FileSystemObject and its look-alikes).
_INSTANCE: dict[str, _Rule] = {
    "deletefolder": _delete(True),
    "deletefile": _delete(False),
    "copyfile": _copy(move=False),
    "copyfolder": _copy(move=False),
    "movefile": _copy(move=True),
    "movefolder": _copy(move=True),
    "opentextfile": _read,
    "createtextfile": _write,
}
