"""Readers for more files that run by themselves: Cloud Build configs, JavaScript code
(a local action's, a lint-staged config's), ``.pth`` start-up files, lint-staged
tables, yarn's ``yarnPath``/plugins, and VS Code tasks that run when a folder opens;
and the command a container image runs with given arguments."""

from __future__ import annotations

import re
import shlex
from typing import Any

from opsgate.classify._autorun import Runs, Step
from opsgate.classify._autorun_json import _json, _json_piece_doc, commands

__all__ = ["READERS", "image_command", "vscode_task_steps"]


def _lines(text: str, runs: Runs, lang: str = "sh") -> list[Step]:
    return [Step("added lines", text, lang, runs)] if text.strip() else []


def _load(text: str) -> Any:
    from opsgate.classify._autorun_yaml import _load as load_yaml

    doc = _json(text)
    return doc if doc is not None else load_yaml(text)


# --- a container image with arguments (Cloud Build steps, GitHub ``docker://``) ---------
# Images with no entrypoint of their own: the arguments are the command.
_PLAIN_IMAGES = frozenset({
    "alpine", "ubuntu", "debian", "busybox", "centos", "fedora", "rockylinux", "almalinux",
    "amazonlinux", "bash", "node", "python", "ruby", "golang", "rust", "openjdk", "cloud-sdk",
    "buildpack-deps", "bitnami-shell", "ubi", "ubi8", "ubi9", "distroless", "postgres",
    "mysql", "mariadb", "redis", "mongo",
})  # fmt: skip
# Images named after a tool by another name than the program's.
_IMAGE_PROGRAMS = {"aws-cli": "aws", "azure-cli": "az", "google-cloud-cli": "gcloud",
                   "gcloud-sdk": "gcloud", "kubernetes-kubectl": "kubectl"}  # fmt: skip


def image_command(image: str, entrypoint: Any, args: Any) -> str | None:
    """The command line a container runs: its entrypoint (given, or the tool the image
    is named after) with the arguments; for a plain OS or language image, the
    arguments themselves.  None when the arguments are not text."""
    if isinstance(args, str):
        try:
            words = shlex.split(args)
        except ValueError:
            return None
    elif isinstance(args, list) and all(isinstance(a, str) for a in args):
        words = list(args)
    elif args is None:
        words = []
    else:
        return None
    base = image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0].lower()
    base = _IMAGE_PROGRAMS.get(base, base)
    if isinstance(entrypoint, str) and entrypoint.strip():
        head = shlex.split(entrypoint) if entrypoint.strip() else []
    elif base in _PLAIN_IMAGES and words and not words[0].startswith("-"):
        head = []
    else:
        head = [base] if base else []
    line = [*head, *words]
    return shlex.join(line) if line else None


# --- Google Cloud Build ---------------------------------------------------------------
def _cloudbuild_whole(text: str, runs: Runs) -> list[Step] | None:
    doc = _load(text)
    if not isinstance(doc, dict):
        return None
    steps = doc.get("steps")
    return _cloudbuild_steps(steps if isinstance(steps, list) else [], runs)


def _cloudbuild_steps(items: list[Any], runs: Runs) -> list[Step]:
    """``script`` runs in the step's image; else ``entrypoint`` (or the image's own
    program, ``gcr.io/cloud-builders/gcloud`` → ``gcloud``) with ``args``."""
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        where = f"steps[{i}]"
        script = item.get("script")
        if isinstance(script, str):
            first = script.split("\n", 1)[0]
            lang = "python" if first.startswith("#!") and "python" in first else "sh"
            out.append(Step(f"{where}.script", script, lang, runs))
            continue
        line = image_command(item["name"], item.get("entrypoint"), item.get("args"))
        if line is None:
            fact = ("unknown", "a build step whose arguments opsgate cannot read")
            out.append(Step(where, "", "fact", runs, fact=fact))
        else:
            out.append(Step(where, line, "sh", runs))
    return out


