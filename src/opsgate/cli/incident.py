"""``opsgate incident report``: the incident's artifacts, written from the audit trail.

A thin client of :mod:`opsgate.incident`.  The trail is verified first; the
artifacts are written either way (an investigator needs them most when something
is wrong), and a tampered trail is named at the top of each and makes the command
exit 8, like ``opsgate audit verify``.  Without ``--since`` or ``--card`` the window
is the last 24 hours, as on the console's audit page.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from opsgate.cli._flags import add_setting

__all__ = ["register"]

DEFAULT_SINCE = "24h"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("incident", help="incident artifacts from the audit trail")
    sub = parser.add_subparsers(dest="incident_command", metavar="SUBCOMMAND", required=True)
    report = sub.add_parser(
        "report",
        help="write the incident report, decision record and runbook (and a postmortem)",
        description="Writes incident_report.md (timeline, approvals, outcomes, what is "
        "still pending), DECISION_RECORD.md (per card: options, decision, who decided, "
        "evidence), runbook.md (what ran, the recorded rollback plans, newest first) and, "
        "with --postmortem, postmortem.md. Every statement cites its audit entries as "
        "[#seq]; each artifact states the chain head and the result of verifying the "
        "trail. Exit 0 when the trail is intact, 8 when it is not (the artifacts are "
        "written and say so).",
    )
    report.add_argument(
        "--since",
        help=f"ISO time or a duration ago (30m, 2h, 7d); default: {DEFAULT_SINCE} "
        "(the console's default), or the whole trail with --card",
    )
    report.add_argument("--until", help="ISO time or a duration ago (default: now)")
    report.add_argument(
        "--agent", action="append", default=[], help="only what this agent proposed (glob)"
    )
    report.add_argument("--target", action="append", default=[], help="only this target (glob)")
    report.add_argument(
        "--card", action="append", default=[], metavar="ID", help="only these cards (repeatable)"
    )
    report.add_argument(
        "--out", type=Path, default=Path("artifacts"), help="directory (default: ./artifacts)"
    )
    report.add_argument("--postmortem", action="store_true", help="also write postmortem.md")
    report.add_argument(
        "--include-reads", action="store_true", help="list every allowed read in the timeline"
    )
    add_setting(report, "data_dir")
    report.add_argument("--db", type=Path, help="an audit database file, e.g. an offline copy")
    report.add_argument(
        "--key", action="append", default=[], metavar="PUBKEY",
        help="trusted checkpoint key (PEM file, hex or key id); default: the local key",
    )  # fmt: skip
    report.add_argument(
        "--json", action="store_true", help="print the files written and the verification as JSON"
    )
    report.set_defaults(func=_report)


def _report(ns: argparse.Namespace) -> int:
    from opsgate.audit import AuditIntegrityError, open_log
    from opsgate.audit.checkpoint import load_public_keys
    from opsgate.cli._output import print_json
    from opsgate.incident import generate

    query = _query(ns)
    trusted = [i for k in ns.key for i in load_public_keys(k)] or None
    with open_log(db_file=ns.db, readonly=True) as log:
        artifacts = generate(
            log,
            query,
            with_postmortem=ns.postmortem,
            secrets=_stored_secrets(ns),
            trusted_keys=trusted,
        )
    written = artifacts.write(ns.out)
    v = artifacts.verification
    if ns.json:
        print_json(_as_json(artifacts, written, query))
        return 0 if v.ok else AuditIntegrityError.exit_code
    for path in written:
        print(f"wrote {path} ({len(artifacts.cited[path.name])} audit entries cited)")
    if not v.ok:
        raise AuditIntegrityError(
            f"the audit trail failed verification; the artifacts in {ns.out} say so\n" + v.summary,
            hint="keep this database as evidence; the lowest sequence named is where "
            "tampering starts",
        )
    print(f"audit trail intact: head seq {v.head_seq}, chain hash {v.head}")
    return 0


def _as_json(artifacts: Any, written: list[Path], query: Any) -> dict[str, Any]:
    """What the text output says, for a script: each file with the number of entries
    it cites, the window, and the verification every artifact states."""
    v = artifacts.verification
    return {
        "files": [{"path": str(p), "cited": len(artifacts.cited[p.name])} for p in written],
        "since": query.since,
        "until": query.until,
        "verification": {
            "ok": v.ok,
            "summary": v.summary,
            "log": v.log,
            "entries": v.entries,
            "head_seq": v.head_seq,
            "head": v.head,
            "checkpoints": v.checkpoints,
            "signed_through": v.signed_through,
            "anchor": v.anchor,
            "problems": [{"seq": q, "kind": k, "message": m} for q, k, m in v.problems],
            "warnings": list(v.warnings),
        },
    }


def _query(ns: argparse.Namespace) -> Any:
    from opsgate.cli.audit import _when
    from opsgate.incident import Query

    since = ns.since or (None if ns.card else DEFAULT_SINCE)
    return Query(
        since=_when(since, "--since") if since else None,
        until=_when(ns.until, "--until") if ns.until else None,
        agents=tuple(ns.agent),
        targets=tuple(ns.target),
        cards=tuple(ns.card),
        include_reads=ns.include_reads,
    )


def _stored_secrets(ns: argparse.Namespace) -> list[str]:
    """The executor's stored secret values, masked wherever they appear.  Best effort:
    without them the artifacts are still redacted by pattern (as every entry was
    when it was written), and a note says so."""
    from opsgate.config import FLAG, current

    config = current()
    if ns.db is not None and config.layer("data_dir") < FLAG:
        return []  # an offline copy of the audit trail: no store beside it
    home = config.data_dir
    url = config.database_url
    keyed = (home / "secret.key").is_file() or bool(config.text("execute.secret_key"))
    if not keyed or not (url or (home / "opsgate.db").is_file()):
        return []
    try:
        from opsgate.execute.secrets import SecretStore, load_key, load_previous_key
        from opsgate.store import open_store

        secrets = SecretStore(load_key(home), previous=load_previous_key(home))
        store = open_store(None, url)
        try:
            with store.read() as conn:
                return [s.reveal() for s in secrets.reveal_all(conn)]
        finally:
            store.close()
    except Exception as exc:  # redaction by pattern still applies; say what is missing
        print(f"note: stored secret values not read ({type(exc).__name__}); the artifacts "
              "are redacted by pattern only", file=sys.stderr)  # fmt: skip
        return []
