"""An interpreter given a file: ``python3 fix.py``, ``node x.js``, ``deno run x.ts``,
``ruby x.rb``, ``pwsh -File x.ps1`` …  The file is read and judged as its language
(``_run_files``); the interpreter's own options that take a value are skipped to
find it, as the interpreter itself does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command, Context
from opsgate.classify._run_files import judge, load
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["interpreter_file", "pwsh", "python_target", "run_file_as"]

# Options that take the next word, per language: the script is the first other word.
_VALUED: dict[str, frozenset[str]] = {
    "python": frozenset({"-W", "-X", "-Q", "--check-hash-based-pycs"}),
    "node": frozenset({"-r", "--require", "--import", "--loader", "--experimental-loader",
                       "-C", "--conditions", "--input-type", "--title", "--env-file",
                       "--config", "-c", "--import-map", "--location", "--seed", "--cert",
                       "--inspect-port", "--tsconfig", "--cwd"}),
    "ruby": frozenset({"-I", "-r", "-C", "-E", "--encoding", "-K", "-F", "-0"}),
    "perl": frozenset({"-I", "-M", "-m", "-x", "-F", "-0", "-l"}),
    "php": frozenset({"-c", "-d", "-z", "-t", "-S", "--php-ini", "--define"}),
    "lua": frozenset({"-l"}),
    "r": frozenset({"--default-packages"}),
    "elixir": frozenset({"-r", "-pr", "--erl", "--sname", "--name", "--cookie", "-pa", "-pz"}),
}  # fmt: skip
# zx runs a JavaScript file in Node with its ``$`cmd``` shell templates (read as Node's).
_VALUED["zx"] = _VALUED["node"] | {"--shell", "--prefix", "--postfix", "--ext", "--registry",
                                   "--env", "--cwd"}  # fmt: skip
# Where Node looks when the named file is not there as written.
_NODE_SUFFIXES = ("", ".js", ".mjs", ".cjs", ".ts", "/index.js")
_DENO_RUNS = frozenset({"run", "serve"})
# Entry points whose subcommands opsgate judges by name: on another machine (``docker
# exec app python manage.py check``) the file cannot be read, and need not be.
_NAMED_ENTRY_POINTS = frozenset({"manage.py", "artisan"})


def _walker(ctx: Context) -> Walker | None:
    from opsgate.classify.shell import Walker

    return ctx if isinstance(ctx, Walker) else None


def interpreter_file(cmd: Command, ctx: Context, lang: str) -> list[Finding]:
    """The script file ``cmd`` runs, judged as ``lang``; [] when it names none."""
    w = _walker(ctx)
    if w is None:
        return []
    args = list(cmd.args)
    if cmd.name == "deno":
        if not args or args[0].value not in _DENO_RUNS:
            return []
        args = args[1:]
    if cmd.name == "php" and cmd.option("-f", "--file"):
        return run_file_as(w, cmd, Arg(cmd.option("-f", "--file") or ""), lang, ())
    found: list[Finding] = []  # files its options load: ``_interp_loads``
    rest = _after_options(args, _VALUED.get(cmd.name) or _VALUED.get(lang, frozenset()))
    if not rest or rest[0].value in ("-", "/dev/stdin"):
        return found
    if rest[0].value.startswith(("http://", "https://")):  # ``deno run -A https://…``
        reason = f"{cmd.name} runs code from {rest[0].value} that nobody has reviewed"
        return [*found, Finding("network.fetch_exec", Impact.CAUTION, Effect.UNKNOWN, cmd.text,
                                reason)]  # fmt: skip
    from opsgate.classify._run_entrypoints import vendored_tool

    tool = vendored_tool(w, cmd, rest[0], tuple(rest[1:]))  # ``php vendor/bin/envoy``
    if tool is not None:
        return found + tool
    found += run_file_as(w, cmd, rest[0], lang, tuple(rest[1:]))
    if cmd.name == "deno":
        from opsgate.classify._run_deno_sandbox import within_sandbox

        return within_sandbox(cmd, w, found)  # ``--allow-write=dist`` bounds its writes
    return found


def _after_options(args: list[Arg], valued: frozenset[str]) -> list[Arg]:
    i = 0
    while i < len(args):
        word = args[i].value
        if word == "--":
            return args[i + 1 :]
        if not word.startswith("-") or word == "-":
            return args[i:]
        i += 2 if word in valued else 1
    return []


def run_file_as(
    w: Walker, cmd: Command, script: Arg, lang: str, args: tuple[Arg, ...]
) -> list[Finding]:
    """Read ``script`` and judge it as ``lang``."""
    from opsgate.classify._shell_nodes import unknown

    where = f"{cmd.name} {script.value}"
    if not script.static:
        return [unknown(f"{cmd.name} runs a file whose name is built at run time", cmd.text)]
    if w.remote is not None and script.value.rsplit("/", 1)[-1] in _NAMED_ENTRY_POINTS:
        return []  # judged by its own subcommand table (``manage.py check``)
    loaded = load(w, script.value, cmd.cwd)
    if loaded.state == "missing" and lang == "node":
        for suffix in _NODE_SUFFIXES[1:]:
            other = load(w, script.value + suffix, cmd.cwd)
            if other.state != "missing":  # else the file as named is the one missing
                loaded = other
                break
    if loaded.state == "missing" and lang == "python":
        loaded = load(w, script.value.rstrip("/") + "/__main__.py", cmd.cwd)
    if lang == "node" and loaded.text is not None and cmd.env:
        from opsgate.classify._run_argv import bind_node_port

        loaded = replace(loaded, text=bind_node_port(loaded.text, cmd.env))
    return judge(w, loaded, lang, where=where, cwd=cmd.cwd, args=args)


# --- python ---------------------------------------------------------------------------

_PY_VALUED = frozenset({"-W", "-X", "-Q", "--check-hash-based-pycs"})


def python_target(cmd: Command) -> tuple[str, str, int] | None:
    """What python runs: ("module", NAME, i), ("script", PATH, i), ("code", CODE, i)
    with ``i`` the index of the first argument given to it; None for none."""
    args = cmd.args
    i = 0
    while i < len(args):
        word = args[i].value
        if word in ("-m", "-c"):
            if i + 1 >= len(args):
                return None
            return ("module" if word == "-m" else "code", args[i + 1].value, i + 2)
        if word.startswith(("-m", "-c")) and not word.startswith("--") and len(word) > 2:
            return ("module" if word[1] == "m" else "code", word[2:], i + 1)
        if word == "--" or not word.startswith("-") or word == "-":
            at = i + 1 if word == "--" else i
            return ("script", args[at].value, at + 1) if at < len(args) else None
        i += 2 if word in _PY_VALUED else 1
    return None


def python_module(cmd: Command, ctx: Context, module: str, rest: tuple[Arg, ...]) -> list[Finding]:
    """``python -m pkg.tool``: the project's own module (``local_module``); an installed
    module is the tool it names."""
    w = _walker(ctx)
    if w is None:
        return []
    local = local_module(cmd, ctx, module, rest)
    if local is not None:
        return local
    from opsgate.classify._run_entrypoints import module_tool

    return module_tool(w, cmd, module, rest)  # ``python -m twine upload`` is ``twine upload``


def startup_modules(cmd: Command, ctx: Context) -> list[Finding]:
    """Python imports ``sitecustomize`` and ``usercustomize`` from its path at start-up,
    before any program: found in a ``PYTHONPATH`` directory the command names, they run
    first (``PYTHONPATH=.ci python3 report.py`` with a ``.ci/sitecustomize.py``)."""
    w = _walker(ctx)
    searched = [d for d in cmd.env.get("PYTHONPATH", "").split(":") if d and "$" not in d]
    if w is None or w.remote is not None:
        return []
    from opsgate.classify._run_venv_pth import venv_pth

    findings = venv_pth(cmd, w)  # ``.venv/bin/python``: its site-packages' .pth lines
    if not searched or cmd.has("-S", "-I"):
        return findings
    for name in ("sitecustomize", "usercustomize"):
        for base in searched:
            loaded = load(w, f"{base.rstrip('/')}/{name}.py", cmd.cwd)
            if loaded.state != "missing":
                where = f"python's start-up module {loaded.shown}"
                findings += judge(w, loaded, "python", where=where, cwd=cmd.cwd, args=())
                break
    return findings


def local_module(
    cmd: Command, ctx: Context, module: str, rest: tuple[Arg, ...]
) -> list[Finding] | None:
    """The judgement of ``python -m MODULE`` when MODULE is a file here: in the working
    directory or a ``PYTHONPATH`` directory the command names, searched in that order
    before any installed module, as Python does (a ``pytest.py`` beside the command
    shadows pytest); None when it is not."""
    w = _walker(ctx)
    if w is None or not module.replace(".", "").replace("_", "").isalnum():
        return None
    parts = module.split(".")
    searched = [d for d in cmd.env.get("PYTHONPATH", "").split(":") if d and "$" not in d]
    for base in ("", *(d.rstrip("/") + "/" for d in searched)):
        findings: list[Finding] = []
        for depth in range(1, min(len(parts), 3)):
            package = base + "/".join(parts[:depth]) + "/__init__.py"
            if load(w, package, cmd.cwd).state != "missing":  # a probe: most are installed
                findings += run_file_as(w, cmd, Arg(package), "python", ())
        path = base + "/".join(parts)
        for candidate in (path + ".py", path + "/__main__.py"):
            loaded = load(w, candidate, cmd.cwd)
            if loaded.state != "missing":
                where = f"python -m {module}"
                return findings + judge(w, loaded, "python", where=where, cwd=cmd.cwd, args=rest)
        if findings:
            return findings
    return None


# --- PowerShell from a POSIX shell ----------------------------------------------------


def pwsh(cmd: Command, ctx: Context) -> list[Finding]:
    """``pwsh -File x.ps1`` / ``pwsh x.ps1`` read the script; ``-Command`` and
    ``-EncodedCommand`` are PowerShell's own command line."""
    from opsgate.classify._shell_nodes import unknown
    from opsgate.classify.powershell._cmdexe import powershell_args
    from opsgate.classify.powershell._walk import Walk

    w = _walker(ctx)
    words = list(cmd.words)
    if any(not a.static and "$(" in a.value for a in cmd.args):  # ``pwsh -c "$(curl …)"``
        return [unknown(f"{cmd.name} runs a command line built at run time", cmd.text)]
    script = _ps_file(words)
    if script is not None and w is not None:
        index = words.index(script)
        return run_file_as(w, cmd, cmd.args[index], "powershell", tuple(cmd.args[index + 1 :]))
    walk = Walk(ctx, cmd.cwd or ctx.project_dir or "/", 0)
    powershell_args(walk, words, cmd.text, "pwsh")
    return walk.out


def _ps_file(words: list[str]) -> str | None:
    """The script PowerShell runs from a file (``-File X``, or a first ``*.ps1``)."""
    from opsgate.classify.powershell._cmdexe import _SHELL_VALUED

    i = 0
    while i < len(words):
        word = words[i]
        key = word.lstrip("-/").lower() if word[:1] in "-/" and word != "-" else ""
        if not key:
            return word if word.lower().endswith(".ps1") else None
        if key in ("f", "fi", "fil", "file"):
            return words[i + 1] if i + 1 < len(words) else None
        if key in ("c", "co", "com", "command", "e", "ec", "encodedcommand"):
            return None
        i += 2 if key in _SHELL_VALUED else 1
    return None
