"""Shells and interpreters: bash -c, python -c/-m, node -e, awk, in-place editors."""

from __future__ import annotations

import re
from dataclasses import replace

from opsgate.classify._command import Arg, Command, Context
from opsgate.classify._fetched_code import decoded_script, network_code
from opsgate.classify._interp import analyse_script
from opsgate.classify._interp_loads import option_loads
from opsgate.classify._run_interp import (
    interpreter_file,
    local_module,
    python_module,
    python_target,
    startup_modules,
)
from opsgate.classify._run_node_test import node_test_findings, runs_tests
from opsgate.classify._shell_options import ShellLine, shell_line
from opsgate.classify.families._shells_run import (
    SHELLS,
    _language,
    _python,
    _shell_fn,
    _unknown,
    run_code,
    run_script_file,
)
from opsgate.models import Effect, Finding, Impact

__all__ = ["_dash_c", "_interpreter", "_shell"]

_SHELL_VALUED = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})


def _shell(cmd: Command, ctx: Context) -> list[Finding]:
    words = cmd.words
    if cmd.name == "busybox" and words and words[0] in SHELLS:
        return _shell(Command(words[0], cmd.args[1:], cmd.text, cmd.env, cmd.stdin, cmd.cwd), ctx)
    line = shell_line(cmd)
    if line is not None:
        return _shell_by_grammar(cmd, ctx, line)
    script = _dash_c(cmd)
    if script is not None:
        if not script.static:
            decoded = decoded_script(cmd.name, script.value, cmd.text)
            return [_unknown(f"{cmd.name} -c runs a string built at run time", cmd.text), *decoded]
        return ctx.classify_shell(script.value, via=f"{cmd.name} -c", cwd=cmd.cwd, env=cmd.env)
    ops = cmd.positionals(_SHELL_VALUED)
    if ops and not cmd.has("-s"):
        return run_script_file(cmd, ctx, via=cmd.name, valued=tuple(_SHELL_VALUED))
    if cmd.stdin is not None:
        return run_code(cmd, ctx, cmd.stdin, f"{cmd.name} (stdin)")
    if cmd.has("-i") or not cmd.args:
        return [_unknown(f"{cmd.name} starts an interactive shell", cmd.text)]
    return []


def _shell_by_grammar(cmd: Command, ctx: Context, line: ShellLine) -> list[Finding]:
    """A shell whose option grammar is known (``_shell_options``): its startup files,
    then its ``-c`` string, its script, or its input."""
    if line.noexec and not line.interactive:
        return []  # ``bash -n deploy.sh``: a syntax check; nothing is sourced or run
    found: list[Finding] = []
    for rcfile in line.startup:  # ``bash --rcfile env.sh -i``: sourced before anything
        startup = replace(cmd, args=(rcfile,), stdin=None)
        found += run_script_file(startup, ctx, via=f"{cmd.name} --rcfile")
    if line.command is not None:
        script = line.command
        if not script.static:
            decoded = decoded_script(cmd.name, script.value, cmd.text)
            return [*found, _unknown(f"{cmd.name} -c runs a string built at run time", cmd.text),
                    *decoded]  # fmt: skip
        return found + ctx.classify_shell(
            script.value, via=f"{cmd.name} -c", cwd=cmd.cwd, env=cmd.env
        )
    if line.script is not None:
        run = replace(cmd, args=(line.script, *line.args))
        return found + run_script_file(run, ctx, via=cmd.name)
    if cmd.stdin is not None:
        return found + run_code(cmd, ctx, cmd.stdin, f"{cmd.name} (stdin)")
    if line.interactive or not cmd.args:
        return [*found, _unknown(f"{cmd.name} starts an interactive shell", cmd.text)]
    return found


def _dash_c(cmd: Command) -> Arg | None:
    """The string after ``-c`` (also in clusters like ``-lc`` or ``-xec``)."""
    args = cmd.args
    for i, arg in enumerate(args):
        word = arg.value
        if word == "--":
            return None
        if word.startswith("-") and not word.startswith("--") and "c" in word[1:]:
            return args[i + 1] if i + 1 < len(args) else Arg("", True)
        if not word.startswith(("-", "+")):
            return None
    return None


def _interpreter(cmd: Command, ctx: Context) -> list[Finding]:
    """The files the interpreter's options load (``node -r``, ``perl -M``, ``awk -f``),
    then the code or script it runs."""
    if cmd.name == "deno" and cmd.words[:1] == ("task",):
        from opsgate.classify._run_deno import deno_task_findings

        return deno_task_findings(cmd, ctx)  # a task of deno.json, not code
    lang = _language(cmd.name) or "shell"
    startup = startup_modules(cmd, ctx) if lang == "python" else []  # sitecustomize
    return startup + option_loads(cmd, ctx, lang) + _interpreter_code(cmd, ctx, lang)


