"""From one simple command to its family handler.

Wrappers that run another command (``sudo``, ``env``, ``timeout``, ``xargs``,
``find -exec`` …) are unwrapped first, as data: each wrapper names the options
that take a value and how many positional words precede the wrapped command.
Shell built-ins that change what later commands mean (``cd``, ``alias``) update
the walker's scope; ``eval``, ``source`` and ``trap`` re-enter the classifier.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from opsgate.classify import families
from opsgate.classify._command import Command, Stdin
from opsgate.classify._cross_cutting import cross_cutting
from opsgate.classify._dispatch_builtins import _SPECIAL, track_assigned, track_positionals
from opsgate.classify._dispatch_unwrap import _STOP, _rebuild, unwrap
from opsgate.classify._dispatch_wrappers import WRAPPERS
from opsgate.classify._package_sources import PACKAGE_SOURCE_TOOLS, package_sources
from opsgate.classify._run_buildfiles import (
    BUILD_TOOLS,
    PROJECT_RUNNERS,
    build_file_findings,
    notebook_findings,
    production_run,
    tool_twins,
)
from opsgate.classify._run_js_configs import JS_TOOLS, js_tool_configs
from opsgate.classify._run_makers import note_maker
from opsgate.classify._run_notes import note_writes
from opsgate.classify._run_pytools import PROJECT_FILE_TOOLS, project_file_findings
from opsgate.classify._shell_nodes import unknown
from opsgate.classify._unknown_tools import HARMLESS_FLAGS, harmless_words
from opsgate.classify._words import Value
from opsgate.classify.families._index import INDEX

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["dispatch"]


# Reserved words the grammar sometimes leaves in front of a command (`time { …; }`).
_RESERVED = frozenset({"{", "}", "(", ")", "!", "then", "do", "else", "elif", "{}"})
_GROUPING = frozenset("{}()! ")


def dispatch(cmd: Command, w: Walker, words: list[Value]) -> None:
    """Classify ``cmd`` (unwrapping wrappers) and add its findings to the walker."""
    if cmd.name in ("shift", "set"):
        track_positionals(cmd, w)
    elif cmd.name in ("printf", "mapfile", "readarray"):
        track_assigned(cmd, w)
    for _ in range(12):
        cross_cutting(cmd, w)  # checks that apply to every program (``_cross_cutting``)
        if cmd.name == "$dynamic":
            w.add([unknown("a wrapper runs a command whose name is built at run time", cmd.text)])
            return
        if cmd.name in _RESERVED or (cmd.name and set(cmd.name) <= _GROUPING):
            rest = [
                a for a in cmd.args if a.value not in _RESERVED and not set(a.value) <= _GROUPING
            ]
            if not rest:
                return
            cmd = _rebuild(cmd, rest)
            continue
        if cmd.name in PACKAGE_SOURCE_TOOLS:  # ``npx github:u/r``, ``pip install git+…``
            w.add(package_sources(cmd, w))
        special = _SPECIAL.get(cmd.name)
        if special is not None:
            special(cmd, w)
            return
        if cmd.name in PROJECT_FILE_TOOLS:  # ``bundle exec rspec``: the Gemfile, then .rspec
            w.add(project_file_findings(cmd, w))
        inner = unwrap(cmd, w)
        if inner is None:
            break
        if inner is _STOP:
            return
        if cmd.name in ("npm", "pnpm", "yarn") and {"exec", "x"} & set(cmd.words[:3]):
            from opsgate.classify._run_npx import project_bin

            w.add(project_bin(w, inner))  # ``npm exec NAME``: the project's own bin
        cmd = inner
    if cmd.path is None and "PATH" in cmd.env:
        from opsgate.classify._run_search import searched_program

        found, unknowns = searched_program(cmd, w)
        w.add(unknowns)
        if found is not None:
            cmd = replace(cmd, path=found)
    if cmd.path is not None:
        from opsgate.classify._run_path import run_path

        w.add(run_path(cmd, w))
    if cmd.name in JS_TOOLS:
        # ``eslint .`` runs eslint.config.js, also with ``--check`` or ``--dry-run``.
        w.add(js_tool_configs(cmd, w))
    handler = families.handler_for(cmd.name)
    if handler is not None and _harmless_mode(cmd):
        return
    if handler is not None:
        w.add(handler(cmd, w))
    else:
        from opsgate.classify import _unknown_tools

        w.add(_unknown_tools.sniff(cmd, w))
    if cmd.name in BUILD_TOOLS or cmd.name in PROJECT_RUNNERS:
        w.add(build_file_findings(cmd, w))  # ``./gradlew test``: what build.gradle runs
        w.add(production_run(cmd, w))  # ``go run ./cmd/x --db postgres://…prod…``
    if cmd.name in ("jupyter", "papermill", "whenever", "dvc"):
        w.add(notebook_findings(cmd, w) + tool_twins(cmd, w))
    _note_download(cmd, w)
    _note_extraction(cmd, w)
    note_writes(cmd, w)
    note_maker(cmd, w)  # a script missing now may be made by this step (``_run_makers``)


def _harmless_mode(cmd: Command) -> bool:
    """``kubectl delete --help``, ``git push --dry-run``: nothing changes.  Not for shells,
    interpreters or wrappers, where such a word may belong to the code they run."""
    if INDEX.get(cmd.name) == "shells" or cmd.name in WRAPPERS:
        return False
    words = cmd.words
    head = words[: words.index("--")] if "--" in words else words
    return harmless_words(head, HARMLESS_FLAGS)


_DOWNLOAD_TO = {
    "curl": ("-o", "--output"),
    "wget": ("-O", "--output-document"),
    "aria2c": ("-o", "--out"),
    "http": ("-o", "--output"),
    "xh": ("-o", "--output"),
}


def _note_download(cmd: Command, w: Walker) -> None:
    """A file downloaded in this command is untrusted code if it is run later on."""
    flags = _DOWNLOAD_TO.get(cmd.name)
    if flags is None:
        return
    from opsgate.classify.shell import FileNote

    target = cmd.option(*flags)
    if target is None and cmd.name == "curl" and cmd.has("-O", "--remote-name"):
        urls = [a.value for a in cmd.positionals() if "://" in a.value]
        target = urls[-1].rstrip("/").rsplit("/", 1)[-1] if urls else None
    if target is None and cmd.name == "wget":
        urls = [a.value for a in cmd.positionals() if "://" in a.value]
        target = urls[-1].rstrip("/").rsplit("/", 1)[-1].split("?")[0] if urls else None
    if not target or target == "-":
        return
    full = w.workspace.expand(target, cmd.cwd)
    if full is not None:
        w.scope.files[full] = FileNote(None, untrusted=True)


_EXTRACTORS = frozenset({"tar", "bsdtar", "gtar", "unzip", "cpio", "7z", "bsdcpio"})


def _note_extraction(cmd: Command, w: Walker) -> None:
    """``curl … | tar xz``: whatever lands in the destination came from the network, so a
    file there run later in this command is untrusted code (its name is not known)."""
    if cmd.name not in _EXTRACTORS:
        return
    archive = cmd.option("-f", "--file") if cmd.name != "unzip" else None
    if cmd.name == "unzip":
        ops = [a.value for a in cmd.positionals(("-d",))]
        archive = ops[0] if ops else None
    fetched = cmd.stdin is not None and cmd.stdin.untrusted and archive in (None, "-")
    if not fetched and archive is not None:
        note = w.file_note(archive, cmd.cwd)
        fetched = note is not None and note.untrusted
    if not fetched:
        return
    from opsgate.classify.shell import FileNote

    where = cmd.option("-C", "--directory", "-d") or "."
    full = w.workspace.expand(where, cmd.cwd or w.scope.cwd)
    if full is not None:
        w.scope.files[full] = FileNote(None, untrusted=True, tree=True)


# --- built-ins with their own meaning -----------------------------------------------------


_ = Stdin  # re-exported type used by handlers through Command.stdin
