"""``opsgate audit``: list, verify, checkpoint and export the audit trail.

A thin client of :mod:`opsgate.audit`.  Listing and export read the stored
canonical bytes, so what a reviewer sees is what the chain vouches for.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from opsgate.audit import AuditIntegrityError, AuditLog, open_log
from opsgate.audit.events import Entry, outcome_of
from opsgate.errors import InputError

__all__ = ["register"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_FILTER_KEYS = (
    "event",
    "action",
    "kind",
    "tool",
    "actor",
    "target",
    "environment",
    "env",
    "decision",
    "outcome",
    "rule",
)


def register(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a value given before the subcommand is not reset by the subparser.
    common.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="data directory (default: $OPSGATE_HOME or ~/.opsgate)",
    )
    common.add_argument(
        "--db",
        type=Path,
        default=argparse.SUPPRESS,
        help="an audit database file, e.g. an offline copy",
    )
    parser = subparsers.add_parser(
        "audit", parents=[common], help="list, verify, checkpoint and export the audit trail"
    )
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY:VALUE",
        help=f"repeatable; keys: {', '.join(_FILTER_KEYS)}; * and ? glob",
    )
    parser.add_argument("--last", type=int, metavar="N", help="only the last N matching entries")
    for name in ("actor", "target", "environment", "decision", "outcome"):
        parser.add_argument(f"--{name}", help=f"only entries whose {name} matches")
    parser.add_argument("--since", help="ISO time or a duration ago (30m, 1h, 7d)")
    parser.add_argument("--until", help="ISO time or a duration ago")
    parser.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    parser.set_defaults(func=_list)
    sub = parser.add_subparsers(dest="audit_command", metavar="SUBCOMMAND")

    verify = sub.add_parser(
        "verify",
        parents=[common],
        help="check the chain and its signed checkpoints",
        description="Check the chain and its signed checkpoints; exit 0 when intact.",
        epilog="HTTP witnesses: the HTTP witness protocol only receives checkpoints (one "
        "POST each) and has no way to list or fetch them, so verify cannot read a URL. "
        "Mirror what the endpoint received to a directory (checkpoint-*.json, key.json) or "
        "a JSON Lines file, and pass that path with --witness.",
    )
    verify.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="DIR|FILE",
        help="a witness directory or JSON Lines file holding exported checkpoints "
        "(repeatable; not an http(s) URL — mirror an HTTP witness to a directory or file "
        "first)",
    )
    verify.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="PUBKEY",
        help="trusted public key (PEM file, hex or key id)",
    )
    verify.set_defaults(func=_verify)

    checkpoint = sub.add_parser("checkpoint", parents=[common], help="sign the current head now")
    checkpoint.add_argument(
        "--witness", metavar="DIR|FILE|URL", help="also export the checkpoint there"
    )
    checkpoint.set_defaults(func=_checkpoint)

    export = sub.add_parser("export", parents=[common], help="stream every entry (for a SIEM)")
    export.add_argument("--format", choices=["jsonl"], default="jsonl")
    export.set_defaults(func=_export)

    key = sub.add_parser(
        "key", parents=[common], help="print the checkpoint signing key's public half"
    )
    key.set_defaults(func=_key)


def _open(ns: argparse.Namespace, *, readonly: bool) -> AuditLog:
    return open_log(
        getattr(ns, "data_dir", None), db_file=getattr(ns, "db", None), readonly=readonly
    )


def _quiet_pipe(func: Any) -> Any:
    """``opsgate audit | head`` closes stdout early; that is not an error."""

    def wrapper(ns: argparse.Namespace) -> int:
        try:
            code: int = func(ns)
            sys.stdout.flush()
        except BrokenPipeError:
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        return code

    return wrapper


@_quiet_pipe
def _list(ns: argparse.Namespace) -> int:
    match = _matcher(ns)
    with _open(ns, readonly=True) as log:
        if ns.last is not None:
            found: list[Entry] = []
            for entry in log.entries(descending=True):
                if len(found) >= ns.last:
                    break
                if match(entry.data):
                    found.append(entry)
            selected: list[Entry] | Iterator[Entry] = found[::-1]
        else:
            selected = (e for e in log.entries() if match(e.data))
        if ns.json:
            json.dump(
                [{**e.data, "hash": e.hash} for e in selected],
                sys.stdout,
                indent=2,
                ensure_ascii=False,
            )
            print()
        else:
            _table(selected)
    return 0


def _matcher(ns: argparse.Namespace) -> Any:
    from fnmatch import fnmatchcase

    wanted: list[tuple[str, str]] = []
    for item in ns.filter:
        key, sep, value = item.partition(":")
        key = key.strip().lower()
        if not sep or key not in _FILTER_KEYS:
            raise InputError(
                f"bad filter {item!r}",
                hint=f"use KEY:VALUE with KEY one of {', '.join(_FILTER_KEYS)}",
            )
        wanted.append((key, value.strip()))
    wanted += [
        (k, v)
        for k in ("actor", "target", "environment", "decision", "outcome")
        if (v := getattr(ns, k))
    ]
    since = _when(ns.since, "--since") if ns.since else None
    until = _when(ns.until, "--until") if ns.until else None

    def match(data: dict[str, Any]) -> bool:
        stamp = str(data.get("time", ""))
        if (since and stamp < since) or (until and stamp > until):
            return False
        return all(
            any(fnmatchcase(f.lower(), v.lower()) for f in _fields(data, k)) for k, v in wanted
        )

    return match


def _fields(data: dict[str, Any], key: str) -> list[str]:
    action = data.get("action") if isinstance(data.get("action"), dict) else {}
    actor = data.get("actor") if isinstance(data.get("actor"), dict) else {}
    assert isinstance(action, dict) and isinstance(actor, dict)
    values: dict[str, list[Any]] = {
        "event": [data.get("event")],
        "action": [action.get("kind"), data.get("event")],
        "kind": [action.get("kind")],
        "tool": [action.get("tool")],
        "actor": [actor.get("name"), actor.get("type"), actor.get("session"), actor.get("user")],
        "target": [data.get("target")],
        "environment": [data.get("environment")],
        "env": [data.get("environment")],
        "decision": [data.get("decision")],
        "outcome": [outcome_of(data)],
        "rule": [data.get("rule")],
    }
    return [str(v) for v in values[key] if v is not None]


def _when(text: str, flag: str) -> str:
    from opsgate.audit.log import rfc3339

    text = text.strip()
    if text[:-1].isdigit() and text[-1:] in _UNITS:
        return rfc3339(time.time() - int(text[:-1]) * _UNITS[text[-1]])
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(
            f"{flag} {text!r} is neither an ISO time nor a duration",
            hint="e.g. 2025-01-31T12:00Z or 1h",
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return rfc3339(moment.timestamp())


def _table(entries: Any) -> None:
    header = ("SEQ", "TIME", "EVENT", "ACTOR", "ENV", "TARGET", "OUTCOME", "RULE", "ACTION")
    print("  ".join(header))
    for e in entries:
        d = e.data
        actor = d.get("actor") or {}
        action = d.get("action") or {}
        text = _action_text(action) if isinstance(action, dict) else ""
        row = (
            str(e.seq),
            e.time[:19].replace("T", " "),
            e.event,
            str(actor.get("name") or actor.get("type") or "-") if isinstance(actor, dict) else "-",
            str(d.get("environment") or "-"),
            str(d.get("target") or "-")[:30],
            outcome_of(d) or "-",
            str(d.get("rule") or "-"),
            text[:80].replace("\n", " "),
        )
        print("  ".join(row))


def _action_text(action: dict[str, Any]) -> str:
    given = action.get("input")
    if isinstance(given, dict):
        for key in ("command", "file_path", "path", "url", "query"):
            if isinstance(given.get(key), str):
                return f"{action.get('kind', '')} {given[key]}".strip()
    return str(action.get("kind") or "")


def _verify(ns: argparse.Namespace) -> int:
    from opsgate.audit.checkpoint import load_public_key
    from opsgate.audit.verify import verify
    from opsgate.audit.witness import read_witness

    witnesses = [read_witness(w) for w in ns.witness]
    with _open(ns, readonly=True) as log:
        trusted: list[str] | None = [load_public_key(k) for k in ns.key] or None
        if trusted is None:
            pinned = [k for w in witnesses for k in w.key_ids]
            trusted = pinned or None
        if trusted is None and log.key_path.is_file():
            trusted = [load_public_key(str(log.key_path))]
            print(
                "note: trusting the local signing key; pass --key or --witness for an "
                "independent anchor",
                file=sys.stderr,
            )
        sources = [(f"store {log.store.location}", b) for b in log.store.checkpoint_bodies()]
        sources += [(f"witness {w.source}", b) for w in witnesses for b in w.checkpoints]
        started = time.perf_counter()
        report = verify(log.log_id, log.store.rows(), sources, trusted)
        elapsed = time.perf_counter() - started
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not report.ok:
        raise AuditIntegrityError(
            report.summary(),
            hint="keep this database as evidence; the lowest sequence named is where "
            "tampering starts",
        )
    print(f"{report.summary()} ({elapsed:.2f} s)")
    return 0


def _checkpoint(ns: argparse.Namespace) -> int:
    with _open(ns, readonly=False) as log:
        cp = log.checkpoint(ns.witness)
    where = f", exported to {ns.witness}" if ns.witness else ""
    print(f"checkpoint: log {cp.log} seq {cp.seq} head {cp.head} key {cp.key_id}{where}")
    return 0


@_quiet_pipe
def _export(ns: argparse.Namespace) -> int:
    out = sys.stdout.buffer
    with _open(ns, readonly=True) as log:
        for _seq, body, _link in log.store.rows():
            out.write(bytes(body) + b"\n")  # the exact bytes that were hashed
    out.flush()
    return 0


def _key(ns: argparse.Namespace) -> int:
    from opsgate.audit.checkpoint import key_id, load_or_create_key, public_key_pem

    log_dir = getattr(ns, "data_dir", None)
    with open_log(log_dir, db_file=getattr(ns, "db", None), readonly=False) as log:
        private = load_or_create_key(log.key_path)
    pem = public_key_pem(private)
    from cryptography.hazmat.primitives import serialization as s

    raw = private.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
    print(pem.strip())
    print(f"key id: {key_id(raw)}")
    return 0
