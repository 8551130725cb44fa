"""Cloud CLI rules shared by every provider: verbs, evidence and findings."""

from __future__ import annotations

from collections.abc import Iterable

from opsgate.classify._command import Command, Context
from opsgate.classify.families._verbs import Rule, words
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = [
    "_ENV_SECRET",
    "_LOCAL",
    "_READ",
    "_REMOTE",
    "_SECRET",
    "_UNKNOWN",
    "_WRITE",
    "Rule",
    "_as",
    "_finding",
    "_generic_rule",
    "_names",
    "_path_verb",
    "_remote_shell",
    "_resource_names",
    "_s3_rule",
    "_verb_rule",
]


_names = words


_READ = Rule(Effect.READ, Impact.SAFE, "cloud.read", "reads cloud resources")
_LOCAL = Rule(Effect.LOCAL, Impact.SAFE, "cloud.local", "changes local CLI configuration")
_WRITE = Rule(Effect.WRITE, Impact.CAUTION, "cloud.write", "changes cloud resources")
_DELETE = Rule(Effect.WRITE, Impact.DESTRUCTIVE, "cloud.delete", "deletes cloud resources or data")
_SECRET = Rule(Effect.SECRET, Impact.CAUTION, "secrets.read", "prints credentials or secret values")
_ENV_SECRET = Rule(
    Effect.SECRET, Impact.CAUTION, "secrets.read", "prints environment variable values"
)
_UNKNOWN = Rule(Effect.UNKNOWN, Impact.CAUTION, "cloud.unknown", "unrecognised cloud operation")
_REMOTE = Rule(Effect.UNKNOWN, Impact.CAUTION, "cloud.remote_exec", "opens a remote session")

# Verb prefixes, matched as ``verb`` or ``verb-…`` (``describe-instances``).
# Order matters: the first table that matches wins.
_VERBS: tuple[tuple[frozenset[str], Rule], ...] = (
    (
        frozenset(
            _names(
                "describe list get head wait ls show lookup search scan query filter batch-get "
                "transact-get simulate validate estimate preview check test-dns read tail "
                "get-iam-policy explain diff select-object-content download exists version info "
                "log logs print-settings history count summarize what-if"
            )
        ),
        _READ,
    ),
    (
        frozenset(
            _names(
                "delete terminate remove purge deregister destroy rm rb batch-delete empty wipe "
                "drop abandon"
            )
        ),
        _DELETE,
    ),
    (
        frozenset(
            _names(
                "create put update modify start stop reboot restart run attach detach "
                "associate disassociate tag untag invoke enable disable set add register "
                "import copy cp restore replace authorize revoke send publish change "
                "reset cancel apply promote failover rotate upload execute accept reject "
                "allocate release assign unassign request resize deploy submit increase "
                "decrease complete abort respond confirm initiate subscribe unsubscribe "
                "move mv merge recover revert swap signal continue retry suspend resume "
                "batch-write batch-put batch-update transact-write scale patch rollback "
                "upgrade regenerate renew grant approve lock unlock deallocate redeploy "
                "reimage export clone sync rsync mb up reload acknowledge call mount "
                "unmount setmeta acl iam label versioning lifecycle defacl notification "
                "web cors retention kms rewrite compose cordon drain"
            )
        ),
        _WRITE,
    ),
)
_LOCAL_VERBS = frozenset(_names("login logout init configure activate use switch"))


def _verb_rule(verb: str) -> Rule | None:
    for verbs, rule in _VERBS:
        if verb in verbs or any(verb.startswith(w + "-") for w in verbs):
            return rule
    return None


def _evidence(ctx: Context, names: Iterable[str | None]) -> tuple[Environment, str] | None:
    best: tuple[Environment, str] | None = None
    for name in names:
        found = ctx.environment_of(name) if name else None
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    return best


def _finding(
    ctx: Context,
    rule: Rule,
    evidence: str,
    target: str,
    names: Iterable[str | None],
    reason: str | None = None,
) -> Finding:
    env = _evidence(ctx, names)
    return Finding(
        category=rule.category,
        impact=rule.impact,
        effect=rule.effect,
        evidence=evidence,
        reason=reason or rule.reason,
        target=target,
        environment=env[0] if env else None,
        env_source=env[1] if env else None,
    )


def _resource_names(cmd: Command) -> list[str]:
    """Resource names that carry environment evidence: bucket URLs, ARNs, and the
    values of options naming a resource (``--bucket``, ``--function-name`` …)."""
    words = cmd.words
    out = [w for w in words if w.startswith(("s3://", "gs://", "arn:", "az://"))]
    for i, word in enumerate(words[:-1]):
        flag = word.split("=", 1)[0]
        if flag.startswith("--") and flag.endswith(
            (
                "-name",
                "name",
                "bucket",
                "cluster",
                "service",
                "-arn",
                "-url",
                "-identifier",
                "group",
                "vault-name",
            )
        ):
            out.append(word.split("=", 1)[1] if "=" in word else words[i + 1])
    return out


