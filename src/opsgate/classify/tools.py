"""Agent tools other than the shell: file tools, web fetches, MCP tool calls."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from opsgate.classify.paths import Workspace, Zone, is_secret_path, protected_reason
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["classify_file_tool", "classify_mcp", "classify_url"]

Shell = Callable[[str, str | None], list[Finding]]


def _f(category: str, impact: Impact, effect: Effect, evidence: str, reason: str,
       target: str | None = None, env: Environment | None = None) -> Finding:  # fmt: skip
    return Finding(
        category,
        impact,
        effect,
        evidence[:200],
        reason,
        target,
        env,
        "agent workspace" if env is Environment.LOCAL else None,
    )


def classify_file_tool(
    tool: str, tool_input: dict[str, Any], ws: Workspace, cwd: str | None, shell: Shell
) -> list[Finding]:
    path_value = (
        tool_input.get("file_path") or tool_input.get("notebook_path") or tool_input.get("path")
    )
    if not isinstance(path_value, str) or not path_value:
        return [
            _f(
                "unknown",
                Impact.CAUTION,
                Effect.UNKNOWN,
                json.dumps(tool_input)[:200],
                f"{tool} without a file path",
            )
        ]
    full = ws.expand(path_value, cwd) or path_value
    if tool in ("Read", "Grep", "Glob", "LS", "read_file", "read"):
        if is_secret_path(full):
            return [
                _f(
                    "secrets.read",
                    Impact.CAUTION,
                    Effect.SECRET,
                    path_value,
                    f"reads {path_value}, which holds credentials",
                    full,
                )
            ]
        return [_f("filesystem.read", Impact.SAFE, Effect.READ, path_value, "reads a file")]
    reason = protected_reason(full, ws)
    if reason:
        return [
            _f(
                "filesystem.protected_write",
                Impact.CAUTION,
                Effect.WRITE,
                path_value,
                f"{tool} writes {full}: {reason}",
                full,
                Environment.LOCAL,
            )
        ]
    findings = [
        _f(
            "filesystem.write",
            Impact.SAFE,
            Effect.LOCAL,
            path_value,
            f"{tool} edits {path_value}",
            full,
            Environment.LOCAL,
        )
    ]
    findings += _content_findings(full, tool_input, shell)
    return findings


_SCRIPT_SUFFIX = re.compile(r"\.(sh|bash|zsh|ksh|command)$")


def _content_findings(path: str, tool_input: dict[str, Any], shell: Shell) -> list[Finding]:
    """A new script whose only job is a catastrophe is stopped before it exists."""
    text = tool_input.get("content")
    if not isinstance(text, str):
        text = tool_input.get("new_string") if isinstance(tool_input.get("new_string"), str) else ""
    assert isinstance(text, str)
    if not text:
        return []
    lang: str | None = None
    if path.endswith(("/package.json", "/composer.json")):
        hooks = _lifecycle_scripts(text)
        if hooks:
            lang = "sh"
            text = hooks
    if _SCRIPT_SUFFIX.search(path) or re.match(r"#!\s*\S*(ba|z|k|da)?sh\b", text):
        lang = "sh"
    elif path.endswith(".py") or text.startswith("#!/usr/bin/env python"):
        lang = "python"
    if lang is None:
        return []
    script = text if lang == "sh" else _python_as_shell(text)
    found = shell(script, None) if script is not None else []
    return [
        _f(
            f.category,
            f.impact,
            Effect.WRITE,
            path,
            f"the file it writes would {f.reason}",
            f.target,
        )
        for f in found
        if f.impact is Impact.DESTRUCTIVE and f.effect is Effect.WRITE
    ]


_LIFECYCLE = ("preinstall", "install", "postinstall", "prepare", "preuninstall", "postuninstall",
              "prepublish", "prepack", "postpack", "dependencies", "post-install-cmd",
              "post-update-cmd", "pre-install-cmd", "post-autoload-dump")  # fmt: skip


def _lifecycle_scripts(text: str) -> str | None:
    """Scripts npm/composer run by themselves on install: they are code that will run."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    scripts = data.get("scripts") if isinstance(data, dict) else None
    if not isinstance(scripts, dict):
        return None
    lines = []
    for key in _LIFECYCLE:
        value = scripts.get(key)
        if isinstance(value, str):
            lines.append(value)
        elif isinstance(value, list):
            lines.extend(v for v in value if isinstance(v, str))
    return "\n".join(lines) or None


