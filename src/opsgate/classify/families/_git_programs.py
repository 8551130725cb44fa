"""A git setting that names a program (an ``!`` alias, ``diff.*.textconv``, a pager):
is it only a known program, fixed for good?

Storing such a setting is persistence when what runs later can change without
another command the agent types: a script file (``sh /tmp/x``, ``./tools/fmt``), a
program found on a search path the agent can write to, a name built from a variable,
an interpreter handed code.  A line that runs only programs opsgate knows by their
bare names, with plain arguments, runs the same thing tomorrow: it is judged by what
it does now, as a plain alias is (``!f() { git log --author="$1"; }; f``,
``jq -S .``).  Anything else keeps the persistence finding.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from opsgate.classify._grammar import parse_bash
from opsgate.classify._shell_nodes import _text

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["fixed_program_line"]

# Programs whose every run is judged from their words alone (no script they read,
# no code they are handed in a form opsgate does not read): git itself and filters.
_KNOWN = frozenset({"git", "jq", "yq", "gojq", "cat", "head", "tail", "grep", "egrep",
                    "fgrep", "rg", "sort", "uniq", "wc", "cut", "tr", "column", "less",
                    "more", "most", "bat", "delta", "diff-so-fancy", "diff", "cmp", "echo",
                    "printf", "xxd", "hexdump", "od", "strings", "fold", "fmt", "nl",
                    "expand", "iconv", "file", "date", "basename", "dirname", "true",
                    "false", "test", "[", "vi", "vim", "nvim", "nano", "emacs", "code",
                    "subl", "meld", "vimdiff", "opendiff", "kdiff3", "gpg", "gpg2",
                    "pdftotext", "unzip", "gzip", "zcat", "shift", "return"})  # fmt: skip
# Nodes that run or read something other than named programs and their words.
# A prefix assignment or declaration may move the search path (``PATH=./bin git``).
_OPAQUE = frozenset({"command_substitution", "process_substitution", "heredoc_redirect",
                     "herestring_redirect", "ERROR", "variable_assignment",
                     "declaration_command"})  # fmt: skip
# Options by which those programs run another one (``git -c core.pager=…``, ``rg
# --pre``, ``bat --pager``): such a line is no longer fixed.
_RUNS_OPTIONS = frozenset({"--config-env", "--exec-path", "--exec", "--pre", "--pager",
                           "--filter", "--upload-pack", "--receive-pack"})  # fmt: skip
_POSITIONAL = re.compile(r"\$\{?[0-9@*#]\}?")  # the alias's own arguments
_SAFE_TARGETS = frozenset({"/dev/null", "&1", "&2", "1", "2"})
_MAX_NODES = 400


def fixed_program_line(line: str) -> bool:
    """True when the shell ``line`` runs only known programs by bare name (and the
    functions it defines), with no substitution and no redirection to a file."""
    root = parse_bash(line).root_node
    if root.has_error:
        return False
    defined: set[str] = set()
    calls: list[str] = []
    stack = [root]
    seen = 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > _MAX_NODES or node.type in _OPAQUE or _moves(node):
            return False
        name = node.child_by_field_name("name")
        if node.type == "function_definition":
            defined.add(_text(name) if name is not None else "")
        elif node.type == "command":
            if name is None or name.named_child_count != 1 or name.named_children[0].type != "word":
                return False  # a name built from quotes or variables
            calls.append(_text(name))
        stack.extend(node.children)
    return all(c in _KNOWN or c in defined for c in calls)


def _moves(node: Node) -> bool:
    """Whether ``node`` makes what runs depend on something other than the line: an
    option that runs another program, a redirection to a file, a variable."""
    kind = node.type
    if kind == "command":
        name = node.child_by_field_name("name")
        return name is not None and _text(name) == "git" and _git_runs_another(node)
    if kind == "word":
        return _runs_another(_text(node))
    if kind == "file_redirect":
        return not _harmless_redirect(node)
    if kind in ("simple_expansion", "expansion"):
        return not _POSITIONAL.fullmatch(_text(node))  # the environment git runs it in
    return False


def _runs_another(word: str) -> bool:
    return word.startswith("--") and word.partition("=")[0] in _RUNS_OPTIONS


def _git_runs_another(command: Node) -> bool:
    """``git -c core.pager=… log``, ``git -C DIR …``: git's own options before its
    subcommand set configuration or move the repository whose configuration is read."""
    for arg in command.children_by_field_name("argument"):
        word = _text(arg)
        if not word.startswith("-"):
            return False
        if word.startswith(("-c", "-C")):
            return True
    return False


def _harmless_redirect(node: Node) -> bool:
    destination = node.child_by_field_name("destination")
    return destination is not None and _text(destination) in _SAFE_TARGETS
