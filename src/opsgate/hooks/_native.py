"""The hook's native client (``opsgate-hook-fast``), built with ``cc`` when one exists.

Python needs 10-15 ms just to start, more than the whole decision costs the warm
service.  The client (C source: ``hook_client.c`` beside this module) connects to the
decision service, forwards stdin, prints the reply and exits with its code.  It never
dies of a signal and every failure ends in an answer (see the C file's header).

Two builds of the same source:

- per-user (``build``): ``$OPSGATE_HOME/bin/opsgate-hook-fast``; the socket comes from
  ``$OPSGATE_HOME`` and must be served by this user; when the service cannot answer
  it restarts it once (a lock) and then hands the same stdin to the Python hook.
  ``opsgate hook-client build [--home DIR]`` (or ``python -m opsgate.hooks._native``).
- protected (``build_protected``): socket path and the service user's uid compiled in,
  no environment read, no fallback — a block instead.  Written root-owned by
  ``opsgate install <agent> --system``.

Linked statically when the toolchain can (no dynamic loader: faster to start, and
``LD_PRELOAD`` has nothing to hook into); dynamically otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from opsgate import __version__
from opsgate._boolean import TRUE_WORDS
from opsgate.hooks._client import FORWARDED_ENV, MATCHED_ENV, PROTOCOL

__all__ = [
    "Protected",
    "build",
    "build_protected",
    "client_path",
    "compile_to",
    "fallback_command",
    "source",
]

HEAL_MS = 2500  # how long a caller waits for a (re)started service before falling back
IO_TIMEOUT_MS = 3000  # connect, send and reply, each (as the Python client's REPLY_TIMEOUT)
WATCHDOG_S = 5  # as the Python hook's watchdog
_MARK = "@@REASON@@"


@dataclass(frozen=True)
class Protected:
    """What a protected-mode client has compiled in."""

    socket: str
    service_uid: int


def client_path(home: str | None = None) -> Path:
    from opsgate.hooks._client import home as default_home

    return Path(home or default_home()) / "bin" / "opsgate-hook-fast"


def fallback_command() -> list[str]:
    """The Python hook the client falls back to (absolute paths, no PATH lookup)."""
    launcher = Path(sys.executable).with_name("opsgate-hook")
    if launcher.is_file():
        return [str(launcher)]
    return [str(Path(sys.executable).with_name("opsgate")), "hook"]


def _c_literal(text: str) -> str:
    """``text`` as a C string literal (three-digit octal escapes for anything unusual)."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def _forms() -> str:
    """Every agent's blocking form as ``{agent, stdout, stderr, code}``, taken from the
    adapters' own ``fail`` so that the C client blocks exactly as the Python hook does."""
    import importlib

    from opsgate.hooks import AGENTS
    from opsgate.hooks._shapes import fail_exit_2

    rows = [("", *fail_exit_2(_MARK))]  # [0]: the default, for an unknown agent
    for name, module in AGENTS.items():
        rows.append((name, *importlib.import_module(f"opsgate.hooks.{module}").fail(_MARK)))
    cells = []
    for name, out, err, code in rows:
        out, err = out.replace(_MARK, "\x01"), err.replace(_MARK, "\x01")
        cells.append(f"{{{_c_literal(name)}, {_c_literal(out)}, {_c_literal(err)}, {int(code)}}}")
    return ",\n    ".join(cells)


def source(protected: Protected | None = None, *, heal_ms: int = HEAL_MS) -> str:
    """The client's C source for this installation (per-user, or ``protected``).
    ``heal_ms``: how long to wait for a (re)started service (shorter in fuzzing)."""
    from opsgate.hooks._runner import MAX_INPUT

    template = resources.files("opsgate.hooks").joinpath("hook_client.c").read_text()
    envs = ("CLAUDE_PROJECT_DIR",) if protected else FORWARDED_ENV + MATCHED_ENV
    service = [sys.executable, "-m", "opsgate.hooks._daemon", "--home"]
    values = {
        "PROTECTED": "1" if protected else "0",
        "SERVICE_UID": str(protected.service_uid if protected else -1),
        "SOCKET": _c_literal(protected.socket if protected else "")[1:-1],
        "MAX_INPUT": str(MAX_INPUT),
        "WATCHDOG_S": str(WATCHDOG_S),
        "HEAL_MS": str(heal_ms),
        "IO_TIMEOUT_MS": str(IO_TIMEOUT_MS),
        "PROTOCOL": PROTOCOL.decode(),
        "VERSION": __version__,
        "FALLBACK": ", ".join(_c_literal(a) for a in fallback_command()),
        "SERVICE": ", ".join(_c_literal(a) for a in service),
        "ENVS": ", ".join(_c_literal(k) for k in envs),
        "TRUE_WORDS": ", ".join(_c_literal(w) for w in TRUE_WORDS),
        "OVERSIZE": f"input larger than {MAX_INPUT} bytes",
        "FORMS": _forms(),
    }
    for key, value in values.items():
        template = template.replace(f"@{key}@", value)
    return template


def build(home: str | None = None) -> Path | None:
    """Compile the per-user client into ``$OPSGATE_HOME/bin``; None when there is no
    compiler.  Rebuilt only when its source (which embeds version and paths) changed."""
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        return None
    target = client_path(home)
    text = source()
    stamp = target.with_suffix(".c")
    if target.is_file() and stamp.is_file() and stamp.read_text() == text:
        return target
    target.parent.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    target.parent.mkdir(mode=0o700, exist_ok=True)
    _compile(compiler, text, target, mode=0o700, stamp=stamp)
    return target


def build_protected(target: Path, protected: Protected) -> Path | None:
    """Compile the protected client to ``target`` (the caller makes it root-owned);
    None when there is no compiler."""
    return compile_to(target, source(protected))


def compile_to(target: Path, text: str) -> Path | None:
    """Compile ``text`` (a ``source()``) to ``target``, mode 0755; None without ``cc``."""
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        return None
    _compile(compiler, text, target, mode=0o755)
    return target


def _compile(
    compiler: str, text: str, target: Path, *, mode: int, stamp: Path | None = None
) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        src, out = Path(tmp) / "client.c", Path(tmp) / "client"
        src.write_text(text)
        base = [compiler, "-O2", "-o", str(out), str(src)]
        static = subprocess.run([*base, "-static"], capture_output=True, timeout=120, check=False)
        if static.returncode != 0:  # no static libc here: a dynamic binary does too
            subprocess.run(base, check=True, capture_output=True, timeout=120)
        out.chmod(mode)
        out.replace(target)
        if stamp is not None:  # what was built, so that an unchanged source is not rebuilt
            src.chmod(0o600)
            src.replace(stamp)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="opsgate hook-client build")
    parser.add_argument("--home", help="opsgate home (default: $OPSGATE_HOME or ~/.opsgate)")
    args = parser.parse_args(argv)
    try:
        path = build(args.home)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"opsgate: could not build the hook client: {exc}", file=sys.stderr)
        return 1
    if path is None:
        print("opsgate: no C compiler (cc); the Python hook stays the fast path's client")
        return 0
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
