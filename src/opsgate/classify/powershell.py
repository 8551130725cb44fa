"""PowerShell classification on a real grammar (tree-sitter-powershell).

Only what would execute is judged: commands in pipelines and statement lists,
script blocks, ``$(...)`` inside double-quoted strings, and payloads handed to
``Invoke-Expression``, ``powershell -Command``/``-EncodedCommand``, ``cmd /c`` and
``Start-Process``.  Strings, comments and here-strings are data.  Cmdlets are judged
by approved-verb tables with noun overrides (see ``_powershell_tables``); native
programs go to the same family handlers as in bash.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsgate.classify import _powershell_tables as t
from opsgate.classify._command import Arg, Command, Context
from opsgate.classify._powershell_tables import _words
from opsgate.models import Effect, Finding, Impact

__all__ = ["classify_powershell", "native_command"]

MAX_DEPTH = 5
MAX_SCRIPT = 100_000
MAX_NODES = 60_000
DEFAULT_PROJECT = "C:\\Users\\dev\\source\\project"
_EVIDENCE = 200

_PARSER: Any = None


def _parser() -> Any:
    """The tree-sitter parser, built on first use.

    The ``tree_sitter_powershell`` package's ``__init__`` imports
    ``importlib.resources`` (for query files we never use), which costs several
    milliseconds on every hook start.  Loading only the compiled ``_binding``
    extension through its spec skips that import.
    """
    global _PARSER
    if _PARSER is None:
        from tree_sitter import Language, Parser

        spec = importlib.util.find_spec("tree_sitter_powershell")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("tree_sitter_powershell is not installed")
        folder = Path(next(iter(spec.submodule_search_locations)))
        binary = next(iter(sorted(folder.glob("_binding*"))))
        bspec = importlib.util.spec_from_file_location("tree_sitter_powershell._binding", binary)
        if bspec is None or bspec.loader is None:
            raise ImportError(f"cannot load {binary}")
        module = importlib.util.module_from_spec(bspec)
        bspec.loader.exec_module(module)
        _PARSER = Parser(Language(module.language()))
    return _PARSER


def _finding(
    category: str,
    impact: Impact,
    effect: Effect,
    evidence: str,
    reason: str,
    target: str | None = None,
) -> Finding:
    text = " ".join(evidence.split())
    if len(text) > _EVIDENCE:
        text = text[: _EVIDENCE - 1] + "…"
    return Finding(category, impact, effect, text, reason, target)


def _unknown(evidence: str, reason: str, category: str = "powershell.unknown") -> Finding:
    return _finding(category, Impact.CAUTION, Effect.UNKNOWN, evidence, reason)


# --------------------------------------------------------------------------- recovery

# The grammar rejects two ordinary argument-mode forms: a bareword that starts
# with a variable and continues as a path (``$env:TEMP\x``) and a comma list with
# or without spaces (``.\bin, .\obj``).  Both mean the same as a double-quoted word
# and a list of quoted words, so on a parse error we retry with that spelling.
_VAR_PATH = re.compile(r"(?<![\w\"'`$])(\$(?:\{[^}]*\}|[\w:]+)[\\/][^\s,;|)}\"'`]*)")
_BARE = r"[^\s,;|(){}\[\]'\"`$@=]+"
_BARE_LIST = re.compile(rf"(?<=[\s,])({_BARE}(?:[ \t]*,[ \t]*{_BARE})+)(?=[\s;|)]|$)")


def _quote_list(match: re.Match[str]) -> str:
    return ",".join(f"'{item.strip()}'" for item in match.group(1).split(","))


def _recover(script: str) -> str:
    out: list[str] = []
    for code, chunk in _split_quoted(script):
        if code:
            chunk = _BARE_LIST.sub(_quote_list, _VAR_PATH.sub(r'"\1"', chunk))
        out.append(chunk)
    return "".join(out)


def _split_quoted(script: str) -> Iterator[tuple[bool, str]]:
    """Yield (is_code, text) chunks, strings and comments being not code."""
    i, start, n = 0, 0, len(script)
    while i < n:
        ch = script[i]
        end = -1
        if ch == "'" or ch == '"':
            end = i + 1
            while end < n and script[end] != ch:
                end += 2 if script[end] == "`" else 1
            end += 1
        elif ch == "#":
            end = script.find("\n", i)
            end = n if end < 0 else end
        elif script.startswith("<#", i):
            end = script.find("#>", i)
            end = n if end < 0 else end + 2
        if end >= 0:
            yield True, script[start:i]
            yield False, script[i:end]
            start = i = end
        else:
            i += 1
    yield True, script[start:]


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class PsArg:
    value: str
    static: bool = True
    kind: str = "word"  # word, string, variable, expression, scriptblock


@dataclass(frozen=True, slots=True)
class _Param:
    name: str  # lower-case, without the dash
    value: PsArg | None
    colon: bool = False
    values: tuple[PsArg, ...] = ()  # every value when ``value`` is a list


@dataclass
class PsCall:
    name: str  # canonical, lower-case (aliases resolved)
    raw: str  # the command name as written
    text: str
    node: Any
    params: list[_Param] = field(default_factory=list)
    positionals: list[PsArg] = field(default_factory=list)
    invoked: str | None = None  # "&" or "." when called through an operator

    def param(self, *names: str, min_len: int = 1) -> _Param | None:
        for p in self.params:
            for n in names:
                if p.name == n or (len(p.name) >= min_len and n.startswith(p.name)):
                    return p
        return None

    def switch(self, *names: str, min_len: int = 1) -> bool:
        p = self.param(*names, min_len=min_len)
        if p is None:
            return False
        return not (p.colon and p.value is not None and p.value.value.lower() == "$false")

    def values(self, *names: str, min_len: int = 2) -> list[PsArg]:
        found: list[PsArg] = []
        for p in self.params:
            if p.value is not None and any(
                p.name == n or (len(p.name) >= min_len and n.startswith(p.name)) for n in names
            ):
                found.extend(p.values if p.values else _split_list(p.value))
        return found

    def value(self, *names: str, position: int | None = None) -> PsArg | None:
        vals = self.values(*names)
        if vals:
            return vals[0]
        if position is not None and position < len(self.positionals):
            return self.positionals[position]
        return None


def _split_list(arg: PsArg) -> list[PsArg]:
    if arg.kind == "word" and "," in arg.value:
        return [PsArg(v, arg.static) for v in arg.value.split(",") if v]
    return [arg]


def _text(node: Any) -> str:
    return bytes(node.text).decode("utf-8", "replace")


class _Vars:
    """Automatic and environment variables whose value is known on a dev machine."""

    def __init__(self, home: str, cwd: str) -> None:
        local = home + "\\AppData\\Local"
        self.known: dict[str, str] = {
            "home": home,
            "env:userprofile": home,
            "env:homepath": home[2:] if home[1:2] == ":" else home,
            "env:homedrive": "C:",
            "env:systemdrive": "C:",
            "env:temp": local + "\\Temp",
            "env:tmp": local + "\\Temp",
            "env:localappdata": local,
            "env:appdata": home + "\\AppData\\Roaming",
            "env:systemroot": "C:\\Windows",
            "env:windir": "C:\\Windows",
            "env:programfiles": "C:\\Program Files",
            "env:programfiles(x86)": "C:\\Program Files (x86)",
            "env:programdata": "C:\\ProgramData",
            "env:public": "C:\\Users\\Public",
            "pshome": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0",
            "profile": home + "\\Documents\\PowerShell\\Microsoft.PowerShell_profile.ps1",
            "pwd": cwd,
            "psscriptroot": cwd,
            "null": "$null",
            "true": "$true",
            "false": "$false",
        }

    def get(self, source: str) -> str | None:
        name = source.lstrip("$@").strip("{}").lower()
        for prefix in ("global:", "script:", "local:"):
            name = name.removeprefix(prefix)
        return self.known.get(name)


def _args(node: Any, vars_: _Vars) -> list[PsArg]:
    """One argument node as a list: ``a, 'b', $c`` is three values."""
    if node.type == "array_literal_expression" and node.named_child_count > 1:
        return [v for child in node.named_children for v in _split_list(_arg(child, vars_))]
    return _split_list(_arg(node, vars_))


def _arg(node: Any, vars_: _Vars) -> PsArg:
    """The value of one argument node, expanded as far as known."""
    while (
        node.type in ("array_literal_expression", "unary_expression", "path_command_name")
        and node.named_child_count == 1
    ):
        node = node.named_children[0]
    text = _text(node)
    kind = node.type
    if kind in ("command_name", "path_command_name") and node.named_child_count == 0:
        return PsArg(text, "$" not in text)
    if kind == "generic_token":
        return PsArg(text.replace("`", ""), "$" not in text)
    if kind == "string_literal" and node.named_child_count:
        node = node.named_children[0]
        kind = node.type
    if kind in ("verbatim_string_characters", "verbatim_here_string_characters"):
        body = text[2:-2] if text.startswith("@") else text[1:-1]
        return PsArg(body.replace("''", "'"), True, "string")
    if kind in ("expandable_string_literal", "expandable_here_string_literal"):
        return _expandable(node, text, vars_)
    if kind == "variable":
        value = vars_.get(text)
        return PsArg(value if value is not None else text, value is not None, "variable")
    if kind == "script_block_expression":
        return PsArg(text, False, "scriptblock")
    if kind in ("integer_literal", "real_literal"):
        return PsArg(text, True)
    return PsArg(text, False, "expression")


def _expandable(node: Any, text: str, vars_: _Vars) -> PsArg:
    inner_start = node.start_byte + (2 if text.startswith("@") else 1)
    raw = bytes(node.text)
    out, pos, static = [], inner_start, True
    for child in node.named_children:
        out.append(raw[pos - node.start_byte : child.start_byte - node.start_byte].decode())
        value = vars_.get(_text(child)) if child.type == "variable" else None
        static = static and value is not None
        out.append(value if value is not None else _text(child))
        pos = child.end_byte
    end = len(raw) - (2 if text.startswith("@") else 1)
    out.append(raw[pos - node.start_byte : end].decode())
    return PsArg("".join(out).replace('""', '"').replace("`", ""), static, "string")


def _parse_call(node: Any, vars_: _Vars, aliases: dict[str, str]) -> PsCall | None:
    name_node = _first(node, "command_name")
    invoked = None
    raw: str
    if name_node is None:
        expr = _first(node, "command_name_expr")
        op = _first(node, "command_invokation_operator")
        if expr is None:
            return None
        invoked = _text(op) if op is not None else "&"
        value = _arg(expr.named_children[0] if expr.named_child_count else expr, vars_)
        raw = value.value if value.static else "$" + value.value.lstrip("$")
        if not value.static:
            raw = "\0" + value.value  # a name known only at run time
    else:
        raw = _text(name_node)
        op = _first(node, "command_invokation_operator")
        invoked = _text(op) if op is not None else None
    call = PsCall(_canonical(raw, aliases), raw, _text(node), node, invoked=invoked)
    elements = _first(node, "command_elements")
    if elements is not None:
        _bind(call, elements, vars_)
    return call


def _first(node: Any, kind: str) -> Any:
    for child in node.children:
        if child.type == kind:
            return child
    return None


def _bind(call: PsCall, elements: Any, vars_: _Vars) -> None:
    pending: _Param | None = None
    children = list(elements.named_children)
    i = 0
    while i < len(children):
        child = children[i]
        i += 1
        if child.type == "command_argument_sep":
            continue
        if child.type == "redirection":
            continue  # judged by the walker, wherever it appears
        if child.type == "command_parameter":
            name = _text(child).split(":", 1)[0].lstrip("-").lower()
            colon_value = [c for c in child.named_children if c.type != "command_argument_sep"]
            if colon_value:
                listed = _args(colon_value[-1], vars_)
                call.params.append(_Param(name, listed[0], True, tuple(listed)))
                pending = None
            elif _text(child).endswith(":") or (i < len(children) and _text(children[i]) == ":"):
                pending = _Param(name, None, True)
            else:
                pending = _Param(name, None)
                call.params.append(pending)
            continue
        values = _args(child, vars_)
        value = values[0] if len(values) == 1 else PsArg(_text(child), False, "list")
        if pending is not None:
            bound = _Param(pending.name, value, pending.colon, tuple(values))
            if pending in call.params:
                call.params[call.params.index(pending)] = bound
            else:
                call.params.append(bound)
            # An unknown parameter may be a switch: its following word stays a
            # positional too, so a path is never hidden behind ``-Foo``.
            consumed = pending.colon or pending.name in t.VALUED_PARAMS
            pending = None
            if consumed:
                continue
        call.positionals.extend(values)


def _canonical(raw: str, aliases: dict[str, str]) -> str:
    name = raw.strip("'\"").replace("/", "\\").rsplit("\\", 1)[-1].lower()
    if "\\" not in raw and "." not in name:
        name = aliases.get(name, t.ALIASES.get(name, name))
    for ext in (".exe", ".com", ".cmd", ".bat"):
        name = name.removesuffix(ext)
    return name


def native_command(call: PsCall, cwd: str | None) -> Command:
    """The bash-side ``Command`` for a native program called from PowerShell."""
    args = tuple(Arg(a.value, a.static) for a in _all_words(call))
    return Command(name=call.name, args=args, text=call.text, env={}, cwd=cwd)


def _all_words(call: PsCall) -> list[PsArg]:
    """Every word after the program name, in source order (parameters included)."""
    words: list[PsArg] = []
    elements = _first(call.node, "command_elements")
    if elements is None:
        return words
    vars_ = _Vars("C:\\Users\\dev", "")
    for child in elements.named_children:
        if child.type in ("command_argument_sep", "redirection"):
            continue
        if child.type == "command_parameter":
            words.append(PsArg(_text(child).split(":", 1)[0]))
            for sub in child.named_children:
                if sub.type != "command_argument_sep":
                    words.append(_arg(sub, vars_))
        else:
            words.extend(_split_list(_arg(child, vars_)))
    return words


# --------------------------------------------------------------------------- classifier


def classify_powershell(
    script: str, ctx: Context, *, cwd: str | None, depth: int = 0
) -> list[Finding]:
    """Classify a PowerShell script; never raises on hostile input."""
    if depth > MAX_DEPTH:
        return [_unknown(script, "nested PowerShell deeper than opsgate follows")]
    if len(script) > MAX_SCRIPT:
        return [_unknown(script[:200], "script too large to classify")]
    try:
        return _Walk(ctx, cwd or DEFAULT_PROJECT, depth).run(script)
    except RecursionError:
        return [_unknown(script[:200], "script nested too deeply to classify")]


def parse(script: str) -> tuple[Any, str]:
    """Parse ``script``, retrying the grammar's known gaps; (tree, source used)."""
    tree = _parser().parse(script.encode("utf-8", "replace"))
    if tree.root_node.has_error:
        fixed = _recover(script)
        if fixed != script:
            retry = _parser().parse(fixed.encode("utf-8", "replace"))
            if not retry.root_node.has_error:
                return retry, fixed
    return tree, script


