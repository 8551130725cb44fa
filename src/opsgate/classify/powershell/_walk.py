"""The walker: visits every node that would execute and dispatches commands to
cmdlet rules, native programs to the bash-side families, and .NET calls to
``_dotnet``.  Strings, comments and here-strings are data and are not entered."""

from __future__ import annotations

import re
from typing import Any

from opsgate.classify._command import Arg, Command, Context
from opsgate.classify.powershell import _tables as t
from opsgate.classify.powershell._parse import first, first_error, parse, text
from opsgate.classify.powershell._paths import Paths, home_of
from opsgate.classify.powershell._values import (
    PsArg,
    PsCall,
    Vars,
    Verdict,
    all_words,
    finding,
    on_this_machine,
    parse_call,
    secret,
    unknown,
    with_env,
)
from opsgate.models import Effect, Finding, Impact

__all__ = ["DEFAULT_PROJECT", "Walk", "classify_powershell"]

MAX_DEPTH = 5
MAX_SCRIPT = 100_000
MAX_NODES = 60_000
DEFAULT_PROJECT = "C:\\Users\\dev\\source\\project"

_BOOL_OPS = re.compile(
    r"^-[ci]?(eq|ne|gt|ge|lt|le|like|notlike|match|notmatch|contains|"
    r"notcontains|in|notin|is|isnot)$",
    re.IGNORECASE,
)
_CONDITIONS = frozenset(
    {
        "if_statement",
        "elseif_clause",
        "while_statement",
        "do_statement",
        "switch_condition",
        "for_condition",
    }
)


def classify_powershell(
    script: str, ctx: Context, *, cwd: str | None, depth: int = 0
) -> list[Finding]:
    """Classify a PowerShell script; never raises on hostile input."""
    if depth > MAX_DEPTH:
        return [unknown(script, "nested PowerShell deeper than opsgate follows")]
    if len(script) > MAX_SCRIPT:
        return [unknown(script[:200], "script too large to classify")]
    try:
        return Walk(ctx, cwd or DEFAULT_PROJECT, depth).run(script)
    except RecursionError:
        return [unknown(script[:200], "script nested too deeply to classify")]


