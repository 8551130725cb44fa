"""JavaScript that works in a fresh temporary directory: ``const d = fs.mkdtempSync(…)``.

``fs.rmSync(d, {recursive: true})`` deletes a path known only at run time, unless ``d``
is a directory the same code just made with ``mkdtempSync``: then it deletes that new
directory, and ``fs.writeFileSync(path.join(d, 'a'), …)`` writes inside it.  Such calls
are temp-file work, and are taken out of the code before its effects are judged
(``_interp_effects``).  Only when the name is declared once, never assigned again and
never a parameter, and the call's one path is the directory or a literal name under it
(no ``..``): ``let d = fs.mkdtempSync(…); d = os.homedir(); fs.rmSync(d)`` deletes the
home, and ``path.join(d, '..', '..')`` climbs out.
"""

from __future__ import annotations

import re

__all__ = ["without_fresh_temp_calls"]

_FRESH = re.compile(
    r"\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:await\s+)?"
    r"(?:[\w$]+\s*\.\s*)*mkdtemp(?:Sync)?\s*\("
)
# Calls with one path, the first argument, that only write or delete there.
_ONE_PATH = (r"writeFileSync|writeFile|appendFileSync|appendFile|rmSync|rm|rmdirSync|rmdir|"
             r"unlinkSync|unlink|mkdirSync|mkdir|createWriteStream|outputFileSync|outputFile|"
             r"removeSync|remove|emptyDirSync|emptyDir|ensureDirSync|ensureDir|truncateSync|"
             r"truncate")  # fmt: skip
_LITERAL = r"""(?:'[^'\\\n]*'|"[^"\\\n]*")"""


def without_fresh_temp_calls(code: str) -> str:
    """``code`` with each call that only writes or deletes inside a directory the code
    made with ``mkdtemp`` blanked out (same length, so positions stay)."""
    if "mkdtemp" not in code:
        return code
    for name in _fresh_names(code):
        code = _blank_calls(code, name)
    return code


def _fresh_names(code: str) -> list[str]:
    names = []
    for match in _FRESH.finditer(code):
        name = re.escape(match.group(1))
        declared = re.findall(rf"\b(?:const|let|var)\s+{name}\b", code)
        assigned = re.findall(
            rf"(?<![\w$.]){name}\s*(?:[-+*/%&|^]|\*\*|<<|>>>?|\?\?|&&|\|\|)?=(?![=>])", code
        )
        updated = re.search(rf"(?<![\w$.]){name}\s*(?:\+\+|--)|(?:\+\+|--)\s*{name}\b", code)
        parameter = re.search(
            rf"(?<![\w$.]){name}\s*=>|\(([^()]*[,\s(])?{name}\s*(?:[,=)][^()]*)?\)\s*(?:=>|\{{)",
            code,
        )
        if len(declared) == 1 and len(assigned) == 1 and not updated and not parameter:
            names.append(match.group(1))
    return names


def _blank_calls(code: str, name: str) -> str:
    n = re.escape(name)
    under = rf"{n}|path\s*\.\s*join\s*\(\s*{n}\s*(?:,\s*{_LITERAL}\s*)*\)|`\$\{{{n}\}}[^`$]*`"
    call = re.compile(rf"(?<![\w$])(?:[\w$]+\s*\.\s*)*(?:{_ONE_PATH})\s*(\()\s*(?:{under})\s*[,)]")
    out = code
    for match in call.finditer(code):
        if ".." in match.group(0):
            continue
        end = _closing(code, match.start(1))
        if end is not None:
            out = out[: match.start()] + " " * (end + 1 - match.start()) + out[end + 1 :]
    return out


def _closing(code: str, start: int) -> int | None:
    """The index of the bracket that closes the one at ``start`` (strings skipped)."""
    depth = 0
    quote = ""
    i = start
    while i < len(code):
        ch = code[i]
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
            if depth == 0:
                return i
        i += 1
    return None
