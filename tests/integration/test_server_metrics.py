# ruff: noqa: F811  (pytest fixtures imported from test_server_api are redefined as parameters)
"""Operating the control plane: Prometheus metrics, request ids and JSON logs.

``/metrics`` is read with the official client's parser; it needs a viewer-or-above
credential (an agent token never reads it), or the separate credential-free
listener of ``serve --metrics-address``.  Every request gets a request id, echoed
in ``X-Request-Id`` (a well-formed incoming one is kept as the trace id), written in
the audit entry of the decision it made — also when a writer thread made that entry;
a caller's own id only as ``caller_request`` — and in every JSON log line about it."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_server_api import (  # noqa: F401  (fixtures)
    CAUTION,
    SAFE,
    ApiClient,
    Org,
    client,
    control,
    home,
    org,
)

from opsgate.audit import AuditWriteError
from opsgate.server import _metrics
from servers import OPSGATE, free_port, owner_password

FORGED = "a b\u00e9".encode() + b"x" * 80  # a space, a non-ASCII byte, too long


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_need_a_reader_and_count_decisions(
    client: ApiClient, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_metrics, "REFRESH", 0.0)  # count the backlog at every scrape
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=org.headers("agent")).status_code == 403
    before = samples(client.get("/metrics", headers=org.headers("viewer")).text)
    agent = org.headers("agent")
    assert client.post("/api/v1/evaluate", json=SAFE, headers=agent).status_code == 200
    assert client.post("/api/v1/propose", json=SAFE, headers=agent).status_code == 200
    made = client.post("/api/v1/propose", json=CAUTION, headers=agent)
    assert made.status_code == 200 and made.json()["card"] is not None
    r = client.get("/metrics", headers=org.headers("viewer"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    after = samples(r.text)
    allow = {"verdict": "allow", "impact": "safe", "environment": "local"}
    assert value(after, "opsgate_decisions_total", **allow) == 2
    card = made.json()["decision"]
    asked = {
        "verdict": "require_approval",
        "impact": card["impact"],
        "environment": card["environment"]["label"]
        if isinstance(card["environment"], dict)
        else card["environment"],
    }
    assert value(after, "opsgate_decisions_total", **asked) == 1
    for route in ("/api/v1/evaluate", "/api/v1/propose"):
        assert value(after, "opsgate_decision_seconds_count", route=route) >= 1
    assert value(after, "opsgate_audit_append_seconds_count") > value(
        before, "opsgate_audit_append_seconds_count"
    )
    assert value(after, "opsgate_pending_cards") == value(before, "opsgate_pending_cards") + 1
    assert value(after, "opsgate_notification_backlog") >= 1
    assert value(after, "opsgate_unavailable_total", kind="audit") == 0
    assert value(after, "opsgate_build_info", version=__import__("opsgate").__version__) == 1


def test_audit_failures_are_counted(
    client: ApiClient, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = org.control.audit  # type: ignore[attr-defined]

    def broken(*args: object, **kwargs: object) -> None:
        raise AuditWriteError("disk full")

    monkeypatch.setattr(audit, "append_documents", broken)
    r = client.post("/api/v1/evaluate", json=SAFE, headers=org.headers("agent"))
    assert r.status_code == 503
    monkeypatch.undo()
    found = samples(client.get("/metrics", headers=org.headers("owner")).text)
    assert value(found, "opsgate_unavailable_total", kind="audit") == 1


def test_request_ids_are_echoed_and_written_in_the_decisions_entries(
    client: ApiClient, org: Org
) -> None:
    agent = org.headers("agent")
    mine = client.post(
        "/api/v1/propose", json=SAFE, headers={**agent, "X-Request-Id": "lb-7f3a:01.x"}
    )
    assert mine.headers["x-request-id"] == "lb-7f3a:01.x"
    forged = client.post("/api/v1/propose", json=SAFE, headers={**agent, "X-Request-Id": FORGED})
    made = forged.headers["x-request-id"]
    assert made != "a b" and len(made) == 16  # replaced: not well formed
    card = client.post("/api/v1/propose", json=CAUTION, headers=agent)  # written by the writer
    assert client.get("/nowhere").headers["x-request-id"]  # every answer has one
    by_request: dict[str, list[str]] = {}
    by_caller: dict[str, list[str]] = {}
    for entry in org.control.audit.entries():  # type: ignore[attr-defined]
        if "request" in entry.data:
            by_request.setdefault(entry.data["request"], []).append(entry.data["event"])
        if "caller_request" in entry.data:
            by_caller.setdefault(entry.data["caller_request"], []).append(entry.data["request"])
    # The caller's id is kept as its own field; the entry's request id is opsgate's.
    assert "lb-7f3a:01.x" not in by_request
    [own] = by_caller["lb-7f3a:01.x"]
    assert re.fullmatch(r"[0-9a-f]{16}", own) and by_request[own] == ["decision.made"]
    assert by_request[made] == ["decision.made"]
    assert by_request[card.headers["x-request-id"]] == ["decision.made", "card.created"]


def test_json_logs_and_the_separate_metrics_listener(tmp_path: Path) -> None:
    import os
    import subprocess
    import threading

    home = tmp_path / "home"
    port, metrics_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    env.update(OPSGATE_HOME=str(home), OPSGATE_LOG_FORMAT="json")
    proc = subprocess.Popen(
        [OPSGATE, "serve", "--create", "--port", str(port), "--log-level", "info",
         "--metrics-address", f"127.0.0.1:{metrics_port}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: list[str] = []
    assert proc.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr or ()), daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "opsgate serve did not start"
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        time.sleep(0.2)
        password = owner_password(home)
        r = httpx.post(
            f"{url}/api/v1/session",
            json={"name": "owner", "password": password},
            headers={"X-Request-Id": "login-42"},
        )
        assert r.status_code == 200 and r.headers["x-request-id"] == "login-42"
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert scraped.status_code == 200 and "opsgate_decisions_total" in scraped.text
        assert httpx.get(f"{url}/metrics").status_code == 401  # the API's needs credentials
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        reader.join(timeout=5)
        proc.stderr.close()
    records = [json.loads(line) for line in lines if line.strip()]  # every line is JSON
    access = [r for r in records if r["logger"] == "opsgate.access"]
    login = [r for r in access if r.get("request_id") == "login-42"]
    assert login and login[0]["http"]["path"] == "/api/v1/session"
    assert login[0]["http"]["status"] == 200 and login[0]["level"] == "info"
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert not any(password and password in line for line in lines)
