"""Requests to a local port that leads into a cluster or another host
(``families._network_tunnels``): a tunnel opened in the same command, and one a
real process opened in an earlier command, found in ``/proc``."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsgate.guard import evaluate
from opsgate.models import Action, Impact, Verdict


def decide(command: str, cwd: Path) -> tuple[Verdict, Impact, str]:
    action = Action("shell.exec", "Bash", {"command": command}, cwd=str(cwd), project_dir=str(cwd))
    decision = evaluate(action)
    return decision.verdict, decision.impact, " ".join(decision.reasons)


@pytest.mark.parametrize(
    ("command", "impact"),
    [
        ("kubectl proxy --port=8001 & sleep 1; curl -X DELETE localhost:8001/api/v1/namespaces/x",
         Impact.DESTRUCTIVE),
        ("kubectl proxy & curl -s http://127.0.0.1:8001/api/v1/namespaces/prod/secrets",
         Impact.CAUTION),
        ("kubectl port-forward svc/admin 9090:80 & curl -X POST localhost:9090/reset",
         Impact.CAUTION),
        ("kubectl proxy -p 0 & curl -X PATCH localhost:37111/apis/apps/v1/x", Impact.CAUTION),
    ],
)  # fmt: skip
def test_a_request_through_a_tunnel_of_the_same_command_is_a_cluster_call(
    command: str, impact: Impact, tmp_path: Path
) -> None:
    verdict, got, _ = decide(command, tmp_path)
    assert verdict is not Verdict.ALLOW
    assert got is impact


@pytest.mark.parametrize(
    "command",
    [
        "kubectl proxy & curl -s localhost:8001/api/v1/namespaces/default/pods",
        "kubectl port-forward svc/web 8080:80 & curl localhost:8080/health",
        "kubectl port-forward svc/web 8080:80 & curl -X POST localhost:3000/api/items",
        "curl -X POST localhost:3000/api/items -d '{}'",
    ],
)
def test_reads_through_a_tunnel_and_requests_to_other_ports_pass(
    command: str, tmp_path: Path
) -> None:
    assert decide(command, tmp_path)[0] is Verdict.ALLOW


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_LISTENER = """
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[-1].split("=")[1])))
s.listen()
print("ready", flush=True)
time.sleep(120)
"""


@pytest.fixture
def listening(tmp_path: Path) -> Iterator[object]:
    procs: list[subprocess.Popen[str]] = []

    def start(name: str, *args: str) -> int:
        port = _free_port()
        program = tmp_path / name
        program.write_text(f"#!{sys.executable}\n{_LISTENER}")
        program.chmod(0o755)
        proc = subprocess.Popen(
            [str(program), *args, f"--port={port}"], stdout=subprocess.PIPE, text=True
        )
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        return port

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_tunnel_left_running_by_an_earlier_command_is_found(
    listening: object, tmp_path: Path
) -> None:
    port = listening("kubectl", "proxy")  # type: ignore[operator]
    verdict, impact, reasons = decide(
        f"curl -X DELETE http://127.0.0.1:{port}/api/v1/namespaces/staging", tmp_path
    )
    assert verdict is not Verdict.ALLOW and impact is Impact.DESTRUCTIVE
    assert "kubectl" in reasons
    secrets = decide(f"curl -s localhost:{port}/api/v1/namespaces/prod/secrets", tmp_path)
    assert secrets[0] is not Verdict.ALLOW
    assert decide(f"curl -s localhost:{port}/api/v1/pods", tmp_path)[0] is Verdict.ALLOW


def test_an_ordinary_local_server_is_not_a_tunnel(listening: object, tmp_path: Path) -> None:
    port = listening("devserver", "run")  # type: ignore[operator]
    assert decide(f"curl -X POST localhost:{port}/api/items", tmp_path)[0] is Verdict.ALLOW