# Options of ``aws s3``/``gsutil`` object commands that take no value; every other
# ``--option`` takes the next word (``--exclude node_modules/*``, ``--profile prod``).
_S3_FLAGS = frozenset(
    _names(
        "--dryrun --dry-run --quiet --recursive --delete --exact-timestamps --size-only "
        "--follow-symlinks --no-follow-symlinks --no-guess-mime-type --only-show-errors "
        "--no-progress --force-glacier-transfer --ignore-glacier-warnings --no-paginate "
        "--debug --no-verify-ssl --no-sign-request --human-readable --summarize "
        "--no-cli-pager --no-overwrite --force --all-versions --continue-on-error "
        "--delete-unmatched-destination-objects --skip-if-dest-exists"
    )
)
# gsutil's command options that take a value (``-x`` exclude pattern, ``-j``/``-z``
# extensions, ``-a`` ACL, ``-s`` storage class).
_S3_VALUED_SHORT = frozenset(_names("-x -j -z -a -s"))


def _after(words: tuple[str, ...], op: str) -> list[str]:
    return list(words[words.index(op) + 1 :]) if op in words else []


def _object_paths(words: list[str]) -> list[str]:
    """The operands of an object command, without options and their values."""
    out: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("--"):
            skip = "=" not in word and word not in _S3_FLAGS
        elif word.startswith("-") and word != "-":
            skip = word in _S3_VALUED_SHORT
        else:
            out.append(word)
    return out


def _s3_rule(cmd: Command, op: str, rest: list[str], scheme: str) -> Rule:
    """High-level object commands: judged by which side is the bucket."""
    # Two readings, the stricter wins: operands without options' values (``sync .
    # s3://b --exclude node_modules/*`` uploads), and the plain last word (an option
    # opsgate does not know to be a flag must not hide an upload).
    paths = _object_paths(_after(cmd.words, op)) or rest
    src = paths[0] if paths else ""
    dst = paths[-1] if len(paths) > 1 else ""
    if rest[-1:] and rest[-1].startswith(scheme) and len(rest) > 1:
        dst = rest[-1]
    if cmd.has("--dryrun", "--dry-run", "-n") and op in ("cp", "mv", "sync", "rm", "rsync"):
        return _READ
    if op in ("ls", "du", "cat", "stat", "hash", "version"):
        return _READ
    if op in ("rm", "rb"):
        return _DELETE
    if op == "mb":
        return _WRITE
    if op in ("presign", "signurl"):
        return _SECRET
    if op in ("cp", "mv", "sync", "rsync"):
        deletes = cmd.has("--delete", "-d", "--delete-unmatched-destination-objects")
        if dst.startswith(scheme):
            return _DELETE if deletes else _WRITE
        if op == "mv" and src.startswith(scheme):
            return Rule(
                Effect.WRITE, Impact.DESTRUCTIVE, "cloud.delete", "moves objects out of the bucket"
            )
        # A download into the workspace: the bucket is only read.
        return Rule(Effect.LOCAL, Impact.SAFE, "cloud.download", "downloads objects")
    return _verb_rule(op) or _UNKNOWN


# gcloud/az/doctl/oci: a path of groups, then a verb.  These groups' verbs only
# touch local CLI configuration.
_LOCAL_GROUPS = frozenset(_names("config auth components extension bicep"))
_GCLOUD_SECRET = frozenset(
    _names(
        "access print-access-token print-identity-token print-refresh-token generate-login-token"
    )
)
_TOP_LEVEL = frozenset(_names("init version info help feedback cheat-sheet survey topic"))


def _path_verb(words: list[str]) -> tuple[str, str]:
    """(group path, verb): the first word after the first group that the verb
    tables know.  The group itself may look like a verb (``gcloud run``)."""
    if words and words[0] in ("alpha", "beta", "preview"):
        words = words[1:]
    for i, word in enumerate(words[1:], start=1):
        if (
            word in _GCLOUD_SECRET
            or word in ("ssh", "scp", "connect", "invoke")
            or _verb_rule(word)
            or word in _LOCAL_VERBS
        ):
            return " ".join(words[:i]), word
    return " ".join(words), ""


def _generic_rule(cmd: Command, group: str, verb: str) -> Rule:
    top = group.split(" ", 1)[0]
    if verb in _GCLOUD_SECRET:
        return _SECRET
    if top in _LOCAL_GROUPS and verb not in ("list", "show", "describe", "get-access-token"):
        return _LOCAL
    if verb in ("get-credentials", "kubeconfig", "configure-docker") or verb in _LOCAL_VERBS:
        return _LOCAL
    if top in ("storage",) or group in ("storage",):
        return _s3_rule(cmd, verb, [a.value for a in cmd.positionals()][2:], "gs://")
    if not verb:
        return _READ if top in _TOP_LEVEL or not top else _UNKNOWN
    return _verb_rule(verb) or _UNKNOWN


def _remote_shell(
    cmd: Command, ctx: Context, verb: str, host: str, found: Finding
) -> list[Finding] | None:
    """``gcloud compute ssh VM --command CMD``, ``az vm run-command invoke --scripts``."""
    if verb not in ("ssh", "invoke", "connect", "execute-command"):
        return None
    script = cmd.option("--command") or " ".join(cmd.options("--scripts"))
    if not script:
        return [_as(found, _REMOTE)]
    return [found, *ctx.classify_shell(script, via=f"{cmd.name} {verb}", remote=host)]


def _as(found: Finding, rule: Rule) -> Finding:
    return Finding(
        rule.category,
        rule.impact,
        rule.effect,
        found.evidence,
        rule.reason,
        found.target,
        found.environment,
        found.env_source,
    )
