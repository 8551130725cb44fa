"""Readers: the steps each kind of self-running file runs, from its whole text or a piece.

``READERS[name] = (whole, piece)``.  ``whole(text, runs)`` reads a complete file and
returns None when the text is not such a file; ``piece(text, runs)`` reads added text
without its surroundings and falls back to taking it as script lines, so text that
cannot be placed is still judged (and text that does not parse as a script is
``unknown``).
"""

from __future__ import annotations

import html
import re
import shlex
import textwrap
import tomllib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from opsgate.classify._autorun import Runs, Step
from opsgate.classify._autorun_extra import READERS as EXTRA_READERS
from opsgate.classify._autorun_json import READERS as JSON_READERS
from opsgate.classify._autorun_json import commands
from opsgate.classify._autorun_text import (
    dockerfile_piece,
    dockerfile_whole,
    jenkins_piece,
    jenkins_whole,
)
from opsgate.classify._autorun_yaml import SHAPES, Shape, yaml_piece, yaml_steps

__all__ = ["INCLUDED", "READERS", "Reader"]

Reader = tuple[Callable[[str, Runs], list[Step] | None], Callable[[str, Runs], list[Step]]]


def _lines(text: str, runs: Runs, lang: str = "sh") -> list[Step]:
    return [Step("added lines", text, lang, runs)] if text.strip() else []


# --- shell files and Python -------------------------------------------------------------
def _shell_whole(text: str, runs: Runs) -> list[Step] | None:
    first = text.split("\n", 1)[0]
    lang = "sh"
    if first.startswith("#!"):
        if "python" in first:
            lang = "python"
        elif "node" in first:
            lang = "node"
    return [Step("the script", text, lang, runs)] if text.strip() else []


def _shell_piece(text: str, runs: Runs) -> list[Step]:
    return _lines(text, runs)


def _python_whole(text: str, runs: Runs) -> list[Step] | None:
    return [Step("the module", text, "python", runs)] if text.strip() else []


def _python_piece(text: str, runs: Runs) -> list[Step]:
    return _lines(textwrap.dedent(text), runs, "python")


_STARTUP = re.compile(r'<component\s+name="ProjectStartup(Local|Shared)Configuration"[\s\S]*?'
                      r'</component>|<component\s+name="ProjectStartup(Local|Shared)Configuration'
                      r'"[^>]*/>')  # fmt: skip


def _idea_whole(text: str, runs: Runs) -> list[Step] | None:
    """JetBrains startup tasks: run configurations the IDE starts when the project opens."""
    return [Step("startup tasks", m.group(0), "fact", runs,
                 fact=("editor.startup_task", "adds a task the IDE runs when it opens the project"))
            for m in _STARTUP.finditer(text) if "<configuration" in m.group(0)]  # fmt: skip


def _idea_piece(text: str, runs: Runs) -> list[Step]:
    if "ProjectStartup" not in text and not re.search(r"<configuration\b", text):
        return []
    reason = "adds a task the IDE runs when it opens the project"
    return [Step("startup tasks", text, "fact", runs, fact=("editor.startup_task", reason))]


_RUN_CONFIG = re.compile(r"<configuration\b([^>]*)>([\s\S]*?)</configuration>")
_ATTR = re.compile(r'\b([\w.-]+)="([^"]*)"')
_OPTION = re.compile(r'<option\s+name="([^"]+)"\s+value="([^"]*)"')
_SCRIPT = re.compile(r'<script\s+value="([^"]*)"')
_IDE_VARIABLES = (("$PROJECT_DIR$", "."), ("$USER_HOME$", "~"), ("$MODULE_DIR$", "."))


def _idea_run_whole(text: str, runs: Runs) -> list[Step] | None:
    """A shared run configuration (``.idea/runConfigurations/*.xml``), read when a
    startup task starts it: each configuration by the command it runs."""
    steps = []
    for match in _RUN_CONFIG.finditer(text):
        attrs = {k: html.unescape(v) for k, v in _ATTR.findall(match.group(1))}
        options = {k: _ide_text(v) for k, v in _OPTION.findall(match.group(2))}
        kind, where = attrs.get("type", ""), f"run configuration {attrs.get('name', '')}"
        line = _run_line(kind, options, [_ide_text(v) for v in _SCRIPT.findall(match.group(2))])
        if line is None:
            reason = f"starts a run configuration of type {kind[:60]}, which opsgate does not model"
            steps.append(Step(where, "", "fact", runs, fact=("unknown", reason)))
        elif line:
            steps.append(Step(where, line, "sh", runs))
    return steps


def _ide_text(value: str) -> str:
    value = html.unescape(value)
    for name, replacement in _IDE_VARIABLES:
        value = value.replace(name, replacement)
    return value