# --------------------------------------------------------------------------- paths

_DRIVE = re.compile(r"^([a-z]):")
_PSDRIVE = re.compile(r"^([a-z][\w]+):(.*)$")
_SESSION_DRIVES = frozenset({"env", "function", "variable", "alias"})
_REGISTRY = re.compile(r"^(registry::|hk(lm|cu|cr|u|cc):|hkey_)")
_Verdict = tuple[Effect, Impact, str, str]  # effect, impact, category, reason


def _norm(path: str) -> str:
    parts: list[str] = []
    head, rest = (path[:2], path[2:]) if _DRIVE.match(path) else ("", path)
    for part in rest.split("\\"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    prefix = "\\\\" if path.startswith("\\\\") else ("\\" if not head else "")
    return head + ("\\" if head and parts else prefix) + "\\".join(parts)


class _Paths:
    def __init__(self, home: str, project: str) -> None:
        self.home = _norm(home.lower())
        self.project = _norm(project.lower())
        self.temp = self.home + "\\appdata\\local\\temp"

    def resolve(self, arg: PsArg) -> str | None:
        """Absolute, lower-case, normalised; ``reg:``/``session:``/``other:`` for
        non-file providers; None when the path is known only at run time."""
        if not arg.static or not arg.value.strip():
            return None
        low = arg.value.strip().strip("'\"").lower().replace("/", "\\")
        low = re.sub(r"^(microsoft\.powershell\.core\\)?filesystem::", "", low)
        if _REGISTRY.match(low):
            return "reg:" + low
        drive = _PSDRIVE.match(low)
        if drive:
            kind = "session:" if drive.group(1) in _SESSION_DRIVES else "other:"
            return kind + low
        if low == "~" or low.startswith("~\\"):
            low = self.home + low[1:]
        if _DRIVE.match(low):
            low = low[:2] + "\\" + low[2:].lstrip("\\")
        elif not low.startswith("\\\\"):
            low = (self.project[:2] + low) if low.startswith("\\") else self.project + "\\" + low
        return _norm(low)

    def inside(self, path: str, root: str) -> bool:
        return path.startswith(root.rstrip("\\") + "\\")

    def delete(self, arg: PsArg) -> _Verdict:
        path = self.resolve(arg)
        if path is None:
            return (
                Effect.UNKNOWN,
                Impact.CAUTION,
                "filesystem.delete",
                "deletes a path known only at run time",
            )
        if path.startswith("reg:"):
            return Effect.WRITE, Impact.DESTRUCTIVE, "registry.delete", "deletes registry keys"
        if path.startswith("session:"):
            return Effect.LOCAL, Impact.SAFE, "session.change", "changes only this session"
        if path.startswith("other:"):
            return (
                Effect.WRITE,
                Impact.DESTRUCTIVE,
                "system.delete",
                "deletes items from a system provider",
            )
        if path.rsplit("\\", 1)[-1] in ("*", "*.*"):
            path = path.rsplit("\\", 1)[0] or path
        return self._delete_file(path)

    def _delete_file(self, path: str) -> _Verdict:
        bad = Effect.WRITE, Impact.DESTRUCTIVE, "filesystem.delete"
        proj = self.project
        if path == proj:
            return (*bad, "deletes the project directory itself")
        if path == proj + "\\.git" or self.inside(path, proj + "\\.git"):
            return (*bad, "deletes the repository's .git (history and uncommitted state)")
        if self.inside(path, proj) or self.inside(path, self.temp) or self._system_temp(path):
            return (
                Effect.LOCAL,
                Impact.SAFE,
                "filesystem.delete",
                "deletes files inside the workspace",
            )
        if self.inside(proj, path):
            return (*bad, f"deletes {path}, a parent of the project")
        if self.inside(self.home, path) or path == self.home:
            return (*bad, "deletes the user profile")
        if any(path == d or self.inside(path, d) for d in t.SYSTEM_DIRS):
            return (*bad, "deletes system files")
        return (*bad, "deletes files outside the project")

    def _system_temp(self, path: str) -> bool:
        return any(self.inside(path, d) for d in ("c:\\temp", "c:\\tmp", "c:\\windows\\temp"))

    def write(self, arg: PsArg, *, creating: bool = False) -> _Verdict | None:
        """A write to ``arg``; None when it stays in the workspace."""
        if arg.value.lower() == "$null":
            return None
        path = self.resolve(arg)
        if path is None:
            return (
                Effect.UNKNOWN,
                Impact.CAUTION,
                "filesystem.write",
                "writes to a path known only at run time",
            )
        if path.startswith("reg:"):
            return Effect.WRITE, Impact.CAUTION, "registry.write", "changes the registry"
        if path.startswith("session:"):
            return None
        if path.startswith("other:"):
            return Effect.WRITE, Impact.CAUTION, "system.write", "changes a system provider"
        proj = self.project
        git = proj + "\\.git"
        if self.inside(path, git + "\\hooks") or path == git + "\\config":
            return (
                Effect.WRITE,
                Impact.CAUTION,
                "filesystem.write_protected",
                "writes git hooks or config, which run or redirect code",
            )
        if self.inside(path, proj) or self.inside(path, self.temp) or self._system_temp(path):
            return None
        if any(path == d or self.inside(path, d) for d in t.SYSTEM_DIRS):
            return Effect.WRITE, Impact.CAUTION, "filesystem.write_protected", "writes system files"
        if any(path.startswith(self.home + s) for s in t.PROTECTED_WRITE_SUFFIXES):
            return (
                Effect.WRITE,
                Impact.CAUTION,
                "filesystem.write_protected",
                "writes a profile, startup, credential or agent settings file",
            )
        if creating or self.inside(path, self.home + "\\source"):
            return None
        return (
            Effect.WRITE,
            Impact.CAUTION,
            "filesystem.write",
            "overwrites a file outside the project",
        )

    def secret(self, arg: PsArg) -> bool:
        path = self.resolve(arg) or arg.value.lower().replace("/", "\\")
        return bool(t.SECRET_FILE.search(path.removeprefix("session:")))


def _home(ctx: Context, cwd: str) -> str:
    match = re.match(r"^[a-zA-Z]:\\users\\[^\\]+", cwd, re.IGNORECASE)
    if match:
        return match.group(0)
    if ":" in ctx.home or "\\" in ctx.home:
        return ctx.home
    return "C:\\Users\\dev"


# --------------------------------------------------------------------------- walker

_FETCH = re.compile(
    r"(invoke-webrequest|invoke-restmethod|\biwr\b|\birm\b|download(string|data|file)"
    r"|net\.webclient|\bcurl\b|\bwget\b|bitstransfer|https?://|httpclient)",
    re.IGNORECASE,
)
_LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|\[?::1\]?|0\.0\.0\.0)$", re.IGNORECASE)
_BOOL_OPS = re.compile(
    r"^-[ci]?(eq|ne|gt|ge|lt|le|like|notlike|match|notmatch|contains|"
    r"notcontains|in|notin|is|isnot)$",
    re.IGNORECASE,
)
_SHELLS = frozenset({"powershell", "pwsh", "powershell_ise"})
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


