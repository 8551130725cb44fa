"""Files that run by themselves because another one names them.

``scripts/precommit.sh`` is an ordinary name, but with ``.husky/pre-commit`` linking to
it, it is the pre-commit hook; ``ci/templates/deploy.yml`` is ordinary YAML, but with
``.gitlab-ci.yml`` including it (``include: local``), its jobs are the pipeline's; a
JetBrains run configuration (``.idea/runConfigurations/setup.xml``) runs only when
clicked, but with a startup task naming it (``.idea/startup.xml``, ``workspace.xml``)
every time the IDE opens the project.  A write to such a file is judged as a write to
the file that runs it.  Only the project's own hook directories, top-level pipeline
and IDE startup files are asked, so a write elsewhere costs nothing and one in the
project a few system calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from opsgate.classify._autorun import Kind, Runs, kind_of

__all__ = ["RUN_CONFIGURATION", "referring"]

_HOOK_DIRS = (".husky", ".githooks")
_HOOKS = (
    "pre-commit", "pre-push", "commit-msg", "prepare-commit-msg", "post-commit",
    "post-checkout", "post-merge", "pre-rebase", "post-rewrite", "pre-merge-commit",
    "applypatch-msg", "pre-applypatch", "post-applypatch", "pre-auto-gc",
)  # fmt: skip
_PIPELINE = ".gitlab-ci.yml"
RUN_CONFIGURATION = Kind("JetBrains run configuration", r"(^|/)\.idea/runConfigurations/[^/]+"
                         r"\.xml$", "idea_run", Runs.HERE,
                         "when the IDE opens the project (a startup task names it)")  # fmt: skip
_RUN_CONFIG = re.compile(r"^\.idea/runConfigurations/([^/]+)\.xml$")
_STARTUP_FILES = (".idea/startup.xml", ".idea/workspace.xml")
_STARTUP = re.compile(r'<component\s+name="ProjectStartup(?:Local|Shared)Configuration"[\s\S]*?'
                      r"</component>")  # fmt: skip
_NAME = re.compile(r'<configuration\b[^>]*?\bname="([^"]*)"')


def referring(
    full: str,
    project: str | None,
    read: Callable[[str], str | None],
    real: Callable[[str], str],
    what: Callable[[str], str | None],
) -> tuple[Kind, str] | None:
    """The kind of file that runs ``full`` and that file's path, or None.  ``read``,
    ``real`` and ``what`` are the classification's file source (text, where a link
    leads, what is at a path)."""
    if not project or not full.startswith(project.rstrip("/") + "/"):
        return None
    top = project.rstrip("/")
    relative = full[len(top) + 1 :]
    if relative.endswith((".yml", ".yaml")):
        pipeline = f"{top}/{_PIPELINE}"
        text = read(pipeline)
        if text and relative in _local_includes(text):
            kind = kind_of(pipeline)
            return (kind, pipeline) if kind is not None else None
    configuration = _RUN_CONFIG.match(relative)
    if configuration is not None:
        for name in _STARTUP_FILES:
            text = read(f"{top}/{name}")
            if text and configuration.group(1).lower() in _started(text):
                return (RUN_CONFIGURATION, f"{top}/{name}")
        return None
    for directory in _HOOK_DIRS:
        if what(f"{top}/{directory}") != "dir":
            continue
        for hook in _HOOKS:
            link = f"{top}/{directory}/{hook}"
            if real(link) == full:
                kind = kind_of(link)
                return (kind, link) if kind is not None else None
    return None


def _started(text: str) -> set[str]:
    """The file names (as the IDE makes them from configuration names: ``deploy prod``
    is ``deploy_prod.xml``) of the run configurations startup tasks start."""
    names = {m.group(1) for block in _STARTUP.findall(text) for m in _NAME.finditer(block)}
    return {re.sub(r"[^\w.-]", "_", name).lower() for name in names}


def _local_includes(text: str) -> set[str]:
    """The project files a GitLab pipeline includes (``include: path``, ``local:``)."""
    from opsgate.classify._autorun_yaml import _load

    doc = _load(text)
    value: Any = doc.get("include") if isinstance(doc, dict) else None
    items = value if isinstance(value, list) else [value]
    found = set()
    for item in items:
        path = item.get("local") if isinstance(item, dict) else item
        if isinstance(path, str) and "://" not in path:
            found.add(path.strip().lstrip("/").removeprefix("./"))
    return found