def _interpreter_code(cmd: Command, ctx: Context, lang: str) -> list[Finding]:
    flags = {
        "python": ("-c",),
        "perl": ("-e", "-E"),
        "ruby": ("-e",),
        "lua": ("-e",),
        "php": ("-r",),
        "node": ("-e", "--eval", "-p", "--print", "eval"),
        "r": ("-e",),
        "elixir": ("-e", "--eval"),
        "elisp": ("--eval",),
        "julia": ("-e", "--eval", "-E", "--print"),
    }
    if cmd.name == "php":
        from opsgate.classify.families.platforms import classify_artisan

        found = classify_artisan(cmd, ctx)
        if found:
            return found + interpreter_file(cmd, ctx, "php")
    extra: list[Finding] = []
    if lang in ("perl", "ruby") and any(
        w.startswith("-") and not w.startswith("--") and "i" in w[1:] for w in cmd.words
    ):
        extra = _inplace(cmd, ctx)
    for flag in flags.get(lang, ()):
        code = cmd.option(flag) if flag != "eval" else _after_word(cmd, "eval")
        if code is None or (lang == "python" and _after_script(cmd, flag)):
            continue
        if _substituted_option(cmd, flag):  # ``ruby -e "$(curl …)"``: like ``bash -c``
            return [*extra, _unknown(f"{cmd.name} {flag} runs code built at run time", cmd.text)]
        if lang == "python":
            found = _python(code, cmd, ctx)
        else:
            printed = flag in ("-p", "--print") or (lang, flag) == ("julia", "-E")
            shell = _shell_fn(ctx, cmd.name)
            found = extra + analyse_script(lang, code, ctx, shell, printed=printed)
        return found + network_code(lang, code, found, cmd.text)
    if lang == "python":
        return _python_modes(cmd, ctx)
    if lang == "awk":
        return _awk(cmd, ctx)
    if lang == "node" and cmd.name == "node" and runs_tests(cmd):
        return extra + node_test_findings(cmd, ctx)  # Node's test runner, not a REPL
    ops = cmd.positionals()
    if ops:
        if ops[0].value in ("-", "/dev/stdin") or ops[0].value.startswith("/dev/fd/"):
            return run_script_file(cmd, ctx, via=cmd.name)
        return extra + interpreter_file(cmd, ctx, lang)
    if cmd.stdin is not None:
        return run_code(cmd, ctx, cmd.stdin, f"{cmd.name} (stdin)")
    return _repl(cmd)


# Options after which an interpreter prints something and exits, reading no program.
_INFO_FLAGS = frozenset({"-V", "-v", "--version", "-h", "-?", "--help"})


def _repl(cmd: Command) -> list[Finding]:
    """An interpreter given no program reads one from its terminal, like a bare shell:
    what it will run is unseen.  An agent that can type into a running command (Codex's
    ``write_stdin``, which reaches no hook) would run anything through it."""
    if any(word in _INFO_FLAGS for word in cmd.words):
        return []
    return [_unknown(f"{cmd.name} starts an interactive interpreter", cmd.text)]


def _substituted(arg: Arg) -> bool:
    """Code that is another program's output (``"$(curl …)"``), not text with a shell
    variable in it (``"print if /$x/"``, which is still read as code)."""
    return not arg.static and ("$(" in arg.value or "`" in arg.value or "<(" in arg.value)


def _substituted_option(cmd: Command, flag: str) -> bool:
    """Whether the value given to ``flag`` (``-e CODE``, ``-eCODE``, ``--eval=CODE``)
    is another program's output."""
    args = cmd.args
    for i, arg in enumerate(args):
        if arg.value == flag:
            return i + 1 < len(args) and _substituted(args[i + 1])
        if arg.value.startswith(flag):
            return _substituted(arg)
    return False


def _after_script(cmd: Command, flag: str) -> bool:
    """``python manage.py shell -c CODE``: Python stops reading its own options at the
    script name, so a later ``-c`` is the script's (here Django's), not Python's."""
    words, i = list(cmd.words), 0
    while i < len(words):
        word = words[i]
        if word == flag:
            return False
        if word == "-m":
            return True
        if word in ("-W", "-X", "-Q", "-c"):
            i += 2
            continue
        if not word.startswith("-"):
            return True
        i += 1
    return False


