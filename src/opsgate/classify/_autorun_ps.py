"""PowerShell writes (``Set-Content``, ``Add-Content``, ``Out-File``) into files that run
by themselves, judged like the same write from bash (``_autorun``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opsgate.classify._autorun import Step, Written, judge_write, kind_of
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.powershell._values import PsArg, PsCall
    from opsgate.classify.powershell._walk import Walk

__all__ = ["planted_ps"]

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
        return self._w.ctx.classify_shell(step.script, via="a planted script")


def planted_ps(w: Walk, call: PsCall, up: Any, targets: list[PsArg]) -> list[Finding]:
    if call.name not in _WRITERS:
        return []
    found: list[Finding] = []
    for target in targets:
        resolved = w.paths.resolve(target)
        if resolved is None or ":" not in resolved[:3]:
            continue
        path = resolved.replace("\\", "/")
        kind = kind_of(path)
        if kind is None:
            continue
        project = w.paths.project.replace("\\", "/").rstrip("/") + "/"
        shown = path[len(project) :] if path.startswith(project) else path
        text = _text(w, call, up)
        append = call.name == "add-content" or call.switch("append")
        if text is None:
            why = "its text is known only at run time"
            written = Written(path, shown, opaque=why, sent=call.text)
        elif append:
            written = Written(path, shown, pieces=(("", text),), sent=call.text)
        else:
            written = Written(path, shown, new=text, sent=call.text)
        found += judge_write(kind, written, _ContextJudge(w))
    return found


def _text(w: Walk, call: PsCall, up: Any) -> str | None:
    """The text written: ``-Value``, the second positional, or a string piped in."""
    from opsgate.classify.powershell._values import arg_value

    value = call.value("value", "inputobject")
    if value is None and call.name != "out-file" and len(call.positionals) > 1:
        value = call.positionals[1]
    if value is None and up is not None:
        node = up
        while node is not None and node.named_child_count == 1 and node.type != "string_literal":
            node = node.named_children[0]
        if node is None or "string" not in node.type:
            return None
        value = arg_value(node, w.vars)
        raw = node.text.decode("utf-8", "replace") if node.text else ""
        if value.static and raw.startswith('"') and "$" not in raw:
            return _backticks(raw[1:-1])
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
