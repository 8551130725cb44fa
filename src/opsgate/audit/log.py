"""The facade every decision path calls: ``open_log(...).append(...)``.

Its settings (``data_dir``, ``database_url``, ``audit.*``) are declared in
:mod:`opsgate.config` and resolved there (flags > environment > file > defaults).

Checkpoints are scheduled from the store (the last checkpoint's seq and time),
not from process memory, because the hook lives for one append.
"""

from __future__ import annotations

import _thread
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsgate.audit._request import CALLER_REQUEST_ID, REQUEST_ID
from opsgate.audit._store import GroupCommit
from opsgate.audit.errors import AuditConfigError, AuditWriteError
from opsgate.audit.events import SCHEMA_VERSION, Entry, EventType
from opsgate.audit.redact import Redactor
from opsgate.config._table import by_key
from opsgate.errors import OpsgateError

if TYPE_CHECKING:  # typing classes cost import time; the hook needs none of these
    from typing import TypedDict, Unpack

    from opsgate.audit._store import Store
    from opsgate.audit.checkpoint import Checkpoint

    class EntryFields(TypedDict, total=False):
        """The keyword fields of ``AuditLog.document`` (and so of ``append``)."""

        actor: Mapping[str, Any] | None
        target: str | None
        environment: str | None
        action: Mapping[str, Any] | None
        classification: Mapping[str, Any] | None
        decision: str | None
        rule: str | None
        approver: Mapping[str, Any] | str | None
        result: Any
        evidence: Iterable[Any] | None


__all__ = ["AuditLog", "data_dir_from", "open_log", "rfc3339"]

DEFAULT_EVERY = int(by_key("audit.checkpoint_every").default or 1000)
DEFAULT_SECONDS = float(by_key("audit.checkpoint_seconds").default or 3600)


def rfc3339(epoch: float) -> str:
    micros = round(epoch * 1_000_000)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(micros // 1_000_000))
        + f".{micros % 1_000_000:06d}Z"
    )


