"""``pre-commit run``: the project's own hooks in ``.pre-commit-config.yaml``.

Hooks from a ``repo: local`` (or ``meta``) entry are the project's commands: an
``entry`` with ``language: system`` or ``unsupported`` is a command line, with
``language: script`` (``unsupported_script``) a script of the repository — both are
judged, with their ``args``.  Hooks from other repositories are installed tools,
like the programs in a virtualenv's ``bin``, and are not read.  ``pre-commit run
HOOK`` judges that hook only.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command, Context
from opsgate.classify._run_files import Code, bad_file, judge, judge_code, load
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["precommit_findings"]

_COMMANDS = frozenset({"system", "unsupported"})
_SCRIPTS = frozenset({"script", "unsupported_script"})
_VALUED = ("-c", "--config", "--hook-stage", "--from-ref", "--to-ref", "-s", "-o",
           "--source", "--origin", "--files")  # fmt: skip


def precommit_findings(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._run_tasks import yaml_of
    from opsgate.classify.shell import Walker

    words = [a.value for a in cmd.positionals(_VALUED)]
    if not isinstance(ctx, Walker) or ctx.remote is not None or words[:1] not in (["run"], []):
        return []
    loaded = load(ctx, cmd.option("-c", "--config") or ".pre-commit-config.yaml", cmd.cwd)
    if loaded.state == "missing":
        return []
    if loaded.text is None:
        return judge(ctx, loaded, None, where=f"pre-commit ({loaded.shown})", cwd=cmd.cwd)
    data = yaml_of(ctx, loaded)
    repos = data.get("repos") if isinstance(data, dict) else None
    if not isinstance(repos, list):
        return [bad_file(loaded, "is not a pre-commit configuration opsgate can read")]
    chosen = words[1] if len(words) > 1 else None
    out: list[Finding] = []
    for repo in repos:
        if isinstance(repo, dict) and repo.get("repo") in ("local", "meta"):
            hooks = repo.get("hooks")
            for hook in hooks if isinstance(hooks, list) else []:
                if isinstance(hook, dict) and (chosen is None or hook.get("id") == chosen):
                    out += _hook(ctx, loaded.path, loaded.shown, hook, cmd.cwd)
    return out


def _hook(
    w: Walker, path: str, shown: str, hook: dict[object, object], cwd: str | None
) -> list[Finding]:
    entry = hook.get("entry")
    language = hook.get("language")
    raw = hook.get("args")
    args = [str(a) for a in raw if isinstance(a, str | int)] if isinstance(raw, list) else []
    if not isinstance(entry, str):
        return []
    where = f"{shown} hook {hook.get('id')}"
    if language in _SCRIPTS:
        parts = shlex.split(entry) if entry.strip() else [""]
        probe = Command("sh", (), where, cwd=cwd)
        from opsgate.classify._run_interp import run_file_as

        return run_file_as(w, probe, Arg(parts[0]), "shell", tuple(Arg(a) for a in parts[1:]))
    if language in _COMMANDS:
        line = " ".join([entry, *(shlex.quote(a) for a in args)])
        code = Code(path, shown, line, "shell", key=f"hook:{hook.get('id')}")
        return judge_code(w, code, where=where, cwd=cwd)
    return []
