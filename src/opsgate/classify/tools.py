"""Agent tools other than the shell: file tools, web fetches, MCP tool calls."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from opsgate.classify._autorun import Judge
from opsgate.classify._files import FileSource
from opsgate.classify._mcp_known import known_findings, known_kind
from opsgate.classify._mcp_secrets import is_secret_manager, secret_read
from opsgate.classify._tools_files import Shell, _f, classify_file_tool
from opsgate.classify._tools_git_mcp import git_mcp_command
from opsgate.classify._tools_urls import classify_url
from opsgate.classify.paths import Workspace, Zone, is_secret_path
from opsgate.models import Effect, Finding, Impact

__all__ = ["classify_file_tool", "classify_mcp", "classify_url"]


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
    r"exists|metadata|size|tail|head|walk|directory|history|blame|compare|suggest|"
    r"recommend|help|docs)"
    r"([_\-]|$)"
)
# Arguments that carry the operation of a multi-verb tool: kubectl_rollout
# {subCommand: status}, a cloud tool's {action: describe}.
_VERB_KEYS = ("subCommand", "subcommand", "sub_command", "action", "operation", "verb")
_SQL_KEYS = ("sql", "query", "statement", "sql_query")
_CMD_KEYS = ("command", "cmd", "script", "shell_command", "cli_command", "command_line")
# Servers that wrap one CLI and take its arguments as a list: `args: [compute, list]`.
_CLI_SERVERS = ("aws", "gcloud", "az", "kubectl", "kubernetes", "helm", "terraform", "docker",
                "git", "gh", "doctl", "flyctl", "heroku", "vercel")  # fmt: skip
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_METADATA_ONLY = re.compile(r"(^|[_\-])(info|stat|exists|metadata|size|list|tree|directory)"
                            r"([_\-]|$)")  # fmt: skip


def classify_mcp(
    tool: str,
    args: dict[str, Any],
    ws: Workspace,
    cwd: str | None,
    shell: Shell,
    sql: Callable[[str], list[Finding]],
    judge: Judge | None = None,
    *,
    files: FileSource,
) -> list[Finding]:
    """``mcp__server__tool``: by what its arguments carry, then by its name's verb;
    paths through ``files``, the classification's file source."""
    parts = tool.split("__", 2)
    server = parts[1] if len(parts) > 1 else "mcp"
    raw = parts[2] if len(parts) > 2 else tool
    name = raw.lower()
    if server == "git" or name.startswith("git_"):
        as_git = git_mcp_command(name, args, shell)
        if as_git is not None:
            return as_git
    kind = known_kind(server, name)
    if kind is not None:
        return known_findings(kind, name, server, args, ws, cwd, shell, files)
    # The verb tables read words: ``getJiraIssue`` is ``get_jira_issue``.
    name = _CAMEL.sub("_", raw).lower()
    secret = secret_read(server, name, args)
    if secret is not None:
        return secret
    cli_verb = _cli_verb(server, args)
    name = _with_sub_verb(name, {"verb": cli_verb} if cli_verb else args)
    target = f"mcp:{server}"
    remote_repo = "repo" in args or "owner" in args or "repository" in args
    findings = (
        None
        if remote_repo or cli_verb or is_secret_manager(server)
        else _by_arguments(name, server, args, ws, cwd, shell, sql, target, judge, files)
    )
    if findings is not None:
        return findings
    return _by_name(name, server, args, target)


