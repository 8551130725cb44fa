"""What a Go or Rust program the project runs (``go run``, ``cargo run``) would do.

Read narrowly, like Perl or Ruby (``_interp``), statement by statement:

* a process started with a literal argument list (``exec.Command("kubectl", "delete",
  …)``, ``Command::new("rm").args([…])``) is judged as that command line; ``sh -c``
  as its script; one built at run time is ``unknown``;
* a deletion (``os.RemoveAll``, ``std::fs::remove_dir_all``) and a write
  (``os.WriteFile``, ``fs::write``, ``OpenOptions … .open``) of a path the code
  spells out is judged as ``rm -rf PATH`` / a copy onto ``PATH``, so ``.git/hooks``,
  the agent's settings and rc files are what they are; a path under the user's home
  (``os.UserHomeDir()``, ``os.Getenv("HOME")``, ``dirs::home_dir()``,
  ``env::var("HOME")``) is that path below ``~``; a path built at run time from
  anything else is ``unknown``.

Everything else a program does — printing, serving HTTP, computing — is its own
business and passes: a web server or a CLI that prints is allowed.  Values are
followed through simple bindings (``home, _ := os.UserHomeDir()``, ``let dir =
home.join(".config")``); control flow is not.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, replace

from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

__all__ = ["analyse_program"]

Shell = Callable[[str], list[Finding]]


@dataclass(frozen=True, slots=True)
class _Lang:
    spawn: re.Pattern[str]  # a process started: the call's opening parenthesis ends it
    delete: re.Pattern[str]
    writes: tuple[tuple[re.Pattern[str], int], ...]  # a write call, and its path argument
    reads: re.Pattern[str]  # a file read whole or opened for reading: its path is first
    home: re.Pattern[str]  # the user's home directory, in this language's spellings
    temp: re.Pattern[str]  # a fresh temporary directory or file (``os.MkdirTemp``)
    bind: re.Pattern[str]  # ``name := …`` / ``let name = …``: group 1 the name
    newline_ends: bool  # Go ends statements at a line's end


_GO = _Lang(
    spawn=re.compile(r"\bexec\.Command(Context)?\s*\(|\b(syscall\.Exec|os\.StartProcess)\s*\("),
    delete=re.compile(r"\bos\.(RemoveAll|Remove)\s*\("),
    writes=(
        (re.compile(r"\b(?:os|ioutil)\.WriteFile\s*\("), 0),
        (re.compile(r"\bos\.(?:Create|Truncate|Chmod|Chown|Mkdir|MkdirAll)\s*\("), 0),
        (re.compile(r"\bos\.OpenFile\s*\((?=[^;]*O_(?:WRONLY|RDWR|APPEND|CREATE|TRUNC))"), 0),
        (re.compile(r"\bos\.(?:Rename|Symlink|Link)\s*\("), 1),
    ),
    reads=re.compile(r"\b(?:os|ioutil)\.(?:ReadFile|Open)\s*\("),
    home=re.compile(
        r'os\.UserHomeDir\s*\(|os\.Getenv\s*\(\s*"(?:HOME|USERPROFILE)"|'
        r"user\.Current\s*\(|homedir\.(?:Dir|Expand)\s*\("
    ),
    temp=re.compile(
        r"\b(?:os\.(?:MkdirTemp|CreateTemp|TempDir)|ioutil\.(?:TempDir|TempFile)|"
        r"\w+\.TempDir)\s*\("
    ),
    bind=re.compile(r"^\s*(?:var\s+)?([A-Za-z_]\w*)(?:\s*,\s*[A-Za-z_]\w*)*\s*:?=(?!=)"),
    newline_ends=True,
)
_RUST = _Lang(
    spawn=re.compile(r"\bCommand::new\s*\("),
    delete=re.compile(r"\b(remove_dir_all|remove_file|remove_dir)\s*\("),
    writes=(
        (re.compile(r"\bfs::(?:write|create_dir|create_dir_all|set_permissions)\s*\("), 0),
        (re.compile(r"\bFile::create(?:_new)?\s*\("), 0),
        (re.compile(r"\bfs::(?:copy|rename|hard_link)\s*\(|\bsymlink(?:_file|_dir)?\s*\("), 1),
        (
            re.compile(
                r"OpenOptions\b[^;]*\.(?:write|append|create|truncate)\s*\(\s*true[^;]*\.open\s*\("
            ),
            0,
        ),
    ),
    reads=re.compile(r"\bfs::(?:read_to_string|read)\s*\(|\bFile::open\s*\("),
    home=re.compile(r'env::var(?:_os)?\s*\(\s*"(?:HOME|USERPROFILE)"|\bhome_dir\s*\('),
    temp=re.compile(r"\benv::temp_dir\s*\(|\btempfile::|\b(?:tempdir|TempDir::new|tempfile)\s*\("),
    bind=re.compile(r"\blet\s+(?:mut\s+)?([A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)"),
    newline_ends=False,
)
LANGS = {"go": _GO, "rust": _RUST}

# Words that build a path without adding to it: functions, methods, conversions.
_PATH_WORDS = frozenset({
    "filepath", "Join", "path", "Clean", "Abs", "Path", "PathBuf", "new", "from", "join",
    "format", "String", "to_string", "to_owned", "into", "as_ref", "as_str", "as_path",
    "unwrap", "expect", "unwrap_or_default", "display", "push_str", "clone", "fmt",
    "Sprintf", "_", "err", "nil", "ok", "std", "fs", "os", "env", "dirs", "home",
})  # fmt: skip
# Messages and contexts of error handling: text, not a part of the path.
_MESSAGES = re.compile(
    r"""\.(?:expect|context|with_context|wrap_err)\s*\(\s*"(?:[^"\\]|\\.)*"\s*\)"""
)
_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"|`([^`]*)`')
_TEMP = "scratch"  # stands for a name made at run time under /tmp
_WORD = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True, slots=True)
class _Path:
    """A path as far as the code spells it: below home, or literal."""

    home: bool
    value: str  # below home: the part after ``~/`` ("" for home itself)

    def shell(self) -> str:
        if self.home:
            return "~/" + shlex.quote(self.value) if self.value else "~"
        return shlex.quote(self.value)


