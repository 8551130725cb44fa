"""Redirections and here-docs: what a command reads, and the files it writes."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from tree_sitter import Node

from opsgate.classify._autorun_shell import redirect_written
from opsgate.classify._command import Stdin
from opsgate.classify._guard_envfiles import env_file_write
from opsgate.classify._shell_nodes import _BACKTICK, _DOLLAR_PAREN, _redirect_op, _text
from opsgate.classify._shell_state import FileNote
from opsgate.classify._walker_words import WalkerWords
from opsgate.classify._words import Value, heredoc_lead

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["WalkerRedirects"]


_TO_FILE = frozenset({">", ">>", ">|"})
_SIDE = "fd:"  # marks a sink of a descriptor other than standard output


class WalkerRedirects(WalkerWords):
    """Redirections, here-docs and here-strings."""

    def _redirects(
        self, redirects: list[Node], stdin: Stdin | None, level: int
    ) -> tuple[Stdin | None, list[tuple[str, Value]], list[Node]]:
        """Input sources, output sinks, and the pipeline the grammar nests in a here-doc."""
        sinks: list[tuple[str, Value]] = []
        continuations: list[Node] = []
        for redirect in redirects:
            kind = redirect.type
            if kind == "heredoc_redirect":
                stdin = self._heredoc(redirect, level)
                for child in redirect.named_children:
                    if child.type == "file_redirect":
                        sinks.extend(self._file_redirect(child))
                    elif child.type not in ("heredoc_start", "heredoc_body", "heredoc_end"):
                        continuations.append(child)
            elif kind == "herestring_redirect":
                words = [c for c in redirect.named_children]
                value = self.resolve(words[-1]) if words else Value("", True)
                stdin = Stdin(value.text + "\n" if value.static else None, "herestring")
                self._secret_disclosure(value, "a here-string")
            elif kind == "file_redirect":
                op = _redirect_op(redirect)
                dest = redirect.child_by_field_name("destination")
                if dest is None:
                    continue
                value = self.resolve(dest)
                if op in ("<", "<>"):
                    stdin = self._read_redirect(value)
                elif op not in ("<&", ">&", "&>") or not value.text.isdigit():
                    fd = redirect.child_by_field_name("descriptor")
                    if fd is not None and _text(fd) not in ("1", "") and op in _TO_FILE:
                        # ``2>/dev/null``, ``2>err.log``: another descriptor's text goes
                        # there; standard output still reaches the pipe or substitution.
                        sinks.append((_SIDE + op, value))
                    else:
                        sinks.append((op, value))
        return stdin, sinks, continuations

    def _file_redirect(self, node: Node) -> list[tuple[str, Value]]:
        dest = node.child_by_field_name("destination")
        if dest is None:
            return []
        return [(_redirect_op(node), self.resolve(dest))]

    def _heredoc(self, redirect: Node, level: int) -> Stdin:
        start = next((c for c in redirect.named_children if c.type == "heredoc_start"), None)
        body = next((c for c in redirect.named_children if c.type == "heredoc_body"), None)
        quoted = start is not None and any(q in _text(start) for q in ("'", '"', "\\"))
        if body is None:
            return Stdin("", "heredoc")
        if quoted:
            return Stdin(heredoc_lead(body)[0] + _text(body), "heredoc")
        # An unquoted here-doc expands $(…), `…` and $VAR before the command reads it.
        raw = _text(body)
        value = self.resolver().heredoc_body(body)
        if not any(
            c.type == "command_substitution" and _text(c).startswith("`")
            for c in body.named_children
        ):
            self._backticks(raw)
        return Stdin(value.text if value.static else raw, "heredoc")

    def _backticks(self, text: str) -> None:
        """Command substitutions the grammar leaves as text inside a here-doc body."""
        for match in _BACKTICK.finditer(text):
            self.add(self.classify_shell(match.group(1), via="here-doc substitution"))
        for match in _DOLLAR_PAREN.finditer(text):
            self.add(self.classify_shell(match.group(1), via="here-doc substitution"))

    def _read_redirect(self, value: Value) -> Stdin:
        from opsgate.classify.families import secrets

        self.add(secrets.redirect_read(value.text, self))
        if not value.static:
            return Stdin(None, "file:" + value.text)
        text = self.read_text(value.text, None)
        return Stdin(text, "file:" + value.text)

    def _write_through_link(
        self, op: str, value: Value, out: Stdin | None, body: Node | None
    ) -> None:
        """``> notes.txt`` where notes.txt links to ~/.bashrc writes ~/.bashrc."""
        from opsgate.classify.families import filesystem

        full = self.workspace.expand(value.text, self.scope.cwd)
        real = self.real_path(full) if full is not None else None
        if real is not None and real != full:
            linked = Value(real, True)
            walker = cast("Walker", self)
            self.add(
                filesystem.redirect_write(op, linked, out, walker, _text(body) if body else "")
            )

    def _write_sinks(
        self, sinks: list[tuple[str, Value]], out: Stdin | None, body: Node | None
    ) -> Stdin | None:
        side = [(op[len(_SIDE) :], v) for op, v in sinks if op.startswith(_SIDE)]
        if side:
            # What another descriptor (stderr) writes there is not known text, and
            # standard output goes on: ``$(cat f 2>/dev/null || echo x)`` is f's text.
            sinks = [(op, v) for op, v in sinks if not op.startswith(_SIDE)]
            self._write_sinks(side, Stdin(None, "stderr"), body)
            if not sinks:
                return out
        if not sinks:
            return out
        from opsgate.classify.families import filesystem, secrets

        walker = cast("Walker", self)
        source = _text(body) if body else ""
        # Who wrote a file whose text is unknown: a later move into a file that runs by
        # itself judges what that command could have put in it.
        producer = source if out is not None and out.text is None else ""
        for op, value in sinks:
            self.add(filesystem.redirect_write(op, value, out, walker, source))
            if not value.static:
                continue
            if op in (">", ">>", ">|", "&>", "&>>"):
                self.add(secrets.secret_write(value.text, walker, f"{op} {value.text}", "writes"))
                self._write_through_link(op, value, out, body)
            self.add(redirect_written(walker, op, value.text, out, producer, source))
            full = self.workspace.expand(value.text, self.scope.cwd)
            if full is not None:
                self.scope.files[full] = self._written(full, op, out, producer)
                # OPSGATE_* into mise's [env], .envrc, .env: the guard's (``_guard_envfiles``).
                written = out.text if out is not None and out.text is not None else source
                self.add(env_file_write(full, written, f"{op} {value.text}"))
        return None

    def _written(self, full: str, op: str, out: Stdin | None, producer: str = "") -> FileNote:
        """What ``full`` holds after ``> full`` or ``>> full``: unknown (None) when the
        output is not knowable text, so a later step that runs it is not judged by
        what was on disk before.  ``>>`` onto a file not written in this command keeps
        what is on disk in front (read only if the file is run)."""
        text = out.text if out is not None else None
        untrusted = out.untrusted if out is not None else False
        if op != ">>" or text is None:
            return FileNote(text, untrusted, producer=producer)
        before = self.scope.files.get(full)
        if before is None:
            return FileNote(text, untrusted, appends_to_disk=True, producer=producer)
        if before.text is None or before.origin is not None or before.appends_to_disk:
            return FileNote(None, untrusted or before.untrusted, producer=producer)
        return FileNote(before.text + text, untrusted or before.untrusted, producer=producer)
