"""Safeguard 6: an agent never disables, reconfigures, replaces or bypasses its guard.

Two kinds of evidence become a ``guard.tamper`` finding, which the policy engine
denies whatever the policy says:

* per command (``command_findings``, called for every simple command in bash and
  for every native program in PowerShell): opsgate's administrative verbs, package
  managers removing or replacing opsgate, commands that put ``OPSGATE_*`` into the
  user's session, and programs that change a guard file (``chmod``, ``truncate``,
  interpreter one-liners …) without another family naming that file;
* per action (``action_findings``, after classification): any change the other
  families found whose target is a guard file (a Write, ``rm``, ``mv``, ``ln -sf``,
  a redirection, an MCP ``write_file``, an SQL write to ``opsgate.db``), signals and
  service changes aimed at opsgate, ``OPSGATE_*`` written into a start-up file, and
  PowerShell's process and service cmdlets.

Reads stay allowed: ``cat ~/.claude/settings.json``, ``grep opsgate …``,
``opsgate check -- 'rm -rf /'`` (the command there is data), ``opsgate audit verify``.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from opsgate.classify._guard_agents import AGENT_CLIS, agent_cli
from opsgate.classify._guard_envfiles import defines_env, env_file_write
from opsgate.classify._guard_kills import kill_target, pgrep_selects_opsgate
from opsgate.classify._guard_paths import (
    dynamic_roots,
    guard_path,
    guard_path_in,
    may_be_guard_path,
    mentions_guard_path,
)
from opsgate.classify._guard_tamper import CATEGORY
from opsgate.classify._guard_tamper import tamper as _tamper
from opsgate.classify._guard_targets import PROGRAMS as TARGET_PROGRAMS
from opsgate.classify._guard_targets import changed_paths
from opsgate.models import Action, Effect, Finding

if TYPE_CHECKING:
    from opsgate.classify._command import Command, Context

__all__ = ["CATEGORY", "action_findings", "command_findings", "may_tamper", "script_findings"]


# opsgate's own command line: the verbs an agent may run; every other verb (and any
# verb added later) administers the guard.  ``(verb, subcommand)``; None: any.
_READ_ONLY_VERBS: dict[str, frozenset[str] | None] = {
    "check": None,
    "hook": None,  # the hook itself, fed a payload: it only decides
    "doctor": None,
    "policy": frozenset({"validate", "test", "schema", "diff", "show"}),
    "audit": frozenset({"verify", "export", "key", ""}),  # "": the listing
    "cards": None,
    "users": frozenset({"list"}),
    "tokens": frozenset({"list"}),
    "inventory": frozenset({"list"}),
    "secrets": frozenset({"list"}),
    "ops": frozenset({"list", "show", "status"}),  # propose/run/undo act
}
_HELP = frozenset({"-h", "--help", "--version", "help"})
# Options of `opsgate audit` that take a value (so the subcommand is found after them).
_AUDIT_VALUED = ("--data-dir", "--db", "--filter", "--last", "--actor", "--target",
                 "--environment", "--decision", "--outcome", "--since", "--until")  # fmt: skip

_PACKAGE_TOOLS = frozenset({"pip", "pip3", "pipx", "uv", "poetry", "pdm", "conda", "mamba",
                            "apt", "apt-get", "dnf", "yum", "brew", "snap"})  # fmt: skip
_PACKAGE_VERBS = frozenset({"install", "uninstall", "remove", "purge", "reinstall",
                            "reinstall-all", "uninstall-all", "upgrade", "erase",
                            "autoremove"})  # fmt: skip
# An argument that names the opsgate package: `opsgate`, `opsgate[server]==0.1`,
# `./opsgate-0.1.0-py3-none-any.whl`, `git+https://…/opsgate`.
_OPSGATE_PACKAGE = re.compile(r"(^|[/=@ ])opsgate([\[<>=!~;@ ]|-\d|\.git|$)", re.IGNORECASE)

# Python code that loads opsgate's own package, and a call of its command line.
_IMPORTS_OPSGATE = re.compile(r"\b(from\s+opsgate[\w.]*\s+import|import\s+opsgate)\b")
_CLI_CALL = re.compile(r"\bmain\s*\(\s*(?:argv\s*=\s*)?\[([^\]]*)\]?")
_CLI_ARGS = re.compile(r"\bmain\s*\(\s*[^)\s]")

# Commands that change the user's session environment for every later process.
_SESSION_ENV: dict[str, tuple[str, ...]] = {
    "launchctl": ("setenv",),
    "systemctl": ("set-environment", "import-environment"),
    "setx": (),
    "dbus-update-activation-environment": (),
}

# Programs that change the files they are given, for when no other family names the
# file (``chmod 000 ~/.opsgate/audit.db``): every operand, or only the destination.
_CHANGES_ALL = frozenset({"chmod", "chown", "chgrp", "chattr", "setfacl", "truncate", "shred",
                          "touch", "unlink", "rm", "rmdir", "mv", "srm", "wipe", "mkfifo", "tee",
                          "setfattr", "xattr"})  # fmt: skip
_CHANGES_LAST = frozenset({"cp", "ln", "install", "rsync", "scp", "dd", "sponge"})
# Programs that signal processes chosen by a pattern or by the files they hold.
_KILLERS = frozenset({"pkill", "killall", "skill", "fuser"})
_REMOVERS = frozenset({"rm", "rmdir", "unlink", "shred", "srm", "wipe", "mv", "chmod", "chown",
                       "chattr", "setfacl"})  # fmt: skip

# Interpreters whose inline code (``-c``, ``-e``, a here-doc) is read for guard paths,
# by name without its version (``python3.12``); shells are not here: their scripts are
# walked command by command.
_INTERPRETERS = frozenset({"python", "pythonw", "py", "pypy", "ipython", "perl", "ruby", "irb",
                           "node", "nodejs", "deno", "bun", "tsx", "ts-node", "php", "lua",
                           "luajit", "Rscript", "R", "elixir", "iex", "osascript", "tclsh", "julia",
                           "jshell"})  # fmt: skip
# Interpreter code that changes files or signals processes (paths are checked
# separately), and code that opens a database at all (a one-liner that names
# opsgate.db is there to change it).
_CHANGING_CODE = (
    r"\b(write|writelines|write_text|write_bytes|unlink|remove|removedirs|rmdir|rmtree|"
    r"rename|renames|replace|symlink|symlink_to|hardlink_to|link|chmod|lchmod|chown|"
    r"truncate|ftruncate|move|copy|copy2|copyfile|copytree|mkfifo|utime|touch|"
    r"writeFile|writeFileSync|appendFile|appendFileSync|unlinkSync|rmSync|"
    r"renameSync|copyFileSync|symlinkSync|chmodSync|truncateSync|createWriteStream|rm_rf|"
    r"rm_f|mv|cp|ln_s|syswrite|binwrite|writeTextFile|kill|signal|bind|listen)\b"
    r"|\bopen\s*\([^)]*['\"][rwax]?[wax+]|\bopen\s*\(?\s*\w*\s*,\s*['\"]?\s*[>+]"
)
_WRITES = re.compile(_CHANGING_CODE + r"|\b(sqlite3|executescript)\b")
# A script file is longer and may only query a database: there a statement that
# writes is what counts (``select count(*) from audit_entries`` stays a read).
_SCRIPT_WRITES = re.compile(
    _CHANGING_CODE + r"|\b(?i:insert|update|delete|drop|alter|vacuum|executescript)\b"
)


def watches(name: str) -> bool:
    """Whether ``command_findings`` looks at program ``name`` at all: the same tests,
    in the same order.  Keep in step: ``_cross_cutting`` skips it for other names."""
    return (
        name == "opsgate"
        or name in _PACKAGE_TOOLS
        or name.startswith("pip3")
        or name in _SESSION_ENV
        or name in TARGET_PROGRAMS
        or name in _CHANGES_ALL
        or name in _CHANGES_LAST
        or name.rstrip("0123456789.") in _INTERPRETERS
        or name in _KILLERS
        or name in AGENT_CLIS
    )


def command_findings(cmd: Command, ctx: Context) -> list[Finding]:
    """Guard tampering by one simple command (bash, or a PowerShell native program);
    nothing for a program ``watches`` does not name."""
    name = cmd.name
    if name == "opsgate":
        return _opsgate_cli(cmd)
    if name in _PACKAGE_TOOLS or name.startswith("pip3"):
        return _package(cmd, cmd.words)
    if name in _SESSION_ENV:
        return _session_env(cmd)
    if name in TARGET_PROGRAMS:
        found = _targets(cmd, ctx)
        if found:
            return found
    if name in _CHANGES_ALL or name in _CHANGES_LAST:
        return _changes(cmd, ctx)
    if name.rstrip("0123456789.") in _INTERPRETERS:
        return _interpreter(cmd, ctx)
    if name in _KILLERS:
        return _kills(cmd, ctx)
    if name in AGENT_CLIS:
        why = agent_cli(cmd, ctx)
        return [_tamper(cmd.text, why)] if why else []
    return []


def _opsgate_cli(cmd: Command) -> list[Finding]:
    words = cmd.words
    if any(w in _HELP for w in words) or cmd.has("--dry-run"):
        return []
    verbs = [a.value for a in cmd.positionals(_AUDIT_VALUED)]
    verb = verbs[0] if verbs else ""
    if not verb:
        return []  # `opsgate` alone prints its usage
    allowed = _READ_ONLY_VERBS.get(verb, frozenset())
    sub = verbs[1] if len(verbs) > 1 else ""
    if allowed is None or (allowed and sub in allowed):
        return []
    what = f"opsgate {verb}" + (f" {sub}" if sub else "")
    return [_tamper(cmd.text, f"runs `{what}`, an administrative command of the guard")]


def _package(cmd: Command, words: Sequence[str]) -> list[Finding]:
    if not any(w in _PACKAGE_VERBS for w in words):
        return []
    if not any(_OPSGATE_PACKAGE.search(w) for w in words if not w.startswith("-")):
        return []
    return [_tamper(cmd.text, "installs, replaces or removes the opsgate package (the guard)")]


def _session_env(cmd: Command) -> list[Finding]:
    verbs = _SESSION_ENV[cmd.name]
    words = cmd.words
    if verbs and not any(v in words for v in verbs):
        return []
    if not any(w.upper().startswith("OPSGATE_") for w in words):
        return []
    return [_tamper(cmd.text, "sets an OPSGATE_ variable for every later process of the user")]


def _interpreter(cmd: Command, ctx: Context) -> list[Finding]:
    words = cmd.words
    module, at = _module(words)  # `py -3.12 -m pip`, `python3 -I -m pip`, `-mpip`
    if module in ("pip", "pip3", "uv", "pipx", "conda"):
        return _package(cmd, words[at:])
    if module.startswith("opsgate"):
        return _opsgate_cli(type(cmd)("opsgate", cmd.args[at:], cmd.text, cmd.env, cmd.stdin))
    code = cmd.text
    if cmd.stdin is not None and cmd.stdin.text:
        code += "\n" + cmd.stdin.text
    if "opsgate" in code and _IMPORTS_OPSGATE.search(code):
        found = _cli_from_code(cmd, code)
        if found:
            return found
    if not mentions_guard_path(code) or not _WRITES.search(code):
        return []
    return [_tamper(cmd.text, f"{cmd.name} code changes a file of the guard")]


def _module(words: Sequence[str]) -> tuple[str, int]:
    """The module an interpreter runs with ``-m`` after its own options (a launcher's
    version flag ``-3.12``, ``-I``, ``-u`` …), and the index of its first argument;
    ("", 0) when it runs no module."""
    for i, word in enumerate(words[:8]):
        if not word.startswith("-"):
            break
        if word == "-m" and i + 1 < len(words):
            return words[i + 1], i + 2
        if word.startswith("-m") and len(word) > 2 and word[2] != "-":
            return word[2:], i + 1
    return "", 0


def _targets(cmd: Command, ctx: Context) -> list[Finding]:
    """git, archive extraction and copies into a directory: the paths they change
    that are not their plain operands (``_guard_targets``)."""
    paths = changed_paths(cmd)
    if not paths:
        return []  # ``git status``: the environment's roots are not read
    roots = dynamic_roots()
    for path in paths:
        if cmd.cwd and not path.startswith(("/", "~")):
            path = posixpath.join(cmd.cwd, path)  # ``cd ~/.opsgate && curl -O …/x``
        base = ctx.project_dir
        if not may_be_guard_path(path, roots, base):
            continue
        why = guard_path_in(path, ctx.home, base, roots, whole_dirs=True)
        if why is not None:
            return [_tamper(cmd.text, f"{cmd.name} changes {path}: {why}", path)]
    return []


def _kills(cmd: Command, ctx: Context) -> list[Finding]:
    roots = dynamic_roots()

    def guard_file(path: str) -> str | None:
        if not may_be_guard_path(path, roots, ctx.project_dir):
            return None
        return guard_path_in(path, ctx.home, ctx.project_dir, roots)

    why = kill_target(cmd, guard_file)
    if why is None:
        return []
    return [_tamper(cmd.text, f"{cmd.name} signals opsgate's own processes: {why}")]


def _cli_from_code(cmd: Command, code: str) -> list[Finding]:
    """``python3 -c 'from opsgate.cli import main; main(["uninstall", "claude"])'``:
    opsgate's command line called as a function is judged like the command."""
    call = _CLI_CALL.search(code)
    if call is None:
        if _CLI_ARGS.search(code) is None:
            return []  # ``import opsgate; print(opsgate.__version__)``
        return [_tamper(cmd.text, "calls opsgate's command line with arguments built at run time")]
    words = re.findall(r"""['"]([^'"]*)['"]""", call.group(1))
    if not words:
        return [_tamper(cmd.text, "calls opsgate's command line with arguments built at run time")]
    args = tuple(type(cmd.args[0])(w) for w in words) if cmd.args else ()
    return _opsgate_cli(type(cmd)("opsgate", args, cmd.text, cmd.env, None))


