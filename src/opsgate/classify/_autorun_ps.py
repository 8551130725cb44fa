"""PowerShell writes (``Set-Content``, ``Add-Content``, ``Out-File``) into files that run
by themselves, judged like the same write from bash (``_autorun``)."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from opsgate.classify._autorun import Step, Written, judge_write, kind_of
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.powershell._values import PsArg, PsCall
    from opsgate.classify.powershell._walk import Walk

__all__ = ["planted_ps", "planted_ps_redirect"]

_WRITERS = frozenset({"set-content", "add-content", "out-file"})


class _ContextJudge:
    """Steps through the walker's context (the bash classifier that runs PowerShell)."""

    def __init__(self, w: Walk) -> None:
        self._w = w

    def read(self, path: str) -> str | None:
        return self._w.ctx.read_text(path, None)

    def run(self, step: Step) -> list[Finding]:
        if step.lang == "pwsh":
            return self._w.nested(step.script, "planted script")
        if step.lang == "python":
            script = f"python3 - <<'OPSGATE_EOF'\n{step.script}\nOPSGATE_EOF\n"
            if "OPSGATE_EOF" in step.script:
                reason = "the script cannot be embedded for reading"
                return [Finding("unknown", Impact.CAUTION, Effect.UNKNOWN, step.where, reason)]
            return self._w.ctx.classify_shell(script, via="a planted script")
        if step.lang == "node":
            script = shlex.join(["node", "-e", step.script])
            return self._w.ctx.classify_shell(script, via="a planted script")
        return self._w.ctx.classify_shell(step.script, via="a planted script")


def planted_ps(w: Walk, call: PsCall, up: Any, targets: list[PsArg]) -> list[Finding]:
    if call.name not in _WRITERS:
        return []
    found: list[Finding] = []
    for target in targets:
        append = call.name == "add-content" or call.switch("append")
        found += _written(w, target, lambda: _text(w, call, up), append, call.text)
    return found


def planted_ps_redirect(w: Walk, node: Any, target: PsArg, op: str) -> list[Finding]:
    """``'…' >> file`` and ``echo '…' > file``: the string written, when it is one."""
    return _written(w, target, lambda: _redirected_text(w, node), op.startswith(">>"), op)


def _written(w: Walk, target: PsArg, text_of: Any, append: bool, sent: str) -> list[Finding]:
    resolved = w.paths.resolve(target)
    if resolved is None or ":" not in resolved[:3]:
        return []
    path = resolved.replace("\\", "/")
    kind = kind_of(path)
    if kind is None:
        return []
    project = w.paths.project.replace("\\", "/").rstrip("/") + "/"
    shown = path[len(project) :] if path.startswith(project) else path
    text = text_of()
    if text is None:
        written = Written(path, shown, opaque="its text is known only at run time", sent=sent)
    elif append:
        written = Written(path, shown, pieces=(("", text),), sent=text)
    else:
        written = Written(path, shown, new=text, sent=text)
    return judge_write(kind, written, _ContextJudge(w))


def _redirected_text(w: Walk, node: Any) -> str | None:
    """What the statement a redirection belongs to writes: a string expression, or the
    string arguments of ``echo``/``Write-Output`` (one per line)."""
    from opsgate.classify.powershell._values import parse_call

    owner = node.parent
    while owner is not None and owner.type not in ("command", "pipeline_chain"):
        owner = owner.parent
    if owner is None:
        return None
    if owner.type == "pipeline_chain":
        first = owner.named_children[0] if owner.named_children else None
        return _string_of(w, first) if first is not None and first.type != "command" else None
    call = parse_call(owner, w.vars, w.aliases)
    if call is None or call.name not in ("echo", "write-output"):
        return None
    values = list(call.positionals)
    if not values or any(not v.static for v in values):
        return None
    return "\n".join(v.value.strip("'\"") for v in values) + "\n"


def _string_of(w: Walk, node: Any) -> str | None:
    from opsgate.classify.powershell._values import arg_value

    while node is not None and node.named_child_count == 1 and node.type != "string_literal":
        node = node.named_children[0]
    if node is None or "string" not in node.type:
        return None
    raw = node.text.decode("utf-8", "replace") if node.text else ""
    if raw.startswith('"') and "$" not in raw:
        return _backticks(raw[1:-1]) + "\n"
    value = arg_value(node, w.vars)
    return value.value + "\n" if value.static else None


def _text(w: Walk, call: PsCall, up: Any) -> str | None:
    """The text written: ``-Value``, the second positional, or a string piped in."""
    value = call.value("value", "inputobject")
    if value is None and call.name != "out-file" and len(call.positionals) > 1:
        value = call.positionals[1]
    if value is None and up is not None:
        return _string_of(w, up)
    if value is None:
        return ""
    return value.value.strip("'\"") if value.static else None


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "a": "\a", "b": "\b", "f": "\f",
            "v": "\v"}  # fmt: skip


def _backticks(body: str) -> str:
    """A double-quoted PowerShell string's backtick escapes (`` `n `` is a newline)."""
    out = []
    i = 0
    while i < len(body):
        if body[i] == "`" and i + 1 < len(body):
            out.append(_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
            continue
        out.append(body[i])
        i += 1
    return "".join(out)
