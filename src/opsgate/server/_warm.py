"""Warm a long-running process up before it serves, then freeze its heap.

The classifier loads its family tables, grammars and parsers lazily, on the first
decision that needs them — right for a hook process that lives for one call, wrong
for a server, where those first requests pay for the imports and every object they
create stays for the life of the process.  Python's cyclic garbage collector then
walks all of those long-lived objects in each full (generation 2) collection: with
a loaded classifier that took up to 70 ms, a stall every request in flight waits
out — the p99 of the control plane.  ``gc.freeze()`` after warming moves everything
alive into a permanent generation the collector skips; what requests allocate is
still collected as before.
"""

from __future__ import annotations

import gc
import logging

__all__ = ["warm_up_and_freeze"]

log = logging.getLogger("opsgate.server")

# One of each kind of input the engine parses, so their modules load now.
_SAMPLES: tuple[tuple[str, dict[str, object]], ...] = (
    ("Bash", {"command": "ls -la && git status | head"}),
    ("Bash", {"command": "psql -h db.internal -c 'SELECT 1' && kubectl get pods"}),
    ("Bash", {"command": "python3 -c 'print(1)' && bash -c 'echo $(date)' <<< x"}),
    ("Bash", {"command": "redis-cli GET k; mongosh --eval 'db.x.find()'"}),
    ("PowerShell", {"command": "Get-ChildItem -Recurse | Select-Object -First 1"}),
    ("Read", {"file_path": "README.md"}),
    ("Write", {"file_path": "notes.txt", "content": "x"}),
    ("WebFetch", {"url": "https://example.com/", "prompt": "summarise"}),
    ("mcp__postgres__query", {"sql": "SELECT 1"}),
)


def warm_up_and_freeze() -> None:
    """Best effort: a failure here only costs the first requests their speed."""
    try:
        from opsgate.classify import NoFiles
        from opsgate.classify.families import handlers
        from opsgate.guard import evaluate
        from opsgate.models import Action
        from opsgate.policy.model import Policy

        handlers()
        policy = Policy()
        for tool, tool_input in _SAMPLES:
            action = Action("", tool, dict(tool_input), cwd="/", project_dir="/")
            evaluate(action, policy, files=NoFiles)  # the control plane never reads its disk
    except Exception:  # never fatal: decisions will load what they need
        log.exception("warming the classifier up failed; continuing")
    gc.collect()
    gc.freeze()