def analyse_program(lang: str, code: str, shell: Shell) -> list[Finding]:
    """Findings for one source file of a program (``lang``: "go" or "rust")."""
    spec = LANGS[lang]
    bound: dict[str, _Path | None] = {}
    findings: list[Finding] = []
    for statement in _statements(_without_comments(code), spec.newline_ends):
        bind = spec.bind.search(statement)
        found = _effects(spec, lang, statement, bound, shell)
        findings += [replace(f, evidence=statement.strip()[:200]) for f in found]
        if bind is not None:
            bound[bind.group(1)] = _path(spec, statement[bind.end() :], bound)
    return findings


def _effects(
    spec: _Lang, lang: str, statement: str, bound: dict[str, _Path | None], shell: Shell
) -> list[Finding]:
    out: list[Finding] = []
    spawn = spec.spawn.search(statement)
    if spawn is not None:
        out += _spawn(lang, statement, spawn, shell)
    delete = spec.delete.search(statement)
    if delete is not None:
        target = _path(spec, _argument(statement, delete.end(), 0), bound)
        out += _judge_path(target, "rm -rf", lang, "deletes", statement, shell)
    for pattern, index in spec.writes:
        write = pattern.search(statement)
        if write is not None:
            target = _path(spec, _argument(statement, write.end(), index), bound)
            out += _judge_path(target, "cp -r build/out", lang, "writes", statement, shell)
            break
    read = spec.reads.search(statement)
    if read is not None:
        # A read is judged as ``cat`` of the path when the code spells it out (a
        # credentials file is a secret read, whatever is done with the bytes); a path
        # known only at run time is the program's own business.
        source = _path(spec, _argument(statement, read.end(), 0), bound)
        if source is not None and (source.home or source.value.startswith("/")):
            out += shell(f"cat {source.shell()}")
    return out


def _judge_path(
    target: _Path | None, twin: str, lang: str, verb: str, statement: str, shell: Shell
) -> list[Finding]:
    if target is None:
        return [unknown(f"{lang} code {verb} a path built at run time", statement.strip()[:200])]
    if target.home and not target.value and verb == "writes":
        return [unknown(f"{lang} code {verb} into the home directory", statement.strip()[:200])]
    return shell(f"{twin} {target.shell()}")


