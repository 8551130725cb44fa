"""``opsgate policy diff OLD NEW``: the recorded decisions replayed under two policies.

Exit codes (for a CI job that gates a policy change):

    0  no recorded decision would become looser (stricter or rule-only changes allowed)
    1  at least one decision would become looser (``--fail-on any``: any change)
    2  bad input (a flag, the --from file)
    3  a policy file that cannot be loaded
    5  the audit trail cannot be read
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from opsgate.errors import InputError

__all__ = ["register_diff"]

_EVENT = b'"event":"decision.made"'  # canonical bodies: no spaces, so a cheap pre-filter


def register_diff(actions: Any) -> None:
    d = actions.add_parser(
        "diff",
        help="replay recorded decisions under two policies and list what would change",
        description="Replays the actions recorded in the audit trail (decision.made "
        "entries) under OLD and NEW and lists every decision that would change, looser "
        "(e.g. deny → require_approval) and stricter counted apart. Exit 0: nothing "
        "loosens; 1: something loosens (or, with --fail-on any, anything changes); "
        "2: bad input; 3: a policy cannot be loaded; 5: the audit trail cannot be read.",
    )
    d.add_argument("old", metavar="OLD")
    d.add_argument("new", metavar="NEW")
    d.add_argument("--since", help="only decisions from this ISO time or duration ago (7d)")
    d.add_argument("--until", help="only decisions up to this ISO time or duration ago")
    d.add_argument("--last", type=int, metavar="N", help="only the last N recorded decisions")
    d.add_argument(
        "--from",
        dest="source",
        metavar="FILE",
        help="read entries from a JSON Lines file (`opsgate audit export`; - for stdin) "
        "instead of the audit database",
    )
    from opsgate.cli._flags import add_setting

    add_setting(d, "data_dir")
    d.add_argument("--db", type=Path, help="an audit database file, e.g. an offline copy")
    d.add_argument(
        "--fail-on",
        choices=("looser", "any", "never"),
        default="looser",
        help="which changes make the exit code 1 (default: looser)",
    )
    d.add_argument("--json", action="store_true", help="print the whole report as JSON")
    d.set_defaults(func=_diff)


def _diff(ns: argparse.Namespace) -> int:
    from opsgate.policy.loader import load_policy
    from opsgate.policy.replay import Recorded, Subject, recorded, replay, skip, subject_of

    old, new = load_policy(ns.old), load_policy(ns.new)
    if ns.last is not None and ns.last < 1:
        raise InputError("--last must be at least 1")
    started = time.perf_counter()
    records: list[Recorded] = []
    skipped: list[str] = []
    subjects: dict[Any, Subject | str] = {}  # one per distinct recorded action
    for seq, data, same in _decisions(ns):
        subject = subjects.get(same)
        if subject is None:
            subject = subjects[same] = subject_of(data)
        found = subject if isinstance(subject, str) else recorded(seq, data, subject)
        if isinstance(found, str):
            skipped.append(found)
        else:
            records.append(found)
    records.sort(key=lambda r: r.seq)
    report = replay(records, old, new)
    for reason in skipped:
        skip(report, reason)
    elapsed = time.perf_counter() - started
    if ns.json:
        out = {"old": ns.old, "new": ns.new, "seconds": round(elapsed, 3), **report.to_json()}
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        _print(ns, report, elapsed)
    return _exit(ns.fail_on, report)


def _exit(fail_on: str, report: Any) -> int:
    if fail_on == "never":
        return 0
    if fail_on == "any":
        return 1 if report.changes else 0
    return 1 if report.count("looser") else 0


def _decisions(ns: argparse.Namespace) -> Iterator[tuple[int, dict[str, Any], Any]]:
    """(seq, entry, what identifies its action) of each ``decision.made`` in the
    window, oldest first, or with ``--last`` the newest N (the caller sorts)."""
    from opsgate.cli.audit import _when

    since = _when(ns.since, "--since") if ns.since else None
    until = _when(ns.until, "--until") if ns.until else None
    wanted = ns.last
    for seq, body in _bodies(ns, descending=wanted is not None):
        if _EVENT not in body:
            continue
        text = body.decode("utf-8", errors="replace")
        found = _fields(text)
        if found is None:  # not the canonical shape this reader knows: read it all
            data, same = json.loads(text), None
        else:
            data, same = found
        if data.get("event") != "decision.made":
            continue
        stamp = str(data.get("time", ""))
        if (since and stamp < since) or (until and stamp > until):
            continue
        yield seq, data, same if same is not None else object()
        if wanted is not None:
            wanted -= 1
            if wanted == 0:
                return


# An entry's canonical (RFC 8785) body has its keys in this order and no spaces.
# The fields a replay needs are read one by one, skipping the evidence and result
# (most of the bytes): five times faster than decoding the whole body.
_HEAD = ("action", "actor", "approver", "classification", "decision", "environment", "event")
_TAIL = ("rule", "schema", "seq", "target", "time")
_DECODER = json.JSONDecoder()


def _fields(text: str) -> tuple[dict[str, Any], Any] | None:
    """The replay's fields of one body, and a key naming its action (the action's
    exact canonical text, with the operation facts); None if the body is not shaped
    as expected (the caller then decodes it whole)."""
    out: dict[str, Any] = {}
    pos = 0
    spans: list[str] = []
    try:
        for index, key in enumerate(_HEAD):
            pos = _read(text, pos, key, out, first=index == 0)
            spans.append(text[:pos] if key == "action" else "")
        # After "rule" come schema, seq (numbers), target and time (strings, whose
        # quotes are escaped): the last `,"rule":` is the entry's own.
        pos = text.rfind(',"rule":')
        if pos < 0:
            return None
        for key in _TAIL:
            pos = _read(text, pos, key, out)
    except ValueError:
        return None
    if text[pos:] != "}":
        return None
    facts = (out.get("classification"), out.get("environment"), out.get("target"))
    return out, (spans[0], json.dumps(facts, sort_keys=True))


def _read(text: str, pos: int, key: str, out: dict[str, Any], *, first: bool = False) -> int:
    literal = ('{"' if first else ',"') + key + '":'
    if not text.startswith(literal, pos):
        raise ValueError(key)
    out[key], end = _DECODER.raw_decode(text, pos + len(literal))
    return int(end)


def _bodies(ns: argparse.Namespace, *, descending: bool) -> Iterator[tuple[int, bytes]]:
    if ns.source:
        lines = _lines(ns.source)
        if descending:
            lines = lines[::-1]
        for number, line in lines:
            try:
                seq = json.loads(line).get("seq", number)
            except (ValueError, AttributeError) as exc:
                raise InputError(f"{ns.source}:{number}: not a JSON audit entry") from exc
            yield int(seq), line
        return
    from opsgate.audit import open_log

    with open_log(db_file=ns.db, readonly=True) as log:
        for seq, body, _link in log.store.rows(descending=descending):
            yield seq, bytes(body)


def _lines(source: str) -> list[tuple[int, bytes]]:
    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise InputError(f"{source}: cannot read ({exc.strerror})") from exc
    return [(n, line) for n, line in enumerate(raw.splitlines(), 1) if line.strip()]


def _print(ns: argparse.Namespace, report: Any, elapsed: float) -> None:
    counts = {d: report.count(d) for d in ("looser", "stricter", "rule")}
    print(f"policy diff {ns.old} → {ns.new}: {report.decisions} recorded decision(s), "
          f"{report.distinct} distinct action(s), {elapsed:.2f} s")  # fmt: skip
    if report.skipped:
        print("  not replayable: " + _reasons(report.skipped))
    if report.approximate:
        print("  replayed approximately: " + _reasons(report.approximate))
    if report.recorded_differs:
        print(f"  note: OLD decides {report.recorded_differs} of them differently from what was "
              "recorded (the server's settings and inventory may differ from OLD's)")  # fmt: skip
    total = len(report.changes)
    print(f"would change: {total} — looser {counts['looser']}, stricter {counts['stricter']}, "
          f"same verdict by another rule {counts['rule']}")  # fmt: skip
    for direction, title in (("looser", "LOOSER"), ("stricter", "STRICTER"),
                             ("rule", "SAME VERDICT, OTHER RULE")):  # fmt: skip
        changes = [c for c in report.changes if c.direction == direction]
        if changes:
            print(f"\n{title} ({len(changes)})")
            _print_group(changes)


def _print_group(changes: list[Any]) -> None:
    """One block per distinct action and outcome pair, listing every seq."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for c in changes:
        a = c.record.action
        key = (a.tool, a.text, c.old, c.new)
        groups.setdefault(key, []).append(c)
    for (tool, text, old, new), members in groups.items():
        seqs = ", ".join(str(c.record.seq) for c in members)
        agents = sorted({c.record.agent for c in members})
        print(f"  {tool} {text[:200]!s}".replace("\n", " "))
        print(f"    {old.verdict} ({old.decided_by}) → {new.verdict} ({new.decided_by})")
        print(f"    seq {seqs}  [{len(members)}×, agent {', '.join(agents)}]")


def _reasons(counts: dict[str, int]) -> str:
    return "; ".join(f"{n} ({reason})" for reason, n in counts.items())
