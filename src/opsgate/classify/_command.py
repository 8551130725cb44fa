"""The shape every command family handler sees: one simple command, already
unwrapped from sudo/env/timeout/…, with its words resolved as far as the parser can.

A family handler is ``(Command, Context) -> list[Finding]``.  Handlers are pure:
no I/O except through the Context, which the shell classifier provides.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from opsgate.models import Environment, Finding

__all__ = ["Arg", "Command", "Context", "Handler", "Stdin", "first_operand"]


@dataclass(frozen=True, slots=True)
class Arg:
    """One word.  ``value`` is expanded as far as known: quotes removed, escapes
    decoded, known variables substituted; an unknown expansion keeps its source
    text (``$DIR``).  ``static`` is True only when nothing was left unexpanded."""

    value: str
    static: bool = True

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Stdin:
    """What reaches a command's standard input, when the parser can see it.

    ``text`` is the literal payload (a here-doc, a here-string, ``echo '…' |``),
    or None when it is produced at run time.  ``source`` names the producer:
    ``heredoc``, ``herestring``, ``pipe:echo``, ``pipe:curl``, ``file:/path`` …
    ``untrusted`` marks payloads from the network or a decoder (curl, base64 -d).
    ``names``: for a producer of file names known only at run time (``find ~/.ssh``),
    the ones that matter for secrets: credentials files, and directories ending in
    ``/`` whose every file it lists (``_pipes_names``).
    """

    text: str | None
    source: str
    untrusted: bool = False
    names: tuple[str, ...] = ()
    # For a listing of files (``find . -name '*.pyc'``, ``ls *.tmp``, ``git ls-files``):
    # the directories its names are in, so a program given them (``xargs rm -f``) is
    # judged there (``_pipes_names.listing_roots``).
    roots: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Command:
    """A simple command after unwrapping.  ``name`` is the canonical program name
    (basename, quoting and backslash tricks removed, ``.exe`` dropped); ``path`` is
    the program as written when it names a file (``./fix.sh``, ``/opt/x/bin/y``)."""

    name: str
    args: tuple[Arg, ...]
    text: str
    env: Mapping[str, str] = field(default_factory=dict)
    stdin: Stdin | None = None
    cwd: str | None = None
    path: str | None = None
    # Derived from ``args`` once: handlers and the cross-cutting checks ask for the
    # words and flags of the same command a dozen times.  Not part of its value.
    _words: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _flags: frozenset[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_words", tuple(a.value for a in self.args))
        object.__setattr__(self, "_flags", None)

    @property
    def words(self) -> tuple[str, ...]:
        return self._words

    def flags(self) -> set[str]:
        """Every flag present, short clusters split: ``-rf`` gives ``-r`` and ``-f``;
        ``--context=prod`` gives ``--context``.  Stops at ``--``."""
        return set(self._flag_set())

    def _flag_set(self) -> frozenset[str]:
        found = self._flags
        if found is None:
            found = self._find_flags()
            object.__setattr__(self, "_flags", found)
        return found

    def _find_flags(self) -> frozenset[str]:
        found: set[str] = set()
        for word in self.words:
            if word == "--":
                break
            if word.startswith("--"):
                found.add(word.split("=", 1)[0])
            elif word.startswith("-") and len(word) > 1 and not word[1].isdigit():
                head = word.split("=", 1)[0]
                found.add(head)
                if "-" not in head[1:] and len(head) <= 8:
                    # A cluster of short flags (-rf); -auto-approve is one long flag.
                    found.update(f"-{ch}" for ch in head[1:] if ch.isalpha())
        return frozenset(found)

    def has(self, *names: str) -> bool:
        """True when any of the flags in ``names`` is present (``-f``, ``--force``)."""
        present = self._flag_set()
        return any(n in present for n in names)

    def option(self, *names: str) -> str | None:
        """The value of a matching option: ``--ns=x``, ``--ns x``, ``-n x``, ``-nx``.
        Given more than once, the last: what getopt, pflag, argparse and Go's flag
        package all keep (``--context staging --context prod`` acts on prod)."""
        found: str | None = None
        words = self.words
        last = len(words) - 1
        dashed = all(name[:1] == "-" for name in names)
        for i, word in enumerate(words):
            if word == "--":
                break
            if dashed and word[:1] != "-":
                continue  # most words: no option starts here
            for name in names:
                if word == name and i < last:
                    found = words[i + 1]
                    break
                if name.startswith("--") and word.startswith(name + "="):
                    found = word[len(name) + 1 :]
                    break
                if (
                    len(name) == 2
                    and len(word) > 2
                    and word[1:].isalpha()
                    and word.endswith(name[1])
                    and name[1] not in word[1:-1]
                    and i < last
                ):
                    # A cluster ending in the option: `curl -so FILE`, `tar -xzf FILE`.
                    found = words[i + 1]
                    break
                if (
                    len(name) == 2
                    and not name.startswith("--")
                    and word.startswith(name)
                    and len(word) > 2
                    and not word.startswith("--")
                ):
                    value = word[2:]
                    # `-n=prod` (pflag style) is `prod`; `cut -d=` is the delimiter `=`.
                    found = value[1:] if value.startswith("=") and len(value) > 1 else value
                    break
        return found

    def options(self, *names: str) -> list[str]:
        """Every value of a repeatable option (``-e A -e B``)."""
        values: list[str] = []
        words = self.words
        for i, word in enumerate(words):
            for name in names:
                if word == name and i + 1 < len(words):
                    values.append(words[i + 1])
                elif name.startswith("--") and word.startswith(name + "="):
                    values.append(word[len(name) + 1 :])
        return values

    def positionals(self, takes_value: Iterable[str] = ()) -> list[Arg]:
        """Arguments that are not flags, skipping the values of ``takes_value``
        options.  Everything after ``--`` is positional."""
        valued = set(takes_value)
        out: list[Arg] = []
        skip = False
        after_dashdash = False
        for arg in self.args:
            word = arg.value
            if skip:
                skip = False
                continue
            if after_dashdash:
                out.append(arg)
            elif word == "--":
                after_dashdash = True
            elif word.startswith("-") and len(word) > 1:
                if word in valued:
                    skip = True
            else:
                out.append(arg)
        return out

    def after(self, marker: str) -> tuple[Arg, ...]:
        """The arguments after the first ``marker`` word (e.g. ``--`` or ``exec``)."""
        words = self.words
        if marker in words:
            return self.args[words.index(marker) + 1 :]
        return ()

    def subcommand(self, takes_value: Iterable[str] = (), depth: int = 1) -> tuple[str, ...]:
        """The first ``depth`` positional words (``kubectl rollout restart`` → 2)."""
        return tuple(a.value for a in self.positionals(takes_value)[:depth])


def first_operand(
    words: Sequence[str], takes_value: Collection[str]
) -> tuple[str | None, list[str]]:
    """The first word that is no option or option value, and the words after it: a
    program's own target and its arguments (``spark-submit … app.py ARGS``, ``deno
    task … NAME ARGS``), which are not the program's options."""
    i = 0
    while i < len(words):
        word = words[i]
        if word in takes_value:
            i += 2
        elif word.startswith("-"):
            i += 1
        else:
            return word, list(words[i + 1 :])
    return None, []