def _cloudbuild_piece(text: str, runs: Runs) -> list[Step]:
    doc = _load(text)
    if isinstance(doc, dict):
        return _cloudbuild_steps(doc["steps"] if isinstance(doc.get("steps"), list) else [doc],
                                 runs)  # fmt: skip
    if isinstance(doc, list):
        return _cloudbuild_steps(doc, runs)
    return _lines(text, runs)


# --- container entrypoints ------------------------------------------------------------
# ``exec "$@"``: the entrypoint hands over to the image's command, which is judged where
# it is written (the Dockerfile's ``CMD``, a compose file's ``command:``).
_ARGUMENTS = re.compile(r'"\$(?:@|\{@\})"|\$(?:@|\{@\})')


def _entrypoint_whole(text: str, runs: Runs) -> list[Step] | None:
    return _lines(_ARGUMENTS.sub("true", text), runs)


def _entrypoint_piece(text: str, runs: Runs) -> list[Step]:
    return _lines(_ARGUMENTS.sub("true", text), runs)


# --- direnv .envrc ----------------------------------------------------------------------
# direnv's own functions that only set variables or watch files (``dotenv`` loads a
# file into the environment, it prints nothing): defined as no-ops before the script.
# ``source_env``, ``source_up`` and ``fetchurl`` run or fetch more, and stay commands.
_DIRENV_QUIET = ("dotenv", "dotenv_if_exists", "layout", "use", "PATH_add", "path_add",
                 "MANPATH_add", "PATH_rm", "watch_file", "watch_dir", "env_vars_required",
                 "strict_env", "unstrict_env", "direnv_version", "log_status", "log_error",
                 "load_prefix", "on_git_branch")  # fmt: skip
_DIRENV_PRELUDE = "".join(f"{name}() {{ :; }}\n" for name in _DIRENV_QUIET)


def _envrc_whole(text: str, runs: Runs) -> list[Step] | None:
    return _lines(_DIRENV_PRELUDE + text, runs) if text.strip() else []


def _envrc_piece(text: str, runs: Runs) -> list[Step]:
    return _envrc_whole(text, runs) or []


# --- code ------------------------------------------------------------------------------
def _node_whole(text: str, runs: Runs) -> list[Step] | None:
    return _lines(text, runs, "node")


def _node_piece(text: str, runs: Runs) -> list[Step]:
    return _lines(text, runs, "node")


_PTH_IMPORT = re.compile(r"^import[ \t]")


def _pth_whole(text: str, runs: Runs) -> list[Step] | None:
    """A ``.pth`` file: lines that start with ``import`` run as Python at every start;
    the other lines are directories added to the path."""
    code = "\n".join(line for line in text.splitlines() if _PTH_IMPORT.match(line))
    return _lines(code, runs, "python")


def _pth_piece(text: str, runs: Runs) -> list[Step]:
    return _pth_whole(text, runs) or []


# --- lint-staged ------------------------------------------------------------------------
def _lintstaged_whole(text: str, runs: Runs) -> list[Step] | None:
    doc = _load(text)
    if not isinstance(doc, dict):
        return None
    return [s for glob, value in doc.items() for s in commands(value, f"{glob}", runs)]


def _lintstaged_piece(text: str, runs: Runs) -> list[Step]:
    doc = _json_piece_doc(text)
    if isinstance(doc, dict):
        return [s for glob, value in doc.items() for s in commands(value, f"{glob}", runs)]
    found = _lintstaged_whole(text, runs)
    return found if found is not None else _lines(text, runs)


# --- yarn ---------------------------------------------------------------------------------
_YARN1_PATH = re.compile(r"""(?m)^\s*["']?yarn-path["']?\s+["']?([^"'\n]+?)["']?\s*$""")


