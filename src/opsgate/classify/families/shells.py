"""Shells and interpreters: the commands that run other code.

``bash -c STR``, a here-doc fed to ``sh``, ``python -c``, ``perl -e`` …: the code
is classified as what it is.  Code from the network or a decoder (``curl … | sh``,
``base64 -d | bash``) is at least caution and never auto-allowed, whatever it
decodes to; code the classifier cannot see at all is ``unknown``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command, Context, Handler, Stdin
from opsgate.classify._interp import analyse_python, analyse_script
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["HANDLERS", "run_script_file", "run_stdin_script"]

SHELLS = frozenset(
    {
        "bash",
        "sh",
        "zsh",
        "dash",
        "ksh",
        "mksh",
        "ash",
        "fish",
        "busybox",
        "rbash",
        "tcsh",
        "csh",
        "yash",
        "posh",
    }
)
_SHELL_VALUED = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})


def _unknown(reason: str, evidence: str) -> Finding:
    return Finding("unknown", Impact.CAUTION, Effect.UNKNOWN, evidence[:200], reason)


def _fetch_exec(cmd: Command, source: str) -> Finding:
    return Finding(
        "network.fetch_exec" if not source.startswith("decoded") else "evasion.decode_exec",
        Impact.CAUTION,
        Effect.UNKNOWN,
        cmd.text,
        f"{cmd.name} runs code from {source.split(':', 1)[-1]} that nobody has reviewed",
    )


def _walker(ctx: Context) -> Walker | None:
    from opsgate.classify.shell import Walker

    return ctx if isinstance(ctx, Walker) else None


def run_code(cmd: Command, ctx: Context, code: Stdin, via: str) -> list[Finding]:
    """Run ``code`` in the interpreter ``cmd`` names; mark untrusted sources."""
    findings: list[Finding] = []
    if code.untrusted:
        findings.append(_fetch_exec(cmd, code.source))
    if code.text is None:
        if not code.untrusted:
            findings.append(
                _unknown(f"{cmd.name} runs code the guard cannot see ({code.source})", cmd.text)
            )
        return findings
    lang = "shell" if cmd.name in ("source", ".", "at", "batch") else _language(cmd.name)
    if lang == "shell":
        findings += ctx.classify_shell(code.text, via=via, cwd=cmd.cwd)
    elif lang == "python":
        findings += _python(code.text, cmd, ctx)
    elif lang == "make":
        findings += _makefile(code.text, ctx)
    elif lang is not None:
        findings += analyse_script(lang, code.text, ctx, _shell_fn(ctx, via), printed=False)
    return findings


def run_script_file(cmd: Command, ctx: Context, *, via: str) -> list[Finding]:
    """``source FILE``, ``bash FILE``: a file written in this command, a process
    substitution, or a readable file is classified; an existing project script we
    cannot read is the project's own business."""
    ops = cmd.positionals()
    if not ops:
        return run_stdin_script(cmd, ctx, via=via, default_unknown=False)
    path = ops[0]
    w = _walker(ctx)
    if not path.static:
        return [_unknown(f"{via} runs a script whose path is built at run time", cmd.text)]
    if path.value in ("/dev/stdin", "-", "/proc/self/fd/0", "/dev/fd/0"):
        return run_stdin_script(cmd, ctx, via=via, default_unknown=True)
    source = w.script_source(path.value, cmd.cwd) if w is not None else None
    if source is None:
        return []
    return run_code(cmd, ctx, source, via)


def run_stdin_script(
    cmd: Command, ctx: Context, *, via: str, default_unknown: bool
) -> list[Finding]:
    if cmd.stdin is not None:
        return run_code(cmd, ctx, cmd.stdin, via)
    if default_unknown:
        return [_unknown(f"{via} reads commands from input the guard cannot see", cmd.text)]
    return []


def _language(name: str) -> str | None:
    if name in SHELLS:
        return "shell"
    if re.fullmatch(r"(python|pypy)[0-9.]*|ipython3?", name):
        return "python"
    for lang, names in _LANGS.items():
        if name in names or re.fullmatch(rf"({'|'.join(names)})[0-9.]*", name):
            return lang
    if name in ("make", "gmake"):
        return "make"
    return None


_LANGS = {
    "perl": ("perl",),
    "ruby": ("ruby", "irb"),
    "node": ("node", "nodejs", "deno", "bun", "tsx", "ts-node"),
    "php": ("php",),
    "lua": ("lua", "luajit"),
    "awk": ("awk", "gawk", "mawk", "nawk", "busybox awk"),
    "r": ("Rscript", "R"),
    "elixir": ("elixir", "iex"),
    "elisp": ("emacs",),
}


def _shell_fn(ctx: Context, via: str):  # type: ignore[no-untyped-def]  # a closure over ctx
    return lambda text: ctx.classify_shell(text, via=via)


