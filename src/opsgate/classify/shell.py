"""Shell classification on a real bash grammar.

Only what would execute is judged.  The walker visits every place bash runs a
command — lists, pipelines, subshells, ``$(…)``, ``<(…)``, functions, loops,
here-docs fed to interpreters, nested ``bash -c`` strings — resolves each word as
far as it can, unwraps wrappers (``sudo``, ``env``, ``timeout``, ``xargs`` …) and
hands each simple command to its family table.  Data (``echo`` arguments, quoted
here-docs, comments) is never parsed as a command.  Anything it cannot model
becomes an ``unknown`` finding, which is never allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tree_sitter import Node, Tree

from opsgate.classify._command import Stdin
from opsgate.classify._fetched_code import raw_connections
from opsgate.classify._grammar import parse_bash
from opsgate.classify._heredoc_rewrite import heredocs_as_strings
from opsgate.classify._scope_carry import carry_back, unknown_after
from opsgate.classify._shell_nodes import (
    _HIDDEN,
    _NAMES_ONLY,
    _SKIP,
    _TAKES_SECRET_ON_STDIN,
    _first_error,
    _text,
    canonical_name,
    unknown,
)
from opsgate.classify._shell_state import (
    MAX_DEPTH,
    MAX_SCRIPT,
    MAX_TREE_DEPTH,
    Budget,
    FileNote,
    Scope,
    ShellSession,
)
from opsgate.classify._walker_branches import alternatives, ends_script, run_or_skipped, settle
from opsgate.classify._walker_commands import WalkerCommands
from opsgate.classify._walker_getopts import getopts_loop
from opsgate.classify._words import Value
from opsgate.errors import ClassificationBudgetExceeded
from opsgate.models import Finding

__all__ = [
    "Budget",
    "FileNote",
    "Scope",
    "ShellSession",
    "Walker",
    "canonical_name",
    "classify_script",
    "unknown",
]


def classify_script(
    script: str, session: ShellSession, *, cwd: str | None, depth: int = 0
) -> list[Finding]:
    """Every finding for a bash script run in ``cwd``, in the agent's environment as
    far as it chooses targets (``_files.AMBIENT``)."""
    ambient: dict[str, str | None] = dict(session.files.ambient()) if depth == 0 else {}
    walker = Walker(session, Scope(cwd, vars=ambient), depth=depth, remote=None)
    walker.run(script)
    return walker.findings


def _with_plain_globs(script: str, tree: Tree) -> tuple[str, Tree, Node]:
    """``shopt -s extglob`` then ``rm build/!(.gitkeep)``: the grammar cannot read the
    pattern; the same script with it as ``*`` (``_extglob_rewrite``), when certain."""
    from opsgate.classify._extglob_rewrite import extglobs_as_globs

    rewritten = extglobs_as_globs(script)
    if rewritten is not None:
        again = parse_bash(rewritten)
        if not again.root_node.has_error:
            return rewritten, again, again.root_node
    return script, tree, tree.root_node


def _into_login(finding: Finding) -> bool:
    """A secret that a login reading its password from stdin takes, unprinted: a
    variable's value, or a token printed by a CLI (no file named)."""
    if finding.category != "secrets.read":
        return False
    if finding.evidence.startswith("$"):
        return True
    target = finding.target or ""
    return not target.startswith(("/", "~", ".")) and "/" not in target