def _python_as_shell(text: str) -> str | None:
    """Python source, run through the interpreter classifier via a here-doc."""
    if "'OPSGATE_EOF'" in text:
        return None
    return f"python3 - <<'OPSGATE_EOF'\n{text}\nOPSGATE_EOF\n"


# --- URLs -------------------------------------------------------------------------------------


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_metadata_host(host: str) -> bool:
    from opsgate.classify.families.network import is_metadata_host as check

    return check(host)


def classify_url(url: str) -> list[Finding]:
    try:
        parts = urlsplit(url if "://" in url else "http://" + url)
        host = parts.hostname or ""
    except ValueError:
        return [_f("unknown", Impact.CAUTION, Effect.UNKNOWN, url, "a URL that does not parse")]
    if is_metadata_host(host):
        return [
            _f(
                "secrets.cloud_metadata",
                Impact.CAUTION,
                Effect.SECRET,
                url,
                "reads the cloud metadata service, which hands out instance credentials",
                host,
            )
        ]
    ip = _ip(host)
    if ip is not None and ip.is_private and not ip.is_loopback:
        return [
            _f(
                "network.internal",
                Impact.CAUTION,
                Effect.UNKNOWN,
                url,
                f"fetches from the internal address {host}",
                host,
            )
        ]
    if parts.scheme == "file":
        return classify_url_file(parts.path)
    return [_f("network.read", Impact.SAFE, Effect.READ, url, f"fetches {host}")]


def classify_url_file(path: str) -> list[Finding]:
    if is_secret_path(path):
        return [_f("secrets.read", Impact.CAUTION, Effect.SECRET, path, "reads a secret file")]
    return [_f("filesystem.read", Impact.SAFE, Effect.READ, path, "reads a local file")]


# --- MCP ---------------------------------------------------------------------------------------
_DESTROY = re.compile(
    r"(^|[_\-])(delete|drop|remove|destroy|purge|truncate|flush|wipe|uninstall|"
    r"terminate|erase|reset|clear|kill|unlink|rm)([_\-]|$)"
)
_WRITE = re.compile(
    r"(^|[_\-])(create|update|set|put|write|insert|apply|scale|merge|push|move|"
    r"rename|restart|deploy|exec|execute|run|install|patch|edit|upsert|replace|"
    r"add|post|send|publish|start|stop|rollback|upload|commit|close|lock|"
    r"approve|assign|trigger|invoke|modify|enable|disable|grant|revoke|"
    r"copy|import|sync|fork|transfer|archive|cordon|drain|label|annotate)"
    r"([_\-]|$)"
)
_READ = re.compile(
    r"(^|[_\-])(get|list|read|describe|search|find|count|aggregate|query|fetch|"
    r"show|view|logs?|status|explain|inspect|check|diff|info|stats|schema|"
    r"tables|browse|download|lookup|resolve|whoami|version|ping|health|top|tree|stat|"
    r"exists|metadata|size|tail|head|walk|directory|history|blame|compare)"
    r"([_\-]|$)"
)
_SQL_KEYS = ("sql", "query", "statement", "sql_query")
_CMD_KEYS = ("command", "cmd", "script", "shell_command", "cli_command", "command_line")
# Servers that wrap one CLI and take its arguments as a list: `args: [compute, list]`.
_CLI_SERVERS = ("aws", "gcloud", "az", "kubectl", "kubernetes", "helm", "terraform", "docker",
                "git", "gh", "doctl", "flyctl", "heroku", "vercel")  # fmt: skip
