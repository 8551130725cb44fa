"""Values of PowerShell syntax: arguments expanded as far as known, bound
parameters of a command call, and the findings built from them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from opsgate.classify._command import Arg, Command
from opsgate.classify.powershell import _tables as t
from opsgate.classify.powershell._parse import first, text
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = [
    "PsArg",
    "PsCall",
    "Vars",
    "Verdict",
    "all_words",
    "arg_value",
    "canonical",
    "finding",
    "native_command",
    "on_this_machine",
    "parse_call",
    "unknown",
    "with_env",
]

_EVIDENCE = 200
Verdict = tuple[Effect, Impact, str, str]  # effect, impact, category, reason


def finding(
    category: str,
    impact: Impact,
    effect: Effect,
    evidence: str,
    reason: str,
    target: str | None = None,
) -> Finding:
    words = " ".join(evidence.split())
    if len(words) > _EVIDENCE:
        words = words[: _EVIDENCE - 1] + "…"
    return Finding(category, impact, effect, words, reason, target)


def unknown(evidence: str, reason: str, category: str = "powershell.unknown") -> Finding:
    return finding(category, Impact.CAUTION, Effect.UNKNOWN, evidence, reason)


def secret(evidence: str, reason: str, target: str | None = None) -> Finding:
    found = finding("secrets.read", Impact.CAUTION, Effect.SECRET, evidence, reason, target)
    return on_this_machine(found)


def on_this_machine(found: Finding) -> Finding:
    """A finding about a file path on the agent's own machine (``C:\\x``, ``.\\src``,
    ``$tmp``) is local, not an unknown remote target; a UNC path (``\\\\host\\share``)
    names another machine and keeps its target's environment to be resolved.  So does a
    destructive finding: an unresolved target takes the stricter answer, and a deletion a
    CI step makes still counts on the runner (``_autorun``)."""
    target = found.target
    if target is None or found.environment is not None or target.startswith(("\\\\", "//")):
        return found
    if found.impact is Impact.DESTRUCTIVE:
        return found
    return with_env(found, (Environment.LOCAL, "agent workspace"))


def with_env(found: Finding, env: tuple[Environment, str]) -> Finding:
    return Finding(
        found.category,
        found.impact,
        found.effect,
        found.evidence,
        found.reason,
        found.target,
        env[0],
        env[1],
    )


@dataclass(frozen=True, slots=True)
class PsArg:
    value: str
    static: bool = True
    kind: str = "word"  # word, string, variable, expression, scriptblock


@dataclass(frozen=True, slots=True)
class _Param:
    name: str  # lower-case, without the dash
    value: PsArg | None
    colon: bool = False
    values: tuple[PsArg, ...] = ()  # every value when ``value`` is a list


@dataclass
class PsCall:
    name: str  # canonical, lower-case (aliases resolved)
    raw: str  # the command name as written
    text: str
    node: Any
    params: list[_Param] = field(default_factory=list)
    positionals: list[PsArg] = field(default_factory=list)
    invoked: str | None = None  # "&" or "." when called through an operator

    def param(self, *names: str, min_len: int = 1) -> _Param | None:
        for p in self.params:
            for n in names:
                if p.name == n or (len(p.name) >= min_len and n.startswith(p.name)):
                    return p
        return None

    def switch(self, *names: str, min_len: int = 1) -> bool:
        p = self.param(*names, min_len=min_len)
        if p is None:
            return False
        return not (p.colon and p.value is not None and p.value.value.lower() == "$false")

    def values(self, *names: str, min_len: int = 2) -> list[PsArg]:
        found: list[PsArg] = []
        for p in self.params:
            if p.value is not None and any(
                p.name == n or (len(p.name) >= min_len and n.startswith(p.name)) for n in names
            ):
                found.extend(p.values if p.values else split_list(p.value))
        return found

    def value(self, *names: str, position: int | None = None) -> PsArg | None:
        vals = self.values(*names)
        if vals:
            return vals[0]
        if position is not None and position < len(self.positionals):
            return self.positionals[position]
        return None


def split_list(arg: PsArg) -> list[PsArg]:
    if arg.kind == "word" and "," in arg.value:
        return [PsArg(v, arg.static) for v in arg.value.split(",") if v]
    return [arg]


class Vars:
    """Automatic and environment variables whose value is known on a dev machine."""

    def __init__(self, home: str, cwd: str) -> None:
        local = home + "\\AppData\\Local"
        self.known: dict[str, str] = {
            "home": home,
            "env:userprofile": home,
            "env:homepath": home[2:] if home[1:2] == ":" else home,
            "env:homedrive": "C:",
            "env:systemdrive": "C:",
            "env:temp": local + "\\Temp",
            "env:tmp": local + "\\Temp",
            "env:localappdata": local,
            "env:appdata": home + "\\AppData\\Roaming",
            "env:systemroot": "C:\\Windows",
            "env:windir": "C:\\Windows",
            "env:programfiles": "C:\\Program Files",
            "env:programfiles(x86)": "C:\\Program Files (x86)",
            "env:programdata": "C:\\ProgramData",
            "env:public": "C:\\Users\\Public",
            "pshome": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0",
            "profile": home + "\\Documents\\PowerShell\\Microsoft.PowerShell_profile.ps1",
            "pwd": cwd,
            "psscriptroot": cwd,
            "null": "$null",
            "true": "$true",
            "false": "$false",
        }

    def get(self, source: str) -> str | None:
        name = source.lstrip("$@").strip("{}").lower()
        for prefix in ("global:", "script:", "local:"):
            name = name.removeprefix(prefix)
        return self.known.get(name)


def arg_list(node: Any, vars_: Vars) -> list[PsArg]:
    """One argument node as a list: ``a, 'b', $c`` is three values."""
    if node.type == "array_literal_expression" and node.named_child_count > 1:
        return [v for child in node.named_children for v in split_list(arg_value(child, vars_))]
    return split_list(arg_value(node, vars_))


def arg_value(node: Any, vars_: Vars) -> PsArg:
    """The value of one argument node, expanded as far as known."""
    while (
        node.type in ("array_literal_expression", "unary_expression", "path_command_name")
        and node.named_child_count == 1
    ):
        node = node.named_children[0]
    source = text(node)
    kind = node.type
    if kind in ("command_name", "path_command_name") and node.named_child_count == 0:
        return PsArg(source, "$" not in source)
    if kind == "generic_token":
        return PsArg(source.replace("`", ""), "$" not in source)
    if kind == "string_literal" and node.named_child_count:
        node = node.named_children[0]
        kind = node.type
    if kind in ("verbatim_string_characters", "verbatim_here_string_characters"):
        body = source[2:-2] if source.startswith("@") else source[1:-1]
        return PsArg(body.replace("''", "'"), True, "string")
    if kind in ("expandable_string_literal", "expandable_here_string_literal"):
        return _expandable(node, source, vars_)
    if kind == "variable":
        value = vars_.get(source)
        return PsArg(value if value is not None else source, value is not None, "variable")
    if kind == "member_access" and node.named_child_count == 2:
        # ``$d.FullName`` of a variable holding a known path (``_bindings``).
        inner, member = node.named_children
        if inner.type == "variable" and text(member).lower() in ("fullname", "fullpath"):
            value = vars_.get(text(inner))
            if value is not None:
                return PsArg(value, True, "variable")
    if kind == "script_block_expression":
        return PsArg(source, False, "scriptblock")
    if kind in ("integer_literal", "real_literal"):
        return PsArg(source, True)
    return PsArg(source, False, "expression")


def _expandable(node: Any, source: str, vars_: Vars) -> PsArg:
    inner_start = node.start_byte + (2 if source.startswith("@") else 1)
    raw = bytes(node.text)
    out, pos, static = [], inner_start, True
    for child in node.named_children:
        out.append(raw[pos - node.start_byte : child.start_byte - node.start_byte].decode())
        value = vars_.get(text(child)) if child.type == "variable" else None
        static = static and value is not None
        out.append(value if value is not None else text(child))
        pos = child.end_byte
    end = len(raw) - (2 if source.startswith("@") else 1)
    out.append(raw[pos - node.start_byte : end].decode())
    return PsArg(_backticks("".join(out).replace('""', '"')), static, "string")


# A double-quoted string's escapes: `` `n `` is a newline (a workflow written with
# ``Set-Content f "on: push`njobs: …"`` has lines), any other escaped character itself.
_ESCAPED = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "a": "\a", "b": "\b", "f": "\f",
            "v": "\v", "e": "\x1b"}  # fmt: skip
_BACKTICK = re.compile(r"`(.)", re.DOTALL)


def _backticks(value: str) -> str:
    if "`" not in value:
        return value
    return _BACKTICK.sub(lambda m: _ESCAPED.get(m.group(1), m.group(1)), value)


def parse_call(node: Any, vars_: Vars, aliases: dict[str, str]) -> PsCall | None:
    name_node = first(node, "command_name")
    invoked = None
    raw: str
    if name_node is None:
        expr = first(node, "command_name_expr")
        op = first(node, "command_invokation_operator")
        if expr is None:
            return None
        invoked = text(op) if op is not None else "&"
        value = arg_value(expr.named_children[0] if expr.named_child_count else expr, vars_)
        raw = value.value if value.static else "$" + value.value.lstrip("$")
        if not value.static:
            raw = "\0" + value.value  # a name known only at run time
    else:
        raw = text(name_node)
        op = first(node, "command_invokation_operator")
        invoked = text(op) if op is not None else None
    call = PsCall(canonical(raw, aliases), raw, text(node), node, invoked=invoked)
    elements = first(node, "command_elements")
    if elements is not None:
        _bind(call, elements, vars_)
    return call


def _bind(call: PsCall, elements: Any, vars_: Vars) -> None:
    pending: _Param | None = None
    children = list(elements.named_children)
    i = 0
    while i < len(children):
        child = children[i]
        i += 1
        if child.type == "command_argument_sep":
            continue
        if child.type == "redirection":
            continue  # judged by the walker, wherever it appears
        if child.type == "command_parameter":
            name = text(child).split(":", 1)[0].lstrip("-").lower()
            colon_value = [c for c in child.named_children if c.type != "command_argument_sep"]
            if colon_value:
                listed = arg_list(colon_value[-1], vars_)
                call.params.append(_Param(name, listed[0], True, tuple(listed)))
                pending = None
            elif text(child).endswith(":") or (i < len(children) and text(children[i]) == ":"):
                pending = _Param(name, None, True)
            else:
                pending = _Param(name, None)
                call.params.append(pending)
            continue
        values = arg_list(child, vars_)
        value = values[0] if len(values) == 1 else PsArg(text(child), False, "list")
        if pending is not None:
            bound = _Param(pending.name, value, pending.colon, tuple(values))
            if pending in call.params:
                call.params[call.params.index(pending)] = bound
            else:
                call.params.append(bound)
            # An unknown parameter may be a switch: its following word stays a
            # positional too, so a path is never hidden behind ``-Foo``.
            consumed = pending.colon or pending.name in t.VALUED_PARAMS
            pending = None
            if consumed:
                continue
        call.positionals.extend(values)


def canonical(raw: str, aliases: dict[str, str]) -> str:
    name = raw.strip("'\"").replace("/", "\\").rsplit("\\", 1)[-1].lower()
    if "\\" not in raw and "." not in name:
        name = aliases.get(name, t.ALIASES.get(name, name))
    for ext in (".exe", ".com", ".cmd", ".bat"):
        name = name.removesuffix(ext)
    return name


def native_command(call: PsCall, cwd: str | None) -> Command:
    """The bash-side ``Command`` for a native program called from PowerShell."""
    args = tuple(Arg(a.value, a.static) for a in all_words(call))
    return Command(name=call.name, args=args, text=call.text, env={}, cwd=cwd)


def all_words(call: PsCall) -> list[PsArg]:
    """Every word after the program name, in source order (parameters included)."""
    words: list[PsArg] = []
    elements = first(call.node, "command_elements")
    if elements is None:
        return words
    vars_ = Vars("C:\\Users\\dev", "")
    for child in elements.named_children:
        if child.type in ("command_argument_sep", "redirection"):
            continue
        if child.type == "command_parameter":
            words.append(PsArg(text(child).split(":", 1)[0]))
            for sub in child.named_children:
                if sub.type != "command_argument_sep":
                    words.append(arg_value(sub, vars_))
        else:
            words.extend(split_list(arg_value(child, vars_)))
    return words


def call_args(args: Any, vars_: Vars) -> list[PsArg]:
    """The top-level arguments of a method call's ``argument_list``, in order."""
    out: list[PsArg] = []
    stack = [args]
    while stack:
        node = stack.pop()
        if node.type in (
            "string_literal",
            "variable",
            "generic_token",
            "integer_literal",
            "script_block_expression",
        ):
            out.append(arg_value(node, vars_))
            continue
        if node.type in ("invokation_expression", "parenthesized_expression", "sub_expression"):
            out.append(PsArg(text(node), False, "expression"))
            continue
        stack.extend(reversed(node.named_children))
    return out
