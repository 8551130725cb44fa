"""``opsgate check``: decide one action and explain why."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from opsgate.cli._flags import add_setting
from opsgate.errors import EXIT_APPROVAL, EXIT_DENY, EXIT_OK, InputError

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="decide one action and explain the decision",
        description="Classify and decide one action, without running it. Exit 0 when "
        "it is allowed, 10 when it needs a person's approval, 11 when it is denied "
        "(other codes are failures: docs/cli.md).",
    )
    p.add_argument(
        "--tool",
        default="Bash",
        help="agent tool: Bash, PowerShell, Read, Write, Edit, WebFetch, mcp__srv__tool",
    )
    p.add_argument("--cwd", help="working directory the agent is in (default: current)")
    p.add_argument("--project", help="project directory (default: --cwd)")
    p.add_argument("--path", help="file path, for Read/Write/Edit")
    p.add_argument("--content", help="file content, for Write")
    p.add_argument("--url", help="URL, for WebFetch")
    p.add_argument("--input", help="the tool input as a JSON object (for MCP tools)")
    add_setting(p, "policy")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("command", nargs="*", help="the command, after --")
    p.set_defaults(func=run)


def _tool_input(ns: argparse.Namespace) -> dict[str, Any]:
    if ns.input:
        try:
            data = json.loads(ns.input)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"--input is not valid JSON: {exc}",
                hint='pass a JSON object, e.g. --input \'{"sql": "SELECT 1"}\'',
            ) from exc
        if not isinstance(data, dict):
            raise InputError("--input must be a JSON object")
        return dict(data)
    if ns.tool in ("Bash", "PowerShell"):
        if not ns.command:
            raise InputError("no command given", hint="opsgate check -- 'rm -rf build'")
        return {"command": " ".join(ns.command)}
    if ns.tool == "WebFetch":
        if not ns.url:
            raise InputError("WebFetch needs --url")
        return {"url": ns.url, "prompt": ""}
    if not ns.path:
        raise InputError(f"{ns.tool} needs --path")
    fields: dict[str, Any] = {"file_path": ns.path}
    if ns.content is not None:
        fields["content"] = ns.content
    return fields


def run(ns: argparse.Namespace) -> int:
    from opsgate.guard import evaluate, load_configured_policy
    from opsgate.models import Action

    cwd = str(Path(ns.cwd).resolve() if ns.cwd else Path.cwd())
    policy = load_configured_policy()
    action = Action(
        "", ns.tool, _tool_input(ns), cwd=cwd, project_dir=ns.project or cwd, agent="cli"
    )
    decision = evaluate(action, policy)
    if ns.json:
        print(json.dumps(decision.to_json(), indent=2))
    else:
        _explain(decision)
    return _EXIT[decision.verdict.value]


# A script branches on the verdict without parsing the output.
_EXIT = {"allow": EXIT_OK, "require_approval": EXIT_APPROVAL, "deny": EXIT_DENY}


def _explain(decision: Any) -> None:
    from opsgate.models import Verdict

    c = decision.classification
    mark = {
        Verdict.ALLOW: "ALLOW",
        Verdict.REQUIRE_APPROVAL: "REQUIRE APPROVAL",
        Verdict.DENY: "DENY",
    }[decision.verdict]
    out = sys.stdout
    out.write(
        f"{mark}  (impact {decision.impact.label}, environment {decision.environment.label})\n"
    )
    out.write(f"  decided by: {decision.decided_by}\n")
    out.write(f"  environment source: {decision.env_source}\n")
    for reason in decision.reasons:
        out.write(f"  - {reason}\n")
    if c.findings:
        out.write("  evidence:\n")
    for f in c.findings:
        out.write(f"    [{f.impact.label}/{f.effect.name.lower()}] {f.category}: {f.reason}\n")
        out.write(f"        {f.evidence}\n")
    if decision.confirm:
        out.write(f"  confirmation text for the approver: {decision.confirm}\n")
    if decision.suggestion:
        out.write(f"  instead: {decision.suggestion}\n")
