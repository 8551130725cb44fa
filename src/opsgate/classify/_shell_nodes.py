"""Syntax-tree helpers and word patterns the shell walker shares."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from opsgate.models import Effect, Finding, Impact

__all__ = [
    "_BACKTICK",
    "_DOLLAR_PAREN",
    "_ENV_NAME",
    "_HIDDEN",
    "_NAMES_ONLY",
    "_SKIP",
    "_STATEMENTS",
    "_first_error",
    "_redirect_op",
    "_short",
    "_substitutions",
    "_text",
    "canonical_name",
    "unknown",
]


def _text(node: Node) -> str:
    raw = node.text
    return raw.decode("utf-8", "replace") if raw is not None else ""


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_error(root: Node) -> str:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            return _text(node) or f"(missing {node.type})"
        stack.extend(reversed(node.children))
    return _text(root)


def _substitutions(node: Node) -> Iterator[Node]:
    for child in node.children:
        if child.type in ("command_substitution", "process_substitution"):
            yield child
        else:
            yield from _substitutions(child)


def _redirect_op(node: Node) -> str:
    for child in node.children:
        if not child.is_named:
            return child.type
    return ">"


def canonical_name(word: str) -> str:
    """``/usr/bin/rm`` → ``rm``; ``kubectl.exe`` → ``kubectl``."""
    base = word.rstrip("/").rsplit("/", 1)[-1] if "/" in word else word
    if base.lower().endswith(".exe"):
        base = base[:-4]
    return base


def unknown(reason: str, evidence: str) -> Finding:
    return Finding("unknown", Impact.CAUTION, Effect.UNKNOWN, _short(evidence), reason)


_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


_HIDDEN = re.compile("[\x01-\x08\x0b\x0c\x0d\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


# A pipeline stage that takes a secret on its input and prints nothing of it: a
# registry or CLI login reading its password or token from stdin.  One simple command
# of plain words (a variable at most), so nothing else in it can print the input.
_PLAIN_WORD = r"""(?:[^\s;&|`(){}<>'"$\\]|\$\{?\w++\}?|"(?:[^"$`\\]|\$\{?\w++\}?)*+")++"""
_TAKES_SECRET_ON_STDIN = re.compile(
    r"^\s*(?:docker|podman|nerdctl|finch|buildah|skopeo|oras|cosign|helm\s+registry"
    r"|crane\s+auth|regctl\s+registry|gh\s+auth|glab\s+auth)\s+login"
    rf"(?:\s++{_PLAIN_WORD})*?\s++(?:--password-stdin|--with-token|--stdin)"
    rf"(?:\s++{_PLAIN_WORD})*+\s*$"
)

_NAMES_ONLY = re.compile(
    r"^\s*(cut\s+(-d\s*['\"]?=['\"]?\s+-f\s*1|-f\s*1\s+-d\s*['\"]?=['\"]?)\s*$"
    r"|awk\s+-F\s*['\"]?=['\"]?\s+['\"]\{\s*print\s+\$1\s*;?\s*\}['\"]\s*$"
    r"|sed\s+(-e\s+)?['\"]s/=\.\*//g?['\"]\s*$"
    r"|wc(\s+-[lcw]+)?\s*$|grep\s+-[a-zA-Z]*[qcl][a-zA-Z]*\b.*$"
    r"|jq\s+(-\w+\s+)*'[^']*\|\s*(length|keys|type)\s*'\s*$)"
)


_BACKTICK = re.compile(r"(?<!\\)`([^`]+)`")


_DOLLAR_PAREN = re.compile(r"(?<!\\)\$\(([^()]*)\)")


_STATEMENTS = frozenset(
    {
        "subshell",
        "compound_statement",
        "pipeline",
        "list",
        "command",
        "redirected_statement",
        "if_statement",
        "while_statement",
        "for_statement",
        "case_statement",
        "function_definition",
        "negated_command",
        "c_style_for_statement",
        "declaration_command",
        "variable_assignments",
    }
)


_SKIP = frozenset({"comment", "heredoc_start", "heredoc_end", "file_descriptor"})