def _spawn(lang: str, statement: str, call: re.Match[str], shell: Shell) -> list[Finding]:
    if lang == "rust":
        from opsgate.classify._run_rust import _command

        return _command(statement, shell)
    dynamic = unknown("go code runs a command built at run time", statement.strip()[:200])
    if call.group(2):  # syscall.Exec, os.StartProcess: argv in a slice
        return [dynamic]
    args = _arguments(statement, call.end())
    if call.group(1):  # CommandContext(ctx, name, args…)
        args = args[1:]
    words = [_literal(a) for a in args]
    if not words or any(w is None for w in words):
        return [dynamic]
    argv = [w for w in words if w is not None]
    if len(argv) >= 3 and argv[0].rsplit("/", 1)[-1] in ("sh", "bash", "zsh") and argv[1] == "-c":
        return shell(argv[2])
    return shell(" ".join(shlex.quote(w) for w in argv))


def _path(spec: _Lang, expr: str, bound: dict[str, _Path | None]) -> _Path | None:
    """The path ``expr`` builds, when it is made of literals, home and bound names."""
    expr = _MESSAGES.sub("", expr.strip())
    if not expr:
        return None
    if spec.temp.search(expr):  # the system's temporary directory: the program's own scratch
        return _Path(False, "/tmp/" + _TEMP)
    home = spec.home.search(expr) is not None
    expr = spec.home.sub(" (", expr)  # ``os.Getenv("HOME")``: its literal is no path part
    parts: list[str] = []
    for name in _WORD.findall(_STRING.sub(" ", expr)):
        if name in bound:
            value = bound[name]
            if value is None:
                return None
            home = home or value.home
            parts.append(value.value)
        elif name not in _PATH_WORDS and not _is_call_name(expr, name):
            return None  # a parameter or another value known only at run time
    for literal in _STRING.finditer(expr):
        text = literal.group(1) if literal.group(1) is not None else literal.group(2)
        for name in re.findall(r"\{(\w*)\}", text):
            value = bound.get(name)
            if value is None:
                return None
            home = home or value.home
        text = re.sub(r"\{\w*\}", "", text)
        if text.startswith("~"):
            home, text = True, text[1:]
        parts.append(text)
    if not home and not parts:
        return None
    joined = "/".join(p.strip("/") for p in parts if p.strip("/"))
    if not home and parts and parts[0].startswith("/"):
        joined = "/" + joined
    return _Path(home, joined)


def _is_call_name(expr: str, name: str) -> bool:
    """``name`` is a function or method called here (``Join(``, ``.unwrap(``)."""
    word = re.escape(name)
    return re.search(rf"\b{word}\s*(?:!\s*)?\(|::\s*{word}\b", expr) is not None


def _literal(arg: str) -> str | None:
    match = _STRING.fullmatch(arg.strip())
    if match is None:
        return None
    if match.group(2) is not None:
        return match.group(2)
    try:
        return match.group(1).encode().decode("unicode_escape")
    except UnicodeDecodeError:
        return None


def _argument(statement: str, start: int, index: int) -> str:
    args = _arguments(statement, start)
    return args[index] if index < len(args) else ""


def _arguments(statement: str, start: int) -> list[str]:
    """The top-level arguments of the call whose ``(`` ends at ``start``."""
    depth, current, out = 0, [], []
    i = start
    while i < len(statement):
        char = statement[i]
        if char in '"`':
            end = _string_end(statement, i)
            current.append(statement[i:end])
            i = end
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif char == "," and depth == 0:
            out.append("".join(current))
            current = []
            i += 1
            continue
        current.append(char)
        i += 1
    tail = "".join(current)
    return [*out, tail] if tail.strip() or out else out


def _string_end(text: str, start: int) -> int:
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == "\\" and quote == '"':
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    return len(text)


def _without_comments(code: str) -> str:
    """``//`` and ``/* */`` comments blanked, string literals kept."""
    out: list[str] = []
    i = 0
    while i < len(code):
        char = code[i]
        if char in '"`':
            end = _string_end(code, i)
            out.append(code[i:end])
            i = end
        elif code.startswith("//", i):
            end = code.find("\n", i)
            i = len(code) if end < 0 else end
        elif code.startswith("/*", i):
            end = code.find("*/", i + 2)
            i = len(code) if end < 0 else end + 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _statements(code: str, newline_ends: bool) -> list[str]:
    """The code between ``;``, ``{`` and ``}`` (and Go's line ends) outside strings and
    parentheses, so a call over several lines stays one statement."""
    out: list[str] = []
    depth, start, i = 0, 0, 0
    while i < len(code):
        char = code[i]
        if char in '"`':
            i = _string_end(code, i)
            continue
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and (char in ";{}" or (newline_ends and char == "\n")):
            out.append(code[start:i])
            start = i + 1
        i += 1
    out.append(code[start:])
    return [s for s in out if s.strip()]
