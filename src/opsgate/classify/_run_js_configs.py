"""The configuration modules JavaScript tools load, and the files those name.

``eslint .`` runs ``eslint.config.js``; ``jest`` runs ``jest.config.js`` and the
``globalSetup`` and ``setupFiles`` it names; ``vite build`` runs ``vite.config.ts`` and
the PostCSS and Tailwind configs; ``prettier`` loads its plugins; ``mocha`` its
``require`` list.  These files are code, run by the most ordinary commands, so each is
read and judged as JavaScript (its relative imports too, ``_run_imports``), like a
package.json script: a config that only builds an object passes; one that deletes,
pushes or reads credentials is what the command does.  Only the files a tool runs while
it starts are read (setup and plugin files), never the application's own sources
(``entry: './src/index.js'`` is what gets bundled, not run).
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify._run_files import judge, load
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["JS_TOOLS", "js_tool_configs"]

_BABEL = ("babel.config", ".babelrc")
_CSS = ("postcss.config", "tailwind.config")
# tool -> the configuration modules it loads (base names; any JavaScript suffix).
_CONFIGS: dict[str, tuple[str, ...]] = {
    "eslint": ("eslint.config", ".eslintrc"),
    "prettier": ("prettier.config", ".prettierrc"),
    "jest": ("jest.config", *_BABEL),
    "vitest": ("vitest.config", "vitest.workspace", "vite.config", *_CSS),
    "vite": ("vite.config", *_CSS),
    "webpack": ("webpack.config", *_BABEL, *_CSS),
    "webpack-cli": ("webpack.config", *_BABEL, *_CSS),
    "webpack-dev-server": ("webpack.config", *_BABEL, *_CSS),
    "babel": _BABEL,
    "postcss": ("postcss.config", "tailwind.config"),
    "tailwindcss": ("tailwind.config", "postcss.config"),
    "next": ("next.config", *_BABEL, *_CSS),
    "playwright": ("playwright.config",),
    "commitlint": ("commitlint.config", ".commitlintrc"),
    "storybook": (".storybook/main", *_BABEL),
    "nuxi": ("nuxt.config", "app.config", *_CSS),
    "nuxt": ("nuxt.config", "app.config", *_CSS),
    "svelte-kit": ("svelte.config", "vite.config"),
    "svelte-check": ("svelte.config",),
    "rollup": ("rollup.config", *_BABEL),
    "stylelint": ("stylelint.config", ".stylelintrc"),
    "mocha": (".mocharc",),
    "karma": ("karma.conf",),
    "gulp": ("gulpfile",),
    "astro": ("astro.config", *_CSS),
    "tsup": ("tsup.config",),
    "vue-cli-service": ("vue.config", *_BABEL, *_CSS),
    "remix": ("remix.config", "vite.config", *_CSS),
    "react-scripts": ("src/setupProxy", *_CSS),
    "lint-staged": ("lint-staged.config", ".lintstagedrc"),
}
JS_TOOLS = frozenset(_CONFIGS)
_SUFFIXES = (".js", ".cjs", ".mjs", ".ts", ".cts", ".mts")
_DATA_SUFFIXES = ("", ".json", ".yml", ".yaml")  # ``.mocharc.json``: names files to run
# Keys whose values are files the tool runs while it starts (not sources it bundles).
_RUN_KEYS = re.compile(
    r"\b(setupFiles|setupFilesAfterEnv|globalSetup|globalTeardown|testEnvironment|"
    r"snapshotResolver|watchPlugins|reporters|transform|require|plugins|presets|file)"
    r"['\"]?\s*[:=]"
)
_PATH = re.compile(r"""['"]((?:\./|\.\./|<rootDir>/)[^'"\n]+)['"]""")
_MAX_REFERENCED = 8
# A JavaScript config's values: a string or an array of strings after a key.
_JS_VALUE = re.compile(r""":\s*(\[[^\]]*\]|(['"`])(?:(?!\2).)*\2)""")
_JS_STRING = re.compile(r"""(['"`])((?:(?!\1).)*)\1""")


def js_tool_configs(cmd: Command, w: Walker) -> list[Finding]:
    """Findings for the configuration modules (and the setup and plugin files they
    name) that ``cmd``'s JavaScript tool loads before it does its work."""
    if w.remote is not None:
        return []
    start = cmd.cwd or w.scope.cwd or w.workspace.project or "/"
    names = list(_CONFIGS[cmd.name])
    given = cmd.option("-c", "--config")
    findings: list[Finding] = []
    seen: set[str] = set()
    if given and given.endswith((*_SUFFIXES, ".json", ".yml", ".yaml")):
        findings += _judge(w, cmd, posixpath.normpath(posixpath.join(start, given)), seen)
    for name in names:
        path = _nearest(w, start, name)
        if path is not None:
            findings += _judge(w, cmd, path, seen)
    for required in cmd.options("--require", "-r") if cmd.name == "mocha" else []:
        findings += _referenced(w, cmd, start, [required], seen)
    if cmd.name == "jest":
        findings += _package_key(w, cmd, start, "jest", seen)
    if cmd.name == "lint-staged":
        findings += _lint_staged(w, cmd, start, given)
    return findings


def _lint_staged(w: Walker, cmd: Command, start: str, given: str | None) -> list[Finding]:
    """The commands lint-staged runs on the staged files: its config's values (a
    ``.lintstagedrc``, ``lint-staged.config.js`` or package.json's ``lint-staged``)."""
    path = posixpath.normpath(posixpath.join(start, given)) if given else None
    path = path or _nearest(w, start, ".lintstagedrc") or _nearest(w, start, "lint-staged.config")
    texts: list[tuple[str, str]] = []
    if path is not None:
        texts.append((path, load(w, path, None).text or ""))
    else:
        package, section = _package_section(w, start, "lint-staged")
        if package is not None and section is not None:
            texts.append((package, json.dumps(section)))
    findings: list[Finding] = []
    for where, text in texts:
        for command in _staged_commands(text)[: _MAX_REFERENCED * 2]:
            findings += w.classify_shell(command, via=f"lint-staged ({where})", cwd=start)
    return findings


def _staged_commands(text: str) -> list[str]:
    """The command strings of a lint-staged config (JSON, YAML or JavaScript): values,
    never the glob keys."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    if data is None:
        try:
            import yaml

            data = yaml.safe_load(text)
        except Exception:
            data = None
    if isinstance(data, dict):
        out: list[str] = []
        for value in data.values():
            items = value if isinstance(value, list) else [value]
            out += [item for item in items if isinstance(item, str)]
        return out
    found: list[str] = []
    for value in _JS_VALUE.finditer(text):
        found += [m.group(2) for m in _JS_STRING.finditer(value.group(1))]
    return found


def _nearest(w: Walker, start: str, name: str) -> str | None:
    """The config ``name`` (any JavaScript suffix; a dotfile also as data) in ``start``
    or the nearest directory above it."""
    data = name.startswith(".") and "/" not in name
    suffixes = (*_SUFFIXES, *(_DATA_SUFFIXES if data else ()))
    return _nearest_of(w, start, [name + suffix for suffix in suffixes])


def _nearest_of(w: Walker, start: str, names: list[str]) -> str | None:
    """The first of ``names`` in ``start`` or the nearest directory above it, up to the
    project's root (twelve levels at most)."""
    directory = start
    for _ in range(12):
        for name in names:
            path = posixpath.join(directory, name)
            if path in w.scope.files or w.session.files.kind(path) == "file":
                return path
        parent = posixpath.dirname(directory)
        if parent == directory or directory == w.workspace.project:
            return None
        directory = parent
    return None


def _judge(w: Walker, cmd: Command, path: str, seen: set[str]) -> list[Finding]:
    if path in seen:
        return []
    seen.add(path)
    loaded = load(w, path, None)
    if loaded.state == "missing":
        return []
    base = posixpath.dirname(path)
    findings: list[Finding] = []
    if path.endswith(_SUFFIXES):
        where = f"{cmd.name} loads {loaded.shown}"
        # It runs in the tool's process: relative paths are the command's, not the file's.
        findings += judge(w, loaded, "node", where=where, cwd=cmd.cwd or w.scope.cwd or base)
    text = loaded.text or ""
    findings += _referenced(w, cmd, base, _run_paths(text), seen)
    return findings


def _run_paths(text: str) -> list[str]:
    """Relative paths that follow a key naming files the tool runs (within the value:
    up to the next key or the end of a short window)."""
    out: list[str] = []
    for key in _RUN_KEYS.finditer(text):
        window = text[key.end() : key.end() + 400]
        stop = re.search(r"\n\s*['\"]?\w+['\"]?\s*:", window)
        out += _PATH.findall(window[: stop.start()] if stop else window)
    return out


def _referenced(
    w: Walker, cmd: Command, base: str, paths: list[str], seen: set[str]
) -> list[Finding]:
    findings: list[Finding] = []
    for raw in list(dict.fromkeys(paths))[:_MAX_REFERENCED]:
        relative = raw.replace("<rootDir>/", "./")
        target = posixpath.normpath(posixpath.join(base, relative))
        for suffix in ("", *_SUFFIXES, "/index.js", "/index.ts"):
            candidate = target + suffix
            if not suffix and not candidate.endswith(_SUFFIXES):
                continue
            if candidate in w.scope.files or w.session.files.kind(candidate) == "file":
                findings += _judge(w, cmd, candidate, seen)
                break
    return findings


def _package_key(w: Walker, cmd: Command, start: str, key: str, seen: set[str]) -> list[Finding]:
    """``"jest": {"globalSetup": "./x.js"}`` in package.json."""
    path, section = _package_section(w, start, key)
    if path is None or not isinstance(section, dict):
        return []
    named = _run_paths(json.dumps(section, indent=1))
    return _referenced(w, cmd, posixpath.dirname(path), named, seen)


def _package_section(w: Walker, start: str, key: str) -> tuple[str | None, object]:
    """(the nearest package.json, its ``key`` section or None)."""
    path = _nearest_of(w, start, ["package.json"])
    if path is None:
        return None, None
    try:
        data = json.loads(load(w, path, None).text or "")
    except (ValueError, RecursionError):
        return path, None
    return path, data.get(key) if isinstance(data, dict) else None
