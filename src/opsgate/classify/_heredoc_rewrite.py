"""Here-docs the bash grammar cannot read, rewritten as the here-strings they equal.

tree-sitter-bash fails on two forms bash accepts: a partly quoted delimiter
(``cat <<E"O"F``) and two here-docs on one line (``cat <<'A' > a; cat <<'B' > b``).
A parse error is ``unknown``, so ordinary commands that write two files would need a
person.  When (and only when) the grammar fails, this module reads the here-docs as
bash does, line by line, and gives the walker the same command with each here-doc
replaced by a here-string holding its body: ``<<'EOF'`` becomes ``<<<'body'`` and an
unquoted ``<<EOF`` becomes ``<<<"body"``, where the same expansions run.

Anything it is not sure of (a quote left open at the end of a line, a line that
continues with a backslash, ``$(``, backquotes or arithmetic on a line with a
here-doc, a delimiter with ``$``, a body that never ends, an unquoted body with a
double quote) leaves the command as it was: ``unknown``.
"""

from __future__ import annotations

__all__ = ["heredocs_as_strings"]

_SPACES = " \t"
_WORD_END = " \t;&|<>()\n"


def heredocs_as_strings(script: str) -> str | None:
    """``script`` with every here-doc written as a here-string, or None when it has
    none or cannot be rewritten with certainty."""
    lines = script.split("\n")
    out: list[str] = []
    i = 0
    changed = False
    while i < len(lines):
        line = lines[i]
        i += 1
        docs = _operators(line)
        if docs is None:
            return None
        if not docs:
            out.append(line)
            continue
        pieces: list[str] = []
        last = 0
        for start, end, delimiter, quoted, strip_tabs in docs:
            body: list[str] = []
            while True:
                if i >= len(lines):
                    return None  # no closing delimiter: bash would read to the end
                text = lines[i]
                i += 1
                if (text.lstrip("\t") if strip_tabs else text) == delimiter:
                    break
                body.append(text.lstrip("\t") if strip_tabs else text)
            literal = _here_string("\n".join(body), quoted)
            if literal is None:
                return None
            pieces += [line[last:start], literal]
            last = end
        pieces.append(line[last:])
        out.append("".join(pieces))
        changed = True
    return "\n".join(out) if changed else None


def _here_string(body: str, quoted: bool) -> str | None:
    if quoted:
        return "<<< '" + body.replace("'", "'\\''") + "'"
    if '"' in body or "\\\n" in body + "\n":
        # Inside $(…) a quote means something else than in "…"; a line ending in a
        # backslash joins the next one, delimiter included, before bash compares it.
        return None
    return '<<< "' + body + '"'


_Doc = tuple[int, int, str, bool, bool]  # start, end, delimiter, quoted, strip tabs


def _operators(line: str) -> list[_Doc] | None:
    """Each here-doc operator of one line, outside quotes and comments; None when the
    line is one this module does not model."""
    docs: list[_Doc] = []
    quote = ""
    i = 0
    n = len(line)
    while i < n:
        ch = line[i]
        if quote == "'":
            if ch == "'":
                quote = ""
        elif ch == "\\":
            if i + 1 >= n:
                return None  # continues on the next line
            i += 1
        elif quote == '"':
            if ch == '"':
                quote = ""
            elif _substitution(line, i):
                return None
        elif ch in "'\"":
            quote = ch
        elif _substitution(line, i):
            return None
        elif line.startswith("<<<", i):
            i += 3  # a here-string already
            continue
        elif ch == "(" and line[i + 1 : i + 2] == "(":
            return None  # (( x << 2 )): arithmetic, not a here-doc
        elif ch == "#" and (i == 0 or line[i - 1] in _SPACES + ";&|("):
            break  # a comment
        elif line.startswith("<<", i):
            doc = _delimiter(line, i)
            if doc is None:
                return None
            docs.append(doc)
            i = doc[1]
            continue
        i += 1
    if quote:
        return None  # a quote open at the end of the line
    return docs


def _substitution(line: str, i: int) -> bool:
    """``$(…)``, ``$[…]`` or a backquote starts at ``i``."""
    return line[i] == "`" or (line[i] == "$" and line[i + 1 : i + 2] in ("(", "["))


def _delimiter(line: str, op: int) -> _Doc | None:
    i = op + 2
    strip_tabs = line.startswith("-", i)
    if strip_tabs:
        i += 1
    while i < len(line) and line[i] in _SPACES:
        i += 1
    text: list[str] = []
    quoted = False
    quote = ""
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == quote:
                quote = ""
            elif quote == '"' and ch in "$`\\":
                return None
            else:
                text.append(ch)
        elif ch in "'\"":
            quote, quoted = ch, True
        elif ch == "\\":
            if i + 1 >= len(line):
                return None
            quoted = True
            i += 1
            text.append(line[i])
        elif ch == "$" or ch == "`":
            return None
        elif ch in _WORD_END:
            break
        else:
            text.append(ch)
        i += 1
    if quote or not text:
        return None
    return op, i, "".join(text), quoted, strip_tabs
