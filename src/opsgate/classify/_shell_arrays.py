"""Bash arrays whose elements the command itself spells out.

``declare -A ports=([api]=8080 [web]=3000)`` then ``for s in "${!ports[@]}"; do curl
"localhost:${ports[$s]}/healthz"; done``: the loop runs over the keys and each
element is a known word, so the request goes to a known port.  An indexed array
``hosts=(a b)`` likewise (``${hosts[1]}``, ``"${hosts[@]}"``).

Elements live in the scope's variables under names no shell variable can have:
``ports[api]`` for an element, ``ports[]`` for the record of the keys (its first
character ``A`` for an associative array, ``a`` for an indexed one).  Whatever else
changes the array — the name assigned again (``read -a``, ``x=…``), an element set
under a key known only at run time, ``+=`` — drops the record, and every element
is then unknown, as an untracked array is.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from opsgate.classify._shell_nodes import _text

if TYPE_CHECKING:
    from collections.abc import Callable

    from tree_sitter import Node

    from opsgate.classify._shell_state import Scope
    from opsgate.classify._words import Value

__all__ = ["bind_array", "bind_element", "element", "record_key", "split_all"]

_SEP = "\x1f"
_MAX_ELEMENTS = 64
_ASSOC_ELEMENT = re.compile(r"\[([^\]\[$`'\"\\]+)\]=(.*)", re.S)
_ALL = ("@", "*")


def record_key(name: str) -> str:
    return name + "[]"


def bind_array(
    scope: Scope, name: str, array: Node, resolve: Callable[[Node], Value], *, assoc: bool
) -> None:
    """``name=(…)`` / ``declare -A name=([k]=v …)``: each element, when all are known."""
    drop(scope, name)
    elements = [c for c in array.named_children if c.type != "comment"]
    if len(elements) > _MAX_ELEMENTS:
        return
    pairs: list[tuple[str, str]] = []
    for index, node in enumerate(elements):
        value = resolve(node)
        if not value.static:
            return
        if assoc:
            match = _ASSOC_ELEMENT.fullmatch(value.text)
            if match is None:
                return
            pairs.append((match.group(1), match.group(2)))
        elif value.text.startswith("["):
            return  # ``a=([3]=x)``: an index chosen by arithmetic
        else:
            pairs.append((str(index), value.text))
    keys: dict[str, None] = {}
    for key, text in pairs:
        scope.vars[f"{name}[{key}]"] = text
        keys[key] = None
    scope.vars[record_key(name)] = ("A" if assoc else "a") + _SEP.join(keys)


def bind_element(scope: Scope, name: str, index: Node | None, value: str | None) -> None:
    """``name[KEY]=value``: the element, when KEY is a literal of a tracked array."""
    record = scope.vars.get(record_key(name))
    if record is None:
        return
    key = _text(index) if index is not None else ""
    literal = index is not None and index.type in ("word", "number")
    if not literal or value is None or (record[0] == "a" and not key.isdigit()):
        drop(scope, name)
        return
    scope.vars[f"{name}[{key}]"] = value
    keys = record[1:].split(_SEP) if len(record) > 1 else []
    if key not in keys:
        scope.vars[record_key(name)] = record[0] + _SEP.join([*keys, key])


def drop(scope: Scope, name: str) -> None:
    """Forget the elements of ``name`` (they are unknown from now on)."""
    if record_key(name) not in scope.vars:
        return
    prefix = name + "["
    for var in [v for v in scope.vars if v.startswith(prefix)]:
        del scope.vars[var]


def _words(lookup: Callable[[str], str | None], name: str, keys_only: bool) -> list[str] | None:
    record = lookup(record_key(name))
    if record is None:
        return None
    keys = record[1:].split(_SEP) if len(record) > 1 else []
    if keys_only:
        return keys
    values = [lookup(f"{name}[{k}]") for k in keys]
    return None if any(v is None for v in values) else [v or "" for v in values]


def element(
    lookup: Callable[[str], str | None],
    subscript: Node,
    index: Value | None,
    *,
    keys: bool = False,
) -> str | None:
    """``${name[KEY]}`` (``index``: KEY resolved), ``${name[@]}`` joined by blanks,
    ``${!name[@]}`` (``keys``) the keys; None when unknown."""
    name_node = subscript.child_by_field_name("name")
    index_node = subscript.child_by_field_name("index")
    if name_node is None or index_node is None:
        return None
    name = _text(name_node)
    if _text(index_node) in _ALL:
        words = _words(lookup, name, keys)
        return None if words is None else " ".join(words)
    record = lookup(record_key(name))
    if keys or record is None or index is None or not index.static:
        return None
    if record[0] == "a" and not index.text.isdigit():
        return None
    return lookup(f"{name}[{index.text}]")


def split_all(lookup: Callable[[str], str | None], node: Node) -> list[str] | None:
    """``"${name[@]}"`` / ``"${!name[@]}"``: one word per element (or key), as bash
    expands them; None for any other word or an array that is not tracked."""
    if node.type != "string" or node.named_child_count != 1:
        return None
    inner = node.named_children[0]
    if inner.type != "expansion":
        return None
    parts = [c for c in inner.children if c.type not in ("${", "}")]
    keys = len(parts) == 2 and parts[0].type == "!"
    subscript = parts[-1] if parts else None
    if subscript is None or subscript.type != "subscript" or len(parts) != (2 if keys else 1):
        return None
    index = subscript.child_by_field_name("index")
    name = subscript.child_by_field_name("name")
    if index is None or name is None or _text(index) != "@":
        return None
    return _words(lookup, _text(name), keys)