def script_findings(text: str, lang: str) -> list[Finding]:
    """Guard tampering in a script file that an interpreter runs (``python3 tools/x.py``):
    read like inline code.  The evidence is the first line that names the guard's place
    (the caller replaces it with the file and line number)."""
    if not mentions_guard_path(text) or not _SCRIPT_WRITES.search(text):
        return []
    line = next((ln for ln in text.splitlines() if mentions_guard_path(ln)), "")
    return [_tamper(line.strip(), f"the {lang} script changes a file or process of the guard")]


def _changes(cmd: Command, ctx: Context) -> list[Finding]:
    ops = [a for a in cmd.args if a.static and not a.value.startswith("-")]
    if cmd.name == "dd":
        ops = [type(a)(a.value[3:]) for a in ops if a.value.startswith("of=")]
    elif cmd.name in _CHANGES_LAST:
        target = cmd.option("-t", "--target-directory")
        ops = [type(ops[0])(target)] if target and ops else ops[-1:]
    removes = cmd.name in _REMOVERS
    if cmd.name in ("tee", "sponge"):  # OPSGATE_* piped into mise's [env], a .env …
        stdin = cmd.stdin.text if cmd.stdin is not None else None
        for arg in ops:
            found = env_file_write(arg.value, stdin or cmd.text, cmd.text)
            if found:
                return found
    if not ops:
        return []
    roots = dynamic_roots()
    for arg in ops:
        if not may_be_guard_path(arg.value, roots, ctx.project_dir):
            continue
        why = guard_path_in(arg.value, ctx.home, ctx.project_dir, roots, whole_dirs=removes)
        if why is not None:
            return [_tamper(cmd.text, f"{cmd.name} changes {arg.value}: {why}", arg.value)]
    return []


