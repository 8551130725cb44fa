"""Readers for JSON manifests that run commands: package.json (lifecycle scripts and git
hook tables), composer.json, devcontainer.json and VS Code settings (``_autorun_editor``)."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from opsgate.classify._autorun import Runs, Step

__all__ = ["READERS", "commands"]


def _lines(text: str, runs: Runs) -> list[Step]:
    return [Step("added lines", text, "sh", runs)] if text.strip() else []


# --- JSON manifests: package.json, composer.json, devcontainer.json, VS Code settings ----
_JSONC_NOISE = re.compile(r'("(?:[^"\\]|\\.)*")|//[^\n]*|/\*.*?\*/', re.DOTALL)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def _json(text: str) -> Any:
    """JSON, or JSON with comments and trailing commas (VS Code, devcontainers)."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        pass
    cleaned = _JSONC_NOISE.sub(lambda m: m.group(1) or "", text)
    cleaned = _TRAILING_COMMA.sub(r"\1", cleaned)
    try:
        return json.loads(cleaned)
    except (json.JSONDecodeError, RecursionError):
        return None


def _json_piece_doc(text: str) -> Any:
    """A piece of a JSON object: itself, or its members wrapped in braces."""
    doc = _json(text)
    if isinstance(doc, dict):
        return doc
    body = text.strip().strip(",")
    return _json("{" + body + "}") if body and not body.startswith("{") else None


_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*("(?:[^"\\]|\\.)*"|\[[^\]]*\])')
_ANY_KEY = re.compile(r'"(?:[^"\\]|\\.)*"\s*:')


def _json_pairs(text: str, keys: frozenset[str]) -> list[tuple[str, Any]] | None:
    """``"key": value`` members of a fragment that cannot be parsed; None when the text
    has no members at all (it is then a piece of a value: script text)."""
    if not _ANY_KEY.search(text):
        return None
    pairs = []
    for match in _PAIR.finditer(text):
        if match.group(1) in keys:
            value = _json(match.group(2))
            if value is not None:
                pairs.append((match.group(1), value))
    return pairs


def commands(value: Any, where: str, runs: Runs, *, exec_form: bool = False) -> list[Step]:
    """A string is a shell command; a list, several (or one exec-form command)."""
    if isinstance(value, str):
        return [Step(where, value, "sh", runs)]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        if exec_form:
            return [Step(where, shlex.join(value), "sh", runs)] if value else []
        return [Step(f"{where}[{i}]", v, "sh", runs) for i, v in enumerate(value)]
    return []


_NPM_LIFECYCLE = frozenset({
    "preinstall", "install", "postinstall", "prepare", "preprepare", "postprepare",
    "prepublish", "prepack", "postpack", "preuninstall", "uninstall", "postuninstall",
    "dependencies",
})  # fmt: skip
_GIT_HOOKS = frozenset({
    "applypatch-msg", "pre-applypatch", "post-applypatch", "pre-commit", "pre-merge-commit",
    "prepare-commit-msg", "commit-msg", "post-commit", "pre-rebase", "post-checkout",
    "post-merge", "pre-push", "post-rewrite", "pre-auto-gc", "push-to-checkout",
})  # fmt: skip
# Git hook tables kept in package.json (husky 4, simple-git-hooks, yorkie, ghooks).
_HOOK_TABLES = ("simple-git-hooks", "gitHooks", "ghooks", "pre-commit")


def _npm_whole(text: str, runs: Runs) -> list[Step] | None:
    doc = _json(text)
    return _npm_steps(doc, runs) if isinstance(doc, dict) else None


def _npm_steps(doc: dict[str, Any], runs: Runs) -> list[Step]:
    scripts = doc.get("scripts") if isinstance(doc.get("scripts"), dict) else {}
    assert isinstance(scripts, dict)
    steps = []
    for name in sorted(_NPM_LIFECYCLE & scripts.keys()):
        steps += commands(scripts[name], f"scripts.{name}", runs)
    husky = doc.get("husky")
    tables = [("husky.hooks", husky.get("hooks"))] if isinstance(husky, dict) else []
    tables += [(t, doc.get(t)) for t in _HOOK_TABLES]
    for label, table in tables:
        if isinstance(table, dict):
            for hook, command in table.items():
                steps += commands(command, f"{label}.{hook}", runs)
        elif isinstance(table, (str, list)) and label == "pre-commit":
            # The pre-commit package: names of scripts run at every commit.
            names = [table] if isinstance(table, str) else table
            for name in names:
                if isinstance(name, str):
                    steps += commands(scripts.get(name, name), f"pre-commit ({name})", runs)
    staged = doc.get("lint-staged")
    if isinstance(staged, dict):
        for glob, command in staged.items():
            steps += commands(command, f"lint-staged.{glob}", runs)
    return steps


def _npm_piece(text: str, runs: Runs) -> list[Step]:
    doc = _json_piece_doc(text)
    if isinstance(doc, dict):
        steps = _npm_steps(doc, runs)
        # Members without their parent object: lifecycle scripts and hooks by name.
        keys = _NPM_LIFECYCLE | _GIT_HOOKS
        for key, value in doc.items():
            if key in keys:
                steps += commands(value, key, runs)
        return steps
    pairs = _json_pairs(text, _NPM_LIFECYCLE | _GIT_HOOKS)
    if pairs is None:
        return _lines(text, runs)
    return [s for key, value in pairs for s in commands(value, key, runs)]


