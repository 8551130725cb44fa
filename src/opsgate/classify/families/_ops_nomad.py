"""Nomad: jobs, allocations, nodes, variables and the cluster's own state.

A subcommand (``job stop``, ``node drain``) is looked up in a table; one that is not
there is ``unknown``, never a read.  ``alloc exec`` (``nomad exec``) runs its command
inside a remote allocation, so that command is judged as a remote script, by
``kubectl exec``'s rules; ``alloc fs`` (``nomad fs``) prints a file of the
allocation, its task's ``secrets/`` directory being a secret read.
"""

from __future__ import annotations

import shlex

from opsgate.classify._command import Command, Context
from opsgate.classify.families._verbs import words
from opsgate.models import Effect, Finding, Impact

__all__ = ["nomad"]

_R, _W, _S, _L, _U = Effect.READ, Effect.WRITE, Effect.SECRET, Effect.LOCAL, Effect.UNKNOWN
_SAFE, _CAUTION, _DESTROY = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE
Row = tuple[Effect, Impact, str]


def _rows(paths: str, row: Row) -> dict[str, Row]:
    return {path.replace("_", " "): row for path in words(paths)}


_TABLE: dict[str, Row] = {
    **_rows(
        "status job_status job_inspect inspect job_history job_plan plan job_validate validate "
        "job_allocs job_deployments job_eval version alloc_status alloc_logs logs alloc_checks "
        "node_status node_meta eval_status eval_list deployment_status deployment_list "
        "namespace_list namespace_status namespace_inspect var_list server_members agent-info "
        "monitor volume_status service_list service_info quota_list quota_status "
        "quota_inspect acl_policy_list acl_policy_info acl_role_list acl_token_list "
        "operator_raft_list-peers operator_autopilot_get-config operator_autopilot_health "
        "operator_metrics license_get node_meta_read volume_snapshot_list",
        (_R, _SAFE, "reads cluster state"),
    ),
    **_rows("fmt job_init init login ui tls", (_L, _SAFE, "works on local files or CLI settings")),
    **_rows(
        "job_run run job_stop stop job_dispatch job_revert job_scale job_restart job_promote "
        "job_periodic deployment_promote deployment_fail deployment_pause deployment_resume "
        "deployment_unblock alloc_stop alloc_restart alloc_signal node_drain node_eligibility "
        "node_purge system_gc system_reconcile var_put var_lock namespace_apply quota_apply "
        "volume_create volume_register volume_detach volume_snapshot acl_policy_apply "
        "acl_policy_delete acl_token_create acl_token_update acl_token_delete acl_role "
        "acl_auth-method acl_binding-rule sentinel service_delete operator node_meta_apply",
        (_W, _CAUTION, "changes cluster state"),
    ),
    **_rows(
        "var_purge namespace_delete volume_delete volume_deregister quota_delete",
        (_W, _DESTROY, "deletes cluster objects"),
    ),
    **_rows(
        "var_get acl_token_info acl_token_self acl_bootstrap operator_snapshot_save",
        (_S, _CAUTION, "prints secret values (variables, tokens, the state snapshot)"),
    ),
}
_VALUED = frozenset(
    words(
        "address region namespace token ca-cert ca-path client-cert client-key tls-server-name "
        "task e group var var-file check-index type"
    )
)
_EXEC_ALIASES = {"exec": "alloc exec", "fs": "alloc fs"}


def _flag_takes_value(word: str) -> bool:
    return "=" not in word and word.lstrip("-") in _VALUED


def _split(words: list[str]) -> tuple[list[str], int]:
    """The subcommand words (``acl token info``), and where its operands begin."""
    path: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-") and len(word) > 1:
            i += 2 if _flag_takes_value(word) else 1
            continue
        if path and " ".join([*path, word]) not in _PREFIXES:
            break
        path.append(word)
        i += 1
    return path, i


def _row(path: list[str]) -> Row | None:
    """The row of the longest known subcommand the words start with."""
    for n in range(len(path), 0, -1):
        row = _TABLE.get(" ".join(path[:n]))
        if row is not None:
            return row
    return None


_PREFIXES = frozenset(
    " ".join(key.split()[:n])
    for key in [*_TABLE, *_EXEC_ALIASES.values()]
    for n in range(1, len(key.split()) + 1)
)


def _operands(words: list[str], start: int) -> list[str]:
    """Go flag parsing: flags end at the first operand; the rest is the operands."""
    i = start
    while i < len(words):
        word = words[i]
        if word == "--":
            return words[i + 1 :]
        if not word.startswith("-") or len(word) == 1:
            return words[i:]
        i += 2 if _flag_takes_value(word) else 1
    return []


def nomad(cmd: Command, ctx: Context) -> list[Finding]:
    argv = list(cmd.words)
    path, end = _split(argv)
    key = _EXEC_ALIASES.get(" ".join(path), " ".join(path))
    address = cmd.option("-address", "--address") or cmd.env.get("NOMAD_ADDR")
    target = f"nomad {address}" if address else "nomad (configured cluster)"
    found = ctx.environment_of(target)
    env, source = found if found else (None, None)

    def finding(row: Row, what: str) -> Finding:
        effect, impact, reason = row
        category = f"nomad.{what.replace(' ', '_')}" if effect is not _S else "secrets.read"
        return Finding(category, impact, effect, cmd.text, f"nomad {what} {reason}",
                       target, env, source)  # fmt: skip

    if key in ("alloc exec", "alloc fs"):
        operands = _operands(argv, end)
        alloc = operands[0] if operands else "allocation"
        seen = finding((_R, _SAFE, "reaches into an allocation"), key)
        inner = operands[1:]
        if key == "alloc fs":
            return _fs(ctx, seen, inner, f"{target}/{alloc}")
        from opsgate.classify.families._kubernetes_kubectl import _nested

        remote = f"{target}/{alloc}"
        opened = not any(w in ("-i=false", "--i=false") for w in argv[end:])
        return [seen, *_nested(cmd, ctx, inner, via="nomad alloc exec", remote=remote,
                               seen=seen, stdin_open=opened)]  # fmt: skip
    if not path:
        return []  # help
    row = _row(path)
    if key == "agent" and cmd.has("-dev", "--dev"):
        row = (_L, _SAFE, "starts a throwaway development agent on this machine")
    if key in ("job stop", "stop") and cmd.has("-purge", "--purge"):
        row = (_W, _DESTROY, "stops and purges a job")
    if row is None:
        return [finding((_U, _CAUTION, "is not a subcommand opsgate knows"), key)]
    return [] if row[0] is _R else [finding(row, key)]


def _fs(ctx: Context, seen: Finding, inner: list[str], remote: str) -> list[Finding]:
    """``alloc fs ALLOC [PATH]``: a listing or a file's text, read in the allocation."""
    path = inner[0] if inner else "/"
    if "secrets" in path.strip("/").split("/"):
        reason = "prints a file from the task's secrets directory"
        return [Finding("secrets.read", _CAUTION, _S, seen.evidence, reason, seen.target,
                        seen.environment, seen.env_source)]  # fmt: skip
    return [seen, *ctx.classify_shell(f"cat {shlex.quote(path)}", via="nomad alloc fs",
                                      remote=remote)]  # fmt: skip
