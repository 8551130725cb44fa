"""``opsgate doctor``: proof that the guard is enforced, not merely installed.

For one agent: read its hook configuration (project and user), find opsgate's
entries, check that they cover every event and tool they must, then run the
configured command exactly as the agent would — ``/bin/sh -c``, the agent's JSON on
stdin, the agent's environment variables and timeout — with a destructive canary
(``rm -rf /``; it is only ever sent to the hook, never run) and a harmless command.
The answers are judged the way the agent reads them (exit 1 is "no objection" to
Claude Code), and both decisions must be in the audit trail.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from opsgate.integrations._agents import Agent
from opsgate.integrations.config import (
    AgentConfigError,
    Found,
    config_path,
    find_ours,
    load,
)

__all__ = ["Check", "Report", "covers", "diagnose"]

_AUDIT_WINDOW = 500  # recent entries searched for the canaries' decisions


@dataclass(frozen=True)
class Check:
    ok: bool
    text: str
    fix: str | None = None


@dataclass
class Report:
    agent: Agent
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def add(self, ok: bool, text: str, fix: str | None = None) -> bool:
        self.checks.append(Check(ok, text, None if ok else fix))
        return ok


def covers(matcher: str | None, tool: str) -> bool:
    """Whether a hook matcher selects ``tool``, as Claude Code reads matchers (Codex and
    Gemini CLI likewise): empty or ``*`` is every tool; plain names separated by ``|``
    are exact; anything else is a regular expression searched in the name."""
    if matcher is None or matcher in ("", "*"):
        return True
    if re.fullmatch(r"[A-Za-z0-9_|]+", matcher):
        return tool in matcher.split("|")
    try:
        return re.search(matcher, tool) is not None
    except re.error:
        return False


def diagnose(
    agent: Agent,
    *,
    project: Path,
    home: Path,
    env: Mapping[str, str] | None = None,
    managed: tuple[Path, Path] | None = None,
) -> Report:
    """``managed``: (the agent's managed configuration file, the protected-mode data
    directory) when protected mode is set up; its hook is checked like the others and
    its decisions are looked for in that data directory."""
    env = dict(os.environ if env is None else env)
    report = Report(agent)
    system = _installed_managed(agent, report, managed[0]) if managed else []
    found = _installed(agent, report, project=project, home=home, required=not system) + system
    if not found:
        return report
    _coverage(agent, report, found)
    _fail_closed(agent, report, found)
    _switches(agent, report, project=project, home=home)
    for command in dict.fromkeys(f.command for f in found):
        _program(report, command, agent)
    canaries: dict[str, Found] = {}
    for f in found:
        if f.event == agent.canary_event.name:
            canaries.setdefault(f.command, f)
    for f in canaries.values():
        audit_dir = managed[1] if managed and f in system else None
        _canaries(agent, report, f, project=project, env=env, audit_dir=audit_dir)
    return report


def _installed_managed(agent: Agent, report: Report, path: Path) -> list[Found]:
    from opsgate.system._managed import load_managed, managed_for

    try:
        doc = load_managed(managed_for(agent.name), path)
        ours = find_ours(agent, path, doc) if doc is not None else []
    except AgentConfigError as exc:
        report.add(False, exc.message, fix=f"repair {path}")
        return []
    if ours:
        report.add(True, f"hook installed in {path} (managed)")
    return ours


def _installed(
    agent: Agent, report: Report, *, project: Path, home: Path, required: bool = True
) -> list[Found]:
    paths = {
        config_path(agent, "project", project=project, home=home): "project",
        config_path(agent, "user", project=project, home=home): "user",
    }
    found: list[Found] = []
    for path, scope in paths.items():
        try:
            doc = load(path)
            ours = find_ours(agent, path, doc) if doc is not None else []
        except AgentConfigError as exc:
            report.add(False, exc.message, fix=f"repair {path}")
            continue
        if ours:
            report.add(True, f"hook installed in {path} ({scope})")
            found.extend(ours)
    if required and not found and all(c.ok for c in report.checks):
        where = " or ".join(str(p) for p in paths)
        report.add(
            False,
            f"opsgate's hook is not installed for {agent.title} (looked in {where})",
            fix=f"opsgate install {agent.name} --user   (or --project in the project)",
        )
    return found


def _coverage(agent: Agent, report: Report, found: list[Found]) -> None:
    fix = f"opsgate install {agent.name} (rewrites opsgate's entry with the full matcher)"
    for event in agent.events:
        entries = [f for f in found if f.event == event.name]
        if not entries:
            report.add(False, f"no opsgate hook on the {event.name} event", fix=fix)
            continue
        missing = [p for p in event.probes if not any(covers(f.matcher, p) for f in entries)]
        if missing:
            matchers = ", ".join(repr(f.matcher) for f in entries)
            report.add(
                False,
                f"{event.name} matcher {matchers} misses tools: {', '.join(missing)}",
                fix=fix,
            )
        else:
            report.add(True, f"{event.name} covers every required tool")


def _fail_closed(agent: Agent, report: Report, found: list[Found]) -> None:
    """Entry settings that decide what a crashed, hung or garbled hook means: without
    them the agent runs the tool (Cursor ``failClosed``, Claude Code ``onFailure``),
    and an ``async`` hook is never waited for at all."""
    fix = f"opsgate install {agent.name} (rewrites opsgate's entries fail-closed)"
    for key, value in agent.fail_closed.items():
        setting = f"{key}: {json.dumps(value)}"
        wrong = [f.event for f in found if not _same(f.entry.get(key), value)]
        if wrong:
            report.add(
                False,
                f"{', '.join(dict.fromkeys(wrong))} without {setting}: {agent.title} runs "
                "the tool when the hook crashes or times out",
                fix=fix,
            )
        else:
            report.add(True, f"every entry sets {setting} (a failing hook blocks)")
    background = [f.event for f in found if f.entry.get("async") is True]
    if background:
        report.add(
            False,
            f"{', '.join(dict.fromkeys(background))} entry runs async: {agent.title} does not "
            "wait for its answer, so nothing is blocked",
            fix=fix,
        )


def _same(value: object, wanted: object) -> bool:
    return value == wanted and type(value) is type(wanted)


def _switches(agent: Agent, report: Report, *, project: Path, home: Path) -> None:
    """Settings that turn every hook off: the configuration is right, yet nothing runs."""
    for switch in agent.switches:
        if switch.scope == "project":
            path = project / switch.file
        else:
            path = agent.user_path(switch.file, home, os.environ)
        value: object = _read_settings(path)
        for key in switch.key:
            value = value.get(key) if isinstance(value, dict) else None
        if value == switch.value and type(value) is type(switch.value):
            setting = ".".join(switch.key)
            report.add(
                False,
                f"{path} sets {setting} = {json.dumps(switch.value)}: {agent.title} runs no hooks",
                fix=f"remove {setting} from {path}",
            )


def _read_settings(path: Path) -> object:
    """The parsed file, or None if absent or unreadable (the agent's own concern)."""
    try:
        text = path.read_text("utf-8")
        if path.suffix == ".toml":
            import tomllib

            return tomllib.loads(text)
        return json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _program(report: Report, command: str, agent: Agent) -> bool:
    try:
        program = shlex.split(command)[0]
    except (ValueError, IndexError):
        return report.add(False, f"cannot parse the hook command {command!r}")
    fix = f"opsgate install {agent.name} (writes the current opsgate-hook path)"
    path = Path(program)
    if not path.is_absolute():
        return report.add(
            False, f"{program} is not an absolute path (the agent's PATH may differ)", fix=fix
        )
    if not path.is_file():
        return report.add(False, f"wrong path: {program} does not exist", fix=fix)
    if not os.access(program, os.X_OK):
        return report.add(
            False, f"{program} is not executable", fix=f"chmod +x {shlex.quote(program)}"
        )
    return report.add(True, f"{program} exists and is executable")


def _canaries(
    agent: Agent,
    report: Report,
    found: Found,
    *,
    project: Path,
    env: dict[str, str],
    audit_dir: Path | None = None,
) -> None:
    nonce = secrets.token_hex(6)
    destructive = f"rm -rf / # opsgate doctor canary {nonce}"
    benign = f"echo opsgate doctor benign {nonce}"
    timeout = agent.timeout_seconds(found.entry)
    run_env = {**env, **({agent.project_env: str(project)} if agent.project_env else {})}
    fix = f"opsgate install {agent.name}, then opsgate doctor {agent.name}"
    for command, want in ((destructive, "block"), (benign, "allow")):
        payload = agent.payload(found.event, command, str(project))
        verdict, detail = _run(agent, found.command, payload, project, run_env, timeout)
        detail = "" if verdict == want else detail
        if want == "block":
            report.add(
                verdict == "block",
                f"destructive canary (rm -rf /) {_said(verdict)}{detail}",
                fix=f"the agent would run it. {fix}",
            )
        else:
            report.add(
                verdict == "allow",
                f"harmless command {_said(verdict)}{detail}",
                fix=f"the hook stops ordinary work. {fix}",
            )
    if audit_dir is None:
        _audited(report, nonce, env)
    else:
        _audited_by_service(report, nonce, audit_dir, agent)


def _said(verdict: str) -> str:
    return {"block": "was blocked", "allow": "was allowed", "ask": "asked for approval"}[verdict]


def _run(
    agent: Agent,
    command: str,
    payload: dict[str, object],
    cwd: Path,
    env: dict[str, str],
    timeout: float,
) -> tuple[str, str]:
    """Run the hook as the agent does; the agent's verdict and a detail for people."""
    proc = subprocess.Popen(
        ["/bin/sh", "-c", command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(json.dumps(payload).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return "allow", f" (the hook overran {agent.title}'s {timeout:g} s timeout)"
    verdict = agent.read_answer(proc.returncode, out.decode("utf-8", "replace"))
    first = (err.decode("utf-8", "replace").strip().splitlines() or [""])[0]
    return verdict, f" (exit {proc.returncode}{': ' + first[:200] if first else ''})"


def _audited(report: Report, nonce: str, env: Mapping[str, str]) -> None:
    where = "OPSGATE_DATABASE_URL" if _database_url(env) else _data_dir(env)
    fix = (
        "the hook must record every decision: give the agent the same OPSGATE_HOME / "
        "OPSGATE_DATABASE_URL as this shell"
    )
    try:
        decisions = _recent_decisions(nonce, env)
    except Exception as exc:  # any failure to read is a failed proof, not a crash
        report.add(False, f"cannot read the audit log ({where}): {exc}", fix=fix)
        return
    kinds = {"destructive canary": "rm -rf /", "harmless command": "echo opsgate"}
    for label, marker in kinds.items():
        hits = [d for d in decisions if marker in d[0]]
        if hits:
            report.add(True, f"{label} audited (decision: {hits[0][1]})")
        else:
            report.add(False, f"{label} is not in the audit log ({where})", fix=fix)


def _audited_by_service(report: Report, nonce: str, data: Path, agent: Agent) -> None:
    """Protected mode: the service writes the entries into its own data directory,
    which only it (and root) can read."""
    if not os.access(data, os.R_OK | os.X_OK):
        report.add(
            True,
            f"audit not checked here: the service records decisions in {data}, readable by "
            f"the service user only (`sudo opsgate doctor {agent.name}` checks them)",
        )
        return
    _audited(report, nonce, {"OPSGATE_HOME": str(data)})


def _data_dir(env: Mapping[str, str]) -> str:
    from opsgate.config import resolve

    return str(resolve(env, {}).data_dir)


def _database_url(env: Mapping[str, str]) -> str | None:
    """The database the agent's hook (with ``env``) records into, if not SQLite."""
    from opsgate.config import resolve

    return resolve(env, {}).database_url


def _recent_decisions(nonce: str, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(command text, decision) of recent ``decision.made`` entries naming ``nonce``."""
    from opsgate.audit import open_log
    from opsgate.audit.log import data_dir_from
    from opsgate.audit.store_sqlite import DB_FILE

    url = _database_url(env)
    if url is None and not (data_dir_from(None, env) / DB_FILE).exists():
        return []  # nothing was ever recorded here
    with open_log(data_dir_from(None, env), url, readonly=url is None) as log:
        found = []
        for index, entry in enumerate(log.entries(descending=True)):
            if index >= _AUDIT_WINDOW:
                break
            data = entry.data
            action = json.dumps(data.get("action"), ensure_ascii=False)
            if data.get("event") == "decision.made" and nonce in action:
                found.append((action, str(data.get("decision"))))
        return found