class _Walk:
    def __init__(self, ctx: Context, cwd: str, depth: int) -> None:
        self.ctx, self.cwd, self.depth = ctx, cwd, depth
        self.home = _home(ctx, cwd)
        self.vars = _Vars(self.home, cwd)
        self.paths = _Paths(self.home, cwd)
        self.aliases: dict[str, str] = {}
        self.functions: set[str] = set()
        self.skip: set[tuple[int, int]] = set()
        self.out: list[Finding] = []

    def run(self, script: str) -> list[Finding]:
        tree, _source = parse(script)
        root = tree.root_node
        if root.has_error:
            bad = _first_error(root)
            self.out.append(
                _unknown(
                    _text(bad) if bad is not None else script,
                    "PowerShell the parser cannot read; it is not judged as safe",
                    "powershell.parse_error",
                )
            )
        self._walk(root)
        return self.out

    def nested(self, script: str, via: str) -> list[Finding]:
        return classify_powershell(script, self.ctx, cwd=self.cwd, depth=self.depth + 1)

    def add(self, verdict: _Verdict | None, evidence: str, target: str | None = None) -> None:
        if verdict is None:
            return
        effect, impact, category, reason = verdict
        self.out.append(_finding(category, impact, effect, evidence, reason, target))

    def _walk(self, root: Any) -> None:
        stack = [root]
        seen = 0
        while stack:
            node = stack.pop()
            seen += 1
            if seen > MAX_NODES:
                self.out.append(_unknown(_text(root)[:200], "script too large to classify"))
                return
            kind = node.type
            if kind == "comment" or (node.start_byte, node.end_byte) in self.skip:
                continue
            if kind == "command":
                self._command(node)
            elif kind == "invokation_expression":
                self._dotnet(node)
            elif kind == "variable":
                self._env_var(node)
            elif kind == "redirection":
                self._redirect(node)
            elif kind == "function_statement":
                name = _first(node, "function_name")
                if name is not None:
                    self.functions.add(_text(name).lower())
            stack.extend(reversed(node.named_children))

    # ----------------------------------------------------------------- commands

    def _command(self, node: Any) -> None:
        call = _parse_call(node, self.vars, self.aliases)
        if call is None:
            self.out.append(_unknown(_text(node), "a command opsgate cannot read"))
            return
        if call.raw.startswith("\0"):
            if not call.raw[1:].startswith("{"):
                self.out.append(
                    _unknown(
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
        handler = _CMDLETS.get(name)
        if handler is not None:
            handler(self, call, up, down)
        elif name in _SHELLS:
            self._shell([a.value for a in _all_words(call)], call.text, name)
        elif name == "cmd":
            self._cmd_args([a.value for a in _all_words(call)], call.text)
        elif name.endswith(".ps1"):
            self._script(call.raw, call.text)
        elif is_cmdlet:
            self._generic(call, verb, noun)
        else:
            self._native(call.name, _all_words(call), call.text)

    def _native(self, name: str, words: list[PsArg], text: str) -> None:
        if name in _SHELLS:
            self._shell([w.value for w in words], text, name)
            return
        if name == "cmd":
            self._cmd_args([w.value for w in words], text)
            return
        special = _WINDOWS.get(name)
        if special is not None:
            special(self, [w.value for w in words], text)
            return
        from opsgate.classify.families import handler_for

        try:
            handler = handler_for(name)
        except Exception as exc:  # a broken family table must fail closed
            self.out.append(_unknown(text, f"command rules unavailable ({type(exc).__name__})"))
            return
        if handler is None:
            return
        cmd = Command(
            name=name,
            args=tuple(Arg(w.value, w.static) for w in words),
            text=text,
            env={},
            cwd=self.cwd,
        )
        try:
            self.out.extend(handler(cmd, self.ctx))
        except Exception as exc:  # a handler bug must fail closed, not crash the hook
            self.out.append(_unknown(text, f"the {name} rules failed ({type(exc).__name__})"))

    def _generic(self, call: PsCall, verb: str, noun: str) -> None:
        effect, impact = t.VERBS[verb]
        if verb == "format" and noun in t.DESTRUCTIVE_NOUNS:
            effect, impact = Effect.WRITE, Impact.DESTRUCTIVE
        if effect is Effect.READ or noun in t.LOCAL_NOUNS:
            return
        target_arg = call.value("computername", "cn", "resourcegroupname", "name")
        target = target_arg.value if target_arg is not None else None
        category, reason = _describe(verb, noun)
        finding = _finding(category, impact, effect, call.text, reason, target)
        if target is not None and call.value("computername", "cn") is not None:
            env = self.ctx.environment_of(target)
            if env is not None:
                finding = _with_env(finding, env)
        self.out.append(finding)

    def _script(self, raw: str, text: str) -> None:
        path = raw.strip("'\"")
        body = self.ctx.read_text(path, self.cwd)
        if body is not None:
            self.out.extend(self.nested(body, "script"))
            return
        resolved = self.paths.resolve(PsArg(path))
        if resolved is None or not self.paths.inside(resolved, self.paths.project):
            self.out.append(
                _unknown(text, "runs a script outside the project that opsgate cannot read")
            )

    def _shell(self, words: list[str], text: str, name: str) -> None:
        """``powershell``/``pwsh`` with its own command line."""
        i = 0
        while i < len(words):
            word = words[i]
            key = word.lstrip("-/").lower() if word[:1] in "-/" else ""
            if not key and word[:1] in "-/" and word != "-":
                i += 1
                continue
            if key in ("e", "ec") or (len(key) >= 3 and "encodedcommand".startswith(key)):
                self._encoded(words[i + 1] if i + 1 < len(words) else "", text)
                return
            if key == "c" or (len(key) >= 2 and "command".startswith(key)):
                rest = " ".join(words[i + 1 :])
                if rest.strip() in ("", "-"):
                    self.out.append(_unknown(text, "runs PowerShell read from standard input"))
                else:
                    self.out.extend(self.nested(rest, "command"))
                return
            if key == "f" or (len(key) >= 2 and "file".startswith(key)):
                if i + 1 < len(words):
                    self._script(words[i + 1], text)
                return
            if key:
                i += 2 if key in _SHELL_VALUED else 1
                continue
            if name == "pwsh" and word.lower().endswith(".ps1"):
                self._script(word, text)
            else:
                self.out.extend(self.nested(" ".join(words[i:]), "command"))
            return

    def _encoded(self, payload: str, text: str) -> None:
        try:
            raw = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
            script = raw.decode("utf-16-le")
        except (binascii.Error, ValueError):
            self.out.append(
                _unknown(text, "runs an encoded payload that does not decode", "evasion.encoded")
            )
            return
        self.out.append(
            _unknown(text, f"runs an encoded payload: {script[:120]}", "evasion.encoded")
        )
        self.out.extend(self.nested(script, "encoded"))

    def _cmd_args(self, words: list[str], text: str) -> None:
        for i, word in enumerate(words):
            if word.lower() in ("/c", "/k", "/r"):
                self._cmd_line(" ".join(words[i + 1 :]), text)
                return
        if words:
            self.out.append(_unknown(text, "an interactive cmd.exe whose input opsgate cannot see"))

    def _cmd_line(self, line: str, text: str) -> None:
        """A cmd.exe command line: ``&``/``&&``/``||``/``|`` lists of simple commands."""
        if self.depth >= MAX_DEPTH:
            self.out.append(_unknown(text, "nested shells deeper than opsgate follows"))
            return
        for part in _cmd_split(line):
            tokens = [_cmd_expand(tok, self.vars) for tok in _cmd_tokens(part)]
            if not tokens:
                continue
            name = (
                _canonical(tokens[0].value, {})
                if "\\" in tokens[0].value
                else (tokens[0].value.lower().removesuffix(".exe"))
            )
            if name in ("rd", "rmdir", "del", "erase"):
                for tok in tokens[1:]:
                    if not tok.value.startswith("/"):
                        self.add(self.paths.delete(tok), part)
            elif name == "cmd":
                self._cmd_args([tok.value for tok in tokens[1:]], part)
            else:
                self._native(name, tokens[1:], part)

    def _redirect(self, node: Any) -> None:
        op = _first(node, "file_redirection_operator")
        target = _first(node, "redirected_file_name")
        if op is None or target is None or not target.named_children:
            return
        arg = _arg(target.named_children[-1], self.vars)
        self.add(self.paths.write(arg), f"{_text(op)} {arg.value}", arg.value)

    # ----------------------------------------------------------------- secrets

    def _env_var(self, node: Any) -> None:
        text = _text(node)
        name = text.lstrip("$").strip("{}")
        if not name.lower().startswith("env:"):
            return
        var = name[4:]
        if not t.SECRET_ENV_NAME.search(var) or not self._shown(node):
            return
        self.out.append(
            _finding(
                "secrets.read",
                Impact.CAUTION,
                Effect.SECRET,
                text,
                f"outputs the value of the secret variable {var}",
            )
        )

    def _shown(self, node: Any) -> bool:
        """Whether an expression's value reaches the agent's output."""
        parent = node.parent
        while parent is not None:
            kind = parent.type
            if kind == "command":
                call = _parse_call(parent, self.vars, self.aliases)
                return call is not None and call.name in t.OUTPUT_CMDLETS
            if kind in ("assignment_expression", "argument_list"):
                return False
            if kind == "member_access" and _text(parent).lower().endswith(".length"):
                return False
            if kind == "comparison_expression":
                op = _first(parent, "comparison_operator")
                if op is not None and _BOOL_OPS.match(_text(op).strip()):
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

    def _dotnet(self, node: Any) -> None:
        text = _text(node)
        low = re.sub(r"\s+", "", text.lower())
        match = re.match(r"\[(?:system\.)?([\w.]+)\]::(\w+)", low)
        args = _first(node, "argument_list")
        first = _first_arg(args, self.vars) if args is not None else None
        if match is None:
            if ".getnetworkcredential()" in low and "password" in low:
                self.out.append(
                    _finding(
                        "secrets.read",
                        Impact.CAUTION,
                        Effect.SECRET,
                        text,
                        "prints a credential's plain-text password",
                    )
                )
            return
        key = f"{match.group(1)}::{match.group(2)}"
        rule = _DOTNET.get(key)
        if rule is not None:
            rule(self, text, low, first)


def _with_env(finding: Finding, env: tuple[Any, str]) -> Finding:
    return Finding(
        finding.category,
        finding.impact,
        finding.effect,
        finding.evidence,
        finding.reason,
        finding.target,
        env[0],
        env[1],
    )


def _first_error(root: Any) -> Any:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            return node
        if node.has_error:
            stack.extend(reversed(node.children))
    return None


def _first_arg(args: Any, vars_: _Vars) -> PsArg | None:
    stack = [args]
    while stack:
        node = stack.pop()
        if node.type in ("string_literal", "variable", "generic_token", "integer_literal"):
            return _arg(node, vars_)
        stack.extend(reversed(node.named_children))
    return None


def _neighbours(node: Any) -> tuple[Any, list[Any]]:
    """The pipeline element feeding ``node`` and the ones after it."""
    parent = node.parent
    if parent is None or parent.type != "pipeline_chain":
        return None, []
    elements = [c for c in parent.named_children if c.type != "comment"]
    index = next(i for i, c in enumerate(elements) if c == node)
    return (elements[index - 1] if index else None), elements[index + 1 :]


def _describe(verb: str, noun: str) -> tuple[str, str]:
    domain = "system"
    for prefixes, name in _DOMAINS:
        if noun.startswith(prefixes):
            domain = name
            break
    action = {
        "remove": "delete",
        "uninstall": "delete",
        "clear": "wipe",
        "reset": "reset",
        "initialize": "wipe",
        "format": "format",
    }.get(verb, verb)
    if verb in ("stop", "restart", "suspend", "start", "resume") or action != verb:
        return f"{domain}.{action}", f"{verb}s {noun} (a state change: {domain})"
    return f"{domain}.change", f"{verb} {noun}: a state change on the {domain}"


_DOMAINS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("mppreference", "netfirewall", "executionpolicy", "bitlocker", "tpm"), "security"),
    (("az", "aws", "ec2", "s3", "iam", "gce", "gcs", "gcp", "mg", "rds", "lm", "cf"), "cloud"),
    (("ad", "localuser", "localgroup", "mailbox", "msol", "exo", "distributiongroup"), "identity"),
    (("service", "web", "website", "webapppool", "scheduledtask", "cluster"), "service"),
    (("computer", "restartcomputer"), "system"),
    (("disk", "volume", "partition", "physicaldisk", "virtualdisk", "storagepool"), "disk"),
    (("net", "dns", "dhcp", "vpn"), "network"),
    (("sql", "db"), "database"),
    (("vm", "container"), "vm"),
)

