"""Prometheus metrics, with the official client (``prometheus-client``).

What an operator watches on a control plane:

- ``opsgate_decisions_total{verdict, impact, environment}`` — decisions answered
  by the API (evaluate, propose, the Claude Code http hook);
- ``opsgate_decision_seconds{route}`` — a decision request from its arrival to its
  answer, its audit entry durable (histogram);
- ``opsgate_audit_append_seconds`` — making a batch of audit entries durable;
- ``opsgate_unavailable_total{kind}`` — requests refused (503, or a hook's deny)
  because the store or the audit log failed;
- ``opsgate_pending_cards`` and ``opsgate_notification_backlog`` — counted with one
  query each at most every ``REFRESH`` seconds, whoever scrapes, never per card;
- ``opsgate_build_info{version}``.

Each app has a registry of its own (tests build many apps in one process), served
at ``/metrics`` to a viewer-or-above credential (as the audit trail is), and on an
optional separate listener without credentials (``serve --metrics-address``).
Counting on the hot routes costs a dictionary lookup and an increment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from opsgate import __version__
from opsgate.audit import AuditLog, AuditWriteError
from opsgate.models import Decision
from opsgate.store import StoreError

__all__ = ["CONTENT_TYPE", "REFRESH", "Metrics"]

log = logging.getLogger("opsgate.server.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
REFRESH = 5.0  # seconds a count of pending cards and undelivered notifications is reused
# Decisions answer in milliseconds (a durable commit); the tail is what matters.
DECISION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
AUDIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)


class Metrics:
    def __init__(self, control: Any, audit: AuditLog | None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self._decisions = Counter(
            "opsgate_decisions",
            "Decisions answered by the API, by verdict, impact and environment",
            ["verdict", "impact", "environment"],
            registry=registry,
        )
        self._latency = Histogram(
            "opsgate_decision_seconds",
            "Decision requests from arrival to answer (audit entry durable), by route",
            ["route"],
            buckets=DECISION_BUCKETS,
            registry=registry,
        )
        self._audit = Histogram(
            "opsgate_audit_append_seconds",
            "Making a batch of audit entries durable",
            buckets=AUDIT_BUCKETS,
            registry=registry,
        )
        self._unavailable = Counter(
            "opsgate_unavailable",
            "Requests refused because the store or the audit log failed, by kind",
            ["kind"],
            registry=registry,
        )
        for kind in ("store", "audit"):
            self._unavailable.labels(kind)  # present (0) before the first failure
        Gauge("opsgate_build_info", "The running opsgate", ["version"], registry=registry).labels(
            __version__
        ).set(1)
        registry.register(_Backlog(control, self))
        self._children: dict[tuple[str, str, str], Any] = {}
        self._routes: dict[str, Any] = {}
        if audit is not None:
            audit.observer = self._audit.observe

    def decided(self, decision: Decision) -> None:
        key = (decision.verdict.value, decision.impact.label, decision.environment.label)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._decisions.labels(*key)
        child.inc()

    def answered(self, route: str, seconds: float) -> None:
        child = self._routes.get(route)
        if child is None:
            child = self._routes[route] = self._latency.labels(route)
        child.observe(seconds)

    def failed(self, exc: BaseException) -> None:
        """Count ``exc`` if it is the store's or the audit log's failure."""
        if isinstance(exc, AuditWriteError):
            self._unavailable.labels("audit").inc()
        elif isinstance(exc, StoreError):
            self._unavailable.labels("store").inc()

    def exposition(self) -> bytes:
        """The text format (blocking: the backlog may be counted; call off the loop)."""
        return generate_latest(self.registry)

    def serve(self, host: str, port: int) -> Any:
        """Serve the metrics on ``host:port`` without credentials (a thread of its own)."""
        from prometheus_client import start_http_server

        return start_http_server(port, addr=host, registry=self.registry)


class _Backlog(Collector):
    """Pending cards and undelivered notifications: one query each per ``REFRESH``
    seconds at most, run by whichever scrape finds the last count too old."""

    def __init__(self, control: Any, metrics: Metrics) -> None:
        self._store = getattr(control, "store", None)
        self._metrics = metrics
        self._lock = threading.Lock()
        self._counted: tuple[float, int, int] | None = None

    def describe(self) -> Iterator[Any]:
        return iter(())  # collected on demand only: registering must not query

    def collect(self) -> Iterator[Any]:
        counts = self._counts()
        if counts is None:
            return
        pending, backlog = counts
        yield GaugeMetricFamily(
            "opsgate_pending_cards", "Approval cards waiting for a person", value=pending
        )
        yield GaugeMetricFamily(
            "opsgate_notification_backlog",
            "Notifications of card changes not yet delivered",
            value=backlog,
        )

    def _counts(self) -> tuple[int, int] | None:
        with self._lock:
            now = time.monotonic()
            counted = self._counted
            if counted is not None and now - counted[0] < REFRESH:
                return counted[1], counted[2]
            if self._store is None:
                return None
            try:
                pending, backlog = _count(self._store, time.time())
            except StoreError as exc:
                self._metrics.failed(exc)
                log.warning("metrics: cannot count pending cards: %s", exc)
                return (counted[1], counted[2]) if counted is not None else None
            self._counted = (now, pending, backlog)
            return pending, backlog


def _count(store: Any, now: float) -> tuple[int, int]:
    import sqlalchemy as sa

    from opsgate.store._schema import cards, notifications

    pending = (
        sa.select(sa.func.count())
        .select_from(cards)
        .where(cards.c.state == "pending", cards.c.expires_at > now)
    )
    backlog = (
        sa.select(sa.func.count())
        .select_from(notifications)
        .where(notifications.c.delivered_at.is_(None))
    )
    with store.read() as conn:
        return int(conn.execute(pending).scalar_one()), int(conn.execute(backlog).scalar_one())