class Walker(WalkerCommands):
    """Walks one script.  Implements the ``Context`` protocol for family handlers."""

    def classify_shell(
        self,
        script: str,
        *,
        via: str,
        remote: str | None = None,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        here: bool = False,
    ) -> list[Finding]:
        if self.depth + 1 > MAX_DEPTH:
            return [unknown(f"{via} nests scripts deeper than {MAX_DEPTH} levels", script)]
        target = remote or self._remote
        scope = self.scope.child()
        scope.cwd = cwd if cwd is not None else (None if target else self.scope.cwd)
        if env and not remote:
            # `DB=B bash -c 'psql $DB'`: the inner shell starts with the prefix's values.
            scope.vars.update(env)
        child = Walker(self.session, scope, depth=self.depth + 1, remote=target)
        child.run(script)
        if here and target is None:  # ``eval``: the text ran in this very shell
            carry_back(self.scope, scope)
        if remote is None:
            return child.findings
        return [self._promote(f, remote, via) for f in child.findings]

    # --- walking ----------------------------------------------------------------------
    def run(self, script: str) -> None:
        if len(script) > MAX_SCRIPT:
            raise ClassificationBudgetExceeded(
                f"the command is {len(script)} bytes; the limit is {MAX_SCRIPT}",
                hint="run large scripts from a reviewed file instead",
            )
        if "\x00" in script:
            self.add([unknown("the command contains NUL bytes", script)])
            return
        hidden = _HIDDEN.search(script)
        if hidden is not None:
            # \r, ANSI escapes and bidi overrides can make the text a reviewer sees differ
            # from the text that runs.
            self.add(
                [
                    unknown(
                        f"the command contains an invisible control character "
                        f"(U+{ord(hidden.group()):04X})",
                        script,
                    )
                ]
            )
        self.session.budget.parsed(len(script))
        tree = parse_bash(script)
        root = tree.root_node
        if root.has_error:
            # ``cat <<E"O"F``, two here-docs on a line: forms bash reads and the
            # grammar does not; the same command with here-strings, when certain.
            rewritten = heredocs_as_strings(script)
            if rewritten is not None:
                again = parse_bash(rewritten)
                if not again.root_node.has_error:
                    script, tree, root = rewritten, again, again.root_node
        if root.has_error and "(" in script:
            script, tree, root = _with_plain_globs(script, tree)
        if root.has_error and "<>" in script:
            # ``exec 3<>/dev/tcp/h/p`` opens for reading and writing, a form the grammar
            # does not read: judged as the write it also is.
            again = parse_bash(script.replace("<>", ">"))
            if not again.root_node.has_error:
                script, tree, root = script.replace("<>", ">"), again, again.root_node
        if root.has_error:
            self.add([unknown("the shell parser could not read this command", _first_error(root))])
            self.add(raw_connections(script))  # ``exec 3<>/dev/tcp/…``: the grammar fails
        self.walk(root, None, 0)
        if "\\\n" in script and self.depth == 0:
            # Bash removes backslash-newline before it splits words (`r\<newline>m`
            # runs rm); the grammar does not always.  Judge the joined text as well.
            joined = Walker(self.session, self.scope.child(), depth=1, remote=self._remote)
            joined.run(script.replace("\\\n", ""))
            self.add(joined.findings)

    def walk(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        """Visit ``node``; return what it writes to stdout, for the next pipe stage."""
        self.session.budget.tick()
        if level > MAX_TREE_DEPTH:
            raise ClassificationBudgetExceeded(
                f"the command nests deeper than {MAX_TREE_DEPTH} levels",
                hint="simplify the command",
            )
        kind = node.type
        if kind == "ERROR" or node.is_missing:
            self._visit_children_for_commands(node, level)
            return None
        handler = _NODE_HANDLERS.get(kind)
        if handler is not None:
            return handler(self, node, stdin, level)
        if kind in _SKIP:
            return None
        out: Stdin | None = None
        for child in node.named_children:
            out = self.walk(child, stdin, level + 1)
        return out

    def _visit_children_for_commands(self, node: Node, level: int) -> None:
        for child in node.named_children:
            if child.type not in ("ERROR",):
                self.walk(child, None, level + 1)

    def _sequence(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        """Every part of a list writes to the same output: ``$(cat f || echo x)`` is
        the file's text (or some of it) then x, unknown when any part's is."""
        children = node.named_children
        outs: list[Stdin | None] = []
        for index, child in enumerate(children):
            if child.type in _BRANCHING and index + 1 < len(children):
                outs += self._forked(child, children[index + 1 :], stdin, level)
                break
            outs.append(self.walk(child, stdin, level + 1))
        return _joined(outs)

    def _alternatives(
        self, node: Node, stdin: Stdin | None, level: int
    ) -> tuple[Stdin | None, list[Scope]]:
        """Walk a statement of alternatives; the states it may leave (``_walker_branches``)."""
        if node.type == "list":
            return self._and_or(node, stdin, level)
        if node.type in ("while_statement", "until_statement"):
            return self._loop(node, stdin, level)
        return alternatives(self, node, stdin, level)

    def _and_or(
        self, node: Node, stdin: Stdin | None, level: int
    ) -> tuple[Stdin | None, list[Scope]]:
        """``a && b``, ``a || b``: ``b`` may not run, so what it assigns may not be
        (``[ -n "$CI" ] && T=/ || T=build``).  The directory and the rest are taken as
        after ``b`` (``mkdir -p out && cd out``), unless ``b`` ends the script
        (``cd "$d" || exit 1``): then the commands after see only the state before it."""
        parts = node.named_children
        if len(parts) != 2:
            return self._sequence(node, stdin, level), [self.scope.child()]
        outs = [self.walk(parts[0], stdin, level + 1)]
        before = self.scope
        self.scope = before.child()
        try:
            outs.append(self.walk(parts[1], stdin, level + 1))
        finally:
            after, self.scope = self.scope, before
        if ends_script(parts[1]):
            return _joined(outs), [before.child()]
        return _joined(outs), run_or_skipped(before, after)

    def _loop(
        self, node: Node, stdin: Stdin | None, level: int
    ) -> tuple[Stdin | None, list[Scope]]:
        """``while``/``until``: the body may run no time at all (a ``getopts`` loop over
        arguments known now runs once per option they hold: ``_walker_getopts``)."""
        unrolled = getopts_loop(self, node, stdin, level)
        if unrolled is not None:
            return unrolled
        out: Stdin | None = None
        body = node.child_by_field_name("body")
        for child in node.named_children:
            if child != body:
                out = self.walk(child, stdin, level + 1)  # the condition runs at least once
        if body is None:
            return out, [self.scope.child()]
        before = self.scope
        self.scope = before.child()
        try:
            out = self.walk(body, stdin, level + 1)
        finally:
            after, self.scope = self.scope, before
        return out, run_or_skipped(before, after)

    def _settled(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        """A statement of alternatives with nothing after it in its list."""
        out, scopes = self._alternatives(node, stdin, level)
        settle(self.scope, scopes)
        return out

    def _forked(
        self, branching: Node, rest: list[Node], stdin: Stdin | None, level: int
    ) -> list[Stdin | None]:
        """A statement of alternatives (``if``, ``case``, ``&&``/``||``, ``while``)
        followed by more commands: those are judged once for each different state it may
        leave (``T=/`` or ``T=build``, then ``rm -rf $T/*``), a few times at most; then
        what all agree on stays."""
        self.session.budget.tick()
        out, scopes = self._alternatives(branching, stdin, level)
        outs: list[Stdin | None] = [out]
        if len(scopes) == 1 or len(scopes) > _MAX_FORKS or self.forks_left < len(scopes) - 1:
            settle(self.scope, scopes)
            return outs + [self.walk(child, stdin, level + 1) for child in rest]
        self.forks_left -= len(scopes) - 1
        saved = self.scope
        ends = []
        try:
            for scope in scopes:
                self.scope = scope
                outs += [self.walk(child, stdin, level + 1) for child in rest]
                ends.append(self.scope)
        finally:
            self.scope = saved
        settle(saved, ends)
        return outs

    def _unset(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        """``unset NAME``: ``$NAME`` is empty afterwards (through a reference, the variable
        referred to), and without ``-v`` a function of that name may be gone (bash unsets
        the function when no variable has the name: ``rm() { :; }; unset rm; rm -rf ~``
        runs the real rm); a name built at run time (``unset "$v"``) may be any variable."""
        words = [c for c in node.named_children if c.type != "comment"]
        flags = {_text(c) for c in words if _text(c).startswith("-")}
        for child in words:
            if _text(child).startswith("-"):
                continue
            value = Value(_text(child), True) if child.type == "variable_name" else None
            value = value or self.resolve(child)
            if not value.static:
                self.scope.forget_values()
                continue
            name = value.text.split("[", 1)[0]
            if "-v" not in flags:  # without -v, a name that is no variable is a function's
                self.scope.functions.pop(name, None)
                self.scope.variants.pop(name, None)
            if "-f" not in flags and "[" not in value.text:
                self.scope.bind(name, "")
        return None

    def _subshell(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        saved = self.scope
        self.scope = saved.child()
        try:
            return self._sequence(node, stdin, level)
        finally:
            self.scope = saved

    def _pipeline(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        out = stdin
        stages = node.named_children
        saved = self.scope
        for index, child in enumerate(stages):
            mark = len(self.findings)
            # Each stage is a subshell in bash (the last one is not in zsh): what it
            # changes is unknown after the pipeline (``_scope_carry``).
            self.scope = saved.child() if len(stages) > 1 else saved
            try:
                out = self.walk(child, out, level + 1)
            finally:
                stage, self.scope = self.scope, saved
                if stage is not saved:
                    unknown_after(saved, stage)
            following = _text(stages[index + 1]) if index + 1 < len(stages) else None
            if following is not None and _NAMES_ONLY.match(following):
                # `env | cut -d= -f1`: only variable names leave the pipeline.
                self.findings[mark:] = [
                    f
                    for f in self.findings[mark:]
                    if f.category not in ("secrets.env_dump", "secrets.read")
                ]
            elif following is not None and _TAKES_SECRET_ON_STDIN.match(following):
                # `echo $TOKEN | docker login --password-stdin`, `aws ecr
                # get-login-password | docker login …`: the variable's value or the
                # token a CLI mints goes to the login, not to the output.  A file's
                # contents still count (the file is read, whatever reads it).
                self.findings[mark:] = [f for f in self.findings[mark:] if not _into_login(f)]
        return out

    def _redirected(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        body = node.child_by_field_name("body")
        redirects = [c for c in node.named_children if c != body]
        if body is not None and body.type == "pipeline":
            # The grammar hangs `a | b <<EOF` on the pipeline; bash gives it to `b`.
            stages = body.named_children
            for stage in stages[:-1]:
                stdin = self.walk(stage, stdin, level + 1)
            body = stages[-1] if stages else None
        stdin, sinks, continuations = self._redirects(redirects, stdin, level)
        if body is not None and body.type in ("while_statement", "for_statement"):
            stdin = None  # `while read h; do ssh "$h" …; done < hosts`: read consumes it
        out = self.walk(body, stdin, level + 1) if body is not None else None
        out = self._write_sinks(sinks, out, body)
        for cont in continuations:
            out = self.walk(cont, out, level + 1)
        return out


# Programs that print nothing on success (``mkdir -p d && cat > d/f <<EOF``: the
# grammar may hang the redirect on the whole list; mkdir adds no text to it).
def _joined(outs: list[Stdin | None]) -> Stdin | None:
    """Every part of a list writes to the same output: ``$(cat f || echo x)`` is the
    file's text (or some of it) then x, unknown when any part's is."""
    printed = [out for out in outs if out is not None and out.source not in _SILENT]
    if len(printed) <= 1:
        return printed[0] if printed else None
    unknown_part = next((o for o in printed if o.text is None and o.untrusted), None)
    unknown_part = unknown_part or next((o for o in printed if o.text is None), None)
    if unknown_part is not None:
        return unknown_part
    last = printed[-1]
    return Stdin("".join(o.text or "" for o in printed), last.source,
                 untrusted=any(o.untrusted for o in printed))  # fmt: skip


# Statements of alternatives (``_walker_branches``), and how many different states one
# may leave the commands after it judged in.
_BRANCHING = frozenset({"if_statement", "case_statement", "list", "while_statement",
                        "until_statement"})  # fmt: skip
_MAX_FORKS = 4

_SILENT = frozenset(
    f"pipe:{name}"
    for name in ("mkdir", "cd", "touch", "chmod", "chown", "chgrp", "ln", "rm", "rmdir", "cp",
                 "mv", "export", "unset", "set", "true", "false", ":", "sleep", "wait",
                 "umask", "shopt", "pushd", "popd", "install", "truncate")
)  # fmt: skip

_NodeHandler = Callable[[Walker, Node, Stdin | None, int], Stdin | None]
_NODE_HANDLERS: dict[str, _NodeHandler] = {
    "program": Walker._sequence,
    "compound_statement": Walker._arithmetic_statement,
    "do_group": Walker._sequence,
    "subshell": Walker._subshell,
    "pipeline": Walker._pipeline,
    "redirected_statement": Walker._redirected,
    "command": Walker._command,
    "variable_assignment": Walker._assign,
    "variable_assignments": Walker._assign,
    "declaration_command": Walker._declaration,
    "function_definition": Walker._function,
    "for_statement": Walker._for,
    "if_statement": Walker._settled,
    "case_statement": Walker._settled,
    "list": Walker._settled,
    "while_statement": Walker._settled,
    "until_statement": Walker._settled,
    "test_command": Walker._test,
    "heredoc_body": Walker._heredoc_body,
    "unset_command": Walker._unset,
}