def _yarnrc_whole(text: str, runs: Runs) -> list[Step] | None:
    """``yarnPath`` (and yarn 1's ``yarn-path``) is the program every yarn command runs;
    ``plugins`` are loaded into every yarn command."""
    paths = [("yarn-path", m.group(1)) for m in _YARN1_PATH.finditer(text)]
    doc = _load(text)
    if isinstance(doc, dict):
        if isinstance(doc.get("yarnPath"), str):
            paths.append(("yarnPath", doc["yarnPath"]))
        plugins = doc.get("plugins")
        for i, plugin in enumerate(plugins if isinstance(plugins, list) else []):
            path = plugin.get("path") if isinstance(plugin, dict) else plugin
            if isinstance(path, str):
                paths.append((f"plugins[{i}]", path))
    return [Step(key, shlex.join(["node", path]), "sh", runs) for key, path in paths]


def _yarnrc_piece(text: str, runs: Runs) -> list[Step]:
    return _yarnrc_whole(text, runs) or []


# --- VS Code tasks ----------------------------------------------------------------------
def _vstasks_whole(text: str, runs: Runs) -> list[Step] | None:
    doc = _json(text)
    return vscode_task_steps(doc, runs) if isinstance(doc, dict) else None


def vscode_task_steps(doc: Any, runs: Runs) -> list[Step]:
    """Tasks that run when the folder opens (``runOptions.runOn: folderOpen``), with the
    tasks they depend on: each by the command it starts."""
    tasks = doc.get("tasks") if isinstance(doc, dict) else None
    if not isinstance(tasks, list):
        return []
    by_label = {t.get("label"): t for t in tasks if isinstance(t, dict)}
    out: list[Step] = []
    seen: set[int] = set()
    pending = [t for t in tasks if isinstance(t, dict) and _on_open(t)]
    while pending and len(seen) < 64:
        task = pending.pop()
        if id(task) in seen:
            continue
        seen.add(id(task))
        out += _task_steps(task, runs)
        needs = task.get("dependsOn")
        labels = [needs] if isinstance(needs, str) else needs if isinstance(needs, list) else []
        for label in labels:
            if isinstance(by_label.get(label), dict):
                pending.append(by_label[label])
    return out


def _on_open(task: dict[str, Any]) -> bool:
    options = task.get("runOptions")
    return isinstance(options, dict) and options.get("runOn") == "folderOpen"


def _task_steps(task: dict[str, Any], runs: Runs) -> list[Step]:
    label = str(task.get("label", "task"))
    if task.get("type") == "npm" and isinstance(task.get("script"), str):
        return [Step(f"task {label}", shlex.join(["npm", "run", task["script"]]), "sh", runs)]
    out = []
    for variant in (task, task.get("linux"), task.get("osx")):
        if not isinstance(variant, dict) or not isinstance(variant.get("command"), str):
            continue
        args = variant.get("args")
        given = [a.get("value") if isinstance(a, dict) else a
                 for a in (args if isinstance(args, list) else [])]  # fmt: skip
        words: list[str] = [w for w in given if isinstance(w, str)]
        if task.get("type") == "process":
            line = shlex.join([variant["command"], *words])
        else:
            line = " ".join([variant["command"], *words])
        out.append(Step(f"task {label}", line, "sh", runs))
    return out


def _vstasks_piece(text: str, runs: Runs) -> list[Step]:
    doc = _json(text)
    if isinstance(doc, dict):
        return vscode_task_steps(doc if "tasks" in doc else {"tasks": [doc]}, runs)
    if "folderOpen" in text:
        fact = ("editor.startup_task", "adds a task the editor runs when the folder opens")
        return [Step("tasks", text.strip()[:200], "fact", runs, fact=fact)]
    return []


READERS = {
    "cloudbuild": (_cloudbuild_whole, _cloudbuild_piece),
    "node": (_node_whole, _node_piece),
    "entrypoint": (_entrypoint_whole, _entrypoint_piece),
    "envrc": (_envrc_whole, _envrc_piece),
    "pth": (_pth_whole, _pth_piece),
    "lintstaged": (_lintstaged_whole, _lintstaged_piece),
    "yarnrc": (_yarnrc_whole, _yarnrc_piece),
    "vstasks": (_vstasks_whole, _vstasks_piece),
}
