"""Commands an infrastructure tool's project file tells it to run on this machine.

``terraform plan`` runs the programs of ``data "external"`` sources, terragrunt its
``before_hook``s, helmfile its release hooks, skaffold its build hooks, kustomize its
exec functions, tilt its Tiltfile's ``local`` commands — under verbs that change
nothing remote.  Each such command is a program and its arguments (or a shell line)
written in a project file: it is judged as the command line it is, with the shell
classifier, and its findings name the file and line (``_run_files.judge_code``).  A
part only known when the tool runs (a template, a variable) is a word whose value is
unknown (``RUNTIME``), so a program named that way is ``unknown``.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING

from opsgate.classify._command import Context
from opsgate.classify._run_files import Code, Loaded, judge_code
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["MAX_COMMANDS", "RUNTIME", "argv_line", "judge_line", "shell_line", "walker"]

RUNTIME = "\x00"  # a piece of a word known only when the tool runs
_VALUE = '"$RUNTIME_VALUE"'  # how such a piece reads to the shell classifier: unknown
MAX_COMMANDS = 48  # commands judged from one file


def walker(ctx: Context) -> Walker | None:
    """The walker of a command run on this machine, else None (nothing to read)."""
    from opsgate.classify.shell import Walker

    return ctx if isinstance(ctx, Walker) and ctx.remote is None else None


def argv_line(argv: Sequence[object]) -> str | None:
    """A program and its arguments as one shell line (no shell runs it: every word is
    quoted); None when an element is not a word (a map, a list)."""
    words = []
    for item in argv:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            return None
        words.append(_word(str(item)))
    return " ".join(words) if words else None


def _word(text: str) -> str:
    if RUNTIME not in text:
        return shlex.quote(text)
    pieces = text.split(RUNTIME)
    return "".join(
        (shlex.quote(p) if p else "") + (_VALUE if i < len(pieces) - 1 else "")
        for i, p in enumerate(pieces)
    )


def shell_line(text: str) -> str:
    """A shell line written in a file, with its run-time pieces unknown."""
    return text.replace(RUNTIME, "$RUNTIME_VALUE")


def judge_line(
    w: Walker, loaded: Loaded, line: str, *, where: str, cwd: str | None, anchor: str = ""
) -> list[Finding]:
    """Findings for the command ``line`` that ``loaded`` names (near ``anchor``, for the
    line number), labelled ``where``."""
    text = loaded.text or ""
    probe = (anchor or line).strip().split("\n", 1)[0][:60]
    at = text.find(probe) if probe else -1
    first = 1 + text.count("\n", 0, at) if at >= 0 else 1
    code = Code(loaded.path, loaded.shown, line, "shell", key=f"{where}:{line}", first_line=first)
    return judge_code(w, code, where=where, cwd=cwd)
