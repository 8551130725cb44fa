"""Simple commands, assignments and definitions: what the walker does at each one."""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING, cast

from tree_sitter import Node

from opsgate.classify import _pipes
from opsgate.classify import _shell_arrays as _arrays
from opsgate.classify._command import Arg, Command, Stdin
from opsgate.classify._scope_carry import carry_back, locals_of
from opsgate.classify._shell_nodes import (
    _ENV_NAME,
    _STATEMENTS,
    _short,
    _substitutions,
    _text,
    canonical_name,
    unknown,
)
from opsgate.classify._walker_redirects import WalkerRedirects
from opsgate.classify._words import Value, brace_expand, compared_names

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["WalkerCommands"]

# The word that hands a function's arguments on unchanged.
_ALL_ARGS = re.compile(r'"(?:\$@|\$\{@(?::([1-9][0-9]*)(?::([0-9]+))?)?\})"')
_UNQUOTED_ALL = frozenset({"$@", "${@}", "$*", "${*}"})
# A glob character outside quotes and not escaped: the shell expands it into file names.
_UNQUOTED_GLOB = re.compile(r"""^(?:[^'"\\*?\[]|\\.)*[*?\[]""")


class WalkerCommands(WalkerRedirects):
    """Simple commands, function calls, assignments, loops and tests."""

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
        name = node.type == "command_name"
        if name and node.named_child_count == 1:
            node = node.named_children[0]
        arguments = self._all_arguments(node)
        if arguments is not None:
            return arguments
        elements = _arrays.split_all(self._lookup, node) if node.type == "string" else None
        if elements is not None:  # ``"${ports[@]}"``, ``"${!ports[@]}"``: a word each
            return [Value(e, True) for e in elements]
        value = self.resolve(node)
        if node.type in ("simple_expansion", "expansion") and value.static:
            ifs = self.scope.vars.get("IFS", " \t\n") if "IFS" in self.scope.vars else " \t\n"
            if ifs is None:
                return [Value(value.text, False, value.secret_vars)]
            words = re.split("[" + re.escape(ifs) + "]+", value.text) if ifs else [value.text]
            return [Value(w, True, value.secret_vars) for w in words if w]
        if node.type in ("word", "concatenation") and value.static and "{" in value.text:
            return [Value(w, True) for w in brace_expand(value.text)]
        if name and value.static:
            raw = _text(node)
            if _UNQUOTED_GLOB.search(raw) and raw.rsplit("/")[-1] != "[":
                # ``/bin/r? -rf``: pathname expansion picks the program at run time.
                return [Value(value.text, False, value.secret_vars)]
        return [value]

    def _all_arguments(self, node: Node) -> list[Value] | None:
        """``"$@"`` (``"${@}"``, ``"${@:2}"``) where the arguments are known (a function
        call, ``set --``): one word per argument, none when there are none, as bash
        expands it; None for any other word."""
        if "@" not in self.scope.positional:
            return None
        if node.type in ("simple_expansion", "expansion") and _text(node) in _UNQUOTED_ALL:
            # Unquoted, each argument is split again (at blanks; IFS games are rare).
            return [
                Value(w, True) for a in shlex.split(self.scope.positional["@"]) for w in a.split()
            ]
        found = _ALL_ARGS.fullmatch(_text(node)) if node.type == "string" else None
        if found is None:
            return None
        given = shlex.split(self.scope.positional["@"])
        if found.group(1) is not None:  # ``${@:START:LENGTH}``: $START on (``$0`` is 0)
            start = max(int(found.group(1)) - 1, 0)
            given = given[start : start + int(found.group(2)) if found.group(2) else None]
        return [Value(word, True) for word in given]

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
            return self._call_function(name.text, words[1:], stdin, text, env)
        if name.text in self.scope.variants:  # defined one way or another: judge each
            out = None
            for body in self.scope.variants[name.text]:
                self.scope.functions[name.text] = body
                try:
                    out = self._call_function(name.text, words[1:], stdin, text, env)
                finally:
                    self.scope.functions.pop(name.text, None)
            return out
        inherited = {k: v for k, v in self.scope.vars.items()
                      if v is not None and _ENV_NAME.match(k)}  # fmt: skip
        cmd = Command(
            name=canonical_name(name.text),
            args=tuple(Arg(w.text, w.static) for w in words[1:]),
            text=_short(text, 400),
            env={**inherited, **env},
            stdin=stdin,
            cwd=self.scope.cwd,
            path=name.text if "/" in name.text else None,
        )
        from opsgate.classify import _dispatch

        walker = cast("Walker", self)
        self._printing_secrets(cmd, words)
        _dispatch.dispatch(cmd, walker, words)
        return _pipes.output_of(cmd, walker)

    def _printing_secrets(self, cmd: Command, words: list[Value]) -> None:
        if cmd.name in _pipes.PRINTERS:
            for word in words[1:]:
                self._secret_disclosure(word, f"{cmd.name} writes it to the output")
                if word.secret_vars:
                    return

    def _call_function(
        self, name: str, args: list[Value], stdin: Stdin | None, text: str, env: dict[str, str]
    ) -> Stdin | None:
        body = self.scope.functions[name]
        if self.scope.calls > 16:
            self.add([unknown(f"function {name} recurses", _short(text))])
            return None
        saved = self.scope
        self.scope = saved.child()
        self.scope.calls += 1
        for var, value in env.items():  # ``PATH=… f``: the function's commands see it
            self.scope.bind(var, value)
        # A ``~`` at the call site is expanded there, before the function gets the word
        # (``f ~/Documents`` hands ``/home/dev/Documents`` to ``"$@"``).
        given = [self._tilde(a.text) for a in args]
        # An argument known only at run time is no known value of ``$N`` (``f "$X"``).
        known = zip(given, args, strict=True)
        self.scope.positional = {str(i + 1): t for i, (t, a) in enumerate(known) if a.static}
        self.scope.positional["@"] = " ".join(shlex.quote(t) for t in given)
        try:
            return self.walk(body, stdin, 1)
        finally:
            # The function ran in this shell: what it set (but its locals) stays.
            pure, mixed = locals_of(body)
            carry_back(saved, self.scope, mixed, pure | frozenset(env))
            self.scope = saved

    def _tilde(self, text: str) -> str:
        home = self.workspace.home
        if home and (text == "~" or text.startswith("~/")) and not self._remote:
            return home.rstrip("/") + text[1:]
        return text

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
        name, value = self._assigned(node)
        if name == "PATH":
            return name, value.text  # as written: ``$PATH`` marks the inherited search path
        return name, value.text if value.static else None

    def _assigned(self, node: Node) -> tuple[str, Value]:
        name_node = node.child_by_field_name("name")
        value_node = node.child_by_field_name("value")
        name = _text(name_node) if name_node is not None else ""
        return name, self.resolve(value_node) if value_node is not None else Value("", True)

    def _assign(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        if node.type == "variable_assignments":
            for child in node.named_children:
                self._assign(child, stdin, level)
            return None
        name, value = self._assigned(node)
        if value.static or name == "PATH":  # PATH as written (``_run_search``)
            self.scope.bind(name, value.text)
        else:
            self.scope.bind(name, None, _pipes.origin_of(value.text))
        self._assign_array(node, value, assoc=False)
        return None

    def _assign_array(self, node: Node, value: Value, *, assoc: bool) -> None:
        """``a=(x y)``, ``declare -A m=([k]=v)``, ``a[k]=v``: elements tracked
        (``_shell_arrays``)."""
        name_node = node.child_by_field_name("name")
        value_node = node.child_by_field_name("value")
        appends = any(c.type == "+=" for c in node.children)
        if name_node is not None and name_node.type == "subscript":
            base = name_node.child_by_field_name("name")
            if base is not None:
                index = None if appends else name_node.child_by_field_name("index")
                known = value.text if value.static else None
                _arrays.bind_element(self.scope, _text(base), index, known)
        elif value_node is not None and value_node.type == "array" and not appends:
            _arrays.bind_array(self.scope, _text(name_node or node), value_node, self.resolve,
                               assoc=assoc)  # fmt: skip

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
        assoc = any(f.startswith("-") and "A" in f[1:] for f in flags)
        for child in rest:
            if child.type == "variable_assignment":
                self._assign(child, stdin, level)
                if assoc:  # ``declare -A m=([k]=v …)``
                    self._assign_array(child, Value("", False), assoc=True)
        if any(f.startswith("-") and "n" in f[1:] for f in flags):
            # ``declare -n ref=x``: ``$ref`` is whatever x holds when it is read, and
            # ``ref=v`` assigns x (``_shell_state.Scope.refer``); a reference to a name
            # known only at run time (``local -n out=$1`` of an unknown argument) is unknown.
            for child in names:
                name = child.child_by_field_name("name") if child.type != "variable_name" else child
                if name is None:
                    continue
                value = child.child_by_field_name("value")
                if value is None:
                    self.scope.refer(_text(name), "")
                    continue
                referred = self.resolve(value)
                self.scope.refer(_text(name), referred.text if referred.static else None)
        return None

    def _function(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        name = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if name is not None and body is not None:
            self.scope.functions[_text(name)] = body
            self.scope.variants.pop(_text(name), None)
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
        choices = [
            (v.text, "") if v.static else (None, _pipes.origin_of(v.text)) for v in values[:16]
        ]
        out: Stdin | None = None
        if choices and all(choice is not None for choice, _ in choices):
            for choice, origin in choices:  # runs once for each word, in order
                self.scope.bind(name, choice, origin)
                out = self.walk(body, stdin, level + 1)
            return out
        # Words known only at run time: the body may run no time at all.
        from opsgate.classify._walker_branches import run_or_skipped, settle

        before = self.scope
        self.scope = before.child()
        try:
            for choice, origin in choices or [(None, "")]:
                self.scope.bind(name, choice, origin)
                out = self.walk(body, stdin, level + 1)
        finally:
            after, self.scope = self.scope, before
        settle(before, run_or_skipped(before, after))
        return out

    def _test(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        # A test only evaluates; but $(…) inside it still runs, and so does one in the
        # value of a variable that `[[ x -eq 1 ]]` evaluates as arithmetic.
        for sub in _substitutions(node):
            self._substitute(sub)
        self.resolver().evaluate_names(compared_names(node))
        return None

    def _heredoc_body(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None:
        for sub in _substitutions(node):
            self._substitute(sub)
        return None
