"""``node --test [PATH…]``: Node's own test runner runs test files, not a REPL.

Given no paths it searches the working directory for the files its default patterns
name (``*.test.js``, ``*-test.mjs``, ``test-*.cjs``, ``test.js``, any script under a
``test`` directory; ``node_modules`` excluded), and runs each in its own process; given
paths, it runs those files, the test files below a directory, or a glob's matches.
Each file is judged as Node code, like ``node FILE`` (``_run_interp``).  Files the
listing cannot name (a tree too large, no way to look) make the command ``unknown``.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command, Context
from opsgate.classify._run_files import judge, load
from opsgate.classify._run_listing import GLOB_CHARS, collected, glob_files
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["node_test_findings", "runs_tests"]

_EXTENSIONS = ("js", "cjs", "mjs", "ts", "cts", "mts")
# Node's default test file names (``--test`` without paths), per extension.
_TEST_NAMES = tuple(
    pattern.format(ext)
    for ext in _EXTENSIONS
    for pattern in ("*.test.{}", "*-test.{}", "*_test.{}", "test-*.{}", "test.{}")
)
_SCRIPTS = tuple(f"*.{ext}" for ext in _EXTENSIONS)
# How many files of a large tree are judged: all exact names, and the newest others
# (a file planted or edited for this run is among them), as pytest's collection.
_NEWEST = 24
# Options of node that take the next word (``--test-name-pattern x``).
_VALUED = frozenset({"-r", "--require", "--import", "--loader", "--experimental-loader",
                     "-C", "--conditions", "--env-file", "--test-name-pattern",
                     "--test-skip-pattern", "--test-reporter", "--test-reporter-destination",
                     "--test-concurrency", "--test-timeout", "--test-shard",
                     "--input-type", "--title", "--inspect-port"})  # fmt: skip


def runs_tests(cmd: Command) -> bool:
    """``--test`` among node's own options (before any script path)."""
    words = cmd.words
    i = 0
    while i < len(words) and words[i].startswith("-") and words[i] != "--":
        if words[i] == "--test":
            return True
        i += 2 if words[i] in _VALUED else 1
    return False


def node_test_findings(cmd: Command, ctx: Context) -> list[Finding]:
    """The test files ``node --test`` runs, each judged as Node code."""
    from opsgate.classify.shell import Walker

    if not isinstance(ctx, Walker) or ctx.remote is not None:
        return [unknown("node --test runs test files opsgate cannot read here", cmd.text)]
    w = ctx
    start = cmd.cwd or w.scope.cwd or w.workspace.project or "/"
    operands = _operands(cmd.args)
    if any(not a.static for a in operands):
        return [unknown("node --test runs files named only at run time", cmd.text)]
    files: dict[str, None] = {}
    for target in [a.value for a in operands] or ["."]:
        found = _files_for(w, target, start)
        if found is None:
            why = f"node --test runs test files under {target} that opsgate cannot list"
            return [unknown(why + "; name the test files to have them judged", cmd.text)]
        files.update(dict.fromkeys(found))
    findings: list[Finding] = []
    for path in files:
        loaded = load(w, path, None)
        findings += judge(w, loaded, "node", where=f"node --test runs {loaded.shown}", cwd=start)
    return findings


def _operands(args: tuple[Arg, ...]) -> list[Arg]:
    out: list[Arg] = []
    i = 0
    while i < len(args):
        word = args[i].value
        if word == "--":
            return out + list(args[i + 1 :])
        if word.startswith("-") and word != "-":
            i += 2 if word in _VALUED else 1
            continue
        out.append(args[i])
        i += 1
    return out


def _files_for(w: Walker, target: str, start: str) -> tuple[str, ...] | None:
    """A file as itself, a glob's matches, a directory's test files; None: unknown."""
    if GLOB_CHARS & set(target):
        return glob_files(w, target, start)
    full = w.workspace.expand(target, start)
    if full is None:
        return None
    kind = w.session.files.kind(full)
    if kind != "dir":
        return (full,)  # a file, or a missing one (judged as not there)
    named = collected(w, full, _TEST_NAMES, recursive=True, newest=_NEWEST)
    scripts = collected(w, full, _SCRIPTS, recursive=True, newest=_NEWEST)
    if named is None or scripts is None:
        return None
    under_test = [p for p in scripts if "/test/" in "/" + posixpath.relpath(p, full)]
    return tuple(sorted({*named, *under_test}))