def _by_arguments(name: str, server: str, args: dict[str, Any], ws: Workspace, cwd: str | None,
                  shell: Shell, sql: Callable[[str], list[Finding]], target: str,
                  judge: Judge | None, files: FileSource) -> list[Finding] | None:  # fmt: skip
    for key in _SQL_KEYS:
        value = args.get(key)
        if isinstance(value, str) and (server in ("postgres", "sqlite", "mysql", "postgresql",
                                                  "mssql", "supabase", "neon", "bigquery")
                                       or "sql" in name or "query" in name):  # fmt: skip
            return [_with_target(f, target) for f in sql(value)] or [
                _f("database.read", Impact.SAFE, Effect.READ, value, "an empty query")
            ]
    client = _DATASTORE_CLIENTS.get(server.lower().removesuffix("-mcp"))
    for key in _CMD_KEYS:
        value = args.get(key)
        if isinstance(value, list):
            import shlex

            value = shlex.join(str(v) for v in value)
        if isinstance(value, str) and client is not None:
            # ``mcp__redis__execute {command: FLUSHDB}``: the datastore's own command,
            # judged as its client would send it.
            import shlex

            return shell(f"{client} {value}" if client != "mongosh" else
                         f"mongosh --eval {shlex.quote(value)}", None)  # fmt: skip
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
            found += classify_file_tool(verb, {"file_path": path}, ws, cwd, shell, files=files)
        return found
    url = args.get("url")
    if isinstance(url, str) and not _WRITE.search(name):
        return classify_url(url)
    return _file_arguments(name, args, ws, cwd, shell, judge, files)


# MCP servers of a datastore whose ``command`` argument is in the datastore's own
# language, and the client that speaks it.
_DATASTORE_CLIENTS = {
    "redis": "redis-cli", "valkey": "redis-cli", "keydb": "redis-cli", "dragonfly": "redis-cli",
    "upstash": "redis-cli", "mongodb": "mongosh", "mongo": "mongosh",
}  # fmt: skip


def _remote_of(name: str, server: str, args: dict[str, Any]) -> str | None:
    if server in ("desktop-commander", "shell", "terminal", "commander", "bash", "local"):
        return None
    pod = args.get("name") or args.get("pod") or args.get("container") or args.get("host")
    return f"{server}:{pod}" if pod else f"{server}"


def _file_arguments(name: str, args: dict[str, Any], ws: Workspace, cwd: str | None,
                    shell: Shell, judge: Judge | None,
                    files: FileSource) -> list[Finding] | None:  # fmt: skip
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
        write = {"file_path": dest, "source": src_full}
        return classify_file_tool("Write", write, ws, cwd, shell, judge, files=files)
    key, path = _path_argument(args)
    if path is None or ws.expand(path, cwd) is None:
        return None
    if key != "path" or path.startswith(("/", "~", ".")) or "/" in path or is_secret_path(path):
        if _METADATA_ONLY.search(name) and not _WRITE.search(name):
            return [_f("filesystem.metadata", Impact.SAFE, Effect.READ, path,
                       f"{name} reads file metadata, not contents")]  # fmt: skip
        if _READ.search(name) and not _WRITE.search(name):
            return classify_file_tool("Read", {"file_path": path}, ws, cwd, shell, files=files)
        if _WRITE.search(name) or "content" in args or "edits" in args:
            write = args | {"file_path": path}
            return classify_file_tool("Write", write, ws, cwd, shell, judge, files=files)
    return None


# Arguments that name a file on the agent's machine, by the names MCP servers give them
# (Serena's ``relative_path``, Desktop Commander's ``file_path`` …).  ``path`` alone is
# also a repository path, a URL path or a JSON path: it counts when spelt like a file.
_PATH_KEYS = ("file_path", "filePath", "relative_path", "relativePath", "absolute_path",
              "absolutePath", "filepath", "filename", "file_name", "fileName", "target_file",
              "targetFile", "notebook_path", "path")  # fmt: skip


def _path_argument(args: dict[str, Any]) -> tuple[str, str | None]:
    """(the argument's name, the file path) of the first path argument there is."""
    for key in _PATH_KEYS:
        value = args.get(key)
        if isinstance(value, str) and value:
            return key, value
    return "", None


