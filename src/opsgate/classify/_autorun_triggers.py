"""When a CI job runs only after a person acts, writing it is ordinary project work.

A deploy job that runs only on a push to ``main`` (which an agent cannot make), on a
published release, on a manual run or as a manual GitLab job waits for a human who
merges, releases or clicks — the reviewer of that change is the human in the loop.
A job that runs on any branch push, a pull request, a tag or a schedule can be set off
by the agent itself (or by the clock), so what it adds is judged.  Formats without a
reader here are judged as if every job could run.

The gate is ``person`` (a release, a manual run: someone decides that this job runs)
or ``merge`` (a push to a protected branch: it runs after every merge, whatever was
merged).  A merge is no decision to publish: a registry publish behind it still
counts (``_autorun``).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MERGE", "PERSON", "job_gated", "workflow_gated"]

PERSON = "person"
MERGE = "merge"
Gate = str | None

# GitHub events only a person (or a protected process) can set off.  A tag push is
# not among them: ``git push origin v1.2.3`` is not stopped today.
_GITHUB_GATED = frozenset({
    "release", "workflow_dispatch", "repository_dispatch", "merge_group", "deployment",
    "deployment_status", "registry_package", "page_build", "watch", "fork",
})  # fmt: skip
# GitLab ``only:`` keywords that mean a person started the pipeline.
_GITLAB_GATED = frozenset({"web", "api", "triggers", "pipelines", "chat"})
_REF_EQ = re.compile(r"github\.ref(?:_name)?\s*==\s*['\"](?:refs/heads/)?([^'\"]+)['\"]")
_EVENT_EQ = re.compile(r"github\.event_name\s*==\s*['\"](\w+)['\"]")
_GL_BRANCH_EQ = re.compile(r"\$CI_COMMIT_(?:BRANCH|REF_NAME)\s*==\s*(?:['\"]([^'\"]+)['\"]|"
                           r"(\$CI_DEFAULT_BRANCH))")  # fmt: skip
_GL_SOURCE_EQ = re.compile(r"\$CI_PIPELINE_SOURCE\s*==\s*['\"](\w+)['\"]")


def _protected(branch: str) -> bool:
    from opsgate.classify.families.git import is_protected_branch

    if any(c in branch for c in "*?[!"):
        return bool(re.fullmatch(r"[\w./-]+/\*\*?", branch)) and is_protected_branch(
            branch.rstrip("*") + "x"
        )  # ``release/**``: every branch it matches is protected
    return is_protected_branch(branch)


def _all(gates: list[Gate]) -> Gate:
    """Every one gated: by a merge when any is, else by a person; None when one is not."""
    if not gates or any(g is None for g in gates):
        return None
    return MERGE if MERGE in gates else PERSON


def workflow_gated(reader: str, doc: dict[Any, Any]) -> Gate:
    """How nothing in the whole file can run without a person (None: it can)."""
    if reader == "github":
        on = doc.get("on", doc.get(True))
        if on is None:
            return None  # an action or a reusable workflow: its caller decides
        events = {on: None} if isinstance(on, str) else (
            dict.fromkeys(on) if isinstance(on, list) else on if isinstance(on, dict) else {}
        )  # fmt: skip
        return _all([_github_event_gated(str(e), s) for e, s in events.items()])
    if reader == "gitlab":
        workflow = doc.get("workflow")
        return _gitlab_rules_gated(workflow.get("rules")) if isinstance(workflow, dict) else None
    return None


def _github_event_gated(event: str, spec: Any) -> Gate:
    if event in _GITHUB_GATED:
        return PERSON
    if event != "push" or not isinstance(spec, dict):
        return None
    if any(k in spec for k in ("tags", "tags-ignore", "branches-ignore")):
        return None
    branches = spec.get("branches")
    protected = (
        isinstance(branches, list)
        and bool(branches)
        and all(isinstance(b, str) and _protected(b) for b in branches)
    )
    return MERGE if protected else None


def job_gated(reader: str, node: dict[Any, Any], where: str) -> Gate:
    """How this job (or step) runs only after a person acts (None: it need not)."""
    if reader == "github":
        condition = node.get("if")
        return _github_if_gated(condition) if isinstance(condition, str) else None
    if reader == "gitlab":
        if node.get("when") == "manual":
            return PERSON
        if "rules" in node:
            return _gitlab_rules_gated(node.get("rules"))
        return _gitlab_only_gated(node.get("only"))
    if reader == "bitbucket":
        if node.get("trigger") == "manual":
            return PERSON
        parts = where.split(".")
        if parts[:2] == ["pipelines", "custom"]:
            return PERSON
        branch = (
            len(parts) > 2
            and parts[:2] == ["pipelines", "branches"]
            and _protected(re.sub(r"\[\d+\]$", "", parts[2]))
        )
        return MERGE if branch else None
    return None


def _github_if_gated(condition: str) -> Gate:
    if "||" in condition:
        return None
    refs = _REF_EQ.findall(condition)
    events = _EVENT_EQ.findall(condition)
    if refs and all(_protected(r) for r in refs):
        return MERGE
    return PERSON if events and all(e in _GITHUB_GATED for e in events) else None


def _gitlab_rules_gated(rules: Any) -> Gate:
    if not isinstance(rules, list) or not rules:
        return None
    runnable = [r for r in rules if not (isinstance(r, dict) and r.get("when") == "never")]
    return _all([_gitlab_rule_gated(r) if isinstance(r, dict) else None for r in runnable])


def _gitlab_rule_gated(rule: dict[Any, Any]) -> Gate:
    if rule.get("when") == "manual":
        return PERSON
    condition = rule.get("if")
    if not isinstance(condition, str) or "||" in condition:
        return None
    branches = _GL_BRANCH_EQ.findall(condition)
    sources = _GL_SOURCE_EQ.findall(condition)
    if branches and all(d or _protected(b) for b, d in branches):
        return MERGE
    return PERSON if sources and all(s in _GITLAB_GATED for s in sources) else None


def _gitlab_only_gated(only: Any) -> Gate:
    refs = only.get("refs") if isinstance(only, dict) else only
    if not isinstance(refs, list) or not refs:
        return None
    return _all([
        (PERSON if r in _GITLAB_GATED else MERGE if _protected(r) else None)
        if isinstance(r, str) else None
        for r in refs
    ])  # fmt: skip