def _run_line(kind: str, options: dict[str, str], scripts: list[str]) -> str | None:
    """The command line a run configuration runs ("" for none; None: not modelled)."""
    if kind == "ShConfigurationType":
        if options.get("EXECUTE_SCRIPT_FILE", "true") == "false":
            return options.get("SCRIPT_TEXT", "")
        script = options.get("SCRIPT_PATH", "")
        if not script:
            return ""
        interpreter = options.get("INTERPRETER_PATH") or "/bin/bash"
        parts = [shlex.quote(interpreter), options.get("INTERPRETER_OPTIONS", ""),
                 shlex.quote(script), options.get("SCRIPT_OPTIONS", "")]  # fmt: skip
        return " ".join(p for p in parts if p)
    if kind == "js.build_tools.npm":
        return " ".join(shlex.join(["npm", "run", s]) for s in scripts[:1]) or ""
    if kind == "PythonConfigurationType":
        target = options.get("SCRIPT_NAME", "")
        words = ["-m", target] if options.get("MODULE_MODE") == "true" else [target]
        return " ".join([shlex.join(["python3", *words]), options.get("PARAMETERS", "")]).strip()
    return None


_MISE_HOOKS = ("enter", "leave", "cd", "preinstall", "postinstall")


def _mise_whole(text: str, runs: Runs) -> list[Step] | None:
    try:
        doc = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return None
    hooks = doc.get("hooks")
    return _mise_steps(hooks, runs) if isinstance(hooks, dict) else []


def _mise_steps(hooks: dict[str, Any], runs: Runs) -> list[Step]:
    return [s for name in _MISE_HOOKS for s in commands(hooks.get(name), f"hooks.{name}", runs)]


_MISE_ENTRY = re.compile(
    r"""(?m)^\s*(?:enter|leave|cd|preinstall|postinstall)\s*=\s*("(?:[^"\\]|\\.)*"|'[^']*')"""
)
_TOML_KEY = re.compile(r"""(?m)^\s*[\w.\-"']+\s*=""")


def _mise_piece(text: str, runs: Runs) -> list[Step]:
    try:
        doc = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        doc = None
    if isinstance(doc, dict) and doc:
        hooks = doc.get("hooks")
        return _mise_steps(hooks if isinstance(hooks, dict) else doc, runs)
    found = [m.group(1)[1:-1] for m in _MISE_ENTRY.finditer(text)]
    if found:
        return [Step("hooks", value, "sh", runs) for value in found]
    return [] if _TOML_KEY.search(text) else _lines(text, runs)


# .npmrc settings that make npm run a program of someone's choosing with every script.
_NPMRC_RUNS = frozenset({"script-shell", "node-options", "shell", "onload-script", "git"})
_NPMRC_LINE = re.compile(r"^\s*([\w.-]+)\s*=\s*(.*?)\s*$", re.MULTILINE)


def _npmrc_whole(text: str, runs: Runs) -> list[Step] | None:
    steps = []
    for match in _NPMRC_LINE.finditer(text):
        key, value = match.group(1).lower(), match.group(2)
        if key in _NPMRC_RUNS:
            reason = f"sets {key}, so npm runs it (or with it) for every script"
            steps.append(Step(key, value, "fact", runs, fact=("package.config", reason)))
    return steps


def _npmrc_piece(text: str, runs: Runs) -> list[Step]:
    return _npmrc_whole(text, runs) or []


def _yaml(name: str) -> Reader:
    shape = SHAPES[name]
    return (lambda t, r: yaml_steps(t, shape, r), lambda t, r: yaml_piece(t, shape, r))


READERS: dict[str, Reader] = {
    **{name: _yaml(name) for name in SHAPES},
    "shell": (_shell_whole, _shell_piece),
    "python": (_python_whole, _python_piece),
    **JSON_READERS,
    "idea": (_idea_whole, _idea_piece),
    "idea_run": (_idea_run_whole, lambda text, runs: _idea_run_whole(text, runs) or []),
    "mise": (_mise_whole, _mise_piece),
    "npmrc": (_npmrc_whole, _npmrc_piece),
    "dockerfile": (dockerfile_whole, dockerfile_piece),
    "jenkins": (jenkins_whole, jenkins_piece),
    **EXTRA_READERS,
}


def _included(shape: Shape) -> Callable[[str | None, Runs], list[Step] | None]:
    return lambda text, runs: yaml_steps(text, shape, runs) if text else None


# Files another file runs as part of itself, read as the including file's own steps.
# A reusable workflow's own triggers do not matter: it runs when its caller runs.
INCLUDED: dict[str, Callable[[str | None, Runs], list[Step] | None]] = {
    "github": _included(replace(SHAPES["github"], gate=None)),
    "gitlab": _included(SHAPES["gitlab"]),
}