def _by_name(name: str, server: str, args: dict[str, Any], target: str) -> list[Finding]:
    evidence = f"mcp__{server}__{name} {json.dumps(args, sort_keys=True)[:160]}"
    repo_path = args.get("path")
    if isinstance(repo_path, str) and _READ.search(name) and is_secret_path(repo_path):
        reason = f"reads {repo_path} from {server}, a file that holds credentials"
        return [_f("secrets.read", Impact.CAUTION, Effect.SECRET, evidence, reason, target)]
    branch = args.get("branch") or args.get("base")
    commits = _WRITE.search(name) or (_DESTROY.search(name) and "file" in name)
    if server == "github" and isinstance(branch, str) and commits:
        pushed = _github_branch_write(name, branch, evidence)
        if pushed is not None:
            return pushed
    if "pull_request" in name and "create" in name:
        return [_f("vcs.pull_request", Impact.SAFE, Effect.LOCAL, evidence, "opens a pull request")]
    if server == "github" and name == "update_pull_request_branch":
        reason = "merges the base into the pull request's own branch; the base is untouched"
        return [_f("vcs.push", Impact.SAFE, Effect.LOCAL, evidence, reason)]
    category, impact, effect, reason = _by_verb(name, server, args)
    # A tool nothing recognises is not known to touch infrastructure either: a person
    # decides (the agent's own prompt where one is shown), rather than a flat deny.
    where = None if effect is Effect.UNKNOWN else target
    return [_f(category, impact, effect, evidence, reason, where)]


def _github_branch_write(name: str, branch: str, evidence: str) -> list[Finding] | None:
    from opsgate.classify.families.git import is_protected_branch

    if is_protected_branch(branch) and "pull_request" not in name:
        reason = f"writes to the protected branch {branch}"
        target = f"github:{branch}"
        return [_f("vcs.push_protected", Impact.CAUTION, Effect.WRITE, evidence, reason, target)]
    if "merge" not in name:
        reason = f"writes to the branch {branch}"
        return [_f("vcs.push", Impact.SAFE, Effect.LOCAL, evidence, reason)]
    return None


def _by_verb(name: str, server: str, args: dict[str, Any]) -> tuple[str, Impact, Effect, str]:
    """(category, impact, effect, reason) from what the tool's name says it does."""
    if (
        "secret" in json.dumps(args).lower()
        and _READ.search(name)
        and (args.get("output") in ("yaml", "json") or "value" in name)
    ):
        return "secrets.read", Impact.CAUTION, Effect.SECRET, "reads a secret's value"
    if _is_empty_filter_delete(name, args) or _DESTROY.search(name):
        reason = f"{name} deletes or destroys data on {server}"
        return "mcp.destructive", Impact.DESTRUCTIVE, Effect.WRITE, reason
    if _WRITE.search(name):
        return "mcp.write", Impact.CAUTION, Effect.WRITE, f"{name} changes state on {server}"
    if _READ.search(name) or not name:
        if "pipeline" in args and re.search(r"\$(out|merge)\b", json.dumps(args)):
            reason = "an aggregation that writes ($out/$merge)"
            return "database.write", Impact.CAUTION, Effect.WRITE, reason
        return "mcp.read", Impact.SAFE, Effect.READ, f"{name} reads from {server}"
    reason = f"the MCP tool {name} on {server} is not known to be read-only"
    return "unknown", Impact.CAUTION, Effect.UNKNOWN, reason


def _cli_verb(server: str, args: dict[str, Any]) -> str | None:
    """``kubectl_generic {command: delete, resourceType: pvc}``: a CLI server's
    ``command`` that is one bare verb, not a command line."""
    value = args.get("command")
    if server in _CLI_SERVERS and isinstance(value, str) and re.fullmatch(r"[a-z][a-z\-]*", value):
        return value
    return None


def _with_sub_verb(name: str, args: dict[str, Any]) -> str:
    """The tool's name with the operation an argument names appended, so the verb
    tables see ``kubectl_rollout_status``; a name that already destroys keeps its
    verb (the argument cannot soften it)."""
    if _DESTROY.search(name):
        return name
    for key in _VERB_KEYS:
        value = args.get(key)
        if isinstance(value, str) and re.fullmatch(r"[A-Za-z][\w\-]{0,40}", value):
            return f"{name}_{value.lower()}"
    return name


def _is_empty_filter_delete(name: str, args: dict[str, Any]) -> bool:
    return "delete" in name and args.get("filter") in ({}, None)


def _with_target(finding: Finding, target: str) -> Finding:
    from dataclasses import replace

    return finding if finding.target else replace(finding, target=target)
