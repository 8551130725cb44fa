"""Key-value stores and message brokers: etcd, Consul, Kafka's admin scripts,
RabbitMQ and NATS.

Reads (get, list, describe) are reads; puts, publishes and config changes are
writes on infrastructure; deleting keys, topics, queued messages, streams or
consumer offsets is lost data, so destructive.  Commands that print tokens or
copy every key (an etcd snapshot holds Kubernetes secrets) are secret reads.
Every finding names the endpoint or cluster; with none named it is the
configured one, which counts as production.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.families._verbs import (
    Rule,
    Where,
    finding,
    flags,
    locate,
    read,
    table,
    tool,
)
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["HANDLERS"]

_R, _W, _U, _X, _L = Effect.READ, Effect.WRITE, Effect.UNKNOWN, Effect.SECRET, Effect.LOCAL
_S, _C, _D = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE

_KV_READ = read("reads keys or cluster state", "datastore.read")
_KV_WRITE = Rule(_W, _C, "datastore.write", "writes keys or changes the cluster")
_KV_DELETE = Rule(_W, _D, "datastore.delete", "deletes keys or data")
_KV_SECRET = Rule(_X, _C, "secrets.read", "prints tokens or secret values")

_ETCD = table(
    {
        _KV_READ: "get, watch, version, check, ls, endpoint, member list, alarm list, user list,"
        "user get, role list, role get, auth status, snapshot status, lease list,"
        "lease timetolive",
        _KV_WRITE: "put, txn, set, mk, mkdir, setdir, update, updatedir, compaction, defrag,"
        "move-leader, lease, member add, member update, member promote, alarm disarm, user,"
        "role, auth, snapshot restore, lock, elect",
        _KV_DELETE: "del, rm, rmdir, member remove",
        Rule(_X, _C, "secrets.read", "copies every key, Kubernetes secrets included"): "snapshot "
        "save,",
    }
)


def _server(opts: tuple[str, ...], env: tuple[str, ...], label: str) -> Where:
    def where(cmd: Command, ctx: Context) -> tuple[str, Environment | None, str | None]:
        return locate(ctx, [cmd.option(*opts), *(cmd.env.get(v) for v in env)], label)

    return where


def _etcd_adjust(cmd: Command, words: list[str], rule: Rule) -> Rule:
    if rule is _KV_READ and words[:1] == ["get"] and any("secret" in w for w in words[1:]):
        return Rule(_X, _C, "secrets.read", "reads Kubernetes secrets straight from etcd")
    return rule


_CONSUL = table(
    {
        _KV_READ: "members, info, monitor, version, catalog, kv get, kv export, config read,"
        "config list, intention get, intention list, intention check, intention match,"
        "operator raft, services list, acl policy, acl role, acl auth-method, debug, watch,"
        "rtt, peering list, peering read, namespace list, namespace read, partition list",
        _KV_WRITE: "kv put, kv import, config write, config delete, intention create,"
        "intention delete, services register, services deregister, leave, force-leave, maint,"
        "reload, join, lock, acl set-agent-token, connect, operator autopilot,"
        "peering establish, keyring",
        _KV_DELETE: "kv delete, snapshot restore, peering delete, namespace delete",
        _KV_SECRET: "acl token, acl bootstrap, snapshot save, peering generate-token, keygen",
        Rule(_L, _S, "datastore.local", "runs a local agent"): "agent validate tls",
    }
)


def _consul_adjust(cmd: Command, words: list[str], rule: Rule) -> Rule:
    """``acl policy create`` and friends: the third word decides."""
    if rule is _KV_READ and words[:1] == ["acl"] and len(words) > 2:
        if words[2] in ("delete",):
            return _KV_DELETE
        if words[2] not in ("read", "list"):
            return _KV_WRITE
    return rule


_RABBIT_READ = frozenset(
    flags(
        "status cluster_status environment report ping node_health_check "
        "list show overview get help version await_startup"
    )
)
_RABBIT_DELETE = re.compile(r"^(purge|delete|forget|reset|force_reset|clear)")


def _rabbit(cmd: Command, ctx: Context) -> list[Finding]:
    valued = ("-n", "--node", "-p", "--vhost", "-H", "--host", "-u", "--username", "-P")
    words = [a.value for a in cmd.positionals((*valued, "--password", "-V", "-t", "--timeout"))]
    verb = words[0] if words else ""
    if verb.startswith("list") or verb in _RABBIT_READ or verb.startswith(("check_", "show_")):
        rule = _KV_READ
    elif _RABBIT_DELETE.match(verb):
        rule = Rule(_W, _D, "broker.delete", f"{verb} loses queued messages or broker objects")
    elif verb:
        rule = Rule(_W, _C, "broker.write", f"{verb} changes the broker")
    else:
        rule = read("shows help", "broker.read")
    names = [cmd.option("-n", "--node", "-H", "--host"), cmd.env.get("RABBITMQ_NODENAME")]
    where = locate(ctx, names, f"rabbitmq (node from {cmd.name} configuration)")
    return [finding(rule, " ".join([cmd.name, *words[:2]]), where)]


def _kafka(cmd: Command, ctx: Context) -> list[Finding]:
    """The Kafka admin scripts are driven by action flags, not verbs."""
    tool_name = cmd.name.removesuffix(".sh")
    present = cmd.flags()
    rule = Rule(_U, _C, "broker.unknown", "unrecognised Kafka action")
    if (
        present & {"--delete", "--delete-offsets", "--remove"}
        or tool_name == "kafka-delete-records"
    ):
        rule = Rule(_W, _D, "broker.delete", "deletes topics, records or consumer offsets")
    elif "--reset-offsets" in present:
        rule = (
            Rule(_W, _C, "broker.write", "moves consumer group offsets")
            if "--execute" in present
            else read("previews an offset reset", "broker.read")
        )
    elif present & {"--create", "--alter", "--add", "--execute"} or tool_name in (
        "kafka-console-producer",
        "kafka-verifiable-producer",
        "kafka-leader-election",
    ):
        rule = Rule(_W, _C, "broker.write", "changes topics, configs or ACLs")
    elif present & {"--list", "--describe", "--verify", "--generate", "--version", "--help"} or (
        tool_name in ("kafka-console-consumer", "kafka-run-class", "kafka-log-dirs")
    ):
        rule = read("reads cluster metadata or messages", "broker.read")
    server = cmd.option("--bootstrap-server", "--broker-list", "--zookeeper")
    where = locate(ctx, [server, cmd.option("--topic")], "kafka (configured cluster)")
    return [finding(rule, f"{cmd.name} {' '.join(sorted(present & _KAFKA_ACTIONS))}", where)]


_KAFKA_ACTIONS = frozenset(
    flags(
        "--list --describe --create --alter --delete --reset-offsets --execute --delete-offsets "
        "--add --remove --verify --generate"
    )
)
_NATS = table(
    {
        _KV_READ: "sub, subscribe, server, account, context, latency, rtt, bench, events,"
        "stream ls, stream list, stream info, stream report, stream view, stream get,"
        "consumer ls, consumer list, consumer info, consumer report, consumer next, kv get,"
        "kv ls, kv list, kv watch, kv history, kv status, kv info, object ls, object info,"
        "object get",
        _KV_WRITE: "pub, publish, req, request, reply, stream add, stream edit, stream create,"
        "stream restore, stream backup, consumer add, consumer edit, kv put, kv create,"
        "kv update, kv add, object put, object add",
        _KV_DELETE: "stream rm, stream delete, stream purge, stream rmm, consumer rm,"
        "consumer delete, kv del, kv rm, kv purge, kv delete, object rm, object del,"
        "object delete",
    }
)


def _kafka_names(names: Iterable[str]) -> dict[str, Handler]:
    return {n: _kafka for base in names for n in (base, f"{base}.sh")}


HANDLERS: dict[str, Handler] = {
    "etcdctl": tool(
        _ETCD,
        _server(
            ("--endpoints",), ("ETCDCTL_ENDPOINTS", "ETCDCTL_PEERS"), "etcd (default endpoint)"
        ),
        valued=(
            "--endpoints",
            "--cacert",
            "--cert",
            "--key",
            "--user",
            "-w",
            "--write-out",
            "--dial-timeout",
            "--command-timeout",
            "--limit",
            "--rev",
            "--lease",
        ),
        default=Rule(_U, _C, "datastore.unknown", "unrecognised etcdctl command"),
        adjust=_etcd_adjust,
    ),
    "consul": tool(
        _CONSUL,
        _server(
            ("-http-addr", "--http-addr"), ("CONSUL_HTTP_ADDR",), "consul (local agent's cluster)"
        ),
        valued=(
            "-http-addr",
            "--http-addr",
            "-datacenter",
            "-token",
            "-namespace",
            "-format",
            "-partition",
            "-ca-file",
        ),
        default=Rule(_U, _C, "datastore.unknown", "unrecognised consul command"),
        adjust=_consul_adjust,
    ),
    **dict.fromkeys(
        ("rabbitmqctl", "rabbitmqadmin", "rabbitmq-plugins", "rabbitmq-queues"), _rabbit
    ),
    **_kafka_names(
        (
            "kafka-topics",
            "kafka-consumer-groups",
            "kafka-configs",
            "kafka-acls",
            "kafka-delete-records",
            "kafka-console-producer",
            "kafka-console-consumer",
            "kafka-reassign-partitions",
            "kafka-leader-election",
            "kafka-log-dirs",
        )
    ),
    "nats": tool(
        _NATS,
        _server(
            ("-s", "--server", "--context"), ("NATS_URL", "NATS_CONTEXT"), "nats (default context)"
        ),
        valued=("-s", "--server", "--context", "--creds", "--user", "--password", "--js-domain"),
        default=Rule(_U, _C, "broker.unknown", "unrecognised nats command"),
    ),
}
