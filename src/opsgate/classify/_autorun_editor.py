"""VS Code's settings (a project's ``.vscode/settings.json``, a ``.code-workspace``'s
``settings``, and the user's or a remote server's settings of VS Code, Cursor,
VSCodium …): the programs they make the editor start by itself, judged as those
programs.

* ``terminal.integrated.profiles.<os>``, ``automationProfile.<os>`` (the shell every
  task runs in), and the older ``shell.<os>``/``shellArgs.<os>``: the program every
  terminal starts, with its arguments, judged as that command line.  A shell that
  starts and waits for input is what a terminal is, and is not a finding.
* ``terminal.integrated.env.<os>`` (and a profile's ``env``): the variables that run
  code are judged by what they run: ``PROMPT_COMMAND`` (a command before every
  prompt), ``PS0``/``PS1``/``PS4`` (their command substitutions), ``BASH_ENV``/``ENV``
  (a file every shell sources), ``ZDOTDIR`` (the directory of zsh's start-up files),
  ``GIT_SSH_COMMAND``, ``PAGER``, ``EDITOR`` … (the command they name),
  ``NODE_OPTIONS`` (node with those options: its ``--require``d modules) and
  ``PYTHONSTARTUP`` (a file Python runs).  Variables that load native code or replace
  git's own programs (``LD_PRELOAD``, ``GIT_EXEC_PATH`` …) stay a finding: what they
  load cannot be read.
* Settings that name a program an extension starts on its own when a folder opens
  (``git.path``, ``python.defaultInterpreterPath``, ``rust-analyzer.server.path``,
  ``clangd.path``, ``*.serverPath``, ``*.executablePath``, ``eslint.runtime``,
  ``go.alternateTools`` …): judged as running that program, so a project script is
  read, and a system program is what its name says.

``${workspaceFolder}`` is the project; ``${userHome}``, ``${env:NAME}`` and ``~`` are
what the shell makes of them.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from opsgate.classify._autorun import Runs, Step

__all__ = ["editor_piece", "editor_steps"]

_TERMINAL = re.compile(r"^terminal\.integrated\.(env|profiles|shell|shellArgs|automationProfile)"
                       r"\.[A-Za-z]+$")  # fmt: skip
# A setting's last name when its value is a program an extension starts by itself.
_PROGRAM = re.compile(
    r"\.(?:path|executable|executablePath|interpreter|interpreterPath|"
    r"defaultInterpreterPath|pythonPath|serverPath|commandPath|compilerPath|binPath|lspBin|"
    r"runtime|dockerPath|cmakePath|condaPath|poetryPath|pipenvPath|customRubyCommand)$",
    re.IGNORECASE,
)
_NOT_PROGRAMS = ("terminal.", "files.", "search.", "workbench.", "editor.", "explorer.",
                 "window.", "debug.", "json.", "markdown.")  # fmt: skip
_PROGRAM_TABLES = frozenset({"go.alternateTools"})  # tool name -> the program used instead

# Variables whose value is shell code, a file sourced, or a command line to run.
_SCRIPT_VARS = frozenset({"PROMPT_COMMAND"})
_PROMPT_VARS = frozenset({"PS0", "PS1", "PS2", "PS4"})
_SOURCED_VARS = frozenset({"BASH_ENV", "ENV"})
_COMMAND_VARS = frozenset({"GIT_SSH_COMMAND", "GIT_PAGER", "GIT_EDITOR", "PAGER", "EDITOR",
                           "VISUAL"})  # fmt: skip
_PROGRAM_VARS = frozenset({"GIT_SSH", "GIT_ASKPASS", "SSH_ASKPASS", "SUDO_ASKPASS"})
# Variables that make a shell or a tool run code opsgate cannot read (native libraries,
# git's own programs, whole configurations): a finding by themselves.
_OPAQUE_VARS = frozenset({
    "SHELLOPTS", "BASHOPTS", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT",
    "DYLD_INSERT_LIBRARIES", "DYLD_LIBRARY_PATH", "PERL5OPT", "RUBYOPT", "GIT_EXEC_PATH",
    "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM",
})  # fmt: skip
RUNS_CODE_ENV = (_SCRIPT_VARS | _PROMPT_VARS | _SOURCED_VARS | _COMMAND_VARS | _PROGRAM_VARS
                 | _OPAQUE_VARS | {"ZDOTDIR", "NODE_OPTIONS", "PYTHONSTARTUP"})  # fmt: skip
_VARIABLE = re.compile(r"\$\{(workspaceFolder|workspaceRoot|fileWorkspaceFolder)(?::[^}]*)?\}|"
                       r"\$\{userHome\}|\$\{env:([A-Za-z_]\w*)\}|\$\{pathSeparator\}")  # fmt: skip


def editor_steps(doc: dict[str, Any], runs: Runs) -> list[Step]:
    """What the settings make the editor start (in a ``.code-workspace`` file they sit
    under ``settings``, next to its own ``tasks``)."""
    from opsgate.classify._autorun_extra import vscode_task_steps

    steps = vscode_task_steps(doc.get("tasks"), runs)
    nested = doc.get("settings")
    items = list(doc.items()) + (list(nested.items()) if isinstance(nested, dict) else [])
    shells = {str(k).rsplit(".", 1)[-1]: v for k, v in items
              if str(k).startswith("terminal.integrated.shell.")}  # fmt: skip
    for key, value in items:
        name = str(key)
        match = _TERMINAL.match(name)
        if match is not None:
            steps += _terminal(name, match.group(1), value, shells, runs)
        elif name in _PROGRAM_TABLES and isinstance(value, dict):
            for tool, program in value.items():
                steps += _programs(f"{name}.{tool}", program, runs)
        elif _PROGRAM.search(name) and not name.startswith(_NOT_PROGRAMS):
            if name.endswith("customRubyCommand") and isinstance(value, str):
                steps.append(Step(name, _resolved(value), "sh", runs, started=True))
            else:
                steps += _programs(name, value, runs)
    return steps


def _terminal(key: str, part: str, value: Any, shells: dict[str, Any], runs: Runs) -> (
        list[Step]):  # fmt: skip
    if value is None:
        return []
    if part == "env":
        return _env(key, value, runs)
    if part == "profiles":
        if not isinstance(value, dict):
            return [_cannot(key, runs)]
        return [s for name, profile in value.items()
                for s in _profile(f"{key}.{name}", profile, runs)]  # fmt: skip
    if part == "automationProfile":
        return _profile(key, value, runs)
    if part == "shell":
        return _profile(key, {"path": value}, runs)
    shell = shells.get(key.rsplit(".", 1)[-1])  # shellArgs go to the shell of that system
    return _profile(key, {"path": shell if isinstance(shell, str) else "sh", "args": value}, runs)


def _profile(where: str, profile: Any, runs: Runs) -> list[Step]:
    """A terminal profile: its program with its arguments, and its variables."""
    if profile is None:
        return []  # ``"bash": null`` hides a profile
    if not isinstance(profile, dict):
        return [_cannot(where, runs)]
    steps = _env(f"{where}.env", profile["env"], runs) if "env" in profile else []
    paths = profile.get("path")
    if paths is None:
        return steps  # a profile by its ``source`` ("Git Bash"): the editor's own
    args = profile.get("args", [])
    if isinstance(args, str):
        args = [args]
    choices = [paths] if isinstance(paths, str) else paths
    if not (isinstance(choices, list) and isinstance(args, list)
            and all(isinstance(x, str) for x in [*choices, *args])):  # fmt: skip
        return [*steps, _cannot(where, runs)]
    for path in choices:  # the first that exists is used
        line = " ".join([_word(path), *(shlex.quote(a) for a in args)])
        steps.append(Step(where, line, "sh", runs, started=True))
    return steps


def _env(where: str, table: Any, runs: Runs) -> list[Step]:
    if not isinstance(table, dict):
        return [_cannot(where, runs)] if table is not None else []
    steps = []
    for name in sorted(str(n) for n in table):
        value = table[name]
        upper = name.upper()
        if upper not in RUNS_CODE_ENV or value is None:
            continue
        here = f"{where}.{name}"
        script = _variable_script(upper, str(value))
        if script is None:
            reason = f"sets {name} in every terminal the editor opens, which runs code"
            steps.append(Step(here, str(value), "fact", runs, fact=("editor.terminal_env", reason)))
        else:
            started = upper in _COMMAND_VARS | _PROGRAM_VARS
            steps.append(Step(here, script, "sh", runs, started=started))
    return steps


def _variable_script(name: str, value: str) -> str | None:
    """What a terminal with ``name=value`` runs, as a shell script; None when it loads
    something that cannot be read."""
    value = value.strip()
    if not value:
        return ""
    if name in _SCRIPT_VARS or name in _COMMAND_VARS:
        return _resolved(value)
    if name in _PROMPT_VARS:  # expanded before every prompt: its substitutions run
        return f": <<OPSGATE_PROMPT\n{value}\nOPSGATE_PROMPT\n" if "OPSGATE" not in value else None
    if name in _SOURCED_VARS:
        return f". {_word(value)}"
    if name == "ZDOTDIR":
        return f". {_word(value + '/.zshenv')}; . {_word(value + '/.zshrc')}"
    if name in _PROGRAM_VARS:
        return _word(value)
    if name == "PYTHONSTARTUP":
        return f"python3 {_word(value)}"
    if name == "NODE_OPTIONS":
        try:
            words = shlex.split(_resolved(value))
        except ValueError:
            return None
        return shlex.join(["node", *words, "-e", "0"])
    return None


def _programs(where: str, value: Any, runs: Runs) -> list[Step]:
    """A setting naming a program (or a list of candidates): each judged as run."""
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [Step(where, _word(v), "sh", runs, started=True)
            for v in values if isinstance(v, str) and v.strip()]  # fmt: skip


def _resolved(text: str) -> str:
    """The editor's variables as the shell would see them."""

    def sub(match: re.Match[str]) -> str:
        whole = match.group(0)
        if match.group(1):
            return "."
        if match.group(2):
            return "${" + match.group(2) + "}"
        return "~" if whole == "${userHome}" else "/"

    return _VARIABLE.sub(sub, text)


