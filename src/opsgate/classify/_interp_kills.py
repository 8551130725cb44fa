"""Python that signals every process: ``os.kill`` over every pid in ``/proc``.

``[os.kill(int(p), 9) for p in os.listdir('/proc') if p.isdigit()]`` is the shell's
``kill $(ps -eo pid=)``; ``for p in psutil.process_iter(): p.kill()`` the same through
psutil; ``os.kill(-1, 9)`` signals every process the user may signal.  A script that
both lists every process and sends signals is judged a mass kill, like the shell's
(``families._system_kills``): nothing in it names what it stops.
"""

from __future__ import annotations

import ast

from opsgate.models import Effect, Finding, Impact

__all__ = ["python_mass_kill"]

# Calls that send a signal to a pid, and methods that do so on a psutil process.
_SIGNAL_CALLS = frozenset({"os.kill", "os.killpg", "kill", "killpg"})
_SIGNAL_METHODS = frozenset({"kill", "terminate", "send_signal", "suspend"})
# Calls that return every process (or every pid) on the machine.
_LISTING_CALLS = frozenset({"psutil.process_iter", "psutil.pids", "process_iter", "pids"})
_LISTERS_OF_PATHS = frozenset({"os.listdir", "os.scandir", "listdir", "scandir", "glob.glob",
                               "glob", "glob.iglob", "pathlib.Path", "Path"})  # fmt: skip


def python_mass_kill(tree: ast.AST) -> Finding | None:
    """A mass-kill finding when the module signals every process, else None."""
    lists_all = False
    signals: list[ast.Call] = []
    everyone: ast.Call | None = None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        if name in _LISTING_CALLS or (name in _LISTERS_OF_PATHS and _names_proc(node)):
            lists_all = True
        elif name in _SIGNAL_CALLS:
            signals.append(node)
            if node.args and _is_minus_one(node.args[0]):
                everyone = node
        elif isinstance(node.func, ast.Attribute) and node.func.attr in _SIGNAL_METHODS:
            signals.append(node)
    if everyone is not None:
        return _finding(everyone, "signals every process the user may signal (pid -1)")
    if lists_all and signals:
        return _finding(signals[0], "signals every process it lists")
    return None


def _finding(call: ast.Call, reason: str) -> Finding:
    return Finding("process.mass_kill", Impact.CAUTION, Effect.WRITE, ast.unparse(call)[:200],
                   reason)  # fmt: skip


def _names_proc(call: ast.Call) -> bool:
    first = call.args[0] if call.args else None
    if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
        return False
    path = first.value.rstrip("/")
    return path == "/proc" or path.startswith("/proc/[") or path.startswith("/proc/*")


def _is_minus_one(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return isinstance(node.operand, ast.Constant) and node.operand.value == 1
    return isinstance(node, ast.Constant) and node.value == -1


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""