_SHELL_VALUED = frozenset(
    _words(
        "executionpolicy ep ex exec windowstyle w win configurationname config outputformat of "
        "o inputformat if i workingdirectory wd psconsolefile version v settingsfile "
        "custompipename"
    )
)


# --------------------------------------------------------------------------- cmdlets

_CmdletRule = Callable[[_Walk, PsCall, Any, list[Any]], None]
_PATH_PARAMS = ("path", "literalpath", "pspath", "lp")


def _targets(call: PsCall, *, skip: int = 0) -> list[PsArg]:
    named = call.values(*_PATH_PARAMS)
    return named if named else call.positionals[skip:]


def _upstream_paths(w: _Walk, up: Any) -> list[PsArg] | None:
    """What a listing upstream in the pipeline yields, as paths; None if unknown."""
    if up is None or up.type != "command":
        return None
    call = _parse_call(up, w.vars, w.aliases)
    if call is None or call.name not in ("get-childitem", "get-item", "resolve-path"):
        return None
    roots = _targets(call) or [PsArg(".")]
    pattern = call.value("filter", "include") or PsArg("*")
    if call.name == "get-item":
        return roots
    return [
        PsArg(r.value.rstrip("\\/") + "\\" + pattern.value, r.static and pattern.static)
        for r in roots
    ]