def _delete_fn(ctx: Context, cmd: Command):  # type: ignore[no-untyped-def]  # a closure over ctx
    from opsgate.classify.families.filesystem import delete_findings

    def delete(path: str, recursive: bool) -> list[Finding]:
        probe = Command("rm", (Arg(path),), cmd.text, cwd=cmd.cwd)
        return delete_findings(probe, [Arg(path)], ctx, recursive=recursive)

    return delete


def _python(code: str, cmd: Command, ctx: Context) -> list[Finding]:
    return analyse_python(code, ctx, _shell_fn(ctx, "python"), _delete_fn(ctx, cmd))


def _makefile(text: str, ctx: Context) -> list[Finding]:
    recipes = [line[1:] for line in text.splitlines() if line.startswith("\t")]
    return ctx.classify_shell("\n".join(r.lstrip("@-+") for r in recipes), via="make")


def _shell(cmd: Command, ctx: Context) -> list[Finding]:
    words = cmd.words
    if cmd.name == "busybox" and words and words[0] in SHELLS:
        return _shell(Command(words[0], cmd.args[1:], cmd.text, cmd.env, cmd.stdin, cmd.cwd), ctx)
    script = _dash_c(cmd)
    if script is not None:
        if not script.static:
            return [_unknown(f"{cmd.name} -c runs a string built at run time", cmd.text)]
        return ctx.classify_shell(script.value, via=f"{cmd.name} -c", cwd=cmd.cwd)
    ops = cmd.positionals(_SHELL_VALUED)
    if ops and not cmd.has("-s"):
        return run_script_file(cmd, ctx, via=cmd.name)
    if cmd.stdin is not None:
        return run_code(cmd, ctx, cmd.stdin, f"{cmd.name} (stdin)")
    if cmd.has("-i") or not cmd.args:
        return [_unknown(f"{cmd.name} starts an interactive shell", cmd.text)]
    return []


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
    lang = _language(cmd.name) or "shell"
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
    }
    if cmd.name == "php":
        from opsgate.classify.families.platforms import classify_artisan

        found = classify_artisan(cmd, ctx)
        if found:
            return found
    extra: list[Finding] = []
    if lang in ("perl", "ruby") and any(
        w.startswith("-") and not w.startswith("--") and "i" in w[1:] for w in cmd.words
    ):
        extra = _inplace(cmd, ctx)
    for flag in flags.get(lang, ()):
        code = cmd.option(flag) if flag != "eval" else _after_word(cmd, "eval")
        if code is None:
            continue
        if lang == "python":
            return _python(code, cmd, ctx)
        printed = flag in ("-p", "--print")
        return extra + analyse_script(lang, code, ctx, _shell_fn(ctx, cmd.name), printed=printed)
    if lang == "python":
        return _python_modes(cmd, ctx)
    if lang == "awk":
        return _awk(cmd, ctx)
    ops = cmd.positionals()
    if ops:
        return (
            run_script_file(cmd, ctx, via=cmd.name)
            if ops[0].value in ("-", "/dev/stdin") or ops[0].value.startswith("/dev/fd/")
            else []
        )
    if cmd.stdin is not None:
        return run_code(cmd, ctx, cmd.stdin, f"{cmd.name} (stdin)")
    return []


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
    module = cmd.option("-m")
    if module == "http.server":
        return _http_server(cmd, ctx)
    if module is not None:
        if module in ("pip", "pip3"):
            from opsgate.classify import families

            handler = families.handler_for("pip")
            rest = cmd.after(module)
            return (
                handler(Command("pip", rest, cmd.text, cmd.env, None, cmd.cwd), ctx)
                if (handler)
                else []
            )
        return []
    ops = cmd.positionals(("-W", "-X", "-Q"))
    if ops and ops[0].value.endswith("manage.py"):
        from opsgate.classify.families import databases

        rest = tuple(cmd.args[[a.value for a in cmd.args].index(ops[0].value) + 1 :])
        manage = getattr(databases, "classify_django_manage", None)
        if manage is None:
            return []
        return manage(Command("manage.py", rest, cmd.text, cmd.env, cmd.stdin, cmd.cwd), ctx)  # type: ignore[no-any-return]  # helper-built module
    if ops and ops[0].value not in ("-",) and not ops[0].value.startswith("/dev/"):
        return []
    if ops:
        return run_script_file(cmd, ctx, via=cmd.name)
    if cmd.stdin is not None:
        return run_code(cmd, ctx, cmd.stdin, f"{cmd.name} (stdin)")
    return []


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


def _vim(cmd: Command, ctx: Context) -> list[Finding]:
    findings: list[Finding] = []
    commands = cmd.options("-c", "--cmd") + [w[1:] for w in cmd.words if w.startswith("+")]
    for ex in commands:
        m = re.match(r"^\s*:?\s*!(.*)$", ex)
        if m:
            findings += ctx.classify_shell(m.group(1), via=cmd.name)
    return findings


