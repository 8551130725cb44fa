"""Resolving words: variables, command and process substitutions, script sources."""

from __future__ import annotations

import os

from tree_sitter import Node

from opsgate.classify._command import Stdin
from opsgate.classify._pipes import origin_mark
from opsgate.classify._shell_nodes import _redirect_op, _text
from opsgate.classify._walker_base import WalkerBase
from opsgate.classify._words import Value, WordResolver
from opsgate.models import Effect, Finding, Impact

__all__ = ["WalkerWords"]

# Variables that say where the guard's own places are (opsgate's data, an agent's
# settings moved out of the home directory).  The agent's shell inherits them from the
# agent, as the hook does, so ``> "$CODEX_HOME/hooks.json"`` is judged as that file.
_GUARD_VARS = frozenset({"OPSGATE_HOME", "CODEX_HOME", "CLAUDE_CONFIG_DIR"})


class WalkerWords(WalkerBase):
    """Resolves words against the current scope."""

    # --- words ------------------------------------------------------------------------
    _resolver: WordResolver | None = None

    def resolver(self) -> WordResolver:
        """The resolver for the current scope.  It reads the scope's own mappings (never
        a copy), so one is kept while the scope and those mappings stay the same:
        subshells, function calls and scripts swap them, and get a new one."""
        scope = self.scope
        kept = self._resolver
        if kept is not None and kept.reads(scope.positional, scope.origins):
            return kept
        kept = WordResolver(
            self._lookup,
            self._substitute,
            scope.positional,
            scope.origins,
            self._evaluate_arithmetic,
        )
        self._resolver = kept
        return kept

    def _evaluate_arithmetic(self, value: str) -> None:
        """A variable's value that an arithmetic evaluation runs (``a[$(cmd)]``): its
        substitutions are judged as ``: VALUE`` would run them."""
        self.add(self.classify_shell(": " + value, via="arithmetic evaluation"))

    def _arithmetic_statement(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        """``((…))`` evaluates like ``$((…))``; ``{ …; }`` is a plain group."""
        if node.children and node.children[0].type == "((":
            self.resolver().arithmetic(node)
            return None
        return self._sequence(node, stdin, level)

    def resolve(self, node: Node) -> Value:
        self.session.budget.tick()  # a word is work, like a node
        return self.resolver().value(node)

    def _lookup(self, name: str) -> str | None:
        name = self.scope.referred(name)
        if name in self.scope.vars:
            return self.scope.vars[name]
        if self._remote:
            return None
        cwd = self.scope.cwd
        ws = self.session.workspace
        if name == "HOME":
            return ws.home
        if name == "PWD" and cwd:
            return cwd
        if name == "CLAUDE_PROJECT_DIR" and ws.project:
            return ws.project
        if name in _GUARD_VARS:
            return os.environ.get(name) or None
        return None

    def _substitute(self, node: Node) -> Value:
        """Run a ``$(…)``/``<(…)`` for its effects; its output, when it is pure text."""
        saved = self.scope
        self.scope = saved.child()
        out: Stdin | None = None
        try:
            for child in node.named_children:
                if child.type == "file_redirect" and _redirect_op(child) == "<":
                    # `$(<file)` is bash's shorthand for `$(cat file)`.
                    dest = child.child_by_field_name("destination")
                    out = self._read_redirect(self.resolve(dest)) if dest is not None else None
                    continue
                out = self.walk(child, None, 1)
        finally:
            self.scope = saved
        if node.type == "process_substitution":
            key = f"/dev/fd/{63 + len(self.procs)}"
            self.procs[key] = out
            return Value(key, True)
        if out is not None and out.text is not None and not out.untrusted:
            return Value(out.text.rstrip("\n"), True)
        return Value(_text(node) + origin_mark(out), False)

    def script_source(self, path: str, cwd: str | None) -> Stdin | None:
        """What an interpreter would run from ``path``: a process substitution's output,
        a file written earlier in this command, or a readable file; None if unknown."""
        if path in self.procs:
            return self.procs[path] or Stdin(None, "process substitution")
        if path in ("/dev/stdin", "-", "/proc/self/fd/0", "/dev/fd/0"):
            return None
        full = self.workspace.expand(path, cwd or self.scope.cwd)
        if full is None:
            return None
        note = self.scope.files.get(full)
        if note is not None:
            return Stdin(note.text, "file written by this command", note.untrusted)
        if self._remote:
            return None
        text = self.session.read_file(full)
        return Stdin(text, "file:" + full) if text is not None else None

    def _secret_disclosure(self, value: Value, where: str) -> None:
        if value.secret_vars:
            name = value.secret_vars[0]
            what = (
                f"whichever variable ${name[1:]} names, secrets included"
                if name.startswith("!")
                else f"the secret variable {name}"
            )
            self.add(
                [
                    Finding(
                        "secrets.read",
                        Impact.CAUTION,
                        Effect.SECRET,
                        f"${{{name}}}" if name.startswith("!") else f"${name}",
                        f"prints the value of {what} ({where})",
                    )
                ]
            )