# --- after classification ----------------------------------------------------------------
_CHANGE_EFFECTS = (Effect.LOCAL, Effect.WRITE, Effect.UNKNOWN)
_REMOVALS = ("filesystem.delete", "filesystem.move", "filesystem.shred")
_AIMED_AT_OPSGATE = ("process.", "service.", "host.schedule", "system.")
# Start-up files, where an OPSGATE_ variable would reach every later hook (suffix and
# directory tests on the lower-cased path: cheaper than a regex on every change).
_STARTUP_NAMES = (".bashrc", ".zshrc", ".kshrc", ".cshrc", ".tcshrc", ".bash_profile",
                  ".bash_login", ".profile", ".zshenv", ".zprofile", ".zlogin", ".envrc",
                  ".pam_environment", ".xprofile", "/etc/environment", "/etc/profile",
                  "profile.ps1", "mise.toml", "mise.local.toml", "/.tool-versions",
                  ".pth", "/usercustomize.py", "/sitecustomize.py")  # fmt: skip
_STARTUP_DIRS = ("/.config/environment.d/", "/.config/fish/", "/profile.d/",
                 "/.config/autostart/", "/documents/powershell/",
                 "/documents/windowspowershell/")  # fmt: skip
_PS_TAMPER = re.compile(
    r"\b(stop-process|spps|kill|taskkill|stop-service|remove-service|set-service|suspend-service|"
    r"uninstall-package|uninstall-module|sc(\.exe)?\s+(stop|delete|config))\b[^;|\n]*opsgate"
    r"|setenvironmentvariable\s*\(\s*['\"]opsgate_",
    re.IGNORECASE,
)


