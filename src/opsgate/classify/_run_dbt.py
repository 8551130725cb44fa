"""What ``dbt run`` runs besides its models: the profile's default target, and hooks.

* Without ``--target``, dbt runs against the default target of the project's profile
  (``dbt_project.yml`` ``profile:``), as ``profiles.yml`` names it: the one in
  ``--profiles-dir`` or ``$DBT_PROFILES_DIR``, else the working directory's, else
  ``~/.dbt/profiles.yml``.  A default named for production (``target: prod``) is a run
  against production, as ``--target prod`` is.  Only the target names are taken from
  the file (``_files_dbt``): it holds passwords.
* Hooks are SQL that dbt runs around the models: a model's ``{{ config(pre_hook=…,
  post_hook=…) }}``, and ``+pre-hook``/``+post-hook``/``on-run-start``/``on-run-end`` in
  ``dbt_project.yml``.  Each is judged as SQL (``{{ this }}`` and other Jinja become a
  placeholder name), so ``drop schema … cascade`` in a post-hook is the drop it is.
  What destroys counts: the run writes its target's tables anyway (``analyze``,
  ``grant`` in a hook are the same kind of work as the models).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from opsgate.classify._command import Command
from opsgate.models import Effect, Environment, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["dbt_findings"]

_RUNS = frozenset({"run", "build", "seed", "snapshot", "run-operation", "test", "retry"})
_HOOKED = frozenset({"run", "build", "seed", "snapshot", "retry"})
_VALUED = frozenset({"--target", "-t", "--profile", "--profiles-dir", "--project-dir", "-s",
                     "--select", "-m", "--models", "--exclude", "--selector", "--vars",
                     "--threads", "--state", "--defer-state", "--target-path",
                     "--log-path", "--args"})  # fmt: skip
_MAX_MODELS = 48
_HOOK_KEYS = ("pre_hook", "post_hook", "pre-hook", "post-hook")
_CONFIG_HOOK = re.compile(r"""\b(pre_hook|post_hook)\s*=\s*(\[[^\]]*\]|"(?:[^"\\]|\\.)*"|"""
                          r"""'(?:[^'\\]|\\.)*')""", re.DOTALL)  # fmt: skip
_LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'')
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def dbt_findings(cmd: Command, w: Walker) -> list[Finding]:
    """The default target and the hooks of ``dbt run|build|seed …`` (``cmd``)."""
    words = [a.value for a in cmd.positionals(_VALUED)]
    if w.remote is not None or not words or words[0] not in _RUNS:
        return []
    start = cmd.cwd or w.scope.cwd or w.workspace.project
    if start is None:
        return []
    from opsgate.classify._run_files import load, nearest, parse_once

    given = cmd.option("--project-dir")
    if given:
        project = load(w, posixpath.join(given, "dbt_project.yml"), start)
    else:
        project = nearest(w, start, ("dbt_project.yml",))  # type: ignore[assignment]
    if project is None or project.text is None:
        return []
    data = parse_once("yaml", project.text, _yaml)
    if not isinstance(data, dict):
        return []
    found = [] if cmd.option("--target", "-t") else _default_target(cmd, w, data, start)
    if words[0] in _HOOKED:
        found += _hooks(cmd, w, data, posixpath.dirname(project.path))
    return found


def _default_target(cmd: Command, w: Walker, data: dict[Any, Any], start: str) -> list[Finding]:
    if cmd.env.get("DBT_TARGET"):
        return []  # named in the environment: judged like ``--target`` by its words
    profile = cmd.option("--profile") or data.get("profile")
    if not isinstance(profile, str):
        return []
    for path in _profiles(cmd, w, start):
        targets = w.session.files.dbt_targets(path)
        if targets is None:
            continue
        target = dict(targets).get(profile)
        if target is None:
            return []
        env = w.environment_of(target)
        if env is None or env[0] is not Environment.PRODUCTION:
            return []
        reason = (
            f"runs dbt against {target}, the default target of profile {profile} in {path}, "
            "a production target: what the models do there opsgate cannot see"
        )
        return [Finding("unknown.production_run", Impact.CAUTION, Effect.WRITE, cmd.text[:200],
                        reason, target, Environment.PRODUCTION, env[1])]  # fmt: skip
    return []


def _profiles(cmd: Command, w: Walker, start: str) -> list[str]:
    """Where dbt looks for profiles.yml, in its order."""
    given = cmd.option("--profiles-dir") or cmd.env.get("DBT_PROFILES_DIR")
    if given:
        full = w.workspace.expand(given, start)
        return [posixpath.join(full, "profiles.yml")] if full else []
    homes = [h.rstrip("/") for h in (w.workspace.home, *w.workspace.other_homes) if h]
    return [posixpath.join(start, "profiles.yml"), *(f"{h}/.dbt/profiles.yml" for h in homes)]


def _hooks(cmd: Command, w: Walker, data: dict[Any, Any], root: str) -> list[Finding]:
    from opsgate.classify._run_files import load
    from opsgate.classify._run_listing import collected

    sql = _project_hooks(data)
    paths = data.get("model-paths") or data.get("source-paths") or ["models"]
    for base in paths if isinstance(paths, list) else []:
        if not isinstance(base, str):
            continue
        listed = collected(w, posixpath.join(root, base), ("*.sql",), recursive=True) or ()
        for path in listed[:_MAX_MODELS]:
            loaded = load(w, path, None)
            if loaded.text is not None and "hook" in loaded.text:
                sql += _model_hooks(loaded.text)
    from opsgate.classify.sql import classify_sql

    findings: list[Finding] = []
    for statement in dict.fromkeys(sql):
        for f in classify_sql(_JINJA.sub("dbt_model", statement)):
            if f.impact is Impact.DESTRUCTIVE:  # the models write their target anyway
                findings.append(replace(f, reason=f"dbt runs a hook: {f.reason}"))
    return findings


def _project_hooks(data: dict[Any, Any]) -> list[str]:
    """``on-run-start``/``on-run-end`` and every ``+pre-hook``/``+post-hook`` below
    ``models``, ``seeds``, ``snapshots``."""
    out: list[str] = []
    for key in ("on-run-start", "on-run-end"):
        out += _strings(data.get(key))
    stack = [data.get(k) for k in ("models", "seeds", "snapshots")]
    seen = 0
    while stack and seen < 2000:
        node = stack.pop()
        seen += 1
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if str(key).lstrip("+") in _HOOK_KEYS:
                out += _strings(value)
            elif isinstance(value, dict):
                stack.append(value)
    return out


def _model_hooks(text: str) -> list[str]:
    out: list[str] = []
    for match in _CONFIG_HOOK.finditer(text):
        for literal in _LITERAL.finditer(match.group(2)):
            out.append(literal.group(1) if literal.group(1) is not None else literal.group(2))
    return out


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)] + [
            v["sql"] for v in value if isinstance(v, dict) and isinstance(v.get("sql"), str)
        ]
    if isinstance(value, dict) and isinstance(value.get("sql"), str):
        return [value["sql"]]
    return []


def _yaml(text: str) -> object:
    import yaml

    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError, ValueError):
        return None
