"""The value of a double-quoted word or an unquoted here-doc is what bash passes.

tree-sitter-bash leaves some characters of such bodies outside every node (the
newline between two pieces of a string); a value built from the nodes alone
dropped them, so ``sh -c "echo x<newline>rm -rf ~"`` read as one ``echo``.  These
properties compare the classifier's value with a real bash's for generated bodies.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tree_sitter import Node

from opsgate.classify._grammar import parse_bash
from opsgate.classify._words import Value, WordResolver

BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(BASH is None, reason="needs bash")

VARS = {"x": "VAL", "y": "two words"}
# Pieces of a body: plain text (newlines, comment and list characters included),
# escapes bash removes or keeps, and expansions of variables the resolver knows.
PIECES = st.one_of(
    st.text(alphabet="ab #;|&'\n\t -=~/.", min_size=1, max_size=6),
    st.sampled_from(["\\$", "\\`", '\\"', "\\\\", "\\\n", "\\a", "\\n", "\\ ", "\\'"]),
    st.sampled_from(["$x", "${x}", "$y", "${x:-d}", "${z:-dflt}", "$", "$ "]),
)


def _resolver() -> WordResolver:
    def substitute(node: Node) -> Value:
        raise AssertionError("no substitutions are generated")

    return WordResolver(VARS.get, substitute, {})


def _bash(script: str) -> str:
    assert BASH is not None
    done = subprocess.run(
        [BASH, "--norc", "--noprofile", "-c", script],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return done.stdout


def _prelude() -> str:
    return "".join(f"{name}='{value}'; " for name, value in VARS.items())


def _find(node: Node, kind: str) -> Node:
    if node.type == kind:
        return node
    for child in node.children:
        try:
            return _find(child, kind)
        except LookupError:
            continue
    raise LookupError(kind)


def _quotable(pieces: list[str]) -> str:
    """A double-quoted body: no bare quote, no backslash escaping the closing one."""
    body = "".join(pieces).replace('\\"', "\0").replace('"', "").replace("\0", '\\"')
    trailing = len(body) - len(body.rstrip("\\"))
    return body[:-1] if trailing % 2 else body


def _heredoc(pieces: list[str]) -> str:
    """An unquoted here-doc body without its delimiter and a final line continuation."""
    return "".join(pieces).replace("EOF", "").rstrip("\\")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PIECES, min_size=1, max_size=12))
@example(["$x", "\\\n", "b"])  # `$x\<newline>b` is `$xb` to bash
def test_double_quoted_value_is_what_bash_passes(pieces: list[str]) -> None:
    command = f'printf %s "{_quotable(pieces)}"'
    tree = parse_bash(command)
    if tree.root_node.has_error:
        return  # a body the grammar cannot read is unknown to the classifier anyway
    value = _resolver().value(_find(tree.root_node, "string"))
    if value.static:  # a value the classifier trusts is bash's value
        assert value.text == _bash(_prelude() + command)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PIECES, min_size=1, max_size=12))
@example([";", "$", "\\\n", "#"])  # `$\<newline>#` is `$#` to bash: a continuation joins first
def test_heredoc_value_is_what_bash_feeds(pieces: list[str]) -> None:
    command = f"cat <<EOF\n{_heredoc(pieces)}\nEOF\n"
    tree = parse_bash(command)
    if tree.root_node.has_error:
        return
    value = _resolver().heredoc_body(_find(tree.root_node, "heredoc_body"))
    if value.static:
        assert value.text == _bash(_prelude() + command)


@pytest.mark.parametrize(
    "body",
    [
        "echo x\nrm -rf ~/.ssh",
        "echo start  # prepare\nrm -rf ~/.ssh",
        "a\n\n  b $x\n c",
        "SELECT 1; -- check\nDROP TABLE orders",
        "line\\\ncontinued",
        "\n\nlead and trail\n\n",
    ],
)
def test_literal_newlines_are_kept(body: str) -> None:
    command = f'printf %s "{body}"'
    value = _resolver().value(_find(parse_bash(command).root_node, "string"))
    assert value.static
    assert value.text == _bash(_prelude() + command)
