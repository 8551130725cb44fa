"""Incident artifacts generated from the audit trail (SPEC §8): ``incident_report.md``,
``postmortem.md``, ``DECISION_RECORD.md`` and ``runbook.md``.

Each artifact cites the audit entries it rests on (``[#seq]``, with their chain
hashes in a Sources table), names the chain head, and states the result of
verifying the whole trail when it was made — a tampered trail says so at the top
of every artifact.  Entries are redacted when written; every artifact passes
through a redactor again on its way out (the caller adds the stored secret
values, so even a value that slipped into the trail never leaves in a report)::

    from opsgate.incident import Query, generate
    artifacts = generate(log, Query(since="2026-12-06T10:00:00Z"), postmortem=True)
    artifacts.write(Path("artifacts"))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from opsgate import __version__
from opsgate.audit import AuditLog
from opsgate.audit.log import rfc3339
from opsgate.incident._md import Citer, header
from opsgate.incident._record import decision_record, runbook
from opsgate.incident._report import incident_report, postmortem
from opsgate.incident._trail import Cited, Query, read_trail
from opsgate.incident._verify import Verification, verify_log

__all__ = ["REPORT", "Artifacts", "Cited", "Query", "Verification", "build", "generate"]

REPORT = "incident_report.md"
POSTMORTEM = "postmortem.md"
RECORD = "DECISION_RECORD.md"
RUNBOOK = "runbook.md"


@dataclass(frozen=True, slots=True)
class Artifacts:
    files: dict[str, str]  # file name → Markdown
    cited: dict[str, tuple[int, ...]]  # file name → the sequence numbers it cites
    verification: Verification

    def write(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for name, body in self.files.items():
            path = directory / name
            path.write_text(body, "utf-8")
            written.append(path)
        return written


def build(
    entries: Iterable[Cited],
    verification: Verification,
    query: Query,
    *,
    with_postmortem: bool = False,
    redact: Callable[[str], str] | None = None,
    now: float | None = None,
) -> Artifacts:
    """The artifacts for ``query`` over ``entries`` (every entry of the log, in order)."""
    trail = read_trail(entries, query)
    generated = rfc3339(time.time() if now is None else now)[:19] + "Z"
    plan = [(REPORT, "Incident report"), (RECORD, "Decision record"), (RUNBOOK, "Runbook")]
    if with_postmortem:
        plan.insert(1, (POSTMORTEM, "Postmortem"))
    files: dict[str, str] = {}
    cited: dict[str, tuple[int, ...]] = {}
    for name, title in plan:
        cite = Citer(verification)
        head = header(title, query, verification, generated, __version__)
        if name == REPORT:
            body = incident_report(trail, cite, head)
        elif name == POSTMORTEM:
            body = postmortem(trail, cite, head, tampered=not verification.ok)
        elif name == RECORD:
            body = decision_record(trail, cite, head)
        else:
            body = runbook(trail, cite, head)
        files[name] = redact(body) if redact is not None else body
        cited[name] = tuple(sorted(cite.cited))
    return Artifacts(files, cited, verification)


def generate(
    log: AuditLog,
    query: Query,
    *,
    with_postmortem: bool = False,
    secrets: Iterable[str] = (),
    trusted_keys: list[str] | None = None,
) -> Artifacts:
    """Verify ``log`` and build the artifacts from its entries; ``secrets`` are
    values to mask wherever they appear (the executor's stored secrets)."""
    from opsgate.execute.redact import OutputRedactor

    verification = verify_log(log, trusted_keys)
    entries = (Cited(e.seq, e.hash, e.data) for e in log.entries())
    redactor = OutputRedactor(secrets)
    return build(
        entries, verification, query, with_postmortem=with_postmortem, redact=redactor.text
    )