def _startup_file(target: str) -> bool:
    lowered = target.replace("\\", "/").lower()
    if lowered.endswith(_STARTUP_NAMES):
        return True
    return ("/.config/" in lowered or "profile.d/" in lowered or "/documents/" in lowered) and any(
        d in lowered for d in _STARTUP_DIRS
    )


def _names_opsgate(text: str) -> bool:
    """Whether a signal or service change names opsgate, or a file that leads to its
    processes (``kill $(lsof -t ~/.opsgate/run/hook.sock)``)."""
    if "opsgate" in text.lower() or mentions_guard_path(text):
        return True
    return ("pgrep" in text or "pidof" in text) and pgrep_selects_opsgate(text) is not None


def may_tamper(action: Action, findings: Sequence[Finding]) -> bool:
    """A cheap first look: whether ``action_findings`` has anything to read."""
    if action.tool == "PowerShell" or action.tool.startswith("mcp__"):
        return True
    for f in findings:  # noqa: SIM110 - a plain loop: this runs on every decision
        if f.effect is not Effect.READ and f.effect is not Effect.SECRET:
            return True
    return False


def action_findings(action: Action, findings: Sequence[Finding], project: str | None,
                    home: Callable[[], str]) -> list[Finding]:  # fmt: skip
    """``guard.tamper`` findings for what the classifier already found.  ``home`` is
    asked for only when a path may be the guard's (it reads the environment)."""
    out: list[Finding] = []
    roots = dynamic_roots()
    for f in findings:
        if f.category == CATEGORY or f.effect not in _CHANGE_EFFECTS:
            continue
        if f.target and may_be_guard_path(f.target, roots, project):
            removes = f.category.startswith(_REMOVALS)
            why = guard_path_in(f.target, home(), project, roots, whole_dirs=removes)
            if why is not None:
                out.append(_tamper(f.evidence, f"{f.reason} — {why}", f.target))
                continue
        if f.category.startswith(_AIMED_AT_OPSGATE) and _names_opsgate(
            f"{f.evidence} {f.target or ''} {action.text}"
        ):
            out.append(_tamper(f.evidence, f"{f.reason} — aimed at opsgate's own processes"))
        elif (
            f.target
            and (_startup_file(f.target) or defines_env(f.target))
            and "OPSGATE_" in json.dumps(action.input)
        ):
            reason = f"writes an OPSGATE_ variable into {f.target}, a start-up file"
            out.append(_tamper(f.evidence, reason, f.target))
    if action.tool == "PowerShell":
        text = action.text
        if "opsgate" in text.lower() and _PS_TAMPER.search(text):
            out.append(_tamper(text, "stops, removes or reconfigures opsgate's process"))
    if action.tool.startswith("mcp__"):
        out.extend(_mcp_paths(action, home(), project))
    return out


