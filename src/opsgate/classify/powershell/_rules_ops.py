"""Cmdlet rules for operations beyond the file system: HTTP, SQL Server,
processes, execution policy, and cmdlets that return secret values."""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING, Any

from opsgate.classify._guard_kills import names_opsgate_process
from opsgate.classify._guard_tamper import tamper
from opsgate.classify.powershell import _tables as t
from opsgate.classify.powershell._values import (
    PsArg,
    PsCall,
    Verdict,
    finding,
    parse_call,
    unknown,
    with_env,
)
from opsgate.models import Effect, Impact

if TYPE_CHECKING:
    from opsgate.classify.powershell._walk import Walk

__all__ = ["SECRET_CMDLETS", "exec_policy", "http", "kill", "secret_cmdlet", "sqlcmd"]

_LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|\[?::1\]?|0\.0\.0\.0)$", re.IGNORECASE)


def http(w: Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    url = call.value("uri", position=0)
    out = call.value("outfile")
    if out is not None:
        w.add(w.paths.write(out, creating=True), call.text, out.value)
    host = ""
    if url is not None:
        match = re.match(r"^(?:\w+://)?(?:[^@/]*@)?(\[[^\]]*\]|[^/:?#]+)", url.value)
        host = match.group(1).lower() if match else ""
    if host in t.METADATA_HOSTS:
        w.out.append(
            finding(
                "secrets.read",
                Impact.CAUTION,
                Effect.SECRET,
                call.text,
                "queries the cloud metadata endpoint (instance credentials)",
                host,
            )
        )
        return
    method_arg = call.value("method", "custommethod") or call.value("x", "request")
    method = method_arg.value.upper() if method_arg is not None else None
    if method is None and (call.param("body", "infile", "form", min_len=2) or call.param("d")):
        method = "POST"
    if method in (None, "GET", "HEAD", "OPTIONS", "TRACE") or _LOOPBACK.match(host):
        return
    w.out.append(
        finding(
            "network.write",
            Impact.CAUTION,
            Effect.WRITE,
            call.text,
            f"sends an HTTP {method} to {host or 'a remote host'}",
            host or None,
        )
    )


def stop_process(w: Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    names = call.values("name", "processname")
    ids = call.values("id") or ([] if names else call.positionals)
    if not names and not ids and up is not None and up.type == "command":
        upcall = parse_call(up, w.vars, w.aliases)
        if upcall is not None and upcall.name == "get-process":
            names = upcall.values("name") or upcall.positionals
    kill(
        w,
        [n.value for n in names] + [i.value for i in ids],
        all(a.static for a in names + ids) and bool(names or ids),
        call.text,
    )


# Process names a wildcard is tried against: one that matches all of them stops every
# process (``Stop-Process -Name *``, ``taskkill /IM *``), the session and agent included.
_PROBES = ("explorer", "svchost", "code", "node", "pwsh", "x", "winlogon.exe")


def _matches_every_process(pattern: str) -> bool:
    if not any(c in pattern for c in "*?["):
        return False
    return all(fnmatch.fnmatch(p, pattern.lower()) for p in _PROBES)


def mass_kill(w: Walk, text: str, reason: str) -> None:
    w.out.append(finding("process.mass_kill", Impact.CAUTION, Effect.WRITE, text, reason))


def kill(w: Walk, targets: list[str], known: bool, text: str) -> None:
    wild = next((x for x in targets if _matches_every_process(x.lower())), None)
    if wild is not None:
        mass_kill(w, text, f"the name {wild!r} matches every process")
        return
    if not known:
        w.out.append(unknown(text, "stops processes chosen at run time", "process.kill"))
        return
    for target in targets:
        name = target.lower().removesuffix(".exe")
        if names_opsgate_process(name):  # Get-Process *opsgate* | Stop-Process
            reason = f"stops {target}, which selects opsgate's own processes (the guard)"
            w.out.append(tamper(text, reason, target))
        elif name in t.SYSTEM_PROCESSES or name in ("0", "4"):
            w.out.append(
                finding(
                    "process.kill",
                    Impact.CAUTION,
                    Effect.WRITE,
                    text,
                    f"stops the system process {target}",
                    target,
                )
            )


def exec_policy(w: Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    scope = call.value("scope")
    # -Scope Process lasts only for this PowerShell session: the agent's own workspace.
    if scope is not None and scope.value.lower() == "process":
        return
    w.out.append(
        finding(
            "security.weaken",
            Impact.CAUTION,
            Effect.WRITE,
            call.text,
            "changes the machine's script execution policy",
        )
    )


def secret_cmdlet(w: Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    rule = SECRET_CMDLETS[call.name]
    if rule and not call.switch(rule, min_len=2):
        return
    w.out.append(
        finding(
            "secrets.read",
            Impact.CAUTION,
            Effect.SECRET,
            call.text,
            f"{call.raw} returns a secret value",
        )
    )


# cmdlet → the switch that makes it disclose a value ("" = always).
SECRET_CMDLETS: dict[str, str] = {
    "get-secret": "",
    "convertfrom-securestring": "asplaintext",
    "get-azkeyvaultsecret": "asplaintext",
    "get-azstorageaccountkey": "",
    "get-azaccesstoken": "",
    "get-azcosmosdbaccountkey": "",
    "get-azrediscachekey": "",
    "get-azwebapppublishingprofile": "",
    "get-secsecretvalue": "",
    "get-ssmparameter": "withdecryption",
    "get-ssmparametervalue": "withdecryption",
    "get-storedcredential": "",
    "get-awscredential": "",
}


def sqlcmd(w: Walk, call: PsCall, up: Any, down: list[Any]) -> None:
    server = call.value("serverinstance", "hostname")
    target = server.value if server is not None else None
    query = call.value("query", position=0)
    infile = call.value("inputfile")
    if infile is not None:
        query = PsArg(w.ctx.read_text(infile.value, w.cwd) or "", False)
        query = PsArg(query.value, bool(query.value))
    if query is None or not query.static:
        w.out.append(unknown(call.text, "runs SQL opsgate cannot see", "database.unknown"))
        return
    env = w.ctx.environment_of(target) if target else None
    for verdict in sql(query.value):
        found = finding(verdict[2], verdict[1], verdict[0], call.text, verdict[3], target)
        w.out.append(with_env(found, env) if env is not None else found)


def sql(query: str) -> list[Verdict]:
    import sqlglot
    from sqlglot import exp

    try:
        statements = sqlglot.parse(query, read="tsql")
    except sqlglot.errors.SqlglotError:
        return [(Effect.UNKNOWN, Impact.CAUTION, "database.unknown", "SQL opsgate cannot parse")]
    out: list[Verdict] = []
    for stmt in statements:
        if stmt is None or isinstance(stmt, exp.Query | exp.Show | exp.Describe):
            continue
        if isinstance(stmt, exp.Drop | exp.TruncateTable):
            out.append(
                (
                    Effect.WRITE,
                    Impact.DESTRUCTIVE,
                    "database.drop",
                    "drops or truncates database objects",
                )
            )
        elif isinstance(stmt, exp.Delete | exp.Update) and stmt.args.get("where") is None:
            out.append(
                (
                    Effect.WRITE,
                    Impact.DESTRUCTIVE,
                    "database.write",
                    "changes every row of a table (no WHERE)",
                )
            )
        elif isinstance(stmt, exp.Command):
            out.append(
                (
                    Effect.UNKNOWN,
                    Impact.CAUTION,
                    "database.unknown",
                    "a SQL statement opsgate cannot type",
                )
            )
        else:
            out.append((Effect.WRITE, Impact.CAUTION, "database.write", "writes to the database"))
    return out
