"""Execution reads what it runs: the files a command executes are judged by their contents.

``./fix.sh``, ``python3 fix.py``, ``make clean``, ``npm test``: the command's words
say little; the file says what will happen.  Such a file is read through the
classifier's one reader (the session's ``read_file``, behind ``Context.read_text``;
a file written earlier in the command comes from the walker's notes), classified
with the same classifier as a command (the shell walker for shell, ``_interp`` for
Python, Node, Ruby …), and its findings join the command's, so the strictest thing
it would run decides.  Reading is bounded: a per-file cap (the reader's), a total and a count per
classification, a nesting depth, and cycle detection; each file is read once.

A file that is not there is not judged: the command fails and nothing runs, unless
an earlier step of the same command may have created it (``_run_makers``): then it
is ``unknown``.
Programs named by path are placed by ``_run_path`` (installed tools are judged by
their name, never read).

What is ``unknown`` (never allowed): a file that is there but cannot be read (too
large, unreadable, refused), a binary, a script for an interpreter opsgate does not
model, a file on another machine, nesting deeper than the limit, and files beyond
the total budget.

Findings that come from a file's contents never quote it: the evidence names the
file and line, and the reason says what kind of step was found there.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar, cast

from opsgate.classify._command import Arg, Command
from opsgate.classify._dotenv import as_script, is_dotenv
from opsgate.classify._guard import script_findings
from opsgate.classify._shell_nodes import canonical_name, unknown
from opsgate.classify._shell_state import MAX_DEPTH, FileNote
from opsgate.classify.paths import is_secret_path
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

T = TypeVar("T")

__all__ = [
    "MAX_FILES",
    "MAX_NESTING",
    "MAX_TOTAL",
    "Loaded",
    "bad_file",
    "cannot",
    "charge",
    "judge",
    "judge_code",
    "language_of",
    "load",
    "nearest",
    "parse_once",
    "relabel",
    "script_language",
]

MAX_NESTING = 6  # a file that runs a file that runs … (make → script → python)
MAX_TOTAL = 256 * 1024  # characters read from files for one classification
MAX_FILES = 32  # distinct files read for one classification
_MARK = "file "  # evidence of a finding found in a file: "file Makefile:3"


@dataclass(frozen=True, slots=True)
class Loaded:
    """A file a command would run: its text, or why there is none.

    ``state``: ``text``; ``missing`` (nothing there: the command fails);
    ``written`` (written earlier in this command, contents unknown); ``unreadable``
    (there, but the reader returns nothing); ``remote``; ``budget``."""

    path: str
    shown: str  # the path as the command wrote it, for reasons
    state: str
    text: str | None = None
    untrusted: bool = False


# --- reading --------------------------------------------------------------------------


def load(w: Walker, path: str, cwd: str | None) -> Loaded:
    """The file at ``path``: a file written earlier in this command, else the disk."""
    if w.remote is not None:
        return Loaded(path, path, "remote")
    full = w.workspace.expand(path, cwd or w.scope.cwd)
    if full is None:
        return Loaded(path, path, "unreadable")
    return _load_full(w, full, _display(w, path, full), hops=0)


def nearest(w: Walker, directory: str, names: tuple[str, ...]) -> Loaded | None:
    """The first of ``names`` in ``directory`` or the nearest directory above it (up to
    twelve levels), as a runner looks for its manifest; None when there is none."""
    for _ in range(12):
        for name in names:
            loaded = load(w, posixpath.join(directory, name), None)
            if loaded.state != "missing":
                return loaded
        parent = posixpath.dirname(directory)
        if parent == directory:
            return None
        directory = parent
    return None


def _display(w: Walker, path: str, full: str) -> str:
    """How reasons name a file: as the command wrote it, or relative to the project."""
    project = w.workspace.project
    if path.startswith("/") and project and full.startswith(project.rstrip("/") + "/"):
        return full[len(project.rstrip("/")) + 1 :]
    return path


def _load_full(w: Walker, full: str, shown: str, hops: int) -> Loaded:
    notes = w.scope.files
    note = notes.get(full)
    if note is not None:
        return _from_note(w, note, full, shown, hops)
    if notes and hops < 8:
        parent = posixpath.dirname(full)
        while parent not in ("/", "") and posixpath.dirname(parent) != parent:  # ``//``
            copied = notes.get(parent)
            if copied is not None and copied.tree and copied.origin is None and copied.untrusted:
                return Loaded(full, shown, "written", None, True)  # extracted from a download
            if copied is not None and copied.tree and copied.origin is not None:
                moved = copied.origin + full[len(parent) :]
                return replace(_load_full(w, moved, shown, hops + 1), path=full)
            parent = posixpath.dirname(parent)
    return _load_disk(w, full, shown)


def _load_disk(w: Walker, full: str, shown: str) -> Loaded:
    """The file on disk, read once per classification.  Whether anything is there is
    asked first (a stat, not a read), so probing for files that are not there (a
    makefile's names, a module's candidates) spends none of the read budget."""
    runs = w.session.runs
    if full in runs.missing:
        return Loaded(full, shown, "missing")
    if full not in runs.texts:
        if w.session.file_kind(full) in (None, "dir"):
            runs.missing.add(full)
            return Loaded(full, shown, "missing")
        if len(runs.texts) >= MAX_FILES:
            return Loaded(full, shown, "budget")
        if is_dotenv(full):  # never read: plain assignments are judged by their names
            names = w.session.files.dotenv_names(full)
            if names is not None:
                return Loaded(full, shown, "text", as_script(names))
        text = w.session.read_file(full)
        w.session.budget.parsed(len(text or ""))  # reading is work: deterministic, counted
        runs.texts[full] = text
        runs.total += len(text or "")
    text = runs.texts[full]
    if text is None:
        return Loaded(full, shown, "unreadable")
    if runs.total > MAX_TOTAL:
        return Loaded(full, shown, "budget")
    return Loaded(full, shown, "text", text)


def _from_note(w: Walker, note: FileNote, full: str, shown: str, hops: int) -> Loaded:
    if note.origin is not None and hops < 8:
        origin = _load_full(w, note.origin, shown, hops + 1)
        return replace(origin, path=full, untrusted=origin.untrusted or note.untrusted)
    if note.text is None or note.origin is not None:
        return Loaded(full, shown, "written", None, note.untrusted)
    if note.appends_to_disk:
        disk = _load_disk(w, full, shown)
        if disk.state == "missing":
            return Loaded(full, shown, "text", note.text, note.untrusted)
        if disk.text is None:
            return replace(disk, untrusted=note.untrusted)
        return Loaded(full, shown, "text", disk.text + note.text, note.untrusted)
    return Loaded(full, shown, "text", note.text, note.untrusted)


def charge(w: Walker) -> None:
    """One step of work between steps that do not walk a script (expanding a
    makefile's variables, planning its rules); overrun raises (→ deny)."""
    w.session.budget.tick()


# Parsed project files (Makefiles, package.json, justfiles …) by their exact text: the
# parse of the same text is the same, across classifications (the resident service).
_PARSED: dict[tuple[str, str], object] = {}
_PARSED_MAX = 64


def parse_once(kind: str, text: str, parse: Callable[[str], T]) -> T:
    """``parse(text)``, remembered by kind and text; callers must not mutate it."""
    key = (kind, text)
    if key in _PARSED:
        return cast(T, _PARSED[key])
    value = parse(text)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.pop(next(iter(_PARSED)))
    _PARSED[key] = value
    return value


def toml_or_none(text: str) -> object:
    """A TOML document (a manifest, a tool's configuration), or None when it is not
    one; for ``parse_once("toml", text, toml_or_none)``."""
    import tomllib

    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        return None


# --- languages ------------------------------------------------------------------------


def language_of(program: str) -> str | None:
    """The language an interpreter named ``program`` runs, as the analysers name it."""
    from opsgate.classify.families._shells_run import _language

    if program in ("pwsh", "powershell"):
        return "powershell"
    return _language(program)


def script_language(text: str) -> str | None:
    """The language of a script run by path: its shebang, else the shell (the kernel
    refuses a file without one, and the shell then runs it as a shell script)."""
    if not text.startswith("#!"):
        return "shell"
    words = text[2:].split("\n", 1)[0].split()
    if not words:
        return "shell"
    program = canonical_name(words[0])
    rest = words[1:]
    if program == "env":
        while rest and (rest[0].startswith("-") or "=" in rest[0]):
            rest = rest[2:] if rest[0] in ("-u", "--unset", "-C", "--chdir") else rest[1:]
        if not rest:
            return None
        program, rest = canonical_name(rest[0]), rest[1:]
    launched = _LAUNCHERS.get(program)
    if launched is not None:  # ``#!/usr/bin/env -S uv run --script``, ``-S npx tsx``
        words = [w for w in rest if not w.startswith("-") and w not in ("run", "exec", "x")]
        return launched if launched != "?" else (language_of(words[0]) if words else None)
    return language_of(program)


# Launchers in shebang lines: the language they run ("?": the program named next).
_LAUNCHERS = {"uv": "python", "pipx": "python", "poetry": "python", "pdm": "python",
              "npx": "?", "bunx": "?", "pnpx": "?"}  # fmt: skip


# --- judging --------------------------------------------------------------------------


def judge(
    w: Walker,
    loaded: Loaded,
    lang: str | None,
    *,
    where: str,
    cwd: str | None,
    args: tuple[Arg, ...] = (),
    sourced: bool = False,
    lenient: bool = False,
) -> list[Finding]:
    """Findings for running ``loaded`` as ``lang`` (None: not modelled), labelled
    ``where`` ("script ./fix.sh", "Makefile target clean")."""
    if _runs_credentials(loaded.path):
        # An interpreter prints the line it cannot run: `bash ~/.git-credentials`
        # shows the token as "command not found" (there or not, like `cat`).
        reason = f"runs {loaded.shown}, which holds credentials: what it cannot run is printed"
        return [Finding("secrets.read", Impact.CAUTION, Effect.SECRET, where[:200], reason)]
    if loaded.state == "missing":
        if any(c in loaded.shown for c in "*?["):
            return [_opaque(loaded, where, "names files matched only at run time")]
        made_by = w.session.runs.maker  # ``tar xzf t.tgz && ./t/install.sh``
        if made_by and not _in_tool_dir(loaded.path):
            return [_opaque(loaded, where, f"is not there yet: {made_by[:80]}, run before it "
                            "in this command, may create it")]  # fmt: skip
        return []
    found = _network(loaded, where)
    if loaded.text is None:
        if loaded.untrusted or (lenient and loaded.state in ("unreadable", "budget")):
            return found
        return [*found, cannot(loaded, where)]
    if "\x00" in loaded.text:
        return [*found, _opaque(loaded, where, "is a binary opsgate cannot read")]
    if lang is None:
        return [*found, _opaque(loaded, where, "runs in an interpreter opsgate does not model")]
    code = Code(loaded.path, loaded.shown, loaded.text, lang)
    inner = judge_code(w, code, where=where, cwd=cwd, args=args, sourced=sourced)
    if lenient or _framework_entrypoint(loaded.path, loaded.text):
        inner = [f for f in inner if f.category.split(".", 1)[0] != "unknown"]
    return [*found, *inner]


# A framework's own command-line entry point, as its generator writes it: it boots the
# framework and hands the words to it (``bin/rails test``, ``php artisan migrate``),
# whose commands are judged by their names (the families).  Read as usual, and judged
# only by the concrete steps in it, like ``gradlew``; one that is not the generated
# file (no signature) is judged in full.
_ENTRYPOINTS: dict[str, tuple[str, ...]] = {
    "rails": ('require "rails/commands"', "require 'rails/commands'", "rails/commands"),
    "rake": ('require "rake"', "require 'rake'", "Rake.application.run"),
    "artisan": ("LARAVEL_START", "->handleCommand(", "Console\\Kernel"),
    "console": ("Symfony\\Component\\Console", "FrameworkBundle"),
    "manage.py": ("execute_from_command_line",),
}


def _framework_entrypoint(path: str, text: str) -> bool:
    signatures = _ENTRYPOINTS.get(posixpath.basename(path))
    return signatures is not None and len(text) < 4096 and any(s in text for s in signatures)


def _in_tool_dir(path: str) -> bool:
    """A virtualenv's ``bin/activate``, ``node_modules/.bin/x``: made by an installer,
    and judged by name when run (``_run_path``)."""
    from opsgate.classify._run_path import _TOOL_DIRS

    return _TOOL_DIRS.search(path) is not None


def _runs_credentials(path: str) -> bool:
    """A credentials file run as a program; not a dotenv file, whose ``KEY=value``
    lines a shell sources without printing them."""
    name = posixpath.basename(path)
    dotenv = name == ".envrc" or name.startswith(".env") or name.endswith(".env")
    return not dotenv and is_secret_path(path)


@dataclass(frozen=True, slots=True)
class Code:
    """Text to judge and where it came from: a whole file, or a piece of one (a recipe,
    a package.json script) whose ``key`` tells it apart for cycle detection."""

    path: str
    shown: str
    text: str
    lang: str
    key: str = ""
    first_line: int = 1


def judge_code(
    w: Walker,
    code: Code,
    *,
    where: str,
    cwd: str | None,
    args: tuple[Arg, ...] = (),
    sourced: bool = False,
) -> list[Finding]:
    """Classify ``code`` once per (file, key) on the current path; relabel its findings.
    The same code run again in the same way (``npm run a`` calling ``b`` twice) is
    judged once, unless this command has written files it might read."""
    runs = w.session.runs
    key = f"{code.path}#{code.key}"
    if key in runs.stack:
        return []  # already being judged further up: its findings are counted there
    if len(runs.stack) >= MAX_NESTING or w.depth + 1 > MAX_DEPTH:
        return [_opaque_code(code, where, f"runs files nested deeper than {MAX_NESTING} levels")]
    again = None
    if not sourced and not w.scope.files:
        again = (key, code.text, cwd, tuple(a.value for a in args), w.depth, where, runs.maker)
        if again in runs.judged:
            return list(runs.judged[again])
    runs.stack.append(key)
    try:
        inner = _ANALYSERS.get(code.lang, _not_modelled)(w, code, _Job(cwd, args, sourced))
        if code.lang in _INTERPRETED:  # shells, make and PowerShell are walked command by command
            inner += script_findings(code.text, code.lang)
    finally:
        runs.stack.pop()
    found = relabel(inner, code, where)
    if again is not None:
        runs.judged[again] = list(found)
    return found


@dataclass(frozen=True, slots=True)
class _Job:
    cwd: str | None
    args: tuple[Arg, ...]
    sourced: bool


def _shell(w: Walker, code: Code, job: _Job) -> list[Finding]:
    """A shell script: sourced, it shares the caller's variables; executed, it is a new
    process that sees only its arguments and the environment (unknown here)."""
    from opsgate.classify.shell import Scope, Walker

    if job.sourced:  # the caller's own shell: its functions, variables and cwd change
        saved = dict(w.scope.positional)
        if job.args:
            w.scope.positional = _positional(job.args, w.scope.positional.get("0", ""))
        child = Walker(w.session, w.scope, depth=w.depth + 1, remote=None)
        try:
            child.run(code.text)
        finally:
            w.scope.positional = saved
        return child.findings
    scope = Scope(job.cwd, files=w.scope.files)
    scope.positional = _positional(job.args, code.shown)
    child = Walker(w.session, scope, depth=w.depth + 1, remote=None)
    child.run(code.text)
    return child.findings


def _positional(args: tuple[Arg, ...], zero: str) -> dict[str, str]:
    """``$0``, ``$1`` … and ``"$@"`` of a script; arguments built at run time stay
    unknown (then so are all of them: ``"$@"`` and how many there are)."""
    known = {"0": zero}
    if all(a.static for a in args):
        known.update({str(i + 1): a.value for i, a in enumerate(args)})
        known["@"] = " ".join(shlex.quote(a.value) for a in args)
    return known


def _python(w: Walker, code: Code, job: _Job) -> list[Finding]:
    from opsgate.classify._interp_python import analyse_python
    from opsgate.classify._run_argv import bind_python_argv
    from opsgate.classify._run_imports import python_imports
    from opsgate.classify.families._shells_run import _delete_fn

    probe = Command("python", (), code.shown, cwd=job.cwd)
    text = bind_python_argv(code.text, code.shown, job.args)
    found = analyse_python(text, w, _shell_fn(w, code, job), _delete_fn(w, probe), file=code.path)
    return found + python_imports(w, code, job.cwd)


def _script(w: Walker, code: Code, job: _Job) -> list[Finding]:
    from opsgate.classify import _run_imports
    from opsgate.classify._interp import analyse_script

    text, writes = code.text, list[Finding]()
    if code.lang == "node":
        from opsgate.classify._run_argv import bind_node_argv
        from opsgate.classify._run_node_writes import project_writes

        code = replace(code, text=bind_node_argv(code.text, code.shown, job.args))
        text, writes = project_writes(w, code, job.cwd)  # judged by the path they name
        from opsgate.classify._run_node_spawns import project_spawns

        base = job.cwd or w.scope.cwd or posixpath.dirname(code.path)
        text, spawned = project_spawns(text, code.path, base, _shell_fn(w, code, job))
        writes += spawned  # judged as the command lines they run
    elif code.lang == "ruby":  # its ``require_relative "lit"`` files are judged below
        from opsgate.classify._run_ruby_spawns import project_spawns as ruby_spawns

        text = _run_imports.without_local_requires(text)
        text, writes = ruby_spawns(text, code.path, _shell_fn(w, code, job))
    found = writes + analyse_script(code.lang, text, w, _shell_fn(w, code, job), printed=False)
    if code.lang == "node":
        found += _run_imports.node_imports(w, code, job.cwd)
    elif code.lang == "ruby":
        found += _run_imports.ruby_imports(w, code, job.cwd)
    return found


def _powershell(w: Walker, code: Code, job: _Job) -> list[Finding]:
    from opsgate.classify.powershell import classify_powershell

    return classify_powershell(code.text, w, cwd=job.cwd, depth=1)


def _makefile(w: Walker, code: Code, job: _Job) -> list[Finding]:
    from opsgate.classify._run_make import run_makefile_text

    return run_makefile_text(w, code, job.cwd, [a.value for a in job.args if a.static])


def _rust(w: Walker, code: Code, job: _Job) -> list[Finding]:
    from opsgate.classify._run_rust import analyse_rust

    return analyse_rust(code.text, w, _shell_fn(w, code, job), job.cwd)


def _program(w: Walker, code: Code, job: _Job) -> list[Finding]:
    """A Go or Rust source file of a program the project runs (``_run_compiled``)."""
    from opsgate.classify._compiled_effects import analyse_program
    from opsgate.classify._run_argv import bind_go_flags

    lang = code.lang.split("-", 1)[0]
    text = bind_go_flags(code.text, job.args) if lang == "go" else code.text
    return analyse_program(lang, text, _shell_fn(w, code, job))


def _not_modelled(w: Walker, code: Code, job: _Job) -> list[Finding]:
    return [unknown(f"runs {code.lang} code opsgate does not model", code.shown)]


def _shell_fn(w: Walker, code: Code, job: _Job) -> Callable[[str], list[Finding]]:
    return lambda text: w.classify_shell(text, via=code.shown, cwd=job.cwd)


_Analyser = Callable[["Walker", Code, _Job], list[Finding]]
_INTERPRETED = frozenset({"python", "perl", "ruby", "node", "php", "lua", "r", "elixir",
                          "julia"})  # fmt: skip
_ANALYSERS: dict[str, _Analyser] = {
    "shell": _shell,
    "python": _python,
    "powershell": _powershell,
    "make": _makefile,
    "rust": _rust,
    "go-program": _program,
    "rust-program": _program,
    **dict.fromkeys(("perl", "ruby", "node", "php", "lua", "awk", "r", "elixir", "julia"), _script),
}


# --- findings -------------------------------------------------------------------------


def relabel(findings: list[Finding], code: Code, where: str) -> list[Finding]:
    """Findings from a file's contents name the file and line, never its text."""
    out = []
    for f in findings:
        if f.evidence.startswith(_MARK):  # found in a file this file runs
            evidence = f"{_MARK}{code.shown} > {f.evidence[len(_MARK) :]}"
            reason = f"{where}: {f.reason}"
        else:
            line = _line_of(code, f.evidence)
            at = f"{code.shown}:{line}" if line else code.shown
            evidence = f"{_MARK}{at}"
            reason = f"{where} {_what(f)} at {at}"
        out.append(replace(f, evidence=evidence, reason=reason))
    return out


def _line_of(code: Code, evidence: str) -> int | None:
    stripped = evidence.strip()
    probe = stripped.splitlines()[0][:60].strip() if stripped else ""
    at = code.text.find(probe) if probe else -1
    return None if at < 0 else code.first_line + code.text.count("\n", 0, at)


def _what(f: Finding) -> str:
    if f.effect is Effect.UNKNOWN:
        return f"does something opsgate cannot judge ({f.category})"
    if f.effect is Effect.SECRET:
        return f"reads a secret ({f.category})"
    return f"runs a {f.impact.label} step ({f.category})"


def _network(loaded: Loaded, where: str) -> list[Finding]:
    if not loaded.untrusted:
        return []
    from opsgate.models import Impact

    return [
        Finding(
            "network.fetch_exec",
            Impact.CAUTION,
            Effect.UNKNOWN,
            f"{_MARK}{loaded.shown}",
            f"{where} runs {loaded.shown}, fetched from the network in this command",
        )
    ]


_WHY = {
    "written": "is written earlier in this command by a step whose output opsgate cannot see",
    "unreadable": "is there, but opsgate cannot read it (too large, not a regular file, "
    "unreadable or withheld)",
    "remote": "is on another machine, where opsgate cannot read it",
    "budget": f"is beyond what opsgate reads for one command ({MAX_FILES} files, "
    f"{MAX_TOTAL // 1024} KiB)",
}


def cannot(loaded: Loaded, where: str) -> Finding:
    return _opaque(loaded, where, _WHY.get(loaded.state, "cannot be read"))


def _opaque(loaded: Loaded, where: str, why: str) -> Finding:
    return replace(unknown(f"{where}: {loaded.shown} {why}", ""), evidence=f"{_MARK}{loaded.shown}")


def bad_file(loaded: Loaded, why: str) -> Finding:
    """A project file a runner reads that opsgate cannot make sense of: unknown."""
    return replace(unknown(f"{loaded.shown} {why}", ""), evidence=f"{_MARK}{loaded.shown}")


def _opaque_code(code: Code, where: str, why: str) -> Finding:
    return replace(unknown(f"{where} {why}", ""), evidence=f"{_MARK}{code.shown}")
