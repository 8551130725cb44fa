"""Variables bound once to a path: ``$tmp = Join-Path ([IO.Path]::GetTempPath()) x``.

A script that makes a scratch directory and removes it again names it by a variable;
without its value ``Remove-Item $tmp`` is a deletion of a path known only at run time.
A variable assigned exactly once, in straight-line code (not in a loop, function or
script block, and never through ``-OutVariable``, ``[ref]`` or ``Set-Variable``), to an
expression whose path is plain — a string, a known variable, ``Join-Path``,
``[IO.Path]::Combine``, the temp directory and the fresh names made in it — holds that
path from its assignment on.  Anything else stays unknown.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from opsgate.classify.powershell._parse import descendants, first, text
from opsgate.classify.powershell._values import arg_value, parse_call

if TYPE_CHECKING:
    from opsgate.classify.powershell._walk import Walk

__all__ = ["bindable", "path_of"]

# Blocks whose assignments may run more than once, or not in source order.
_REPEATS = frozenset(
    {"foreach_statement", "for_statement", "while_statement", "do_statement",
     "function_statement", "script_block_expression", "script_block", "trap_statement",
     "switch_statement"}
)  # fmt: skip
# Other ways to set a variable, which a name must never meet.
_OTHER_SETTERS = re.compile(
    r"-(?:outvariable|ov|errorvariable|ev|pipelinevariable|pv|warningvariable|wv|"
    r"informationvariable|iv)\b|\[ref\]|\b(?:set-variable|new-variable|sv|nv|"
    r"clear-variable|remove-variable|rv)\b|\$executioncontext|\bparam\s*\(",
    re.IGNORECASE,
)
# Made fresh in the temp directory: a name nobody else uses.
_FRESH = "opsgate-fresh"
_WRAPPERS = frozenset(
    {"pipeline", "pipeline_chain", "logical_expression", "bitwise_expression",
     "comparison_expression", "additive_expression", "multiplicative_expression",
     "format_expression", "range_expression", "array_literal_expression", "unary_expression",
     "parenthesized_expression", "sub_expression", "statement_list", "argument_expression",
     "logical_argument_expression", "bitwise_argument_expression",
     "comparison_argument_expression", "additive_argument_expression",
     "multiplicative_argument_expression", "format_argument_expression",
     "range_argument_expression"}
)  # fmt: skip


def _name(variable: Any) -> str:
    name = text(variable).lstrip("$").strip("{}").lower()
    for prefix in ("global:", "script:", "local:", "private:"):
        name = name.removeprefix(prefix)
    return name


def bindable(root: Any) -> frozenset[str]:
    """Names assigned exactly once, with ``=``, outside loops and blocks."""
    if _OTHER_SETTERS.search(text(root)):
        return frozenset()
    counts: dict[str, int] = {}
    repeated: set[str] = set()
    for node in descendants(root, "assignment_expression"):
        left = first(node, "left_assignment_expression")
        variables = list(descendants(left, "variable")) if left is not None else []
        operator = first(node, "assignement_operator")
        for variable in variables:
            name = _name(variable)
            counts[name] = counts.get(name, 0) + 1
            if (
                len(variables) != 1
                or operator is None
                or text(operator) != "="
                or _in_repeating_block(node)
            ):
                repeated.add(name)
    for node in descendants(root, "foreach_statement"):
        loop_var = first(node, "variable")
        if loop_var is not None:
            repeated.add(_name(loop_var))
    return frozenset(n for n, c in counts.items() if c == 1 and n not in repeated)


def _in_repeating_block(node: Any) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type in _REPEATS:
            return True
        parent = parent.parent
    return False


def path_of(w: Walk, node: Any) -> str | None:
    """The path an expression evaluates to, when it is plain; else None."""
    while node is not None and node.type in _WRAPPERS and node.named_child_count == 1:
        node = node.named_children[0]
    if node is None:
        return None
    if node.type == "invokation_expression":
        return _static_call(w, node)
    if node.type == "command":
        return _command(w, node)
    if node.type in ("string_literal", "expandable_string_literal", "variable", "member_access",
                     "generic_token", "verbatim_string_characters"):  # fmt: skip
        value = arg_value(node, w.vars)
        return value.value if value.static and value.value else None
    return None


def _temp(w: Walk) -> str:
    return w.vars.known["env:temp"]


def _join(*parts: str) -> str:
    head, rest = parts[0], parts[1:]
    for part in rest:
        head = head.rstrip("\\/") + "\\" + part.lstrip("\\/")
    return head


def _static_call(w: Walk, node: Any) -> str | None:
    receiver = node.named_children[0] if node.named_child_count else None
    member = first(node, "member_name")
    if receiver is None or member is None or receiver.type != "type_literal":
        return None
    kind = re.sub(r"\s+", "", text(receiver).lower()).strip("[]").removeprefix("system.")
    method = f"{kind}::{text(member).lower()}"
    args_node = first(node, "argument_list")
    listed = first(args_node, "argument_expression_list") if args_node is not None else None
    args = [path_of(w, a) for a in listed.named_children] if listed is not None else []
    values = [a for a in args if a is not None]
    if method == "io.path::gettemppath":
        return _temp(w) + "\\"
    if method == "io.path::getrandomfilename":
        return _FRESH
    if method in ("io.path::gettempfilename", "io.directory::createtempsubdirectory"):
        return _join(_temp(w), _FRESH)
    if method in ("io.path::combine", "io.path::join") and args and len(values) == len(args):
        return _join(*values)
    if method == "io.path::getfullpath" and len(args) == 1 and values:
        return values[0]
    return None


def _command(w: Walk, node: Any) -> str | None:
    call = parse_call(node, w.vars, w.aliases)
    if call is None:
        return None
    if call.name == "new-temporaryfile":
        return _join(_temp(w), _FRESH + ".tmp")
    if call.name != "join-path":
        return None
    elements = first(node, "command_elements")
    parts: list[str] = []
    for child in elements.named_children if elements is not None else ():
        if child.type == "command_argument_sep":
            continue
        if child.type == "command_parameter":
            if text(child).lstrip("-").split(":", 1)[0].lower() not in (
                "path", "childpath", "additionalchildpath"
            ):  # fmt: skip
                return None  # -Resolve, -Qualifier …: not a plain join
            continue
        value = path_of(w, child)
        if value is None:
            return None
        parts.append(value)
    return _join(*parts) if len(parts) >= 2 else None
