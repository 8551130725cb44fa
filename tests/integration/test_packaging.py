"""What a user installs works: the wheel and the sdist, built from a copy of the
repository, each installed into a fresh virtual environment outside the source
tree (no editable install, no ``src`` on the path), with the exact versions of
``constraints.txt`` as CI and images use them.

From each install: ``check``; ``hook claude`` fed a real PreToolUse payload on
stdin; ``serve`` answering ``/readyz``; ``mcp`` listing its tools to the official
MCP client; ``audit verify`` of what they wrote.  The sdist is first installed
without extras, where the core commands work and a control-plane command names
the extra it needs (exit 7), then with the ``mcp`` extra alone, which must bring
everything ``mcp`` and ``serve`` need.

``OPSGATE_PACKAGING=wheel`` tests the wheel only (the other Python versions of
``make test`` do that, to keep CI short).  Needs the package index that ``make``
installs from.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from opsgate.errors import EXIT_APPROVAL, EXIT_DENY

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers import free_port

REPO = Path(__file__).resolve().parents[2]
CONSTRAINTS = REPO / "constraints.txt"
PACKAGE_DATA = (
    "opsgate/execute/operations/builtin.yaml",
    "opsgate/execute/operations/schema.json",
    "opsgate/policy/schema.json",
    "opsgate/web/templates/base.html",
    "opsgate/web/static/app.css",
    "opsgate/py.typed",
)
PASSWORD = "packaging-test-password"

pytestmark = pytest.mark.slow


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    assert proc.returncode == 0, f"{argv} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc  # type: ignore[no-any-return]


def _copy_sources(dest: Path) -> None:
    """The files git tracks or would track (what a release is cut from: new files
    count before they are committed), without build leftovers or ignored files."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=False,
    ).stdout
    names = [n for n in listed.decode().split("\0") if n] if listed else []
    if not names:  # not a git checkout: everything but caches and environments
        shutil.copytree(
            REPO,
            dest,
            ignore=shutil.ignore_patterns(
                ".git", ".venv*", "*.egg-info", "__pycache__", "build", "dist", ".*_cache"
            ),
        )
        return
    for name in names:
        source = REPO / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@dataclass(frozen=True)
class Dists:
    wheel: Path
    sdist: Path


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    root = tmp_path_factory.mktemp("packaging")
    sources, out = root / "sources", root / "dist"
    _copy_sources(sources)
    # Without --sdist/--wheel, build makes the sdist and then the wheel *from the
    # sdist*: a file missing from the sdist fails the wheel too.
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(sources)], cwd=root)
    (wheel,) = out.glob("opsgate-*.whl")
    (sdist,) = out.glob("opsgate-*.tar.gz")
    return Dists(wheel, sdist)


