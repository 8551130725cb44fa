"""``opsgate audit``: list, verify, checkpoint, export and back up the audit trail.

A thin client of :mod:`opsgate.audit`.  Listing and export read the stored
canonical bytes, so what a reviewer sees is what the chain vouches for.  With a
control plane's ``url`` (and no ``--data-dir``/``--db``), listing, export and
verify go through its HTTP API (``_audit_remote``); checkpoint, key and backup run
where the data directory is.
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
from opsgate.cli._flags import add_setting
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


def _filters(parser: argparse.ArgumentParser, *, again: bool = False) -> None:
    """The selection options, on ``audit`` and again on ``export`` (``again``: absent
    there, they keep what was given before the subcommand)."""
    keep: Any = argparse.SUPPRESS if again else None
    parser.add_argument(
        "--filter",
        action="append",
        default=argparse.SUPPRESS if again else [],
        metavar="KEY:VALUE",
        help=f"repeatable; keys: {', '.join(_FILTER_KEYS)}; * and ? glob",
    )
    for name in ("actor", "target", "environment", "decision", "outcome"):
        parser.add_argument(f"--{name}", default=keep, help=f"only entries whose {name} matches")
    parser.add_argument("--since", default=keep, help="ISO time or a duration ago (30m, 1h, 7d)")
    parser.add_argument("--until", default=keep, help="ISO time or a duration ago")
    parser.add_argument(
        "--after-seq",
        type=int,
        default=keep,
        metavar="SEQ",
        help="only entries after this sequence number (resume an incremental export)",
    )


def register(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a value given before the subcommand is not reset by the subparser.
    for key in ("data_dir", "url", "token", "user"):
        add_setting(common, key)
    common.add_argument(
        "--db",
        type=Path,
        default=argparse.SUPPRESS,
        help="an audit database file, e.g. a backup (opsgate audit backup)",
    )
    parser = subparsers.add_parser(
        "audit",
        parents=[common],
        help="list, verify, checkpoint, export and back up the audit trail",
    )
    _filters(parser)
    parser.add_argument("--last", type=int, metavar="N", help="only the last N matching entries")
    parser.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    parser.set_defaults(func=_list)
    sub = parser.add_subparsers(dest="audit_command", metavar="SUBCOMMAND")

    verify = sub.add_parser(
        "verify",
        parents=[common],
        help="check the chain and its signed checkpoints",
        description="Check the chain and its signed checkpoints; exit 0 when intact, 8 when "
        "not. Without --key or --witness, the local signing key and the public keys of "
        "audit.trusted_keys are trusted. Through a control plane (url), the server verifies "
        "with its own key and its audit.trusted_keys; for an independent check, verify a "
        "backup (opsgate audit backup) with --db and --key.",
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
        help="trusted public key (a PEM file: each key in it; hex; or a key id; repeatable): "
        "replaces the local key, audit.trusted_keys and a witness's keys",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(func=_verify)

    checkpoint = sub.add_parser("checkpoint", parents=[common], help="sign the current head now")
    checkpoint.add_argument(
        "--witness", metavar="DIR|FILE|URL", help="also export the checkpoint there"
    )
    checkpoint.add_argument("--json", action="store_true", help="print JSON")
    checkpoint.set_defaults(func=_checkpoint)

    export = sub.add_parser(
        "export",
        parents=[common],
        help="stream the matching entries as JSON Lines (for a SIEM)",
        description="Stream the entries the filters select (given before or after "
        "`export`), oldest first, one canonical JSON object per line: the exact bytes the "
        "chain hashed. Each line has its `seq`; pass the last one as --after-seq next time "
        "to ship only what is new.",
    )
    export.add_argument("--format", choices=["jsonl"], default="jsonl")
    _filters(export, again=True)
    export.set_defaults(func=_export)

    backup = sub.add_parser(
        "backup",
        parents=[common],
        help="copy the audit database consistently, for offline verification",
        description="Copy the SQLite audit database with SQLite's online backup API (safe "
        "while opsgate runs: a plain copy of audit.db misses what is still in its write-ahead "
        "log), and write beside it (DEST.pub.pem) the public keys its checkpoints need: the "
        "signing key's public half and those listed in audit.trusted_keys (the earlier keys "
        "after a rotation), never a private key. Verify the copy anywhere with: opsgate "
        "audit verify --db DEST --key DEST.pub.pem",
    )
    backup.add_argument("dest", type=Path, metavar="DEST")
    backup.add_argument("--force", action="store_true", help="replace DEST if it exists")
    backup.add_argument("--json", action="store_true", help="print JSON")
    backup.set_defaults(func=_backup)

    introduce = sub.add_parser(
        "introduce-key",
        parents=[common],
        help="sign, with the current key, the introduction of the next signing key",
        description="Before rotating the checkpoint signing key: sign with the current key "
        "(or --by) a statement that NEW_KEY succeeds it, record it in the audit trail and at "
        "the witnesses (audit.witness and --witness). A witness pinned to the old key then "
        "trusts the new key's checkpoints; without it, verify --witness reports them "
        "resigned. Only NEW_KEY's public half is used or written.",
    )
    introduce.add_argument("new_key", type=Path, metavar="NEW_KEY",
                           help="the next key: its PEM file (private or public)")  # fmt: skip
    introduce.add_argument("--by", type=Path, metavar="KEY",
                           help="the private key that introduces it (default: the current "
                           "signing key)")  # fmt: skip
    introduce.add_argument("--witness", action="append", default=[], metavar="DIR|FILE|URL",
                           help="also record it at this witness (repeatable)")  # fmt: skip
    introduce.add_argument("--json", action="store_true", help="print JSON")
    introduce.set_defaults(func=_introduce)

    key = sub.add_parser(
        "key", parents=[common], help="print the checkpoint signing key's public half"
    )
    key.add_argument("--json", action="store_true", help="print JSON")
    key.set_defaults(func=_key)


def _backup(ns: argparse.Namespace) -> int:
    from opsgate.cli._audit_backup import backup, refuse_postgres

    _local_only(ns, "backup")
    refuse_postgres(ns)
    with _open(ns, readonly=True) as log:
        key_path, trusted_keys = log.key_path, log.trusted_keys
    return backup(ns, key_path, trusted_keys)


def _introduce(ns: argparse.Namespace) -> int:
    from opsgate.cli._audit_introduce import introduce_key

    _local_only(ns, "introduce-key")
    with _open(ns, readonly=False) as log:
        return introduce_key(ns, log)


def _remote(ns: argparse.Namespace) -> str | None:
    """The control plane to read the trail through, or None for a local database."""
    if getattr(ns, "db", None) is not None:
        return None
    from opsgate.cli._acting import remote_url
    from opsgate.config import current

    return remote_url(current())


def _local_only(ns: argparse.Namespace, what: str) -> None:
    if _remote(ns) is not None:
        raise InputError(
            f"`opsgate audit {what}` runs where the audit database is, not through a server",
            hint="run it on the control plane's machine, or pass --data-dir / --db",
        )


def _open(ns: argparse.Namespace, *, readonly: bool) -> AuditLog:
    db = getattr(ns, "db", None)
    if db is not None and not Path(db).is_file():
        raise InputError(f"no audit database at {db}")
    if db is None:
        from opsgate.cli._acting import require_data_dir
        from opsgate.config import current

        require_data_dir(current())
    return open_log(db_file=db, readonly=readonly)


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
    url = _remote(ns)
    if url is not None:
        from opsgate.cli._audit_remote import remote_list

        selected: Any = remote_list(url, match, ns.last)
        return _print_list(ns, iter(selected))
    with _open(ns, readonly=True) as log:
        after = ns.after_seq or 0
        if ns.last is not None:
            found: list[dict[str, Any]] = []
            for entry in log.entries(descending=True):
                if len(found) >= ns.last or entry.seq <= after:
                    break
                if match(entry.data):
                    found.append(_row(entry))
            return _print_list(ns, iter(found[::-1]))
        rows = (_row(e) for e in log.entries(after=after) if match(e.data))
        return _print_list(ns, rows)


def _row(entry: Entry) -> dict[str, Any]:
    return {**entry.data, "seq": entry.seq, "hash": entry.hash}


def _print_list(ns: argparse.Namespace, rows: Iterator[dict[str, Any]]) -> int:
    if ns.json:
        json.dump(list(rows), sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        _table(rows)
    return 0


def _matcher(ns: argparse.Namespace) -> Any:
    from fnmatch import fnmatchcase

    wanted: list[tuple[str, str]] = []
    for item in getattr(ns, "filter", None) or []:
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
        if (v := getattr(ns, k, None))
    ]
    since = _when(ns.since, "--since") if getattr(ns, "since", None) else None
    until = _when(ns.until, "--until") if getattr(ns, "until", None) else None
    after = getattr(ns, "after_seq", None) or 0

    def match(data: dict[str, Any]) -> bool:
        stamp = str(data.get("time", ""))
        if (since and stamp < since) or (until and stamp > until):
            return False
        if after and int(data.get("seq") or 0) <= after:
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


def _table(rows: Iterator[dict[str, Any]]) -> None:
    from opsgate.cli._output import table

    columns = (("SEQ", "seq"), ("TIME", "time"), ("EVENT", "event"), ("ACTOR", "actor"),
               ("ENV", "environment"), ("TARGET", "target"), ("OUTCOME", "outcome"),
               ("RULE", "rule"), ("ACTION", "action"))  # fmt: skip
    table(columns, (_cells(d) for d in rows))


def _cells(d: dict[str, Any]) -> dict[str, Any]:
    actor = d.get("actor") if isinstance(d.get("actor"), dict) else {}
    action = d.get("action") if isinstance(d.get("action"), dict) else {}
    assert isinstance(actor, dict) and isinstance(action, dict)
    return {
        "seq": d.get("seq"),
        "time": str(d.get("time", ""))[:19].replace("T", " "),
        "event": d.get("event"),
        "actor": actor.get("name") or actor.get("type"),
        "environment": d.get("environment"),
        "target": str(d.get("target") or "")[:30],
        "outcome": outcome_of(d),
        "rule": d.get("rule"),
        "action": _action_text(action)[:80].replace("\n", " "),
    }


def _action_text(action: dict[str, Any]) -> str:
    given = action.get("input")
    if isinstance(given, dict):
        for key in ("command", "file_path", "path", "url", "query"):
            if isinstance(given.get(key), str):
                return f"{action.get('kind', '')} {given[key]}".strip()
    return str(action.get("kind") or "")


def _verify(ns: argparse.Namespace) -> int:
    url = _remote(ns)
    if url is not None:
        if ns.witness or ns.key:
            raise InputError(
                "--witness and --key check a local database",
                hint="verify a backup: opsgate audit verify --db FILE --key …",
            )
        from opsgate.cli._audit_remote import remote_verify

        return _verified(ns, remote_verify(url), None)
    from opsgate.audit._trust import local_trust
    from opsgate.audit.checkpoint import load_public_keys
    from opsgate.audit.verify import Problem, verify
    from opsgate.audit.witness import read_witness

    with _open(ns, readonly=True) as log:
        witnesses = [read_witness(w, log.log_id) for w in ns.witness]
        # Given keys replace every other anchor; then a witness's pins; then the keys
        # configured here (the local signing key and audit.trusted_keys).
        trusted: list[str] | None = [i for k in ns.key for i in load_public_keys(k)] or None
        if trusted is None:
            pinned = [k for w in witnesses for k in w.key_ids]
            trusted = pinned or None
        if trusted is None:
            local = local_trust(log)
            if local.key_ids is not None:
                trusted = list(local.key_ids)
                print(
                    f"note: trusting {local.anchor}; pass --key or --witness for an "
                    "independent anchor",
                    file=sys.stderr,
                )
        sources = [(f"store {log.store.location}", b) for b in log.store.checkpoint_bodies()]
        sources += [(f"witness {w.source}", b) for w in witnesses for b in w.checkpoints]
        started = time.perf_counter()
        report = verify(log.log_id, log.store.rows(), sources, trusted)
        elapsed = time.perf_counter() - started
    for witness in witnesses:  # a key record a witness refused is a tampering attempt there
        for said in witness.problems:
            report.add(Problem(0, "forged", f"witness {witness.source}: {said}"))
    found = {
        "ok": report.ok,
        "entries": report.entries,
        "head_seq": report.head_seq,
        "summary": report.summary(),
        "problems": [{"seq": p.seq, "kind": p.kind, "message": p.message} for p in report.problems],
        "warnings": list(report.warnings),
    }
    return _verified(ns, found, elapsed)


def _verified(ns: argparse.Namespace, report: dict[str, Any], elapsed: float | None) -> int:
    """Print a verification report (local, or the server's); exit 8 when not intact."""
    if ns.json:
        print(json.dumps({**report, "seconds": elapsed}, indent=2))
        return 0 if report["ok"] else AuditIntegrityError.exit_code
    for warning in report["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    if not report["ok"]:
        raise AuditIntegrityError(
            report["summary"],
            hint="keep this database as evidence; the lowest sequence named is where "
            "tampering starts",
        )
    took = f" ({elapsed:.2f} s)" if elapsed is not None else ""
    print(f"{report['summary']}{took}")
    return 0


def _checkpoint(ns: argparse.Namespace) -> int:
    _local_only(ns, "checkpoint")
    with _open(ns, readonly=False) as log:
        cp = log.checkpoint(ns.witness)
    if ns.json:
        print(json.dumps({"log": cp.log, "seq": cp.seq, "head": cp.head, "key_id": cp.key_id,
                          "witness": ns.witness}, indent=2))  # fmt: skip
        return 0
    where = f", exported to {ns.witness}" if ns.witness else ""
    print(f"checkpoint: log {cp.log} seq {cp.seq} head {cp.head} key {cp.key_id}{where}")
    return 0


@_quiet_pipe
def _export(ns: argparse.Namespace) -> int:
    match = _matcher(ns)
    out = sys.stdout.buffer
    url = _remote(ns)
    if url is not None:
        from opsgate.cli._audit_remote import remote_export

        for line in remote_export(url, match, ns.after_seq or 0):
            out.write(line + b"\n")
        out.flush()
        return 0
    with _open(ns, readonly=True) as log:
        for entry in log.entries(after=ns.after_seq or 0):
            if match(entry.data):
                out.write(entry.body + b"\n")  # the exact bytes that were hashed
    out.flush()
    return 0


def _key(ns: argparse.Namespace) -> int:
    from opsgate.audit.checkpoint import key_id, load_or_create_key, public_key_pem

    _local_only(ns, "key")
    with _open(ns, readonly=False) as log:
        private = load_or_create_key(log.key_path)
    pem = public_key_pem(private)
    from cryptography.hazmat.primitives import serialization as s

    raw = private.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
    if ns.json:
        print(json.dumps({"key_id": key_id(raw), "public_key": pem, "path": str(log.key_path)},
                         indent=2))  # fmt: skip
        return 0
    print(pem.strip())
    print(f"key id: {key_id(raw)}")
    return 0