def _remove_item(w: _Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    targets = _targets(call)
    if not targets:
        piped = _upstream_paths(w, up)
        if piped is None:
            w.out.append(
                _unknown(
                    call.text,
                    "deletes whatever the pipeline yields at run time",
                    "filesystem.delete",
                )
            )
            return
        targets = piped
    pattern = call.value("filter", "include")
    for target in targets:
        if pattern is not None and pattern.value not in ("*", "*.*"):
            target = PsArg(
                target.value.rstrip("\\/") + "\\" + pattern.value, target.static and pattern.static
            )
        w.add(w.paths.delete(target), call.text, target.value)


def _write_path(w: _Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    creating = call.name == "new-item" and not call.switch("force")
    names = ("filepath", "destinationpath", *_PATH_PARAMS)
    targets = call.values(*names) or call.positionals[:1]
    if call.name == "new-item" and call.value("name") is not None and targets:
        targets = [PsArg(targets[0].value + "\\" + call.values("name")[0].value)]
    if not targets and call.name in ("new-item", "set-item", "clear-item"):
        targets = [PsArg(".")]
    for target in targets:
        w.add(w.paths.write(target, creating=creating), call.text, target.value)


def _copy_move(w: _Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    sources = call.values(*_PATH_PARAMS) or call.positionals[:1]
    dest = call.value("destination", "newname") or (
        call.positionals[1] if len(call.positionals) > 1 else None
    )
    if call.name != "copy-item":
        for src in sources:
            verdict = w.paths.delete(src)
            if verdict[0] is not Effect.LOCAL:
                w.add(
                    (
                        verdict[0],
                        verdict[1],
                        "filesystem.move",
                        verdict[3].replace("deletes", "moves away"),
                    ),
                    call.text,
                    src.value,
                )
    if dest is not None:
        if call.name == "rename-item" and sources:
            parent = sources[0].value.replace("/", "\\").rsplit("\\", 1)
            dest = PsArg(
                (parent[0] + "\\" if len(parent) > 1 else "") + dest.value,
                dest.static and sources[0].static,
            )
        w.add(w.paths.write(dest, creating=True), call.text, dest.value)


def _read_file(w: _Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    skip = 1 if call.name == "select-string" and call.value("pattern") is None else 0
    for target in _targets(call, skip=skip):
        resolved = w.paths.resolve(target) or ""
        if resolved.startswith("session:env:"):
            _env_drive(w, call, resolved, down)
        elif w.paths.secret(target):
            w.out.append(
                _finding(
                    "secrets.read",
                    Impact.CAUTION,
                    Effect.SECRET,
                    call.text,
                    f"reads the secret file {target.value}",
                    target.value,
                )
            )


def _listing(w: _Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    for target in _targets(call):
        resolved = w.paths.resolve(target) or ""
        if resolved.startswith("session:env:"):
            _env_drive(w, call, resolved, down)


def _env_drive(w: _Walk, call: PsCall, resolved: str, down: list[Any]) -> None:
    name = resolved.removeprefix("session:env:").strip("\\")
    if name and "*" not in name and not t.SECRET_ENV_NAME.search(name):
        return
    if _names_only(w, down):
        return
    what = "every environment variable" if not name or name == "*" else f"env:{name}"
    w.out.append(
        _finding(
            "secrets.read", Impact.CAUTION, Effect.SECRET, call.text, f"prints the value of {what}"
        )
    )


def _names_only(w: _Walk, down: list[Any]) -> bool:
    """Whether the rest of the pipeline keeps only names (no values) of its input."""
    for node in down:
        if node.type != "command":
            return False
        call = _parse_call(node, w.vars, w.aliases)
        if call is None:
            return False
        if call.name in ("where-object", "sort-object"):
            continue
        if call.name in ("measure-object", "out-null"):
            return True
        if call.name in ("select-object", "format-table", "format-list", "format-wide"):
            props = call.values("property", "expandproperty") or call.positionals
            words = {p.value.lower() for p in props}
            return bool(words) and words <= t.NAMES_ONLY_PROPERTIES
        if call.name == "foreach-object":
            body = " ".join(p.value for p in call.positionals).lower()
            return bool(re.fullmatch(r"\{\s*\$_\.(name|key)\s*\}", body))
        return False
    return False


def _iex(w: _Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    payload = call.value("command", position=0)
    source_text = call.text
    if payload is None and up is not None:
        inner = _unwrap(up)
        if inner.type == "command":
            upcall = _parse_call(inner, w.vars, w.aliases)
            if upcall is not None and upcall.name == "get-content":
                files = _targets(upcall)
                body = w.ctx.read_text(files[0].value, w.cwd) if files else None
                if body is not None:
                    w.out.extend(w.nested(body, "iex"))
                    return
        payload = _arg(inner, w.vars) if inner.type != "command" else PsArg(_text(inner), False)
    if payload is not None and payload.static and payload.kind != "expression":
        w.out.extend(w.nested(payload.value, "iex"))
        return
    _dynamic_code(w, payload.value if payload is not None else "", source_text)


def _dynamic_code(w: _Walk, code: str, evidence: str) -> None:
    if _FETCH.search(code):
        w.out.append(
            _finding(
                "network.fetch_exec",
                Impact.CAUTION,
                Effect.UNKNOWN,
                evidence,
                "runs a script downloaded from the network",
            )
        )
        return
    blob = re.search(r"frombase64string\(\s*['\"]([A-Za-z0-9+/=]+)['\"]", code, re.IGNORECASE)
    if blob is not None:
        try:
            raw = base64.b64decode(blob.group(1), validate=True)
            decoded = raw.decode("utf-16-le" if "unicode" in code.lower() else "utf-8")
        except (binascii.Error, ValueError):
            decoded = ""
        w.out.append(_unknown(evidence, "runs a decoded payload", "evasion.encoded"))
        if decoded:
            w.out.extend(w.nested(decoded, "iex"))
        return
    w.out.append(
        _unknown(evidence, "runs code that exists only at run time", "powershell.dynamic_code")
    )


def _unwrap(node: Any) -> Any:
    while node.named_child_count == 1 and node.type not in (
        "command",
        "string_literal",
        "variable",
        "script_block_expression",
    ):
        node = node.named_children[0]
    return node


def _invoke_command(w: _Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    script = call.value("filepath")
    if script is not None:
        w._script(script.value, call.text)
    block = call.value("scriptblock", position=0)
    if block is not None and block.kind != "scriptblock" and script is None:
        _dynamic_code(w, block.value, call.text)
        return
    computer = call.value("computername", "cn")
    if computer is None or block is None:
        return  # a local script block is walked where it stands
    for node in _descendants(call.node, "script_block_expression"):
        w.skip.add((node.start_byte, node.end_byte))
        env = w.ctx.environment_of(computer.value)
        for finding in w.nested(_text(node)[1:-1], "remote"):
            moved = Finding(
                finding.category,
                finding.impact,
                finding.effect,
                finding.evidence,
                f"{finding.reason} on {computer.value}",
                finding.target or computer.value,
                finding.environment,
                finding.env_source,
            )
            w.out.append(_with_env(moved, env) if env is not None else moved)


def _descendants(node: Any, kind: str) -> Iterator[Any]:
    stack = list(node.named_children)
    while stack:
        child = stack.pop()
        if child.type == kind:
            yield child
        else:
            stack.extend(child.named_children)


def _start_process(w: _Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    program = call.value("filepath", position=0)
    if program is None or not program.static:
        w.out.append(_unknown(call.text, "starts a program known only at run time"))
        return
    arglist = call.values("argumentlist", "args") or call.positionals[1:]
    words: list[PsArg] = []
    for arg in arglist:
        words.extend(_cmd_expand(tok, w.vars) for tok in _cmd_tokens(arg.value))
    name = _canonical(program.value, w.aliases)
    if name.endswith(".ps1"):
        w._script(program.value, call.text)
    elif name.startswith(("http:", "https:")) or "." in name:
        return  # a URL or a document opens in its default application
    else:
        w._native(name, words, call.text)


def _http(w: _Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    url = call.value("uri", position=0)
    out = call.value("outfile")
    if out is not None:
        w.add(w.paths.write(out, creating=True), call.text, out.value)
    host = ""
    if url is not None:
        match = re.match(r"^(?:\w+://)?(?:[^@/]*@)?(\[[^\]]*\]|[^/:?#]+)", url.value)
        host = match.group(1).lower() if match else ""
    if host in t.METADATA_HOSTS:
        w.out.append(
            _finding(
                "secrets.read",
                Impact.CAUTION,
                Effect.SECRET,
                call.text,
                "queries the cloud metadata endpoint (instance credentials)",
                host,
            )
        )
        return
    method_arg = call.value("method", "custommethod") or call.value("x", "request")
    method = method_arg.value.upper() if method_arg is not None else None
    if method is None and (call.param("body", "infile", "form", min_len=2) or call.param("d")):
        method = "POST"
    if method in (None, "GET", "HEAD", "OPTIONS", "TRACE") or _LOOPBACK.match(host):
        return
    w.out.append(
        _finding(
            "network.write",
            Impact.CAUTION,
            Effect.WRITE,
            call.text,
            f"sends an HTTP {method} to {host or 'a remote host'}",
            host or None,
        )
    )


def _stop_process(w: _Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    names = call.values("name", "processname")
    ids = call.values("id") or ([] if names else call.positionals)
    if not names and not ids and up is not None and up.type == "command":
        upcall = _parse_call(up, w.vars, w.aliases)
        if upcall is not None and upcall.name == "get-process":
            names = upcall.values("name") or upcall.positionals
    _kill(
        w,
        [n.value for n in names] + [i.value for i in ids],
        all(a.static for a in names + ids) and bool(names or ids),
        call.text,
    )


def _kill(w: _Walk, targets: list[str], known: bool, text: str) -> None:
    if not known:
        w.out.append(_unknown(text, "stops processes chosen at run time", "process.kill"))
        return
    for target in targets:
        name = target.lower().removesuffix(".exe")
        if name in t.SYSTEM_PROCESSES or name in ("0", "4"):
            w.out.append(
                _finding(
                    "process.kill",
                    Impact.CAUTION,
                    Effect.WRITE,
                    text,
                    f"stops the system process {target}",
                    target,
                )
            )


def _exec_policy(w: _Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    scope = call.value("scope")
    # -Scope Process lasts only for this PowerShell session: the agent's own workspace.
    if scope is not None and scope.value.lower() == "process":
        return
    w.out.append(
        _finding(
            "security.weaken",
            Impact.CAUTION,
            Effect.WRITE,
            call.text,
            "changes the machine's script execution policy",
        )
    )


def _secret_cmdlet(w: _Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    rule = _SECRET_CMDLETS[call.name]
    if rule and not call.switch(rule, min_len=2):
        return
    w.out.append(
        _finding(
            "secrets.read",
            Impact.CAUTION,
            Effect.SECRET,
            call.text,
            f"{call.raw} returns a secret value",
        )
    )


# cmdlet → the switch that makes it disclose a value ("" = always).
_SECRET_CMDLETS: dict[str, str] = {
    "get-secret": "",
    "convertfrom-securestring": "asplaintext",
    "get-azkeyvaultsecret": "asplaintext",
    "get-azstorageaccountkey": "",
    "get-azaccesstoken": "",
    "get-azcosmosdbaccountkey": "",
    "get-azrediscachekey": "",
    "get-azwebapppublishingprofile": "",
    "get-secsecretvalue": "",
    "get-ssmparameter": "withdecryption",
    "get-ssmparametervalue": "withdecryption",
    "get-storedcredential": "",
    "get-awscredential": "",
}


def _sqlcmd(w: _Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    server = call.value("serverinstance", "hostname")
    target = server.value if server is not None else None
    query = call.value("query", position=0)
    infile = call.value("inputfile")
    if infile is not None:
        query = PsArg(w.ctx.read_text(infile.value, w.cwd) or "", False)
        query = PsArg(query.value, bool(query.value))
    if query is None or not query.static:
        w.out.append(_unknown(call.text, "runs SQL opsgate cannot see", "database.unknown"))
        return
    env = w.ctx.environment_of(target) if target else None
    for verdict in _sql(query.value):
        finding = _finding(verdict[2], verdict[1], verdict[0], call.text, verdict[3], target)
        w.out.append(_with_env(finding, env) if env is not None else finding)


def _sql(query: str) -> list[_Verdict]:
    import sqlglot
    from sqlglot import exp

    try:
        statements = sqlglot.parse(query, read="tsql")
    except sqlglot.errors.SqlglotError:
        return [(Effect.UNKNOWN, Impact.CAUTION, "database.unknown", "SQL opsgate cannot parse")]
    out: list[_Verdict] = []
    for stmt in statements:
        if stmt is None or isinstance(stmt, exp.Query | exp.Show | exp.Describe):
            continue
        if isinstance(stmt, exp.Drop | exp.TruncateTable):
            out.append(
                (
                    Effect.WRITE,
                    Impact.DESTRUCTIVE,
                    "database.drop",
                    "drops or truncates database objects",
                )
            )
        elif isinstance(stmt, exp.Delete | exp.Update) and stmt.args.get("where") is None:
            out.append(
                (
                    Effect.WRITE,
                    Impact.DESTRUCTIVE,
                    "database.write",
                    "changes every row of a table (no WHERE)",
                )
            )
        elif isinstance(stmt, exp.Command):
            out.append(
                (
                    Effect.UNKNOWN,
                    Impact.CAUTION,
                    "database.unknown",
                    "a SQL statement opsgate cannot type",
                )
            )
        else:
            out.append((Effect.WRITE, Impact.CAUTION, "database.write", "writes to the database"))
    return out


def _alias(w: _Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    name = call.value("name", position=0)
    value = call.value("value", position=1)
    if name is not None and value is not None:
        w.aliases[name.value.lower()] = _canonical(value.value, w.aliases)


def _nothing(w: _Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    return None


_CMDLETS: dict[str, _CmdletRule] = {
    "remove-item": _remove_item,
    **dict.fromkeys(("get-content", "select-string", "format-hex", "import-csv"), _read_file),
    **dict.fromkeys(("get-childitem", "get-item", "get-itemproperty"), _listing),
    **dict.fromkeys(
        (
            "set-content",
            "add-content",
            "clear-content",
            "out-file",
            "set-item",
            "clear-item",
            "new-item",
            "export-csv",
            "export-clixml",
            "tee-object",
            "compress-archive",
            "expand-archive",
            "set-acl",
            "new-itemproperty",
            "set-itemproperty",
            "remove-itemproperty",
            "clear-itemproperty",
            "rename-itemproperty",
        ),
        _write_path,
    ),
    **dict.fromkeys(("copy-item", "move-item", "rename-item"), _copy_move),
    "invoke-expression": _iex,
    "invoke-command": _invoke_command,
    "start-process": _start_process,
    **dict.fromkeys(("invoke-webrequest", "invoke-restmethod"), _http),
    "stop-process": _stop_process,
    "set-executionpolicy": _exec_policy,
    **dict.fromkeys(_SECRET_CMDLETS, _secret_cmdlet),
    "invoke-sqlcmd": _sqlcmd,
    **dict.fromkeys(("set-alias", "new-alias"), _alias),
    **dict.fromkeys(
        (
            "start-job",
            "start-threadjob",
            "foreach-object",
            "where-object",
            "invoke-item",
            "import-module",
            "new-pssession",
        ),
        _nothing,
    ),
}


# ------------------------------------------------------------------- cmd.exe and Windows tools


def _cmd_split(line: str) -> list[str]:
    parts, buf, quoted, i = [], [], False, 0
    while i < len(line):
        ch = line[i]
        if ch == '"':
            quoted = not quoted
        elif ch == "^" and not quoted and i + 1 < len(line):
            buf.append(line[i : i + 2])
            i += 2
            continue
        elif ch in "&|" and not quoted:
            parts.append("".join(buf))
            buf = []
            i += 2 if line[i : i + 2] in ("&&", "||") else 1
            continue
        buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


def _cmd_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    buf: list[str] = []
    quoted = started = False
    for ch in text:
        if ch == '"':
            quoted, started = not quoted, True
        elif ch in " \t" and not quoted:
            if started:
                tokens.append("".join(buf))
            buf, started = [], False
        else:
            buf.append(ch)
            started = True
    if started:
        tokens.append("".join(buf))
    return [tok.replace("^", "") for tok in tokens]


def _cmd_expand(token: str, vars_: _Vars) -> PsArg:
    static = True

    def sub(match: re.Match[str]) -> str:
        nonlocal static
        value = vars_.get("env:" + match.group(1))
        static = static and value is not None
        return value if value is not None else match.group(0)

    return PsArg(re.sub(r"%([\w()]+)%", sub, token), static)


_WinRule = Callable[[_Walk, list[str], str], None]


def _win(category: str, impact: Impact, reason: str) -> _WinRule:
    def rule(w: _Walk, words: list[str], text: str) -> None:
        w.out.append(_finding(category, impact, Effect.WRITE, text, reason))

    return rule


def _sub(table: dict[str, tuple[str, Impact, str] | None], default: str | None) -> _WinRule:
    """A tool judged by its first word (``reg delete``, ``sc stop``)."""

    def rule(w: _Walk, words: list[str], text: str) -> None:
        first = next((x.lower().lstrip("/-") for x in words if x), "")
        verdict = table.get(first, table.get(default or ""))
        if verdict is not None:
            w.out.append(_finding(verdict[0], verdict[1], Effect.WRITE, text, verdict[2]))

    return rule


def _taskkill(w: _Walk, words: list[str], text: str) -> None:
    targets = [words[i + 1] for i, x in enumerate(words[:-1]) if x.lower() in ("/im", "/pid")]
    _kill(w, targets, bool(targets), text)


def _shutdown(w: _Walk, words: list[str], text: str) -> None:
    if any(x.lower() in ("/a", "-a", "/?") for x in words):
        return
    w.out.append(
        _finding(
            "system.power", Impact.CAUTION, Effect.WRITE, text, "shuts down or restarts the machine"
        )
    )


def _netsh(w: _Walk, words: list[str], text: str) -> None:
    low = [x.lower() for x in words]
    if not any(x in ("set", "add", "delete", "reset") for x in low):
        return
    category = "firewall.change" if any("firewall" in x for x in low) else "network.change"
    w.out.append(
        _finding(
            category, Impact.CAUTION, Effect.WRITE, text, "changes network or firewall settings"
        )
    )


def _robocopy(w: _Walk, words: list[str], text: str) -> None:
    paths = [x for x in words if not x.startswith("/")]
    if any(x.lower() in ("/mir", "/purge") for x in words) and len(paths) > 1:
        w.add(w.paths.delete(PsArg(paths[1] + "\\*")), text, paths[1])
    elif len(paths) > 1:
        w.add(w.paths.write(PsArg(paths[1]), creating=True), text, paths[1])


def _acl(w: _Walk, words: list[str], text: str) -> None:
    for word in words:
        if not word.startswith("/"):
            w.add(w.paths.write(PsArg(word), creating=True), text, word)
            return


_SVC_W = ("service.change", Impact.CAUTION, "changes a Windows service")
_WINDOWS: dict[str, _WinRule] = {
    "format": _win("disk.format", Impact.DESTRUCTIVE, "formats a volume"),
    "diskpart": _win("disk.format", Impact.DESTRUCTIVE, "partitions or wipes disks"),
    "cipher": _sub({"w": ("disk.wipe", Impact.DESTRUCTIVE, "wipes disk space")}, None),
    "reg": _sub(
        {
            "delete": ("registry.delete", Impact.DESTRUCTIVE, "deletes registry keys"),
            **dict.fromkeys(
                ("add", "import", "copy", "restore", "load", "unload"),
                ("registry.write", Impact.CAUTION, "changes the registry"),
            ),
        },
        None,
    ),
    "sc": _sub(
        {
            "delete": ("service.delete", Impact.DESTRUCTIVE, "deletes a Windows service"),
            **dict.fromkeys(
                (
                    "stop",
                    "start",
                    "pause",
                    "continue",
                    "config",
                    "failure",
                    "create",
                    "control",
                    "sdset",
                ),
                _SVC_W,
            ),
        },
        None,
    ),
    "net": _sub(
        dict.fromkeys(
            (
                "stop",
                "start",
                "pause",
                "continue",
                "user",
                "localgroup",
                "group",
                "share",
                "accounts",
            ),
            _SVC_W,
        ),
        None,
    ),
    "taskkill": _taskkill,
    "shutdown": _shutdown,
    "vssadmin": _sub(
        {
            x: ("backup.delete", Impact.DESTRUCTIVE, "deletes or resizes shadow copies")
            for x in ("delete", "resize")
        },
        None,
    ),
    "wbadmin": _sub({"delete": ("backup.delete", Impact.DESTRUCTIVE, "deletes backups")}, None),
    "wevtutil": _sub(
        {
            x: ("logs.delete", Impact.DESTRUCTIVE, "clears an event log")
            for x in ("cl", "clear-log")
        },
        None,
    ),
    "bcdedit": _sub(
        {
            x: ("system.boot", Impact.CAUTION, "changes boot configuration")
            for x in ("set", "delete", "deletevalue", "create", "import")
        },
        None,
    ),
    "netsh": _netsh,
    "schtasks": _sub(
        {
            x: ("service.change", Impact.CAUTION, "changes scheduled tasks")
            for x in ("create", "delete", "change", "run", "end")
        },
        None,
    ),
    "robocopy": _robocopy,
    "icacls": _acl,
    "takeown": _acl,
}


# --------------------------------------------------------------------------- .NET calls

_DotnetRule = Callable[[_Walk, str, str, PsArg | None], None]


def _net_env_get(w: _Walk, text: str, low: str, first: PsArg | None) -> None:
    if first is not None and first.static and not t.SECRET_ENV_NAME.search(first.value):
        return
    w.out.append(
        _finding(
            "secrets.read",
            Impact.CAUTION,
            Effect.SECRET,
            text,
            "reads the value of a secret environment variable",
        )
    )


def _net_env_dump(w: _Walk, text: str, low: str, first: PsArg | None) -> None:
    w.out.append(
        _finding(
            "secrets.read",
            Impact.CAUTION,
            Effect.SECRET,
            text,
            "returns every environment variable with its value",
        )
    )


def _net_env_set(w: _Walk, text: str, low: str, first: PsArg | None) -> None:
    if "machine" in low:
        w.out.append(
            _finding(
                "system.change",
                Impact.CAUTION,
                Effect.WRITE,
                text,
                "changes a machine-wide environment variable",
            )
        )


def _net_delete(w: _Walk, text: str, low: str, first: PsArg | None) -> None:
    w.add(w.paths.delete(first or PsArg("", False)), text)


def _net_write(w: _Walk, text: str, low: str, first: PsArg | None) -> None:
    w.add(w.paths.write(first or PsArg("", False)), text)


def _net_read(w: _Walk, text: str, low: str, first: PsArg | None) -> None:
    if first is not None and w.paths.secret(first):
        w.out.append(
            _finding(
                "secrets.read",
                Impact.CAUTION,
                Effect.SECRET,
                text,
                f"reads the secret file {first.value}",
            )
        )


def _net_plain(w: _Walk, text: str, low: str, first: PsArg | None) -> None:
    w.out.append(
        _finding(
            "secrets.read",
            Impact.CAUTION,
            Effect.SECRET,
            text,
            "decrypts a SecureString to plain text",
        )
    )


def _net_scriptblock(w: _Walk, text: str, low: str, first: PsArg | None) -> None:
    if first is not None and first.static:
        w.out.extend(w.nested(first.value, "scriptblock"))
    else:
        _dynamic_code(w, text, text)


def _net_start(w: _Walk, text: str, low: str, first: PsArg | None) -> None:
    w.out.append(_unknown(text, "starts a process through .NET"))


_DOTNET: dict[str, _DotnetRule] = {
    "environment::getenvironmentvariable": _net_env_get,
    "environment::getenvironmentvariables": _net_env_dump,
    "environment::setenvironmentvariable": _net_env_set,
    **dict.fromkeys(("io.file::delete", "io.directory::delete"), _net_delete),
    **dict.fromkeys(
        (
            "io.file::writealltext",
            "io.file::writeallbytes",
            "io.file::writealllines",
            "io.file::appendalltext",
            "io.file::copy",
            "io.file::move",
        ),
        _net_write,
    ),
    **dict.fromkeys(
        (
            "io.file::readalltext",
            "io.file::readalllines",
            "io.file::readallbytes",
            "io.file::opentext",
            "io.file::openread",
        ),
        _net_read,
    ),
    **dict.fromkeys(
        (
            "runtime.interopservices.marshal::ptrtostringauto",
            "runtime.interopservices.marshal::ptrtostringbstr",
            "runtime.interopservices.marshal::ptrtostringuni",
            "net.networkcredential::new",
        ),
        _net_plain,
    ),
    "management.automation.scriptblock::create": _net_scriptblock,
    "scriptblock::create": _net_scriptblock,
    "diagnostics.process::start": _net_start,
}