class Venv:
    """A fresh virtual environment in ``path``, commands run from ``cwd`` (outside
    the repository) with no ``OPSGATE_*`` or ``PYTHON*`` variables of the caller."""

    def __init__(self, path: Path, cwd: Path) -> None:
        self.path, self.cwd = path, cwd
        _run([sys.executable, "-m", "venv", str(path)])
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "PYTHON"))}
        self.env["OPSGATE_HOOK_DAEMON"] = "0"  # decide in-process: leave no service running
        # A new machine: the default data directory (~/.opsgate), which does not exist
        # yet and is created by the first hook call (a named OPSGATE_HOME must exist).
        self.env["HOME"] = str(cwd)

    def bin(self, name: str) -> str:
        return str(self.path / "bin" / name)

    def install(self, requirement: str) -> None:
        _run([self.bin("pip"), "install", "-q", "-c", str(CONSTRAINTS), requirement], cwd=self.cwd)

    def opsgate(
        self, *args: str, stdin: str | None = None, check: bool = True, **env: str
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [self.bin("opsgate"), *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=self.cwd,
            env={**self.env, **env},
            timeout=120,
            check=False,
        )
        if check:
            assert proc.returncode == 0, f"opsgate {args}: {proc.stdout}\n{proc.stderr}"
        return proc


def _installed_from_site_packages(venv: Venv) -> None:
    probe = (
        "import opsgate, pathlib, sys; p = pathlib.Path(opsgate.__file__).resolve(); "
        "print(p); print(all(pathlib.Path(p.parents[1], f).is_file() for f in sys.argv[1:]))"
    )
    proc = _run([venv.bin("python"), "-c", probe, *PACKAGE_DATA], cwd=venv.cwd, env=venv.env)
    where, complete = proc.stdout.split()
    assert "site-packages" in where and not where.startswith(str(REPO)), where
    assert complete == "True", f"package data missing next to {where}"


def _core_commands(venv: Venv) -> None:
    assert json.loads(venv.opsgate("check", "--json", "--", "ls").stdout)["decision"] == "allow"
    out = venv.opsgate("check", "--json", "--", "rm -rf /", check=False)
    answer = json.loads(out.stdout)["decision"]
    assert (answer, out.returncode) in (("deny", EXIT_DENY), ("require_approval", EXIT_APPROVAL))
    for command, blocked in (("ls -la", False), ("git push --force origin main", True)):
        payload = {
            "session_id": "packaging",
            "transcript_path": str(venv.cwd / "transcript.jsonl"),
            "cwd": str(venv.cwd),
            "permission_mode": "default",
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": {"command": command},
            "tool_use_id": "toolu_01",
        }
        hook = venv.opsgate("hook", "claude", stdin=json.dumps(payload))
        if blocked:
            answer = json.loads(hook.stdout)["hookSpecificOutput"]
            assert answer["permissionDecision"] == "deny", hook.stdout
        else:
            assert hook.stdout == "", hook.stdout


def _verify(venv: Venv) -> None:
    out = venv.opsgate("audit", "verify")
    assert "intact" in out.stdout, out.stdout + out.stderr


def _missing_extra(venv: Venv) -> None:
    for args in (("cards",), ("users", "list"), ("serve",), ("mcp",)):
        proc = venv.opsgate(*args, check=False)
        assert proc.returncode == 7, (args, proc.stdout, proc.stderr)
        first = proc.stderr.splitlines()[0]
        assert re.fullmatch(
            r"opsgate: this command needs the '(server|mcp)' extra: "
            r"pip install 'opsgate\[(server|mcp)\]'",
            first,
        ), proc.stderr
        assert "Traceback" not in proc.stderr


def _serve_answers_readyz(venv: Venv) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [venv.bin("opsgate"), "serve", "--port", str(port), "--log-level", "warning"],
        cwd=venv.cwd,
        env=venv.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "serve did not become ready"
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        assert ready.json()["status"] == "ready"
        page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
        assert page.status_code == 200 and "<form" in page.text  # templates are there
        css = httpx.get(f"http://127.0.0.1:{port}/static/app.css", timeout=5)
        assert css.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stdout:
            proc.stdout.close()


def _agent_token(venv: Venv) -> str:
    venv.opsgate("init", "--password-stdin", stdin=PASSWORD + "\n")
    out = venv.opsgate(
        "tokens", "create", "packaging-agent", OPSGATE_USER="owner", OPSGATE_PASSWORD=PASSWORD
    )
    return out.stdout.strip().splitlines()[-1]


def _mcp_lists_tools(venv: Venv, token: str) -> None:
    import anyio
    from mcp import ClientSession, StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command=venv.bin("opsgate"),
        args=["mcp"],
        env={**venv.env, "OPSGATE_TOKEN": token},
        cwd=str(venv.cwd),
    )

    async def tools() -> set[str]:
        with (venv.cwd / "mcp-stderr.log").open("w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                listed = await session.list_tools()
                return {t.name for t in listed.tools}

    names = anyio.run(tools)
    assert "evaluate_action" in names, names


def _control_plane_commands(venv: Venv) -> None:
    token = _agent_token(venv)  # before serve, which would create a first owner itself
    _serve_answers_readyz(venv)
    _mcp_lists_tools(venv, token)
    _verify(venv)


@pytest.fixture
def place(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "elsewhere"
    where.mkdir()
    yield where


def test_wheel_installs_and_serves(dists: Dists, place: Path) -> None:
    """The wheel with the ``mcp`` extra alone: everything runs from site-packages."""
    venv = Venv(place / "venv", place)
    venv.install(f"opsgate[mcp] @ {dists.wheel.as_uri()}")
    _installed_from_site_packages(venv)
    _core_commands(venv)
    _control_plane_commands(venv)


@pytest.mark.skipif(
    os.environ.get("OPSGATE_PACKAGING") == "wheel", reason="OPSGATE_PACKAGING=wheel"
)
def test_sdist_core_then_extras(dists: Dists, place: Path) -> None:
    """The sdist without extras: the hook and the audit work, the control plane's
    commands name their extra; then with the ``mcp`` extra everything runs."""
    venv = Venv(place / "venv", place)
    venv.install(str(dists.sdist))
    _installed_from_site_packages(venv)
    _core_commands(venv)
    _verify(venv)
    _missing_extra(venv)
    venv.install(f"opsgate[mcp] @ {dists.sdist.as_uri()}")
    _control_plane_commands(venv)


def test_the_core_install_leaves_out_the_server_stack(dists: Dists) -> None:
    """The wheel's metadata: the core needs no web framework or database layer, each
    extra brings what its commands import, and versions are ranges (the exact pins
    are constraints.txt's)."""
    import zipfile

    with zipfile.ZipFile(dists.wheel) as wheel:
        (meta_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        meta = wheel.read(meta_name).decode()
        names = wheel.namelist()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: Apache-2.0" in meta
    requires = [
        line.split(": ", 1)[1] for line in meta.splitlines() if line.startswith("Requires-Dist:")
    ]
    core = [r for r in requires if "extra ==" not in r]
    assert core and not any(
        r.lower().startswith(("fastapi", "sqlalchemy", "uvicorn", "mcp")) for r in core
    )
    assert not [r for r in requires if "==" in r.split(";")[0]], "pins belong in constraints.txt"
    by_extra: dict[str, list[str]] = {}
    for r in requires:
        found = re.search(r'extra == "(\w+)"', r)
        if found:
            by_extra.setdefault(found.group(1), []).append(r.lower())
    assert any(r.startswith("sqlalchemy") for r in by_extra["server"])
    assert any(r.startswith("opsgate[server]") for r in by_extra["mcp"])
    for data in PACKAGE_DATA:
        assert data in names, f"{data} is not in the wheel"
