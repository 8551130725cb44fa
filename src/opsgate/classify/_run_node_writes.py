"""A Node build script's writes and deletions of paths it names: judged by the path.

``fs.writeFileSync('dist/index.html', …)``, ``fs.mkdirSync(path.join(__dirname, '..',
'src'), …)``: a generator or build script writing its output.  When the path is a
literal, ``__dirname``, ``process.cwd()``, ``path.join``/``resolve``/``dirname`` of
those, or a name declared once (never reassigned) as one of them, the call is judged
as a write to that path (inside the project it is ordinary work; a credentials file,
an rc file or a place outside the project is what the filesystem family says) and
taken out of the code before its other effects are judged (``_interp_effects``),
like temp-directory work (``_interp_temp``).  Any other path stays an effect opsgate
cannot judge.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command
from opsgate.classify._interp_temp import _closing
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify._run_files import Code
    from opsgate.classify.shell import Walker

__all__ = ["project_writes"]

# Calls whose first argument is the one path they write (a file, or a directory made).
_WRITES = re.compile(
    r"(?<![\w$])(?:fs\s*\.\s*|fsp\s*\.\s*|fs\s*\.\s*promises\s*\.\s*)?"
    r"(writeFileSync|writeFile|appendFileSync|appendFile|mkdirSync|mkdir|outputFileSync|"
    r"outputFile|ensureDirSync|ensureDir|outputJsonSync|writeJsonSync|"
    r"rmSync|rmdirSync|unlinkSync|emptyDirSync|removeSync)\s*\("
)
# Of those, the ones that delete what the path names (judged as that deletion).
_DELETING = frozenset({"rmSync", "rmdirSync", "unlinkSync", "emptyDirSync", "removeSync"})
_DECLARED = re.compile(r"\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*([^;\n]+)")
_LITERAL = re.compile(r"""^(?:'([^'\\\n]*)'|"([^"\\\n]*)")$""")
_PATH_CALL = re.compile(r"^path\s*\.\s*(join|resolve|dirname)\s*\((.*)\)$", re.DOTALL)
_MAX_CALLS = 32


def project_writes(w: Walker, code: Code, cwd: str | None) -> tuple[str, list[Finding]]:
    """``code``'s text with the writes to known paths blanked (same length), and the
    findings for those writes."""
    text = code.text
    if not _WRITES.search(text):
        return text, []
    here = posixpath.dirname(code.path)
    base = cwd or w.scope.cwd or here  # relative paths are the process's, not the script's
    names = _names(text, here, base)
    out = text
    findings: list[Finding] = []
    for match in list(_WRITES.finditer(text))[:_MAX_CALLS]:
        end = _closing(text, match.end() - 1)
        if end is None:
            continue
        args = _split_args(text[match.end() : end])
        path = _resolve(args[0], names, here, base, 0) if args else None
        if path is None:
            continue
        call = text[match.start() : end + 1]
        if match.group(1) in _DELETING:
            findings += _delete(w, path, call)
        else:
            findings += _write(w, path, call)
        out = out[: match.start()] + " " * (end + 1 - match.start()) + out[end + 1 :]
    return out, findings


def _write(w: Walker, path: str, call: str) -> list[Finding]:
    from opsgate.classify.families.filesystem import _write_targets

    probe = Command("node", (), call[:200])
    return _write_targets(probe, [Arg(path)], w, "writes")


def _delete(w: Walker, path: str, call: str) -> list[Finding]:
    from opsgate.classify.families.filesystem import delete_findings

    probe = Command("node", (), call[:200])
    return delete_findings(probe, [Arg(path)], w, recursive=True)


def _names(text: str, here: str, base: str) -> dict[str, str]:
    """Names declared once, never reassigned, as a path this reading resolves."""
    found: dict[str, str] = {}
    for match in _DECLARED.finditer(text):
        name = match.group(1)
        declared = re.findall(rf"\b(?:const|let|var)\s+{re.escape(name)}\b", text)
        assigned = re.findall(rf"(?<![\w$.]){re.escape(name)}\s*[-+*/]?=(?![=>])", text)
        if len(declared) != 1 or len(assigned) != 1:
            continue
        resolved = _resolve(match.group(2).strip().rstrip(";"), found, here, base, 0)
        if resolved is not None:
            found[name] = resolved
    return found


def _resolve(expr: str, names: dict[str, str], here: str, base: str, depth: int) -> str | None:
    """The absolute path ``expr`` names, or None when this reading cannot tell."""
    expr = expr.strip()
    if depth > 8 or not expr:
        return None
    literal = _LITERAL.match(expr)
    if literal is not None:
        value = literal.group(1) if literal.group(1) is not None else literal.group(2)
        if value.startswith("~"):
            return None  # an argument the shell expanded (``node clean.js ~``): left to ``_interp``
        return posixpath.normpath(posixpath.join(base, value)) if value else None
    if expr == "__dirname":
        return here
    if re.fullmatch(r"process\s*\.\s*cwd\s*\(\s*\)", expr):
        return base
    if re.fullmatch(r"[A-Za-z_$][\w$]*", expr):
        return names.get(expr)
    call = _PATH_CALL.match(expr)
    if call is None or _closing(expr, expr.index("(")) != len(expr) - 1:
        return None
    parts = [_resolve(a, names, here, base, depth + 1) if not _LITERAL.match(a.strip())
             else _LITERAL.match(a.strip()).group(0)[1:-1]  # type: ignore[union-attr]  # matched
             for a in _split_args(call.group(2))]  # fmt: skip
    if not parts or any(p is None for p in parts):
        return None
    kind = call.group(1)
    if kind == "dirname":
        return posixpath.dirname(parts[0]) if len(parts) == 1 else None  # type: ignore[arg-type]  # checked
    joined = posixpath.join(*parts)  # type: ignore[arg-type]  # checked above
    if kind == "resolve" or not joined.startswith("/"):
        joined = posixpath.join(base, joined)
    return posixpath.normpath(joined)


def _split_args(text: str) -> list[str]:
    """Top-level comma-separated arguments (strings and brackets skipped)."""
    out: list[str] = []
    depth = 0
    quote = ""
    start = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(text[start:i])
            start = i + 1
        i += 1
    out.append(text[start:])
    return [a for a in out if a.strip()]
