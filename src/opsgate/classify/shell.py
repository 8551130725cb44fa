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

import re
import shlex
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from tree_sitter import Node

from opsgate.classify import _pipes
from opsgate.classify._command import Arg, Command, Stdin
from opsgate.classify._grammar import parse_bash
from opsgate.classify._words import Value, WordResolver, brace_expand
from opsgate.classify.paths import Workspace
from opsgate.environments import Inventory
from opsgate.errors import ClassificationBudgetExceeded
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["Budget", "ShellSession", "classify_script"]

MAX_DEPTH = 6  # nested interpreters (bash -c 'sh -c "…"')
MAX_SCRIPT = 256 * 1024
MAX_NODES = 60_000
MAX_TREE_DEPTH = 400
_DEFAULT_BUDGET_S = 0.05


@dataclass
class Budget:
    """A fixed time and work budget for one decision; overrun raises (→ deny)."""

    seconds: float = _DEFAULT_BUDGET_S
    started: float = field(default_factory=time.perf_counter)
    nodes: int = 0

    def tick(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ClassificationBudgetExceeded(
                f"the command has more than {MAX_NODES} syntax nodes",
                hint="split the command into smaller steps",
            )
        if self.nodes % 64 == 0 and time.perf_counter() - self.started > self.seconds:
            raise ClassificationBudgetExceeded(
                f"classification took longer than {self.seconds * 1000:.0f} ms",
                hint="split the command into smaller steps",
            )


@dataclass
class FileNote:
    """A file written earlier in the same command: its text, when known."""

    text: str | None
    untrusted: bool


@dataclass
class Scope:
    cwd: str | None
    vars: dict[str, str | None] = field(default_factory=dict)
    functions: dict[str, Node] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, FileNote] = field(default_factory=dict)
    positional: dict[str, str] = field(default_factory=dict)
    calls: int = 0

    def child(self) -> Scope:
        return Scope(
            self.cwd,
            dict(self.vars),
            dict(self.functions),
            dict(self.aliases),
            self.files,
            dict(self.positional),
            self.calls,
        )


@dataclass
class ShellSession:
    """What stays the same across nested scripts of one classification."""

    workspace: Workspace
    inventory: Inventory = field(default_factory=Inventory)
    budget: Budget = field(default_factory=Budget)
    read_file: Callable[[str], str | None] = lambda _path: None
    branch_of: Callable[[str | None], str | None] = lambda _cwd: None
    env: dict[str, str] = field(default_factory=dict)


def classify_script(
    script: str, session: ShellSession, *, cwd: str | None, depth: int = 0
) -> list[Finding]:
    """Every finding for a bash script run in ``cwd``."""
    walker = Walker(session, Scope(cwd), depth=depth, remote=None)
    walker.run(script)
    return walker.findings


