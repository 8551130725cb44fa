"""The words of the simple command a finding came from (``approvals._undo`` and
``approvals._title`` read them to say what a command does and how to undo it).

The command is split into simple commands with ``shlex`` (nothing runs); a finding is
matched to the first of them that carries its evidence.  Bounded by ``MAX_WORDS``: a
longer command has no clauses.  Pure.
"""

from __future__ import annotations

import shlex
from collections.abc import Container, Sequence

from opsgate.classify.families._kubernetes_kubectl import KUBECTL_VALUED
from opsgate.models import Finding

__all__ = [
    "KUBE_VALUED",
    "Words",
    "objects",
    "quoted",
    "segment_of",
    "segments",
    "split",
    "unwrapped",
]

MAX_WORDS = 4000
_SEPARATORS = frozenset({";", "&&", "||", "|", "&", "\n", "(", ")", "|&", ";;"})
_WRAPPERS = frozenset({"sudo", "doas", "env", "nohup", "time", "exec", "command", "nice",
                       "ionice", "stdbuf", "chronic", "caffeinate", "timeout"})  # fmt: skip

Words = Sequence[str]
# kubectl's and helm's options that take a value.
KUBE_VALUED = frozenset(KUBECTL_VALUED) | {"--revision", "--to-revision", "--version",
                                           "--values", "--set"}  # fmt: skip


def segments(command: str) -> list[list[str]]:
    """The words of each simple command in ``command``, in order; none when it is
    longer than ``MAX_WORDS`` or its quotes do not balance."""
    lexer = shlex.shlex(command.replace("\\\n", " "), posix=True, punctuation_chars=";&|()<>\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    found: list[list[str]] = [[]]
    try:
        for count, word in enumerate(lexer):
            if count > MAX_WORDS:
                return []
            if word in _SEPARATORS:
                found.append([])
            else:
                found[-1].append(word)
    except ValueError:  # unbalanced quotes: the classifier judged it; nothing guessed here
        return []
    return [s for s in found if s]


def segment_of(
    finding: Finding, clauses: list[list[str]], taken: Container[int] = ()
) -> tuple[int, list[str]] | None:
    """The first simple command not ``taken`` carrying the finding's evidence (its
    index, and its words from the program on: an ``ssh host …`` or ``sudo`` before it
    is dropped)."""
    parsed = segments(finding.evidence.replace(":", " ", 1))
    evidence = parsed[0] if parsed else finding.evidence.split()
    if not evidence:
        return None
    program, wanted = evidence[0].rsplit("/", 1)[-1], evidence[1:7]
    for index, clause in enumerate(clauses):
        if index in taken:
            continue
        # A remote command given as one word (``ssh web-1 'sudo systemctl stop nginx'``)
        # is looked into too.
        inner = [segments(w) for w in clause if " " in w or "\n" in w]
        for words in (clause, *(s for found in inner for s in found)):
            start = next((i for i, w in enumerate(words) if w.rsplit("/", 1)[-1] == program), -1)
            joined = " ".join(words[start:]) if start >= 0 else ""
            if start >= 0 and all(w in joined for w in wanted):
                return index, unwrapped(words[start:])
    return None


def unwrapped(words: Words) -> list[str]:
    rest = list(words)
    while rest and (rest[0] in _WRAPPERS or ("=" in rest[0] and not rest[0].startswith("-"))):
        wrapper = rest.pop(0)
        while rest and rest[0].startswith("-"):
            rest.pop(0)
        if wrapper == "timeout" and rest:
            rest.pop(0)  # the duration
    if rest:
        rest[0] = rest[0].rsplit("/", 1)[-1]
    return rest


def split(args: Words, valued: frozenset[str]) -> tuple[dict[str, str], list[str]]:
    """Options (``--context prod``, ``-n=shop``) and positional words."""
    options: dict[str, str] = {}
    positional: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        if word.startswith("-") and len(word) > 1:
            name, eq, value = word.partition("=")
            if eq:
                options[name] = value
            elif name in valued and i + 1 < len(args):
                options[name] = args[i + 1]
                i += 1
            else:
                options[name] = ""
        else:
            positional.append(word)
        i += 1
    return options, positional


def quoted(*words: str) -> str:
    return " ".join(shlex.quote(w) for w in words if w)


def objects(rest: Words) -> list[tuple[str, str]]:
    """Kubernetes objects as a command names them, as (kind, name) pairs: ``deploy web
    api``, ``deploy/web svc/api``, ``deploy,svc web``; ``[(kind, "")]`` for a kind alone."""
    if not rest:
        return []
    if "/" in rest[0]:
        return [(k, n) for k, _, n in (w.partition("/") for w in rest if "/" in w)]
    kinds = rest[0].split(",")
    if len(kinds) > 1:
        return [(k, n) for k in kinds for n in rest[1:]]
    return [(rest[0], name) for name in rest[1:]] or [(rest[0], "")]