_METADATA_ONLY = re.compile(r"(^|[_\-])(info|stat|exists|metadata|size|list|tree|directory)"
                            r"([_\-]|$)")  # fmt: skip


def classify_mcp(
    tool: str,
    args: dict[str, Any],
    ws: Workspace,
    cwd: str | None,
    shell: Shell,
    sql: Callable[[str], list[Finding]],
) -> list[Finding]:
    """``mcp__server__tool``: by what its arguments carry, then by its name's verb."""
    parts = tool.split("__", 2)
    server = parts[1] if len(parts) > 1 else "mcp"
    name = (parts[2] if len(parts) > 2 else tool).lower()
    target = f"mcp:{server}"
    remote_repo = "repo" in args or "owner" in args or "repository" in args
    findings = (
        None if remote_repo else _by_arguments(name, server, args, ws, cwd, shell, sql, target)
    )
    if findings is not None:
        return findings
    return _by_name(name, server, args, target)


def _by_arguments(name: str, server: str, args: dict[str, Any], ws: Workspace, cwd: str | None,
                  shell: Shell, sql: Callable[[str], list[Finding]], target: str) -> (
        list[Finding] | None):  # fmt: skip
    for key in _SQL_KEYS:
        value = args.get(key)
        if isinstance(value, str) and (server in ("postgres", "sqlite", "mysql", "postgresql",
                                                  "mssql", "supabase", "neon", "bigquery")
                                       or "sql" in name or "query" in name):  # fmt: skip
            return [_with_target(f, target) for f in sql(value)] or [
                _f("database.read", Impact.SAFE, Effect.READ, value, "an empty query")
            ]
    for key in _CMD_KEYS:
        value = args.get(key)
        if isinstance(value, list):
            import shlex

            value = shlex.join(str(v) for v in value)
        if isinstance(value, str):
            remote = _remote_of(name, server, args)
            return shell(value, remote)
    cli = next((c for c in _CLI_SERVERS if c == server or name.endswith(f"_{c}_command")), None)
    if cli is not None and isinstance(args.get("args"), list):
        import shlex

        cli_name = "kubectl" if cli == "kubernetes" else cli
        return shell(shlex.join([cli_name, *(str(v) for v in args["args"])]), None)
    paths = args.get("paths")
    if isinstance(paths, list) and all(isinstance(p, str) for p in paths):
        verb = "Read" if not _WRITE.search(name) else "Write"
        found: list[Finding] = []
        for path in paths:
            found += classify_file_tool(verb, {"file_path": path}, ws, cwd, shell)
        return found
    url = args.get("url")
    if isinstance(url, str) and not _WRITE.search(name):
        return classify_url(url)
    return _file_arguments(name, args, ws, cwd, shell)


def _remote_of(name: str, server: str, args: dict[str, Any]) -> str | None:
    if server in ("desktop-commander", "shell", "terminal", "commander", "bash", "local"):
        return None
    pod = args.get("name") or args.get("pod") or args.get("container") or args.get("host")
    return f"{server}:{pod}" if pod else f"{server}"


def _file_arguments(name: str, args: dict[str, Any], ws: Workspace, cwd: str | None,
                    shell: Shell) -> list[Finding] | None:  # fmt: skip
    source, dest = args.get("source"), args.get("destination")
    if isinstance(source, str) and isinstance(dest, str):
        src_full = ws.expand(source, cwd) or source
        zone = ws.zone(src_full)
        if zone in (Zone.PROJECT_ROOT, Zone.PROJECT_GIT, Zone.SYSTEM, Zone.HOME, Zone.ROOT,
                    Zone.PROJECT_ANCESTOR):  # fmt: skip
            return [
                _f(
                    "filesystem.move",
                    Impact.DESTRUCTIVE,
                    Effect.WRITE,
                    source,
                    f"moves {source} ({zone.value}) away",
                    src_full,
                )
            ]
        return classify_file_tool("Write", {"file_path": dest}, ws, cwd, shell)
    path = args.get("path") or args.get("file_path")
    if not isinstance(path, str) or ws.expand(path, cwd) is None:
        return None
    if path.startswith(("/", "~", ".")) or "/" in path:
        if _METADATA_ONLY.search(name) and not _WRITE.search(name):
            return [_f("filesystem.metadata", Impact.SAFE, Effect.READ, path,
                       f"{name} reads file metadata, not contents")]  # fmt: skip
        if _READ.search(name) and not _WRITE.search(name):
            return classify_file_tool("Read", {"file_path": path}, ws, cwd, shell)
        if _WRITE.search(name) or "content" in args:
            return classify_file_tool("Write", args | {"file_path": path}, ws, cwd, shell)
    return None