class Context(Protocol):
    """What a handler may ask of the classifier.  Everything here is bounded."""

    @property
    def project_dir(self) -> str | None: ...

    @property
    def home(self) -> str: ...

    @property
    def remote(self) -> str | None:
        """The remote host/pod when classifying inside ``ssh host '…'`` etc."""
        ...

    def classify_shell(
        self,
        script: str,
        *,
        via: str,
        remote: str | None = None,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> list[Finding]:
        """Classify a nested script (``bash -c``, ``ssh host '…'``, here-doc to sh)."""
        ...

    def environment_of(self, target: str) -> tuple[Environment, str] | None:
        """Inventory and name heuristics: (environment, where it came from), or None."""
        ...

    def git_branch(self, cwd: str | None) -> str | None:
        """The checked-out branch of the repository at ``cwd``, if it can be read."""
        ...

    def read_text(self, path: str, cwd: str | None) -> str | None:
        """A small readable file's text (``psql -f FILE``), else None."""
        ...

    def charge(self, steps: int) -> None:
        """Count work a handler does outside the walker (parsing SQL) against the
        decision's work budget; overrun raises (→ deny)."""
        ...


Handler = Callable[[Command, Context], list[Finding]]


def iter_handlers(tables: Iterable[Mapping[str, Handler]]) -> Iterator[tuple[str, Handler]]:
    for table in tables:
        yield from table.items()