# An MCP tool whose name says it changes what its path arguments name (a filesystem
# server's move_file moves its ``source`` away, which no other finding names).
_MCP_CHANGES = re.compile(
    r"(write|edit|move|rename|delete|remove|create|copy|mkdir|set|update|put|upload|append|"
    r"chmod|truncate|patch)", re.IGNORECASE,
)  # fmt: skip


def _mcp_paths(action: Action, home: str, project: str | None) -> list[Finding]:
    if not _MCP_CHANGES.search(action.tool.rsplit("__", 1)[-1]):
        return []
    for value in _strings(action.input):
        if "/" in value or "\\" in value:
            why = guard_path(value, home, project)
            if why is not None:
                return [_tamper(f"{action.tool} {value}", f"{action.tool} changes {value}: {why}",
                                value)]  # fmt: skip
    return []


def _strings(value: object, depth: int = 0) -> list[str]:
    """The string values of an MCP tool's arguments (bounded: input is hostile)."""
    if isinstance(value, str):
        return [value[:4096]]
    if depth > 4:
        return []
    if isinstance(value, dict):
        return [s for v in list(value.values())[:64] for s in _strings(v, depth + 1)]
    if isinstance(value, list):
        return [s for v in value[:64] for s in _strings(v, depth + 1)]
    return []