def _inplace(cmd: Command, ctx: Context) -> list[Finding]:
    """``perl -pi -e CODE FILES``: the files are edited in place."""
    from opsgate.classify.families.filesystem import _write_targets

    code = cmd.option("-e", "-E")
    files = [a for a in cmd.positionals(("-e", "-E", "-I", "-M", "-m", "-F")) if a.value != code]
    return _write_targets(cmd, files, ctx, "edits in place")


def _after_word(cmd: Command, word: str) -> str | None:
    words = cmd.words
    return words[words.index(word) + 1] if word in words[:1] and len(words) > 1 else None


def _python_modes(cmd: Command, ctx: Context) -> list[Finding]:
    target = python_target(cmd)
    kind, value, at = target if target is not None else ("", "", 0)
    rest = tuple(cmd.args[at:])
    if kind == "module":
        local = local_module(cmd, ctx, value, rest)  # ``./pytest.py`` shadows pytest
        if local is not None:
            return local
    if kind == "module" and value == "build":  # PEP 517 build of the project: its setup.py
        from opsgate.classify._run_pip_local import local_project_builds

        given = [a.value for a in rest if not a.value.startswith("-")][:1]
        return local_project_builds(cmd, ctx, given or ["."])
    if kind == "module" and value == "http.server":
        return _http_server(cmd, ctx)
    if kind == "module" and value in ("pip", "pip3"):
        from opsgate.classify import families

        handler = families.handler_for("pip")
        pip = Command("pip", rest, cmd.text, cmd.env, None, cmd.cwd)
        from opsgate.classify._package_sources import package_sources
        from opsgate.classify.shell import Walker

        sources = package_sources(pip, ctx) if isinstance(ctx, Walker) else []
        return (handler(pip, ctx) if handler else []) + sources
    if kind == "module" and value in ("pytest", "py.test"):
        from opsgate.classify._run_builds import pytest_findings

        return pytest_findings(Command("pytest", rest, cmd.text, cmd.env, None, cmd.cwd), ctx)
    if kind == "module":
        return python_module(cmd, ctx, value, rest)
    if kind == "script" and value != "-" and not value.startswith("/dev/"):
        found = interpreter_file(cmd, ctx, "python")
        if value.endswith("manage.py"):
            from opsgate.classify.families import databases

            manage = Command("manage.py", rest, cmd.text, cmd.env, cmd.stdin, cmd.cwd)
            found += databases.classify_django_manage(manage, ctx)
        return found
    if kind == "script":
        return run_script_file(cmd, ctx, via=cmd.name)
    if cmd.stdin is not None:
        return run_code(cmd, ctx, cmd.stdin, f"{cmd.name} (stdin)")
    return _repl(cmd)


def _http_server(cmd: Command, ctx: Context) -> list[Finding]:
    """``python -m http.server``: serving the project is fine; serving home or / to the
    network hands out keys and secrets."""
    from opsgate.classify.families.filesystem import locate
    from opsgate.classify.paths import Zone

    bind = cmd.option("--bind", "-b") or "0.0.0.0"  # noqa: S104 — http.server's own default
    if bind.startswith(("127.", "localhost", "::1")):
        return []
    directory = cmd.option("--directory", "-d") or "."
    zone, path = locate(Arg(directory), ctx, cmd.cwd)
    if zone in (Zone.PROJECT_ROOT, Zone.PROJECT, Zone.PROJECT_DISPOSABLE, Zone.TEMP):
        return []
    return [
        Finding(
            "network.expose",
            Impact.CAUTION,
            Effect.WRITE,
            cmd.text,
            f"serves {path} ({zone.value}) to the network",
            path,
        )
    ]


def _awk(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify.families import secrets

    ops = cmd.positionals(("-F", "-v", "-f"))
    if not ops:
        return []
    if cmd.option("-f"):
        return secrets.secret_operands(cmd, ops, ctx)
    if _substituted(ops[0]):  # ``awk "$(curl …)"``: system() runs whatever arrives
        return [_unknown("awk runs a program built at run time", cmd.text)]
    program = ops[0].value
    if not _names_only_awk(program):
        found = secrets.secret_operands(cmd, ops[1:], ctx)
        if found:
            return found
    findings = analyse_script("awk", program, ctx, _shell_fn(ctx, "awk"), printed=False)
    if re.search(r"\|\s*\"(sh|bash)\"|\|\s*getline", program):
        findings.append(_unknown("awk pipes data into a shell", cmd.text))
    return findings


def _names_only_awk(program: str) -> bool:
    """``awk -F= '{print $1}' .env`` prints variable names, not values."""
    return bool(re.fullmatch(r"\s*(/[^/]*/\s*)?\{\s*print\s+\$1\s*;?\s*\}\s*", program))