def _by_name(name: str, server: str, args: dict[str, Any], target: str) -> list[Finding]:
    evidence = f"mcp__{server}__{name} {json.dumps(args, sort_keys=True)[:160]}"
    repo_path = args.get("path")
    if isinstance(repo_path, str) and _READ.search(name) and is_secret_path(repo_path):
        reason = f"reads {repo_path} from {server}, a file that holds credentials"
        return [_f("secrets.read", Impact.CAUTION, Effect.SECRET, evidence, reason, target)]
    branch = args.get("branch") or args.get("base")
    if server == "github" and isinstance(branch, str) and _WRITE.search(name):
        from opsgate.classify.families.git import is_protected_branch

        if is_protected_branch(branch) and "pull_request" not in name:
            return [
                _f(
                    "vcs.push_protected",
                    Impact.CAUTION,
                    Effect.WRITE,
                    evidence,
                    f"writes to the protected branch {branch}",
                    f"github:{branch}",
                )
            ]
        if "merge" not in name:
            return [
                _f(
                    "vcs.push",
                    Impact.SAFE,
                    Effect.LOCAL,
                    evidence,
                    f"writes to the branch {branch}",
                )
            ]
    if "pull_request" in name and "create" in name:
        return [_f("vcs.pull_request", Impact.SAFE, Effect.LOCAL, evidence, "opens a pull request")]
    if (
        "secret" in json.dumps(args).lower()
        and _READ.search(name)
        and (args.get("output") in ("yaml", "json") or "value" in name)
    ):
        return [
            _f(
                "secrets.read",
                Impact.CAUTION,
                Effect.SECRET,
                evidence,
                "reads a secret's value",
                target,
            )
        ]
    if _is_empty_filter_delete(name, args) or _DESTROY.search(name):
        return [
            _f(
                "mcp.destructive",
                Impact.DESTRUCTIVE,
                Effect.WRITE,
                evidence,
                f"{name} deletes or destroys data on {server}",
                target,
            )
        ]
    if _WRITE.search(name):
        return [
            _f(
                "mcp.write",
                Impact.CAUTION,
                Effect.WRITE,
                evidence,
                f"{name} changes state on {server}",
                target,
            )
        ]
    if _READ.search(name) or not name:
        if "pipeline" in args and re.search(r"\$(out|merge)\b", json.dumps(args)):
            return [
                _f(
                    "database.write",
                    Impact.CAUTION,
                    Effect.WRITE,
                    evidence,
                    "an aggregation that writes ($out/$merge)",
                    target,
                )
            ]
        return [
            _f(
                "mcp.read",
                Impact.SAFE,
                Effect.READ,
                evidence,
                f"{name} reads from {server}",
                target,
            )
        ]
    return [
        _f(
            "unknown",
            Impact.CAUTION,
            Effect.UNKNOWN,
            evidence,
            f"the MCP tool {name} on {server} is not known to be read-only",
            target,
        )
    ]


def _is_empty_filter_delete(name: str, args: dict[str, Any]) -> bool:
    return "delete" in name and args.get("filter") in ({}, None)


def _with_target(finding: Finding, target: str) -> Finding:
    from dataclasses import replace

    return finding if finding.target else replace(finding, target=target)
