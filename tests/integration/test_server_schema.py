"""Schemathesis against /openapi.json over a real socket (uvicorn in a thread):
no 5xx, and every response conforms to the documented schema and envelope.
Bounded examples per operation, so the whole run stays well under a minute."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from test_server_api import make_org

from opsgate.approvals.control import open_control_plane
from opsgate.server import AppConfig, create_app
from servers import free_port

# The document does not depend on the control plane behind it.
schema = schemathesis.openapi.from_dict(create_app(None).openapi())  # type: ignore[arg-type]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]  # fmt: skip


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    home: Path = tmp_path_factory.mktemp("schema")
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("OPSGATE_"):
                mp.delenv(key)
        mp.setenv("OPSGATE_HOME", str(home))
        control = open_control_plane(data_dir=home)
        org = make_org(control)
        port = free_port()
        app = create_app(control, config=AppConfig(expire_interval=0.5))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.02)
        assert httpx.get(f"{url}/healthz").status_code == 200
        yield url, org.headers("owner")
        server.should_exit = True
        thread.join(timeout=10)
        control.close()  # type: ignore[attr-defined]


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_openapi_conformance(case: schemathesis.Case, live: tuple[str, dict[str, str]]) -> None:
    url, headers = live
    case.call_and_validate(base_url=url, headers=headers, checks=CHECKS)