_COMPOSER_EVENTS = frozenset({
    "pre-install-cmd", "post-install-cmd", "pre-update-cmd", "post-update-cmd",
    "pre-autoload-dump", "post-autoload-dump", "post-root-package-install",
    "post-create-project-cmd", "pre-package-install", "post-package-install",
    "pre-package-update", "post-package-update", "pre-package-uninstall",
    "post-package-uninstall", "pre-archive-cmd", "post-archive-cmd",
})  # fmt: skip
# ``Vendor\\Class::method``: a PHP callback in the project or a dependency, not a command.
_PHP_CALLBACK = re.compile(r"^[\w\\]+::\w+$")


def _composer_whole(text: str, runs: Runs) -> list[Step] | None:
    doc = _json(text)
    if not isinstance(doc, dict):
        return None
    scripts = doc.get("scripts")
    return _composer_steps(scripts, scripts, runs) if isinstance(scripts, dict) else []


def _composer_steps(events: dict[str, Any], scripts: Any, runs: Runs) -> list[Step]:
    steps = []
    for name in sorted(_COMPOSER_EVENTS & events.keys()):
        value = events[name]
        entries = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        for i, entry in enumerate(entries):
            if isinstance(entry, str) and not _PHP_CALLBACK.match(entry):
                steps.append(Step(f"scripts.{name}[{i}]", _composer_entry(entry, scripts), "sh",
                                  runs))  # fmt: skip
    return steps


def _composer_entry(entry: str, scripts: Any) -> str:
    """``@php artisan …`` runs php; ``@name`` runs another script of the file."""
    if entry.startswith("@php "):
        return "php " + entry[5:]
    if entry.startswith("@composer "):
        return "composer " + entry[10:]
    if entry.startswith("@") and isinstance(scripts, dict):
        target = scripts.get(entry[1:].split()[0])
        if isinstance(target, str):
            return target
    return entry


def _composer_piece(text: str, runs: Runs) -> list[Step]:
    doc = _json_piece_doc(text)
    if isinstance(doc, dict):
        events = doc.get("scripts") if isinstance(doc.get("scripts"), dict) else doc
        assert isinstance(events, dict)
        return _composer_steps(events, events, runs)
    pairs = _json_pairs(text, _COMPOSER_EVENTS)
    if pairs is None:
        return _lines(text, runs)
    return _composer_steps(dict(pairs), None, runs)


_DEVCONTAINER = {
    "initializeCommand": Runs.HERE,  # on the host, before the container exists
    "onCreateCommand": Runs.CONTAINER,
    "updateContentCommand": Runs.CONTAINER,
    "postCreateCommand": Runs.CONTAINER,
    "postStartCommand": Runs.CONTAINER,
    "postAttachCommand": Runs.CONTAINER,
}


def _devcontainer_whole(text: str, runs: Runs) -> list[Step] | None:
    doc = _json(text)
    if not isinstance(doc, dict):
        return None
    steps = _devcontainer_steps(doc)
    if reaches_host(doc):
        # Given the host's Docker daemon, a container's docker commands act on the
        # host's containers and volumes (``docker system prune -af --volumes``).
        steps += [replace(s, runs=Runs.HERE) for s in steps
                  if s.runs is Runs.CONTAINER and _ENGINE.search(s.script)]  # fmt: skip
    return steps


_SOCKET = re.compile(r"(^|[=:,\s])/(var/)?run/docker\.sock\b")
_ENGINE = re.compile(r"(?<![\w-])(docker|podman|docker-compose)(?![\w-])")


def reaches_host(doc: dict[str, Any], more: Iterable[str] = ()) -> bool:
    """A devcontainer given the host's Docker daemon, or the host itself."""
    run_args = doc.get("runArgs")
    words = [a for a in run_args if isinstance(a, str)] if isinstance(run_args, list) else []
    mounts = doc.get("mounts")
    for mount in mounts if isinstance(mounts, list) else []:
        words.append(mount if isinstance(mount, str) else str(mount.get("source", ""))
                     if isinstance(mount, dict) else "")  # fmt: skip
    words += more
    return (
        doc.get("privileged") is True
        or "--privileged" in words
        or any(_SOCKET.search(word) for word in words)
    )


def _devcontainer_steps(doc: dict[str, Any]) -> list[Step]:
    """Lifecycle commands: a string runs in a shell, a list directly, an object's values
    in parallel.  ``initializeCommand`` runs on the host, the others in the container."""
    steps = []
    for key, where in _DEVCONTAINER.items():
        value = doc.get(key)
        parts = value.items() if isinstance(value, dict) else [(None, value)]
        for name, command in parts:
            label = f"{key}.{name}" if name else key
            steps += commands(command, label, where, exec_form=True)
    return steps


def _devcontainer_piece(text: str, runs: Runs) -> list[Step]:
    doc = _json_piece_doc(text)
    if isinstance(doc, dict):
        return _devcontainer_steps(doc)
    pairs = _json_pairs(text, frozenset(_DEVCONTAINER))
    if pairs is None:
        return _lines(text, runs)
    return _devcontainer_steps(dict(pairs))


def _vscode_whole(text: str, runs: Runs) -> list[Step] | None:
    from opsgate.classify._autorun_editor import editor_steps

    doc = _json(text)
    return editor_steps(doc, runs) if isinstance(doc, dict) else None


def _vscode_piece(text: str, runs: Runs) -> list[Step]:
    from opsgate.classify._autorun_editor import editor_piece

    return editor_piece(_json_piece_doc(text), text, runs)


READERS = {
    "npm": (_npm_whole, _npm_piece),
    "composer": (_composer_whole, _composer_piece),
    "devcontainer": (_devcontainer_whole, _devcontainer_piece),
    "vscode": (_vscode_whole, _vscode_piece),
}
