"""``earthly +TARGET``: the Earthfile target's steps, judged as what they run.

A target's ``RUN`` lines run in a build container, like a Dockerfile's: what stays
there (its files, its packages, ``rm -rf /var/lib/apt/lists/*``) does not count, and
what reaches further (a cluster, a registry, a remote branch, a production
database) does (``_autorun._counts``, the rule for image builds).  After ``LOCALLY``
they run on this machine, where everything counts.  ``RUN --push`` lines and ``SAVE
IMAGE --push`` run only with ``earthly --push``, and then only in the goal and the
targets it reaches through ``BUILD`` (Earthly's rule), not those it uses through
``FROM``/``COPY``.  ``SAVE ARTIFACT … AS LOCAL PATH`` writes PATH here.  Targets
reached through ``FROM``, ``BUILD``, ``COPY +t/…``, ``DO`` and ``WITH DOCKER --load``
are followed in the same Earthfile or another directory's (``./dir+t``); a target of
another repository (``github.com/org/repo+t``) that the goal builds is ``unknown``.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opsgate.classify._command import Command, Context
from opsgate.classify._run_files import Code, Loaded, judge, judge_code, load, relabel
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["earthly_findings"]

_VALUED = frozenset({"-s", "--secret", "--secret-file", "--build-arg", "--platform", "--org",
                     "--sat", "--satellite", "--remote-cache", "--config", "--buildkit-host",
                     "--cache-from", "--project", "--ssh-auth-sock", "--git-username",
                     "--git-password", "--auth-token"})  # fmt: skip
_MAX_TARGETS = 64
_TARGET = re.compile(r"^([A-Za-z][\w.-]*):\s*(?:#.*)?$")
# A reference to a target: ``+t``, ``./dir+t``, ``../x+t``, ``alias+FUNC``,
# ``github.com/org/repo:tag+t`` (and ``+t/artifact`` in COPY).
_REF = re.compile(r"(?<![\w$])((?:[\w.\-/:@]*)\+[A-Za-z][\w.-]*)")
_FLAG = re.compile(r"^--?[\w-]+(?:=\S*)?\s+")


@dataclass
class _Earthfile:
    loaded: Loaded
    base: list[tuple[int, str]]  # (line, instruction) before the first target
    targets: dict[str, list[tuple[int, str]]] = field(default_factory=dict)


def earthly_findings(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify.shell import Walker

    if not isinstance(ctx, Walker) or ctx.remote is not None:
        return []
    goals, push = _goals(cmd)
    run = _Run(ctx, push, cmd.cwd or ctx.scope.cwd)
    for goal in goals:
        run.target(goal, run.cwd, pushing=push, via="GOAL")
    return run.findings + _cloud_secrets(cmd)


def _goals(cmd: Command) -> tuple[list[str], bool]:
    words, goals, i = list(cmd.words), [], 0
    while i < len(words):
        word = words[i]
        if word in _VALUED:
            i += 1
        elif not word.startswith("-") and "+" in word:
            goals.append(word)
        i += 1
    push = "--push" in words or cmd.env.get("EARTHLY_PUSH", "").lower() in ("1", "true")
    return goals, push


def _cloud_secrets(cmd: Command) -> list[Finding]:
    """``earthly secret get PATH`` prints a secret kept in Earthly Cloud."""
    words = [w for w in cmd.words if not w.startswith("-")]
    if words[:2] != ["secret", "get"]:
        return []
    return [Finding("secrets.read", Impact.CAUTION, Effect.SECRET, cmd.text[:200],
                    "earthly secret get prints a secret kept in Earthly Cloud")]  # fmt: skip


class _Run:
    def __init__(self, w: Walker, push: bool, cwd: str | None) -> None:
        self.w, self.push, self.cwd = w, push, cwd
        self.findings: list[Finding] = []
        self.seen: set[tuple[str, str, bool]] = set()
        self.files: dict[str, _Earthfile | None] = {}

    def target(self, ref: str, directory: str | None, *, pushing: bool, via: str) -> None:
        place, _, name = ref.rpartition("+")
        name = name.split("/", 1)[0]  # ``+build/bin/api``: the artifact of +build
        if place and not place.startswith((".", "/")):
            if via in ("GOAL", "BUILD"):
                reason = (
                    f"earthly builds {ref[:80]}, another repository's target opsgate cannot read"
                )
                self.findings.append(unknown(reason, ref))
            return  # a library's function or base (``DO lib+FUNC``, ``FROM org/x+base``)
        where = posixpath.normpath(posixpath.join(directory or ".", place)) if place else directory
        key = (where or "", name, pushing)
        if key in self.seen or len(self.seen) >= _MAX_TARGETS:
            return
        self.seen.add(key)
        earthfile = self._file(where)
        if earthfile is None or name not in earthfile.targets:
            return  # earthly stops: no such Earthfile or target
        steps = earthfile.base + earthfile.targets[name]
        self._steps(earthfile, name, steps, posixpath.dirname(earthfile.loaded.path), pushing)

    def _file(self, directory: str | None) -> _Earthfile | None:
        key = directory or ""
        if key not in self.files:
            loaded = load(self.w, "Earthfile", directory)
            if loaded.state == "missing":
                self.files[key] = None
            elif loaded.text is None:
                self.findings += judge(self.w, loaded, None, where="earthly", cwd=directory)
                self.files[key] = None
            else:
                self.files[key] = _parse(loaded)
        return self.files[key]

    def _steps(
        self, ef: _Earthfile, name: str, steps: list[tuple[int, str]], root: str, pushing: bool
    ) -> None:
        locally = False
        for line, text in steps:
            word, _, rest = text.partition(" ")
            word = word.upper()
            if word in ("LOCALLY", "FROM"):
                locally = word == "LOCALLY"  # FROM: a base image, back in a container
            if word in ("FROM", "COPY", "BUILD", "DO", "WITH", "IMPORT"):
                for ref in _REF.findall(rest):
                    chained = pushing and word in ("BUILD", "DO")
                    self.target(ref, root, pushing=chained, via=word)
            if word == "RUN":
                self._run(ef, name, line, rest, root, locally=locally, pushing=pushing)
            elif word == "SAVE":
                self._save(ef, name, line, rest, root, pushing=pushing)

    def _run(
        self, ef: _Earthfile, name: str, line: int, rest: str, root: str, *, locally: bool,
        pushing: bool,
    ) -> None:  # fmt: skip
        flags = []
        while _FLAG.match(rest):
            flags.append(rest.split(None, 1)[0])
            rest = _FLAG.sub("", rest, count=1)
        if "--push" in flags and not pushing:
            return  # runs only with earthly --push
        script = _exec_form(rest)
        self._judge(ef, name, line, script, root, here=locally)

    def _save(
        self, ef: _Earthfile, name: str, line: int, rest: str, root: str, *, pushing: bool
    ) -> None:
        words = rest.split()
        if words[:1] == ["IMAGE"] and "--push" in words and pushing:
            for image in [w for w in words[1:] if not w.startswith("-")][:4]:
                self._judge(ef, name, line, f"docker push {shlex.quote(image)}", root, here=True)
        if words[:1] == ["ARTIFACT"] and "LOCAL" in words:
            dest = words[words.index("LOCAL") + 1 : words.index("LOCAL") + 2]
            # Into the project (``AS LOCAL bin/api``) is the build's own output; another
            # place (``~/.ssh/authorized_keys``) is judged as the copy it is.
            for path in [p for p in dest if p.startswith(("/", "~", "$")) or ".." in p]:
                self._judge(ef, name, line, f"cp -r earthly-artifact {path}", root, here=True)

    def _judge(
        self, ef: _Earthfile, name: str, line: int, script: str, root: str, *, here: bool
    ) -> None:
        code = Code(ef.loaded.path, ef.loaded.shown, script, "shell", f"{name}:{line}", line)
        where = f"{ef.loaded.shown} target {name}"
        if here:
            self.findings += judge_code(self.w, code, where=where, cwd=root)
            return
        from opsgate.classify._autorun import Runs, Step, _counts

        step = Step(f"line {line}: RUN", script, "sh", Runs.BUILD)
        raw = self.w.classify_shell(script, via=where, cwd=root)
        self.findings += relabel([f for f in raw if _counts(f, step)], code, where)


def _exec_form(rest: str) -> str:
    """``RUN ["a", "b"]`` is the command ``a b``."""
    text = rest.strip()
    if text.startswith("["):
        import json

        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return text
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return shlex.join(value)
    return text


def _parse(loaded: Loaded) -> _Earthfile:
    """Targets and their instructions, with continuations joined; comments dropped."""
    ef = _Earthfile(loaded, [])
    current: list[tuple[int, str]] = ef.base
    lines = (loaded.text or "").split("\n")
    i = 0
    while i < len(lines):
        start, text = i + 1, lines[i]
        while text.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text.rstrip()[:-1].rstrip() + " " + lines[i].strip()
        i += 1
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        target = _TARGET.match(text) if not text[:1].isspace() else None
        if target is not None:
            current = ef.targets.setdefault(target.group(1), [])
            continue
        current.append((start, stripped))
    return ef
