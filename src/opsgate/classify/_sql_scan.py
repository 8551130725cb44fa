"""Split SQL text into statements and client meta-commands.

The scanner knows quotes, dollar quotes and comments, so a keyword inside a
literal or a comment is data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["_split"]


@dataclass(frozen=True, slots=True)
class _Piece:
    text: str
    meta: bool = False  # a client command (psql ``\\d``, sqlite ``.tables``), not SQL


_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")


_GO_LINE = re.compile(r"[ \t]*GO(?:[ \t]+\d+)?[ \t]*(?:\r?\n|$)", re.IGNORECASE)


class _Scanner:
    """Splits text into statements and meta-commands the way the client would.

    Backslash escapes inside quotes exist only in MySQL/ClickHouse (and
    PostgreSQL ``E''`` strings); getting this wrong would let a statement hide
    inside what the scanner thinks is a literal, hence the per-dialect rules.
    """

    def __init__(self, text: str, dialect: str | None) -> None:
        self.text, self.dialect = text, dialect
        self.i = 0
        self.buf: list[str] = []
        self.pieces: list[_Piece] = []

    def run(self) -> list[_Piece]:
        text, n = self.text, len(self.text)
        while self.i < n:
            c = text[self.i]
            two = text[self.i : self.i + 2]
            if c in "'\"`" or (c == "[" and self.dialect == "tsql"):
                self._quoted(c)
            elif two == "--" or (c == "#" and self.dialect == "mysql"):
                self._skip_to_eol()
            elif two == "/*":
                self._block_comment()
            elif c == "$" and self.dialect in (None, "postgres") and self._dollar():
                continue
            elif c == ";":
                self._flush()
                self.i += 1
            elif c == "\\" and self.dialect != "tsql":
                self._flush()
                self._meta_to_eol()
            elif c in ".:!Gg" and self._at_line_start() and self._line_command():
                continue
            else:
                self.buf.append(c)
                self.i += 1
        self._flush()
        return self.pieces

    def _flush(self) -> None:
        stmt = "".join(self.buf).strip()
        self.buf = []
        if stmt:
            self.pieces.append(_Piece(stmt))

    def _quoted(self, quote: str) -> None:
        text, start = self.text, self.i
        close = "]" if quote == "[" else quote
        escapes = self.dialect in ("mysql", "clickhouse") or (
            quote == "'" and start > 0 and text[start - 1] in "eE"
        )
        j = start + 1
        while j < len(text):
            if escapes and text[j] == "\\":
                j += 2
                continue
            if text[j] == close:
                if text[j + 1 : j + 2] == close:  # doubled quote is an escaped quote
                    j += 2
                    continue
                break
            j += 1
        self.buf.append(text[start : j + 1])
        self.i = j + 1

    def _skip_to_eol(self) -> None:
        end = self.text.find("\n", self.i)
        self.i = len(self.text) if end < 0 else end
        self.buf.append(" ")

    def _block_comment(self) -> None:
        depth, j, text = 0, self.i, self.text
        while j < len(text):
            if text.startswith("/*", j):
                depth, j = depth + 1, j + 2
            elif text.startswith("*/", j):
                depth, j = depth - 1, j + 2
                if depth == 0:
                    break
            else:
                j += 1
        self.i = j
        self.buf.append(" ")

    def _dollar(self) -> bool:
        m = _DOLLAR_TAG.match(self.text, self.i)
        if m is None:
            return False
        end = self.text.find(m.group(), m.end())
        stop = len(self.text) if end < 0 else end + len(m.group())
        self.buf.append(self.text[self.i : stop])
        self.i = stop
        return True

    def _meta_to_eol(self) -> None:
        end = self.text.find("\n", self.i)
        end = len(self.text) if end < 0 else end
        line = self.text[self.i : end]
        sep = line.find("\\\\", 1)  # psql: ``\x \\ SELECT 1`` separates commands
        if sep > 0:
            line, end = line[:sep], self.i + sep + 2
        self.pieces.append(_Piece(line.strip(), meta=True))
        self.i = end

    def _at_line_start(self) -> bool:
        """sqlcmd reads ``GO``/``:r`` on any new line; sqlite reads dot-commands
        only when no statement is pending."""
        if self.dialect != "tsql":
            return not any(part.strip() for part in self.buf)
        j = self.i - 1
        while j >= 0 and self.text[j] in " \t":
            j -= 1
        return j < 0 or self.text[j] == "\n"

    def _line_command(self) -> bool:
        """sqlite ``.tables``, sqlcmd ``:r`` / ``!!`` / ``GO`` at the start of a line."""
        rest = self.text[self.i :].lstrip(" \t")
        offset = len(self.text) - self.i - len(rest)
        go = _GO_LINE.match(rest) if self.dialect == "tsql" else None
        if go is not None:
            self._flush()
            self.i += offset + go.end()
            return True
        lead = self.dialect == "sqlite" and rest.startswith(".")
        if not (lead or (self.dialect == "tsql" and rest.startswith((":", "!!")))):
            return False
        self._flush()
        self.i += offset
        self._meta_to_eol()
        return True


def _split(text: str, dialect: str | None) -> list[_Piece]:
    return _Scanner(text, dialect).run()