def data_dir_from(data_dir: Path | None, env: Mapping[str, str] | None = None) -> Path:
    """``data_dir`` when given, else the configured data directory."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    from opsgate.config import resolve

    return resolve(env).data_dir


def open_log(
    data_dir: Path | None = None,
    database_url: str | None = None,
    *,
    secrets: Iterable[str] = (),
    readonly: bool = False,
    db_file: Path | None = None,
) -> AuditLog:
    """Open the audit log.  An explicit ``database_url`` or ``data_dir`` wins over
    ``OPSGATE_DATABASE_URL``, which wins over ``OPSGATE_HOME``, then ``~/.opsgate``.
    ``db_file`` opens one SQLite file directly (e.g. a copy, for offline verify)."""
    from opsgate.config import current

    config = current()
    url = database_url or (
        None if data_dir is not None or db_file is not None else config.database_url
    )
    home = Path(data_dir).expanduser() if data_dir is not None else config.data_dir
    store: Store
    if url:
        if not url.startswith(("postgresql://", "postgres://")):
            raise AuditConfigError(
                f"unsupported database URL {url.split(':', 1)[0]}://…", hint="use postgresql://"
            )
        from opsgate.audit.store_postgres import PostgresStore

        store = PostgresStore(url)
    else:
        from opsgate.audit.store_sqlite import DB_FILE, SQLiteStore

        store = SQLiteStore(db_file or home / DB_FILE, readonly=readonly)
    # A database file opened directly (a copy, for offline verify) carries its own key
    # beside it, not the key of whatever data directory this process would use.
    key_home = db_file.parent if db_file is not None and data_dir is None else home
    return AuditLog(
        store,
        key_path=config.path("audit.key") or key_home / "audit-signing-key.pem",
        trusted_keys=config.paths("audit.trusted_keys"),
        witness=config.text("audit.witness"),
        every=config.integer("audit.checkpoint_every"),
        seconds=config.number("audit.checkpoint_seconds"),
        redactor=Redactor(secrets),
    )


class AuditLog:
    """One writer per process in front of a store that serialises across processes."""

    def __init__(
        self,
        store: Store,
        *,
        key_path: Path,
        trusted_keys: tuple[Path, ...] = (),
        witness: str | None = None,
        every: int = DEFAULT_EVERY,
        seconds: float = DEFAULT_SECONDS,
        redactor: Redactor | None = None,
    ) -> None:
        self.store = store
        self.key_path = key_path
        # Public keys verification trusts besides key_path's (audit._trust), read
        # when a verification needs them: the hook never does.
        self.trusted_keys = trusted_keys
        self.witness = witness
        self.every = max(1, every)
        self.seconds = seconds
        self.redactor = redactor or Redactor()
        self._commit = GroupCommit(store.write)
        # Told how long each durable append took (seconds): the server's metrics.
        self.observer: Callable[[float], None] | None = None
        self._checkpointing = _thread.allocate_lock()

    @property
    def log_id(self) -> str:
        return self.store.log_id

    def add_secrets(self, values: Iterable[str]) -> None:
        """Known secret values (e.g. injected credentials) to mask from now on."""
        self.redactor.add(values)

    def append(self, event: EventType | str, **fields: Unpack[EntryFields]) -> Entry:
        """Redact, chain and durably store one entry (the fields of ``document``);
        raises AuditWriteError if it cannot be made durable (the caller's decision
        must then be deny)."""
        return self.append_documents([self.document(event, **fields)])[0]

    def document(
        self,
        event: EventType | str,
        *,
        actor: Mapping[str, Any] | None = None,
        target: str | None = None,
        environment: str | None = None,
        action: Mapping[str, Any] | None = None,
        classification: Mapping[str, Any] | None = None,
        decision: str | None = None,
        rule: str | None = None,
        approver: Mapping[str, Any] | str | None = None,
        result: Any = None,
        evidence: Iterable[Any] | None = None,
    ) -> dict[str, Any]:
        """The redacted document ``append`` would store (for ``append_documents``)."""
        name = EventType(event).value  # closed set: unknown names are a bug, not data
        redact = self.redactor.document
        document = {
            "schema": SCHEMA_VERSION,
            "time": rfc3339(time.time()),
            "event": name,
            "actor": redact(dict(actor or {})),
            "target": redact(target),
            "environment": redact(environment),
            "action": redact(dict(action or {})),
            "classification": redact(dict(classification or {})),
            "decision": redact(decision),
            "rule": redact(rule),
            "approver": redact(approver),
            "result": redact(result),
            "evidence": redact(list(evidence or [])),
        }
        request = REQUEST_ID.get()
        if request is not None:  # made while serving an HTTP request: which one
            document["request"] = redact(request)
            caller = CALLER_REQUEST_ID.get()
            if caller is not None:  # the caller's own id for it (a proxy's), unverified
                document["caller_request"] = redact(caller)
        return document

    def append_documents(self, documents: list[dict[str, Any]]) -> list[Entry]:
        """Durably store documents made by ``document``, consecutively and in one
        commit (all or none); raises AuditWriteError if they cannot be made durable."""
        observe = self.observer
        started = time.perf_counter() if observe is not None else 0.0
        try:
            entries = self._commit.submit_many(documents)
        except OpsgateError:
            raise
        except Exception as exc:  # an encoder or driver error must still fail closed
            raise AuditWriteError(f"{type(exc).__name__}: {exc}") from exc
        if observe is not None:
            observe(time.perf_counter() - started)
        self.committed(entries)
        return entries

    def committed(self, entries: list[Entry]) -> None:
        """After ``entries`` became durable — here, or in a transaction of a caller
        that chained them itself (the control plane's batches on PostgreSQL): sign a
        checkpoint if one is due.  AuditWriteError if that fails."""
        if not entries:
            return
        last = entries[-1]
        if last.data.get("event") != EventType.CHECKPOINT_CREATED.value and (
            self._checkpoint_due(last.seq, cached=True)
        ):
            self._maybe_checkpoint(last.seq)

    def _maybe_checkpoint(self, seq: int) -> None:
        # One checkpoint at a time per process; a thread that finds one under way
        # skips, since that checkpoint covers its entry or a later one.
        if not self._checkpointing.acquire(blocking=False):
            return
        try:
            if self._checkpoint_due(seq):
                self.checkpoint()
        except OpsgateError as exc:
            # The entry is durable, but the trail can no longer be vouched for:
            # fail closed until the key or store is fixed.
            raise AuditWriteError(f"checkpoint failed: {exc.message}", hint=exc.hint) from exc
        except Exception as exc:
            raise AuditWriteError(f"checkpoint failed: {type(exc).__name__}: {exc}") from exc
        finally:
            self._checkpointing.release()

    def _checkpoint_due(self, seq: int, *, cached: bool = False) -> bool:
        last = self.store.last_checkpoint(cached=cached)
        if last is None:
            return True  # the first entry gets a checkpoint: pins the key early
        last_seq, last_epoch = last
        return seq - last_seq >= self.every or (
            seq > last_seq and time.time() - last_epoch >= self.seconds
        )

    def checkpoint(self, witness: str | None = None) -> Checkpoint:
        """Sign the current head, store it, export it, and record that it happened.

        Export to the configured witness is best effort (a failure is recorded in
        the ``checkpoint.created`` entry); an explicit ``witness`` must succeed.
        """
        from opsgate.audit.checkpoint import load_or_create_key, sign_checkpoint
        from opsgate.audit.witness import export

        key = load_or_create_key(self.key_path)
        seq, head = self.store.head()
        now = time.time()
        cp = sign_checkpoint(key, log=self.log_id, seq=seq, head=head, time=rfc3339(now))
        self.store.add_checkpoint(seq, now, cp.body())
        failure = None
        for target in filter(None, {witness, self.witness}):
            try:
                export(cp, target)
            except AuditConfigError as exc:
                if target == witness:
                    raise
                failure = exc.message
        self.append(
            EventType.CHECKPOINT_CREATED,
            actor={"type": "system", "name": "opsgate"},
            result={"seq": seq, "head": cp.head, "key_id": cp.key_id, "witness_error": failure},
        )
        return cp

    def entries(self, *, descending: bool = False, after: int = 0) -> Iterator[Entry]:
        import json

        for seq, body, link in self.store.rows(descending=descending, after=after):
            yield Entry(seq, bytes(body), bytes(link), json.loads(body))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
