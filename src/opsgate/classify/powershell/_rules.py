"""Cmdlet rules: the file-system and code-running cmdlets, judged by their
parameters; every other approved-verb cmdlet by its verb and noun."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opsgate.classify.powershell import _rules_ops as ops
from opsgate.classify.powershell import _tables as t
from opsgate.classify.powershell._parse import descendants, text
from opsgate.classify.powershell._values import (
    PsArg,
    PsCall,
    arg_value,
    canonical,
    parse_call,
    secret,
    unknown,
    with_env,
)
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.powershell._walk import Walk

__all__ = ["CMDLETS", "dynamic_code", "generic"]

CmdletRule = Callable[["Walk", PsCall, Any, list[Any]], None]
_PATH_PARAMS = ("path", "literalpath", "pspath", "lp")
_FETCH = re.compile(
    r"(invoke-webrequest|invoke-restmethod|\biwr\b|\birm\b|download(string|data|file)"
    r"|net\.webclient|\bcurl\b|\bwget\b|bitstransfer|https?://|httpclient)",
    re.IGNORECASE,
)


def generic(w: Walk, call: PsCall, verb: str, noun: str) -> None:
    """A cmdlet with no rule of its own: its approved verb, with noun overrides.

    The developer's own build and test runners (``Invoke-Pester``,
    ``Invoke-Build``) are local work, like ``npm test`` in bash."""
    if call.name in t.LOCAL_CMDLETS:
        return
    effect, impact = t.VERBS[verb]
    if verb == "format" and noun in t.DESTRUCTIVE_NOUNS:
        effect, impact = Effect.WRITE, Impact.DESTRUCTIVE
    if effect is not Effect.WRITE or noun in t.LOCAL_NOUNS:
        return
    category, reason = _describe(verb, noun)
    w.generic_finding(call, effect, impact, category, reason)


def _describe(verb: str, noun: str) -> tuple[str, str]:
    domain = "system"
    for prefixes, name in t.DOMAINS:
        if noun.startswith(prefixes):
            domain = name
            break
    action = {
        "remove": "delete",
        "uninstall": "delete",
        "clear": "wipe",
        "reset": "reset",
        "initialize": "wipe",
        "format": "format",
    }.get(verb, verb)
    if verb in ("stop", "restart", "suspend", "start", "resume") or action != verb:
        return f"{domain}.{action}", f"{verb}s {noun} (a state change: {domain})"
    return f"{domain}.change", f"{verb} {noun}: a state change on the {domain}"


def targets_of(call: PsCall, *, skip: int = 0) -> list[PsArg]:
    named = call.values(*_PATH_PARAMS)
    return named if named else call.positionals[skip:]


def _upstream(w: Walk, up: Any) -> tuple[list[PsArg], bool] | None:
    """What a listing upstream in the pipeline yields, as paths, and whether it
    recurses; None if unknown."""
    if up is None or up.type != "command":
        return None
    call = parse_call(up, w.vars, w.aliases)
    if call is None or call.name not in ("get-childitem", "get-item", "resolve-path"):
        return None
    roots = targets_of(call) or [PsArg(".")]
    pattern = call.value("filter", "include") or PsArg("*")
    if call.name == "get-item":
        return roots, False
    deep = call.switch("recurse") and pattern.value in ("*", "*.*")
    return [
        PsArg(r.value.rstrip("\\/") + "\\" + pattern.value, r.static and pattern.static)
        for r in roots
    ], deep


def _remove_item(w: Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    targets = targets_of(call)
    recursive = call.switch("recurse")
    if not targets:
        piped = _upstream(w, up)
        if piped is None:
            w.out.append(
                unknown(
                    call.text,
                    "deletes whatever the pipeline yields at run time",
                    "filesystem.delete",
                )
            )
            return
        targets, deep = piped
        recursive = recursive or deep
    pattern = call.value("filter", "include")
    for target in targets:
        if pattern is not None and pattern.value not in ("*", "*.*"):
            target = PsArg(
                target.value.rstrip("\\/") + "\\" + pattern.value, target.static and pattern.static
            )
            w.add(w.paths.delete(target), call.text, target.value)
        else:
            w.add(w.paths.delete(target, recursive=recursive), call.text, target.value)


def _write_path(w: Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    creating = call.name == "new-item" and not call.switch("force")
    names = ("filepath", "destinationpath", *_PATH_PARAMS)
    targets = call.values(*names) or call.positionals[:1]
    if call.name == "new-item" and call.value("name") is not None and targets:
        targets = [PsArg(targets[0].value + "\\" + call.values("name")[0].value)]
    if not targets and call.name in ("new-item", "set-item", "clear-item"):
        targets = [PsArg(".")]
    for target in targets:
        w.add(w.paths.write(target, creating=creating), call.text, target.value)
    from opsgate.classify._autorun_ps import planted_ps

    w.out.extend(planted_ps(w, call, up, targets))  # into files that run by themselves


def _copy_move(w: Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    sources = call.values(*_PATH_PARAMS) or call.positionals[:1]
    dest = call.value("destination", "newname") or (
        call.positionals[1] if len(call.positionals) > 1 else None
    )
    if call.name != "copy-item":
        for src in sources:  # named even inside the workspace: the guard's files are there
            effect, impact, _, reason = w.paths.delete(src)
            moved = (effect, impact, "filesystem.move", reason.replace("deletes", "moves away"))
            w.add(moved, call.text, src.value)
    if dest is not None:
        if call.name == "rename-item" and sources:
            parent = sources[0].value.replace("/", "\\").rsplit("\\", 1)
            dest = PsArg(
                (parent[0] + "\\" if len(parent) > 1 else "") + dest.value,
                dest.static and sources[0].static,
            )
        for src in sources:
            w.copied(src, dest, call.text, recursive=call.switch("recurse"))
        w.add(w.paths.write(dest, creating=True), call.text, dest.value)


def _read_file(w: Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    skip = 1 if call.name == "select-string" and call.value("pattern") is None else 0
    for target in targets_of(call, skip=skip):
        resolved = w.paths.resolve(target) or ""
        if resolved.startswith("session:env:"):
            _env_drive(w, call, resolved, down)
        elif w.paths.secret(target):
            w.out.append(secret(call.text, f"reads the secret file {target.value}", target.value))


def _listing(w: Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    for target in targets_of(call):
        resolved = w.paths.resolve(target) or ""
        if resolved.startswith("session:env:"):
            _env_drive(w, call, resolved, down)


def _env_drive(w: Walk, call: PsCall, resolved: str, down: list[Any]) -> None:
    name = resolved.removeprefix("session:env:").strip("\\")
    if name and "*" not in name and not t.SECRET_ENV_NAME.search(name):
        return
    if _names_only(w, down):
        return
    what = "every environment variable" if not name or name == "*" else f"env:{name}"
    w.out.append(secret(call.text, f"prints the value of {what}"))


def _names_only(w: Walk, down: list[Any]) -> bool:
    """Whether the rest of the pipeline keeps only names (no values) of its input."""
    for node in down:
        if node.type != "command":
            return False
        call = parse_call(node, w.vars, w.aliases)
        if call is None:
            return False
        if call.name in ("where-object", "sort-object"):
            continue
        if call.name in ("measure-object", "out-null"):
            return True
        if call.name in ("select-object", "format-table", "format-list", "format-wide"):
            props = call.values("property", "expandproperty") or call.positionals
            words = {p.value.lower() for p in props}
            return bool(words) and words <= t.NAMES_ONLY_PROPERTIES
        if call.name == "foreach-object":
            body = " ".join(p.value for p in call.positionals).lower()
            return bool(re.fullmatch(r"\{\s*\$_\.(name|key)\s*\}", body))
        return False
    return False


def _iex(w: Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    payload = call.value("command", position=0)
    source_text = call.text
    if payload is None and up is not None:
        inner = _unwrap(up)
        if inner.type == "command":
            upcall = parse_call(inner, w.vars, w.aliases)
            if upcall is not None and upcall.name == "get-content":
                files = targets_of(upcall)
                body = w.ctx.read_text(files[0].value, w.cwd) if files else None
                if body is not None:
                    w.out.extend(w.nested(body, "iex"))
                    return
        payload = arg_value(inner, w.vars) if inner.type != "command" else PsArg(text(inner), False)
    if payload is not None and payload.static and payload.kind != "expression":
        w.out.extend(w.nested(payload.value, "iex"))
        return
    dynamic_code(w, payload.value if payload is not None else "", source_text)


def dynamic_code(w: Walk, code: str, evidence: str) -> None:
    if _FETCH.search(code):
        w.out.append(
            unknown(evidence, "runs a script downloaded from the network", "network.fetch_exec")
        )
        return
    blob = re.search(r"frombase64string\(\s*['\"]([A-Za-z0-9+/=]+)['\"]", code, re.IGNORECASE)
    if blob is not None:
        try:
            raw = base64.b64decode(blob.group(1), validate=True)
            decoded = raw.decode("utf-16-le" if "unicode" in code.lower() else "utf-8")
        except (binascii.Error, ValueError):
            decoded = ""
        w.out.append(unknown(evidence, "runs a decoded payload", "evasion.encoded"))
        if decoded:
            w.out.extend(w.nested(decoded, "iex"))
        return
    w.out.append(
        unknown(evidence, "runs code that exists only at run time", "powershell.dynamic_code")
    )


def _unwrap(node: Any) -> Any:
    while node.named_child_count == 1 and node.type not in (
        "command",
        "string_literal",
        "variable",
        "script_block_expression",
    ):
        node = node.named_children[0]
    return node


def _invoke_command(w: Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    script = call.value("filepath")
    if script is not None:
        w.run_script(script.value, call.text)
    block = call.value("scriptblock", position=0)
    if block is not None and block.kind != "scriptblock" and script is None:
        dynamic_code(w, block.value, call.text)
        return
    computer = call.value("computername", "cn")
    if computer is None or block is None:
        return  # a local script block is walked where it stands
    for node in descendants(call.node, "script_block_expression"):
        w.skip.add((node.start_byte, node.end_byte))
        env = w.ctx.environment_of(computer.value)
        for found in w.nested(text(node)[1:-1], "remote"):
            moved = Finding(
                found.category,
                found.impact,
                found.effect,
                found.evidence,
                f"{found.reason} on {computer.value}",
                found.target or computer.value,
                found.environment,
                found.env_source,
            )
            w.out.append(with_env(moved, env) if env is not None else moved)


def _start_process(w: Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    from opsgate.classify.powershell._cmdexe import cmd_expand, cmd_tokens

    program = call.value("filepath", position=0)
    if program is None or not program.static:
        w.out.append(unknown(call.text, "starts a program known only at run time"))
        return
    arglist = call.values("argumentlist", "args") or call.positionals[1:]
    words: list[PsArg] = []
    for arg in arglist:
        words.extend(cmd_expand(tok, w.vars) for tok in cmd_tokens(arg.value))
    name = canonical(program.value, w.aliases)
    if name.endswith(".ps1"):
        w.run_script(program.value, call.text)
    elif name.startswith(("http:", "https:")) or "." in name:
        return  # a URL or a document opens in its default application
    else:
        w.native(name, words, call.text)


def _alias(w: Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    name = call.value("name", position=0)
    value = call.value("value", position=1)
    if name is not None and value is not None:
        w.aliases[name.value.lower()] = canonical(value.value, w.aliases)


def _nothing(w: Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    return None


CMDLETS: dict[str, CmdletRule] = {
    "remove-item": _remove_item,
    **dict.fromkeys(("get-content", "select-string", "format-hex", "import-csv"), _read_file),
    **dict.fromkeys(("get-childitem", "get-item", "get-itemproperty"), _listing),
    **dict.fromkeys(t.WRITE_CMDLETS, _write_path),
    **dict.fromkeys(("copy-item", "move-item", "rename-item"), _copy_move),
    "invoke-expression": _iex,
    "invoke-command": _invoke_command,
    "start-process": _start_process,
    **dict.fromkeys(("invoke-webrequest", "invoke-restmethod"), ops.http),
    "stop-process": ops.stop_process,
    "set-executionpolicy": ops.exec_policy,
    **dict.fromkeys(ops.SECRET_CMDLETS, ops.secret_cmdlet),
    "invoke-sqlcmd": ops.sqlcmd,
    **dict.fromkeys(("set-alias", "new-alias"), _alias),
    **dict.fromkeys(t.PASSTHROUGH_CMDLETS, _nothing),
}