class Walk:
    def __init__(self, ctx: Context, cwd: str, depth: int, paths: Paths | None = None) -> None:
        self.ctx, self.cwd, self.depth = ctx, cwd, depth
        self.home = home_of(ctx, cwd)
        self.vars = Vars(self.home, cwd)
        self.paths = paths if paths is not None else Paths(self.home, cwd)
        self.aliases: dict[str, str] = {}
        self.functions: set[str] = set()
        self.objects: dict[str, PsArg] = {}  # $variable → the path (or com:ProgID) it holds
        self.skip: set[tuple[int, int]] = set()
        self.out: list[Finding] = []
        self.bindable: frozenset[str] = frozenset()  # variables assigned once (_bindings)

    def run(self, script: str) -> list[Finding]:
        from opsgate.classify.powershell._bindings import bindable

        tree, _source = parse(script)
        root = tree.root_node
        self.bindable = bindable(root)
        if root.has_error:
            bad = first_error(root)
            self.out.append(
                unknown(
                    text(bad) if bad is not None else script,
                    "PowerShell the parser cannot read; it is not judged as safe",
                    "powershell.parse_error",
                )
            )
        self._walk(root)
        return self.out

    def nested(self, script: str, via: str) -> list[Finding]:
        """A nested PowerShell script; it shares this script's knowledge of copies."""
        if self.depth + 1 > MAX_DEPTH:
            return [unknown(script, "nested PowerShell deeper than opsgate follows")]
        if len(script) > MAX_SCRIPT:
            return [unknown(script[:200], "script too large to classify")]
        try:
            return Walk(self.ctx, self.cwd, self.depth + 1, self.paths).run(script)
        except RecursionError:
            return [unknown(script[:200], "script nested too deeply to classify")]

    def add(self, verdict: Verdict | None, evidence: str, target: str | None = None) -> None:
        if verdict is None:
            return
        effect, impact, category, reason = verdict
        self.out.append(
            on_this_machine(finding(category, impact, effect, evidence, reason, target))
        )

    def copied(
        self, source: PsArg, dest: PsArg | None, evidence: str, *, recursive: bool = False
    ) -> None:
        """A copy or move of ``source`` to ``dest``: a secret copied to a name that is
        not itself a credentials file is read (as ``cp`` in bash), and so is a
        credentials directory copied with its contents; either way a later read of the
        copy is a read of the secret."""
        paths = self.paths
        whole_dir = recursive and paths.secret_dir(source)
        if dest is not None and (
            whole_dir or (paths.secret(source) and not paths.keeps_secret(source, dest))
        ):
            reason = f"copies the secret file {source.value} to {dest.value}"
            self.out.append(secret(evidence, reason, source.value))
        paths.copied(source, dest)

    def _walk(self, root: Any) -> None:
        from opsgate.classify.powershell._dotnet import assignment, dotnet

        stack = [root]
        seen = 0
        while stack:
            node = stack.pop()
            seen += 1
            if seen > MAX_NODES:
                self.out.append(unknown(text(root)[:200], "script too large to classify"))
                return
            kind = node.type
            if kind == "comment" or (node.start_byte, node.end_byte) in self.skip:
                continue
            if kind == "command":
                self._command(node)
            elif kind == "invokation_expression":
                dotnet(self, node)
            elif kind == "assignment_expression":
                assignment(self, node)
            elif kind == "variable":
                self._env_var(node)
            elif kind == "redirection":
                self._redirect(node)
            elif kind == "function_statement":
                name = first(node, "function_name")
                if name is not None:
                    self.functions.add(text(name).lower())
            stack.extend(reversed(node.named_children))

    # ----------------------------------------------------------------- commands

    def _command(self, node: Any) -> None:
        from opsgate.classify.powershell._cmdexe import cmd_args, powershell_args
        from opsgate.classify.powershell._rules import CMDLETS, generic

        call = parse_call(node, self.vars, self.aliases)
        if call is None:
            self.out.append(unknown(text(node), "a command opsgate cannot read"))
            return
        if call.raw.startswith("\0"):
            if not call.raw[1:].startswith("{"):
                self.out.append(
                    unknown(
                        call.text,
                        "runs a command whose name is known only at run time",
                        "powershell.dynamic_call",
                    )
                )
            return
        up, down = _neighbours(node)
        name = call.name
        if name in self.functions:
            return
        verb, _, noun = name.partition("-")
        is_cmdlet = bool(noun) and verb in t.VERBS and "." not in name
        if is_cmdlet and call.switch("whatif", min_len=2):
            return
        handler = CMDLETS.get(name)
        if handler is not None:
            handler(self, call, up, down)
        elif name in t.SHELLS:
            powershell_args(self, [a.value for a in all_words(call)], call.text, name)
        elif name == "cmd":
            cmd_args(self, [a.value for a in all_words(call)], call.text)
        elif name.endswith(".ps1"):
            self.run_script(call.raw, call.text)
        elif is_cmdlet:
            generic(self, call, verb, noun)
        else:
            self.native(call.name, all_words(call), call.text)

    def native(self, name: str, words: list[PsArg], text_: str) -> None:
        """A native program: Windows tools here, everything else through the
        same family handlers as in bash."""
        from opsgate.classify.powershell._cmdexe import cmd_args, powershell_args
        from opsgate.classify.powershell._wintools import WINDOWS

        if name in t.SHELLS:
            powershell_args(self, [w.value for w in words], text_, name)
            return
        if name == "cmd":
            cmd_args(self, [w.value for w in words], text_)
            return
        special = WINDOWS.get(name)
        if special is not None:
            special(self, words, text_)
            return
        from opsgate.classify.families import handler_for

        try:
            handler = handler_for(name)
        except Exception as exc:  # a broken family table must fail closed
            self.out.append(unknown(text_, f"command rules unavailable ({type(exc).__name__})"))
            return
        cmd = Command(
            name=name,
            args=tuple(Arg(w.value, w.static) for w in words),
            text=text_,
            env={},
            cwd=self.cwd,
        )
        from opsgate.classify import _guard_reach
        from opsgate.classify._guard import command_findings
        from opsgate.classify.families.secrets import reveals

        self.out.extend(reveals(cmd, self.ctx))
        self.out.extend(command_findings(cmd, self.ctx))
        self.out.extend(_guard_reach.command_findings(cmd, self.ctx))
        if handler is None:
            return
        try:
            self.out.extend(handler(cmd, self.ctx))
        except Exception as exc:  # a handler bug must fail closed, not crash the hook
            self.out.append(unknown(text_, f"the {name} rules failed ({type(exc).__name__})"))

    def run_script(self, raw: str, text_: str) -> None:
        path = raw.strip("'\"")
        body = self.ctx.read_text(path, self.cwd)
        if body is not None:
            self.out.extend(self.nested(body, "script"))
            return
        resolved = self.paths.resolve(PsArg(path))
        if resolved is None or not self.paths.inside(resolved, self.paths.project):
            self.out.append(
                unknown(text_, "runs a script outside the project that opsgate cannot read")
            )

    def _redirect(self, node: Any) -> None:
        from opsgate.classify.powershell._values import arg_value

        op = first(node, "file_redirection_operator")
        target = first(node, "redirected_file_name")
        if op is None or target is None or not target.named_children:
            return
        arg = arg_value(target.named_children[-1], self.vars)
        self.add(self.paths.write(arg), f"{text(op)} {arg.value}", arg.value)
        from opsgate.classify._autorun_ps import planted_ps_redirect

        self.out.extend(planted_ps_redirect(self, node, arg, text(op)))

    # ----------------------------------------------------------------- secrets

    def _env_var(self, node: Any) -> None:
        source = text(node)
        name = source.lstrip("$").strip("{}")
        if not name.lower().startswith("env:"):
            return
        var = name[4:]
        if not t.SECRET_ENV_NAME.search(var) or not self.shown(node):
            return
        self.out.append(secret(source, f"outputs the value of the secret variable {var}"))

    def shown(self, node: Any) -> bool:
        """Whether an expression's value reaches the agent's output."""
        parent = node.parent
        while parent is not None:
            kind = parent.type
            if kind == "command":
                call = parse_call(parent, self.vars, self.aliases)
                return call is not None and call.name in t.OUTPUT_CMDLETS
            if kind in ("assignment_expression", "argument_list"):
                return False
            if kind == "member_access" and text(parent).lower().endswith(".length"):
                return False
            if kind == "comparison_expression":
                op = first(parent, "comparison_operator")
                if op is not None and _BOOL_OPS.match(text(op).strip()):
                    return False
            if (
                kind == "pipeline"
                and parent.parent is not None
                and (parent.parent.type in _CONDITIONS)
            ):
                return False
            if kind in ("statement_list", "program"):
                return True
            parent = parent.parent
        return True

    def generic_finding(
        self, call: PsCall, effect: Effect, impact: Impact, cat: str, why: str
    ) -> None:
        target_arg = call.value("computername", "cn", "resourcegroupname", "name")
        target = target_arg.value if target_arg is not None else None
        found = finding(cat, impact, effect, call.text, why, target)
        if target is not None and call.value("computername", "cn") is not None:
            env = self.ctx.environment_of(target)
            if env is not None:
                found = with_env(found, env)
        self.out.append(found)


def _neighbours(node: Any) -> tuple[Any, list[Any]]:
    """The pipeline element feeding ``node`` and the ones after it."""
    parent = node.parent
    if parent is None or parent.type != "pipeline_chain":
        return None, []
    elements = [c for c in parent.named_children if c.type != "comment"]
    index = next(i for i, c in enumerate(elements) if c == node)
    return (elements[index - 1] if index else None), elements[index + 1 :]
