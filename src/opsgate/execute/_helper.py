"""Secrets from an external manager through a credential-helper command, the pattern
of git credential helpers and AWS ``credential_process``: an owner configures the
command (``op read op://vault/db/password``, ``vault kv get -field=password
secret/db``, ``aws secretsmanager get-secret-value --secret-id db --query
SecretString --output text``); opsgate runs it when the secret is needed and takes
its standard output, trimmed, as the value.

The limits, each a refusal rather than a surprise:

- argv, never a shell string: no shell parses it, so nothing in it expands;
- a clean environment: ``PATH``, ``HOME``, ``LANG`` and the variables the owner
  named (``VAULT_ADDR``, ``OP_SERVICE_ACCOUNT_TOKEN`` …) taken from the server's
  own environment — nothing else is inherited, and no agent supplies any of it;
- stdin closed, stderr discarded, its own process group (killed whole on timeout);
- a timeout (default 10 s, at most 60 s) and a bounded output (64 KiB);
- a failure names the helper and its exit status, never what it printed (stdout
  may hold half a secret, stderr often echoes it).
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsgate.execute.errors import InvalidHelper, SecretError

__all__ = ["DEFAULT_TIMEOUT", "MAX_OUTPUT", "MAX_TIMEOUT", "HelperSpec", "run_helper"]

DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 60.0
MAX_OUTPUT = 64 * 1024
_BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
_ENV_NAME = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"


@dataclass(frozen=True, slots=True)
class HelperSpec:
    """How a secret is fetched: the command and its limits (never its output)."""

    argv: tuple[str, ...]
    timeout: float = DEFAULT_TIMEOUT
    env: tuple[str, ...] = ()  # names of server environment variables passed through

    @classmethod
    def checked(
        cls, argv: list[str] | tuple[str, ...], timeout: float | None = None, env: Any = ()
    ) -> HelperSpec:
        """A spec from an owner's input, or ``SecretError`` saying what is wrong."""
        argv = tuple(argv)
        if not argv or not all(isinstance(a, str) and a and "\x00" not in a for a in argv):
            raise InvalidHelper("a secret helper is a command: give its program and arguments")
        if any(c.isspace() for c in argv[0]):
            raise InvalidHelper(
                f"the helper program {argv[0]!r} contains spaces: give the command as separate "
                "arguments (argv), not a shell string",
                hint="opsgate secrets set NAME --from-command -- op read op://vault/item/field",
            )
        seconds = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        if not 0 < seconds <= MAX_TIMEOUT:
            raise InvalidHelper(f"a helper runs more than 0 and at most {MAX_TIMEOUT:.0f} s")
        names = tuple(env)
        bad = [n for n in names if not n or not isinstance(n, str) or set(n) - set(_ENV_NAME)]
        if bad:
            raise InvalidHelper(f"environment variable names only, not {bad[0]!r}")
        return cls(argv, seconds, names)

    def to_json(self) -> dict[str, Any]:
        return {"argv": list(self.argv), "timeout": self.timeout, "env": list(self.env)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HelperSpec:
        return cls.checked(list(data["argv"]), data.get("timeout"), data.get("env") or ())

    @property
    def program(self) -> str:
        return Path(self.argv[0]).name


def _environment(spec: HelperSpec, source: Mapping[str, str]) -> dict[str, str]:
    env = {k: source[k] for k in _BASE_ENV if k in source}
    env.setdefault("PATH", _DEFAULT_PATH)
    env.update({k: source[k] for k in spec.env if k in source})
    return env


def run_helper(name: str, spec: HelperSpec, source: Mapping[str, str] | None = None) -> str:
    """The secret ``name`` as ``spec``'s command prints it; ``SecretError`` otherwise.
    ``source``: the environment the named variables come from (the server's own)."""
    env = _environment(spec, os.environ if source is None else source)
    program = shutil.which(spec.argv[0], path=env["PATH"])
    who = f"the helper {spec.program!r}"
    if program is None:
        raise SecretError(f"{who} was not found", secret=name, hint="install it on every "
                          "opsgate host, or give its absolute path")  # fmt: skip
    try:
        proc = subprocess.Popen(
            [program, *spec.argv[1:]], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, start_new_session=True, close_fds=True,
        )  # fmt: skip
    except OSError as exc:
        raise SecretError(f"{who} could not start ({type(exc).__name__})", secret=name) from None
    out, problem = _read(proc, spec.timeout)
    if problem is not None:
        raise SecretError(f"{who} {problem}", secret=name,
                          hint="run it by hand as opsgate's user to see why")  # fmt: skip
    value = out.decode("utf-8", "replace").strip()
    if not value:
        raise SecretError(f"{who} printed nothing", secret=name,
                          hint="run it by hand as opsgate's user")  # fmt: skip
    return value


def _read(proc: subprocess.Popen[bytes], timeout: float) -> tuple[bytes, str | None]:
    """Its stdout, bounded in time and size; on any limit the whole group is killed."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    problem: str | None = None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                problem = f"did not finish within {timeout:g} s (stopped)"
                break
            if not sel.select(left):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_OUTPUT:
                problem = f"printed more than {MAX_OUTPUT // 1024} KiB (stopped)"
                break
            chunks.append(chunk)
    if problem is not None:
        _kill(proc)
        return b"", problem
    try:
        status = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _kill(proc)
        return b"", f"did not exit within {timeout:g} s (stopped)"
    finally:
        proc.stdout.close()
    if status != 0:
        return b"", f"exited with status {status}"
    return b"".join(chunks), None


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