def _ed(cmd: Command, ctx: Context) -> list[Finding]:
    """``ed``/``ex`` scripts on stdin: a line ``!cmd`` runs a shell command."""
    text = cmd.stdin.text if cmd.stdin is not None else None
    if text is None:
        return []
    out: list[Finding] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("!"):
            out += ctx.classify_shell(stripped[1:], via=cmd.name)
        elif re.match(r"^[0-9,.$]*r\s*!", stripped) or re.match(r"^[0-9,.$]*w\s*!", stripped):
            out += ctx.classify_shell(stripped.split("!", 1)[1], via=cmd.name)
    return out


def _make(cmd: Command, ctx: Context) -> list[Finding]:
    makefile = cmd.option("-f", "--file", "--makefile")
    if makefile in ("-", "/dev/stdin") and cmd.stdin is not None:
        return run_code(cmd, ctx, cmd.stdin, "make -f -")
    return []


def _su(cmd: Command, ctx: Context) -> list[Finding]:
    script = cmd.option("-c", "--command")
    if script is not None:
        return ctx.classify_shell(script, via="su -c")
    if cmd.stdin is not None:
        return run_code(
            Command("sh", (), cmd.text, stdin=cmd.stdin, cwd=cmd.cwd), ctx, cmd.stdin, "su"
        )
    return [_unknown("su opens an interactive shell as another user", cmd.text)]


def _script(cmd: Command, ctx: Context) -> list[Finding]:
    script = cmd.option("--command") or _dash_c(cmd)
    if script is None:
        return []
    if isinstance(script, Arg):
        if not script.static:
            return [_unknown("script -c runs a string built at run time", cmd.text)]
        script = script.value
    return ctx.classify_shell(script, via="script -c")


_TMUX_RUNS = frozenset({"new-session", "new", "new-window", "neww", "split-window", "splitw",
                        "respawn-pane", "respawnp", "respawn-window", "respawnw", "run-shell",
                        "run", "display-popup", "popup", "if-shell", "if"})  # fmt: skip
_TMUX_VALUED = ("-s", "-n", "-c", "-t", "-x", "-y", "-e", "-F", "-l", "-w", "-h", "-L", "-S", "-f")


def _tmux(cmd: Command, ctx: Context) -> list[Finding]:
    words = cmd.words
    ops = cmd.positionals(_TMUX_VALUED)
    if ops and ops[0].value in _TMUX_RUNS and len(ops) > 1:
        return ctx.classify_shell(" ".join(a.value for a in ops[1:]), via=f"tmux {ops[0].value}")
    if "send-keys" in words or "send" in words:
        keys = [
            w
            for w in words[words.index("send-keys" if "send-keys" in words else "send") + 1 :]
            if not w.startswith("-") and w not in ("Enter", "C-m")
        ]
        return ctx.classify_shell(" ".join(keys[1:] if len(keys) > 1 else keys), via="tmux")
    return []


def _expect(cmd: Command, ctx: Context) -> list[Finding]:
    """``expect -c 'spawn CMD …'``: each spawned command runs."""
    script = cmd.option("-c")
    if script is None:
        return []
    out: list[Finding] = []
    for m in re.finditer(r"\bspawn\s+([^;\n]+)", script):
        out += ctx.classify_shell(m.group(1), via="expect spawn")
    for m in re.finditer(r"\bexec\s+([^;\n]+)", script):
        out += ctx.classify_shell(m.group(1), via="expect exec")
    return out


def _osascript(cmd: Command, ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for script in cmd.options("-e"):
        for m in re.finditer(r'do shell script\s+"((?:[^"\\]|\\.)*)"', script):
            out += ctx.classify_shell(m.group(1).replace('\\"', '"'), via="osascript")
    return out


def _nix(cmd: Command, ctx: Context) -> list[Finding]:
    script = cmd.option("--run", "--command", "-c")
    return ctx.classify_shell(script, via=cmd.name) if script else []


HANDLERS: dict[str, Handler] = {
    **{name: _shell for name in SHELLS},
    **{name: _interpreter for names in _LANGS.values() for name in names},
    "python": _interpreter,
    "python3": _interpreter,
    "python2": _interpreter,
    "pypy": _interpreter,
    "pypy3": _interpreter,
    "vim": _vim,
    "vi": _vim,
    "nvim": _vim,
    "ex": _vim,
    "view": _vim,
    "ed": _ed,
    "red": _ed,
    "make": _make,
    "gmake": _make,
    "su": _su,
    "script": _script,
    "tmux": _tmux,
    "nix-shell": _nix,
    "expect": _expect,
    "osascript": _osascript,
    "nix": _nix,
}
for _minor in range(6, 15):
    HANDLERS[f"python3.{_minor}"] = _interpreter
