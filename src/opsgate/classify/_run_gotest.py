"""What ``go test`` runs before any test: ``TestMain`` and the packages' ``init()``.

``go test ./...`` compiles each package with its ``*_test.go`` files into a test
binary and runs it.  Before a single test the binary runs every ``init()`` of the
package (its own files and its test files) and then ``TestMain(m)``, when there is
one, which decides whether the tests run at all.  Those functions are judged as a
program's code (``_compiled_effects``); the tests themselves are not (they work in
``t.TempDir()`` with paths known only at run time, and their names say what they
test).  Packages are listed as ``go test`` lists them: ``.`` by default, ``DIR/...``
recursively (never inside ``vendor`` or ``testdata``).  A package tree opsgate cannot
list is ``unknown``.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command, Context
from opsgate.classify._run_files import Code, judge, judge_code, load
from opsgate.classify._run_listing import collected
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["go_test"]

_VALUED = frozenset({"-run", "-skip", "-bench", "-count", "-cpu", "-parallel", "-timeout",
                     "-tags", "-ldflags", "-gcflags", "-o", "-exec", "-mod", "-modfile", "-p",
                     "-coverprofile", "-coverpkg", "-covermode", "-benchtime", "-C",
                     "-cpuprofile", "-memprofile", "-blockprofile", "-outputdir",
                     "-shuffle", "-fuzz", "-fuzztime", "-list", "-vet"})  # fmt: skip
# ``-list`` and ``-c`` (only compile) and ``-n`` (only print) run nothing.
_NOT_RUN = frozenset({"-c", "-n", "-list", "-h", "-help", "--help"})
_ENTRY = re.compile(r"(?m)^func\s+(?:TestMain\s*\(\s*\w+\s+\*testing\.M\s*\)|init\s*\(\s*\))")
_MAX_FILES = 48


def go_test(cmd: Command, ctx: Context) -> list[Finding]:
    """The ``init()`` and ``TestMain`` functions ``go test`` (``cmd``) runs."""
    from opsgate.classify.shell import Walker

    w = ctx if isinstance(ctx, Walker) and ctx.remote is None else None
    words = [a for a in cmd.positionals(_VALUED)]
    if w is None or words[:1] == [] or words[0].value != "test" or _NOT_RUN & set(cmd.words):
        return []
    if any(a.value.split("=", 1)[0] in _NOT_RUN for a in cmd.args):
        return []
    start = cmd.cwd or w.scope.cwd or w.workspace.project
    if start is None:
        return []
    if cmd.option("-C"):
        start = w.workspace.expand(cmd.option("-C") or ".", start) or start
    packages = [a.value for a in words[1:] if a.static and not a.value.startswith("-")]
    findings: list[Finding] = []
    files: list[str] = []
    for pkg in [p for p in packages if "=" not in p] or ["."]:
        listed = _files(w, pkg, start)
        if listed is None:
            why = f"go test {pkg}: Go files opsgate cannot list"
            return [unknown(why + "; name the package directories to have them judged", cmd.text)]
        files += [f for f in listed if f not in files]
    for path in files[:_MAX_FILES]:
        findings += _entries(w, path, start)
    return findings


def _files(w: Walker, pkg: str, start: str) -> tuple[str, ...] | None:
    """The Go files of the packages ``pkg`` names, or None when they cannot be listed;
    a package that is not in the project (``example.com/x``) is not read here."""
    if not pkg.startswith((".", "/")):
        return ()
    recursive = pkg == "..." or pkg.endswith("/...")
    base = pkg.removesuffix("...").rstrip("/") or "."
    if base.endswith(".go"):
        full = w.workspace.expand(base, start)
        return (full,) if full else ()
    full = w.workspace.expand(base, start)
    if full is None:
        return ()
    listed = collected(w, full, ("*.go",), recursive=recursive)
    if listed is None:
        return None
    skip = ("/vendor/", "/testdata/", "/node_modules/")
    return tuple(p for p in listed if not any(s in p[len(full) :] + "/" for s in skip))


def _entries(w: Walker, path: str, start: str) -> list[Finding]:
    loaded = load(w, path, None)
    if loaded.state == "missing":
        return []
    if loaded.text is None:
        return judge(w, loaded, None, where="go test", cwd=start)
    findings: list[Finding] = []
    for match in _ENTRY.finditer(loaded.text):
        body = _function(loaded.text, match.end())
        line = 1 + loaded.text.count("\n", 0, match.start())
        code = Code(loaded.path, loaded.shown, body, "go-program", key=f"go-test:{line}",
                    first_line=line)  # fmt: skip
        name = "TestMain" if "TestMain" in match.group(0) else "init()"
        where = f"go test runs {name} of {loaded.shown}"
        findings += judge_code(w, code, where=where, cwd=posixpath.dirname(loaded.path))
    return findings


def _function(text: str, start: int) -> str:
    """The function whose header ends at ``start``, up to its closing brace.  Braces
    in strings and comments are counted too: an unbalanced one ends the body early or
    late, so a little less or more of the file is judged."""
    opening = text.find("{", start)
    if opening < 0:
        return ""
    depth = 0
    for i in range(opening, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[opening : i + 1]
    return text[opening:]