def _word(path: str) -> str:
    """A path as one shell word that still expands ``~`` and ``${NAME}``."""
    path = _resolved(path.strip())
    if path == "~" or path.startswith("~/"):
        return "~" + (shlex.quote(path[1:]) if len(path) > 1 else "")
    if "${" in path:
        return '"' + re.sub(r'(["\\`])', r"\\\1", path) + '"'
    return shlex.quote(path)


def _cannot(where: str, runs: Runs) -> Step:
    reason = "a terminal setting opsgate cannot read"
    return Step(where, "", "fact", runs, fact=("unknown", reason))


def editor_piece(doc: Any, text: str, runs: Runs) -> list[Step]:
    """Settings added without their surroundings: read when they parse; else the
    names that run code found in the text are findings by themselves."""
    if isinstance(doc, dict):
        return editor_steps(doc, runs)
    names = sorted(n for n in RUNS_CODE_ENV if re.search(rf'"{n}"\s*:', text))
    steps = [Step(f"terminal env {n}", n, "fact", runs,
                  fact=("editor.terminal_env", f"sets {n} in the editor's terminals"))
             for n in names]  # fmt: skip
    keys = re.findall(r'"([\w.\-]+)"\s*:', text)
    if re.search(
        r'"terminal\.integrated\.(profiles|shell|shellArgs|automationProfile)', text
    ) or any(_PROGRAM.search(k) and not k.startswith(_NOT_PROGRAMS) for k in keys):
        reason = "changes a program the editor starts by itself"
        steps.append(Step("editor program", json.dumps(text.strip()[:200]), "fact", runs,
                          fact=("editor.terminal_shell", reason)))  # fmt: skip
    return steps
