"""``deno run`` inside Deno's permission sandbox: what the script may change is what
its flags allow.

Deno denies every write, process, network, FFI, environment and system call that
its flags do not grant.  A run that grants writing only to build outputs or scratch
space of the project (``--allow-write=dist``) and nothing of the others can change
nothing else, whatever its code does; the writes its code makes (``Deno.writeTextFile``,
``Deno.mkdir``), which opsgate does not model one by one, are then that local work.
The script's other findings stand (a secret it reads, code it fetches).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify._paths_zones import Zone
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["within_sandbox"]

# Grants that reach past the project's outputs: processes, the network, native code,
# the environment (secrets), the system, everything.
_WIDE = ("-A", "--allow-all", "--allow-run", "-N", "--allow-net", "--allow-ffi", "-E",
         "--allow-env", "-S", "--allow-sys", "--allow-scripts",
         "--unsafely-ignore-certificate-errors")  # fmt: skip
_WRITE = ("-W", "--allow-write")
_OUTPUT_ZONES = frozenset({Zone.PROJECT_DISPOSABLE, Zone.TEMP})


def within_sandbox(cmd: Command, w: Walker, found: list[Finding]) -> list[Finding]:
    """``found`` without the unmodelled-effect findings a write-to-outputs sandbox bounds."""
    if cmd.name != "deno" or not _sandboxed(cmd, w):
        return found
    return [f for f in found if f.category != "unknown.interpreter"]


def _sandboxed(cmd: Command, w: Walker) -> bool:
    words = list(cmd.words)
    script = next((i for i, word in enumerate(words[1:], 1) if not word.startswith("-")), None)
    flags = words[1:script] if script is not None else words[1:]
    if any(f == wide or f.startswith(wide + "=") for f in flags for wide in _WIDE):
        return False
    if any(f.startswith(("--config", "-c")) for f in flags):
        return False  # a configuration may hold permission sets
    writes = [f for f in flags if f.split("=", 1)[0] in _WRITE]
    for flag in writes:
        scoped = flag.split("=", 1)[1] if "=" in flag else ""
        if not scoped:
            return False  # ``--allow-write`` alone: anywhere
        for path in scoped.split(","):
            full = w.workspace.expand(path, cmd.cwd or w.scope.cwd)
            if full is None or w.workspace.zone(full) not in _OUTPUT_ZONES:
                return False
    return True