def _text(node: Node) -> str:
    raw = node.text
    return raw.decode("utf-8", "replace") if raw is not None else ""


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Walker:
    """Walks one script.  Implements the ``Context`` protocol for family handlers."""

    def __init__(self, session: ShellSession, scope: Scope, *, depth: int, remote: str | None):
        self.session = session
        self.scope = scope
        self.depth = depth
        self._remote = remote
        self.findings: list[Finding] = []
        self.procs: dict[str, Stdin | None] = {}

    # --- Context protocol -------------------------------------------------------------
    @property
    def project_dir(self) -> str | None:
        return None if self._remote else self.session.workspace.project

    @property
    def home(self) -> str:
        return self.session.workspace.home

    @property
    def remote(self) -> str | None:
        return self._remote

    def classify_shell(
        self, script: str, *, via: str, remote: str | None = None, cwd: str | None = None
    ) -> list[Finding]:
        if self.depth + 1 > MAX_DEPTH:
            return [unknown(f"{via} nests scripts deeper than {MAX_DEPTH} levels", script)]
        target = remote or self._remote
        scope = self.scope.child()
        scope.cwd = cwd if cwd is not None else (None if target else self.scope.cwd)
        child = Walker(self.session, scope, depth=self.depth + 1, remote=target)
        child.run(script)
        if remote is None:
            return child.findings
        return [self._promote(f, remote, via) for f in child.findings]

    def environment_of(self, target: str) -> tuple[Environment, str] | None:
        return self.session.inventory.environment_of(target)

    def git_branch(self, cwd: str | None) -> str | None:
        return None if self._remote else self.session.branch_of(cwd or self.scope.cwd)

    def read_text(self, path: str, cwd: str | None) -> str | None:
        if self._remote:
            return None
        full = self.session.workspace.expand(path, cwd or self.scope.cwd)
        if full is None:
            return None
        note = self.scope.files.get(full)
        if note is not None:
            return note.text
        return self.session.read_file(full)

    # --- helpers for handlers ---------------------------------------------------------
    @property
    def workspace(self) -> Workspace:
        if self._remote:
            return Workspace(project=None, home="/root")
        return self.session.workspace

    def file_note(self, path: str, cwd: str | None) -> FileNote | None:
        full = self.workspace.expand(path, cwd or self.scope.cwd)
        return None if full is None else self.scope.files.get(full)

    def add(self, findings: list[Finding]) -> None:
        self.findings.extend(findings)

    def _promote(self, finding: Finding, remote: str, via: str) -> Finding:
        """A workspace-local change made on another machine is a change to infrastructure."""
        env = finding.environment
        source = finding.env_source
        if env is None or source in ("agent workspace", "feature branch"):
            # "Local" inside the nested script means local to the remote machine.
            resolved = self.environment_of(remote)
            env, source = resolved if resolved is not None else (None, None)
        effect = Effect.WRITE if finding.effect is Effect.LOCAL else finding.effect
        impact = max(finding.impact, Impact.CAUTION) if effect is Effect.WRITE else finding.impact
        return replace(
            finding,
            effect=effect,
            impact=impact,
            target=f"{remote}:{finding.target}" if finding.target else remote,
            environment=env,
            env_source=source,
            reason=f"{finding.reason} (on {remote}, via {via})",
        )

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
        tree = parse_bash(script)
        root = tree.root_node
        if root.has_error:
            self.add([unknown("the shell parser could not read this command", _first_error(root))])
        self.walk(root, None, 0)

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
        out: Stdin | None = None
        for child in node.named_children:
            out = self.walk(child, stdin, level + 1)
        return out

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
        for index, child in enumerate(stages):
            mark = len(self.findings)
            out = self.walk(child, out, level + 1)
            if index + 1 < len(stages) and _NAMES_ONLY.match(_text(stages[index + 1])):
                # `env | cut -d= -f1`: only variable names leave the pipeline.
                self.findings[mark:] = [
                    f
                    for f in self.findings[mark:]
                    if f.category not in ("secrets.env_dump", "secrets.read")
                ]
        return out

    def _redirected(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        body = node.child_by_field_name("body")
        redirects = [c for c in node.named_children if c is not body]
        if body is not None and body.type == "pipeline":
            # The grammar hangs `a | b <<EOF` on the pipeline; bash gives it to `b`.
            stages = body.named_children
            for stage in stages[:-1]:
                stdin = self.walk(stage, stdin, level + 1)
            body = stages[-1] if stages else None
        stdin, sinks, continuations = self._redirects(redirects, stdin, level)
        out = self.walk(body, stdin, level + 1) if body is not None else None
        out = self._write_sinks(sinks, out, body)
        for cont in continuations:
            out = self.walk(cont, out, level + 1)
        return out

    def _redirects(
        self, redirects: list[Node], stdin: Stdin | None, level: int
    ) -> tuple[Stdin | None, list[tuple[str, Value]], list[Node]]:
        """Input sources, output sinks, and the pipeline the grammar nests in a here-doc."""
        sinks: list[tuple[str, Value]] = []
        continuations: list[Node] = []
        for redirect in redirects:
            kind = redirect.type
            if kind == "heredoc_redirect":
                stdin = self._heredoc(redirect, level)
                for child in redirect.named_children:
                    if child.type == "file_redirect":
                        sinks.extend(self._file_redirect(child))
                    elif child.type not in ("heredoc_start", "heredoc_body", "heredoc_end"):
                        continuations.append(child)
            elif kind == "herestring_redirect":
                words = [c for c in redirect.named_children]
                value = self.resolve(words[-1]) if words else Value("", True)
                stdin = Stdin(value.text + "\n" if value.static else None, "herestring")
                self._secret_disclosure(value, "a here-string")
            elif kind == "file_redirect":
                op = _redirect_op(redirect)
                dest = redirect.child_by_field_name("destination")
                if dest is None:
                    continue
                value = self.resolve(dest)
                if op in ("<", "<>"):
                    stdin = self._read_redirect(value)
                elif op not in ("<&", ">&", "&>") or not value.text.isdigit():
                    sinks.append((op, value))
        return stdin, sinks, continuations

    def _file_redirect(self, node: Node) -> list[tuple[str, Value]]:
        dest = node.child_by_field_name("destination")
        if dest is None:
            return []
        return [(_redirect_op(node), self.resolve(dest))]

    def _heredoc(self, redirect: Node, level: int) -> Stdin:
        start = next((c for c in redirect.named_children if c.type == "heredoc_start"), None)
        body = next((c for c in redirect.named_children if c.type == "heredoc_body"), None)
        quoted = start is not None and any(q in _text(start) for q in ("'", '"', "\\"))
        if body is None:
            return Stdin("", "heredoc")
        if quoted:
            return Stdin(_text(body), "heredoc")
        # An unquoted here-doc expands $(…), `…` and $VAR before the command reads it.
        raw = _text(body)
        if not body.named_children:
            self._backticks(raw)
            return Stdin(raw, "heredoc")
        value = Value("", True)
        for child in body.children:
            if child.type in ("heredoc_content",):
                value = value + Value(_text(child), True)
            else:
                value = value + self.resolve(child)
        if not any(
            c.type == "command_substitution" and _text(c).startswith("`")
            for c in body.named_children
        ):
            self._backticks(raw)
        return Stdin(value.text if value.static else raw, "heredoc")

    def _backticks(self, text: str) -> None:
        """Command substitutions the grammar leaves as text inside a here-doc body."""
        for match in _BACKTICK.finditer(text):
            self.add(self.classify_shell(match.group(1), via="here-doc substitution"))
        for match in _DOLLAR_PAREN.finditer(text):
            self.add(self.classify_shell(match.group(1), via="here-doc substitution"))

    def _read_redirect(self, value: Value) -> Stdin:
        from opsgate.classify.families import secrets

        self.add(secrets.redirect_read(value.text, self))
        if not value.static:
            return Stdin(None, "file:" + value.text)
        text = self.read_text(value.text, None)
        return Stdin(text, "file:" + value.text)

    def _write_sinks(
        self, sinks: list[tuple[str, Value]], out: Stdin | None, body: Node | None
    ) -> Stdin | None:
        from opsgate.classify.families import filesystem

        for op, value in sinks:
            self.add(filesystem.redirect_write(op, value, out, self, _text(body) if body else ""))
            if value.static:
                full = self.workspace.expand(value.text, self.scope.cwd)
                if full is not None and out is not None:
                    old = self.scope.files.get(full)
                    text = out.text
                    if op == ">>" and old is not None and old.text is not None and text is not None:
                        text = old.text + text
                    self.scope.files[full] = FileNote(text, out.untrusted)
        return None if sinks else out

    # --- words ------------------------------------------------------------------------
    def resolver(self) -> WordResolver:
        return WordResolver(self._lookup, self._substitute, self.scope.positional)

    def resolve(self, node: Node) -> Value:
        return self.resolver().value(node)

    def _lookup(self, name: str) -> str | None:
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
        return Value(_text(node), False)

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
            self.add(
                [
                    Finding(
                        "secrets.read",
                        Impact.CAUTION,
                        Effect.SECRET,
                        f"${name}",
                        f"prints the value of the secret variable {name} ({where})",
                    )
                ]
            )

    # --- simple commands ----------------------------------------------------------------
    def _command(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        env: dict[str, str] = {}
        words: list[Value] = []
        redirects: list[Node] = []
        name_seen = False
        for child in node.named_children:
            kind = child.type
            if kind == "variable_assignment" and not name_seen:
                name, value = self._assignment(child)
                if value is not None:
                    env[name] = value
                continue
            if kind in ("file_redirect", "heredoc_redirect", "herestring_redirect"):
                redirects.append(child)
                continue
            if kind == "comment":
                continue
            if kind in _STATEMENTS:
                # Not valid bash (`sudo (rm -rf ~)`); whatever it is, it is not allowed blind.
                self.add([unknown("a statement where a word was expected", _text(child))])
                self.walk(child, None, level + 1)
                continue
            name_seen = True
            words.extend(self._split(child))
        stdin, sinks, continuations = self._redirects(redirects, stdin, level)
        if not words:
            return self._write_sinks(sinks, None, node)
        out = self.run_words(words, env, stdin, _text(node))
        out = self._write_sinks(sinks, out, node)
        for cont in continuations:
            out = self.walk(cont, out, level + 1)
        return out

    def _split(self, node: Node) -> list[Value]:
        if node.type == "command_name" and node.named_child_count == 1:
            node = node.named_children[0]
        value = self.resolve(node)
        if node.type in ("simple_expansion", "expansion") and value.static:
            ifs = self.scope.vars.get("IFS", " \t\n") if "IFS" in self.scope.vars else " \t\n"
            if ifs is None:
                return [Value(value.text, False, value.secret_vars)]
            words = re.split("[" + re.escape(ifs) + "]+", value.text) if ifs else [value.text]
            return [Value(w, True, value.secret_vars) for w in words if w]
        if node.type in ("word", "concatenation") and value.static and "{" in value.text:
            return [Value(w, True) for w in brace_expand(value.text)]
        return [value]

    def run_words(
        self,
        words: list[Value],
        env: dict[str, str],
        stdin: Stdin | None,
        text: str,
    ) -> Stdin | None:
        """Execute one simple command given as resolved words."""
        name = words[0]
        if not name.static:
            self.add([unknown("the command name is built at run time", _short(text))])
            return None
        if name.text in self.scope.aliases:
            alias = [Value(w, True) for w in self.scope.aliases[name.text]]
            words = alias + words[1:]
            name = words[0]
        if name.text in self.scope.functions:
            return self._call_function(name.text, words[1:], stdin, text)
        if "/" in name.text and self._runs_written_file(name.text, text):
            return None
        inherited = {k: v for k, v in self.scope.vars.items()
                      if v is not None and _ENV_NAME.match(k)}  # fmt: skip
        cmd = Command(
            name=canonical_name(name.text),
            args=tuple(Arg(w.text, w.static) for w in words[1:]),
            text=_short(text, 400),
            env={**inherited, **env},
            stdin=stdin,
            cwd=self.scope.cwd,
        )
        from opsgate.classify import _dispatch

        self._printing_secrets(cmd, words)
        _dispatch.dispatch(cmd, self, words)
        return _pipes.output_of(cmd, self)

    def _runs_written_file(self, path: str, text: str) -> bool:
        """``./x.sh`` after this command downloaded or wrote ``x.sh``: judge what it runs."""
        note = self.file_note(path, None)
        if note is None:
            return False
        if note.untrusted:
            self.add(
                [
                    Finding(
                        "network.fetch_exec",
                        Impact.CAUTION,
                        Effect.UNKNOWN,
                        _short(text),
                        f"runs {path}, fetched from the network in this command",
                    )
                ]
            )
        if note.text is not None:
            self.add(self.classify_shell(note.text, via=path))
        return note.untrusted or note.text is not None

    def _printing_secrets(self, cmd: Command, words: list[Value]) -> None:
        if cmd.name in _pipes.PRINTERS:
            for word in words[1:]:
                self._secret_disclosure(word, f"{cmd.name} writes it to the output")
                if word.secret_vars:
                    return

    def _call_function(
        self, name: str, args: list[Value], stdin: Stdin | None, text: str
    ) -> Stdin | None:
        body = self.scope.functions[name]
        if self.scope.calls > 16:
            self.add([unknown(f"function {name} recurses", _short(text))])
            return None
        saved = self.scope
        self.scope = saved.child()
        self.scope.calls += 1
        self.scope.positional = {str(i + 1): a.text for i, a in enumerate(args)}
        self.scope.positional["@"] = " ".join(shlex.quote(a.text) for a in args)
        try:
            return self.walk(body, stdin, 1)
        finally:
            self.scope = saved

    def set_cwd(self, path: Value | None) -> None:
        if path is None:
            self.scope.cwd = self.workspace.home if not self._remote else None
            return
        if not path.static:
            self.scope.cwd = None
            return
        self.scope.cwd = self.workspace.expand(path.text, self.scope.cwd)

    # --- assignments and definitions -----------------------------------------------------
    def _assignment(self, node: Node) -> tuple[str, str | None]:
        name_node = node.child_by_field_name("name")
        value_node = node.child_by_field_name("value")
        name = _text(name_node) if name_node is not None else ""
        if value_node is None:
            return name, ""
        value = self.resolve(value_node)
        return name, value.text if value.static else None

    def _assign(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        if node.type == "variable_assignments":
            for child in node.named_children:
                self._assign(child, stdin, level)
            return None
        name, value = self._assignment(node)
        self.scope.vars[name] = value
        return None

    def _declaration(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        keyword = _text(node.children[0]) if node.children else ""
        rest = node.named_children
        flags = [_text(c) for c in rest if c.type == "word" and _text(c).startswith("-")]
        names = [c for c in rest if c.type in ("variable_assignment", "variable_name")]
        if not names and (
            keyword in ("export", "declare", "typeset", "readonly")
            and (not flags or any(f in ("-p", "-x", "-px", "-xp") for f in flags))
        ):
            from opsgate.classify.families import secrets

            self.add(secrets.env_dump(f"{keyword} {' '.join(flags)}".strip()))
        for child in rest:
            if child.type == "variable_assignment":
                self._assign(child, stdin, level)
        return None

    def _function(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        name = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if name is not None and body is not None:
            self.scope.functions[_text(name)] = body
        return None

    def _for(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        var = node.child_by_field_name("variable")
        body = node.child_by_field_name("body")
        values: list[Value] = []
        for child in node.children_by_field_name("value"):
            values.extend(self._split(child))
        if var is None or body is None:
            return self._sequence(node, stdin, level)
        name = _text(var)
        choices: list[str | None] = [v.text if v.static else None for v in values[:16]] or [None]
        out: Stdin | None = None
        for choice in choices:
            self.scope.vars[name] = choice
            out = self.walk(body, stdin, level + 1)
        return out

    def _test(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        # A test only evaluates; but $(…) inside it still runs.
        for sub in _substitutions(node):
            self._substitute(sub)
        return None

    def _heredoc_body(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        for sub in _substitutions(node):
            self._substitute(sub)
        return None


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
_NAMES_ONLY = re.compile(
    r"^\s*(cut\s+(-d\s*['\"]?=['\"]?\s+-f\s*1|-f\s*1\s+-d\s*['\"]?=['\"]?)\s*$"
    r"|awk\s+-F\s*['\"]?=['\"]?\s+['\"]\{\s*print\s+\$1\s*;?\s*\}['\"]\s*$"
    r"|sed\s+(-e\s+)?['\"]s/=\.\*//g?['\"]\s*$"
    r"|wc(\s+-[lcw]+)?\s*$|grep\s+-[a-zA-Z]*[qcl][a-zA-Z]*\b.*$)"
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

_NodeHandler = Callable[[Walker, Node, Stdin | None, int], Stdin | None]
_NODE_HANDLERS: dict[str, _NodeHandler] = {
    "program": Walker._sequence,
    "list": Walker._sequence,
    "compound_statement": Walker._sequence,
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
    "test_command": Walker._test,
    "heredoc_body": Walker._heredoc_body,
    "unset_command": lambda _w, _n, _s, _l: None,
}
