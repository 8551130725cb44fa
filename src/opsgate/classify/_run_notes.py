"""What earlier steps of a command did to files that a later step runs.

``cp fix.sh y.sh && bash y.sh`` runs ``fix.sh``'s text; ``sed -i … x.sh && ./x.sh``
runs a text opsgate cannot know.  Each step that copies, links, moves or edits a file
leaves a note in the walker's scope (``Scope.files``): a copy points at its origin
(read only if the copy is run), an edit in place makes the contents unknown, so
running the file later in the same command is ``unknown`` rather than judged by
what was on disk before.  Whole-tree changes (``git checkout BRANCH``, ``tar x``,
``unzip``) are not followed.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command
from opsgate.classify._shell_state import FileNote

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["note_writes"]

_COPY_VALUED = ("-t", "--target-directory", "-S", "--suffix", "-m", "--mode", "-o", "--owner",
                "-g", "--group", "--backup")  # fmt: skip
_PATCH_TARGET = re.compile(r"^\+\+\+ (?:[ab]/)?(\S+)", re.MULTILINE)


def note_writes(cmd: Command, w: Walker) -> None:
    """Leave a note for each file ``cmd`` creates or changes, where it can tell."""
    handler = _WRITERS.get(cmd.name)
    if handler is not None and w.remote is None:
        handler(cmd, w)


def _note(w: Walker, path: str, note: FileNote, cwd: str | None) -> None:
    full = w.workspace.expand(path, cwd or w.scope.cwd)
    if full is not None:
        w.scope.files[full] = note


def _copy(cmd: Command, w: Walker) -> None:
    """``cp``/``mv``/``install``/``ln SRC… DEST``: DEST (or DEST/name) holds SRC's text."""
    if cmd.name == "install" and cmd.has("-d", "--directory"):
        return
    ops = [a for a in cmd.positionals(_COPY_VALUED)]
    target_dir = cmd.option("-t", "--target-directory")
    if target_dir is not None:
        sources, dest, into = ops, target_dir, True
    elif len(ops) >= 2:
        sources, dest = ops[:-1], ops[-1].value
        into = len(sources) > 1 or dest.endswith("/") or _is_dir(w, dest, cmd.cwd)
    else:
        return
    if not all(a.static for a in [*sources, Arg(dest)]):
        return
    symbolic = cmd.name == "ln" and cmd.has("-s", "--symbolic")
    for src in sources:
        name = posixpath.basename(src.value.rstrip("/"))
        where = posixpath.join(dest, name) if into else dest
        origin = _origin(w, src.value, where, symbolic, cmd.cwd)
        if origin is not None:
            tree = cmd.name == "mv" or cmd.has("-r", "-R", "--recursive", "-a", "--archive")
            # A symbolic link is also remembered as a link: a later read through it
            # (``cat k/config``) resolves to what it points at (``_secrets_routes``).
            link = origin if symbolic else None
            _note(w, where, FileNote(None, False, origin=origin, tree=tree, link=link), cmd.cwd)


def _origin(w: Walker, src: str, link: str, symbolic: bool, cwd: str | None) -> str | None:
    """The absolute path whose text ``link`` will hold; a symbolic link's target is
    relative to the link's own directory."""
    if symbolic and not src.startswith(("/", "~")):
        base = w.workspace.expand(posixpath.dirname(link) or ".", cwd or w.scope.cwd)
        return None if base is None else posixpath.normpath(posixpath.join(base, src))
    return w.workspace.expand(src, cwd or w.scope.cwd)


def _is_dir(w: Walker, path: str, cwd: str | None) -> bool:
    full = w.workspace.expand(path, cwd or w.scope.cwd)
    return full is not None and w.session.file_kind(full) == "dir"


def _changed(files: Callable[[Command], list[Arg]]) -> Callable[[Command, Walker], None]:
    """An edit in place: the named files now hold text opsgate cannot know."""

    def handle(cmd: Command, w: Walker) -> None:
        for arg in files(cmd):
            if arg.static:
                _note(w, arg.value, FileNote(None, False), cmd.cwd)

    return handle


def _sed_files(cmd: Command) -> list[Arg]:
    if not any(x == "--in-place" or x.startswith(("-i", "--in-place=")) for x in cmd.words):
        return []
    ops = cmd.positionals(("-e", "--expression", "-f", "--file", "-l"))
    scripted = cmd.option("-e", "--expression", "-f", "--file") is not None
    return ops if scripted else ops[1:]


def _inplace_interpreter(cmd: Command) -> list[Arg]:
    if not any(x.startswith("-") and not x.startswith("--") and "i" in x[1:] for x in cmd.words):
        return []
    code = cmd.option("-e", "-E")
    return [a for a in cmd.positionals(("-e", "-E", "-I", "-M", "-m", "-F")) if a.value != code]


def _dd_files(cmd: Command) -> list[Arg]:
    return [Arg(w[3:]) for w in cmd.words if w.startswith("of=")]


def _tee(cmd: Command, w: Walker) -> None:
    text = cmd.stdin.text if cmd.stdin is not None else None
    untrusted = cmd.stdin.untrusted if cmd.stdin is not None else False
    for arg in cmd.positionals():
        if arg.static:
            append = cmd.has("-a", "--append") and text is not None
            _note(w, arg.value, FileNote(text, untrusted, appends_to_disk=append), cmd.cwd)


def _truncate(cmd: Command, w: Walker) -> None:
    size = cmd.option("-s", "--size")
    text = "" if size in ("0", "=0") else None
    for arg in cmd.positionals(("-s", "--size", "-r", "--reference")):
        if arg.static:
            _note(w, arg.value, FileNote(text, False), cmd.cwd)


def _patch(cmd: Command, w: Walker) -> None:
    """``patch``/``git apply``: the files named in the patch change."""
    from opsgate.classify._run_files import load

    if cmd.name == "git":
        words = [a for a in cmd.positionals() if a.value != "apply"]
        if cmd.subcommand() != ("apply",) or cmd.has("--check", "--stat", "--numstat"):
            return
        sources = [a.value for a in words]
    else:
        named = cmd.option("-i", "--input")
        sources = [named] if named else []
    texts = [cmd.stdin.text] if cmd.stdin is not None and not sources else []
    texts += [load(w, s, cmd.cwd).text for s in sources]
    base = cmd.option("-d", "--directory") if cmd.name == "patch" else None
    for text in texts:
        for target in _PATCH_TARGET.findall(text or ""):
            path = posixpath.join(base, target) if base else target
            _note(w, path, FileNote(None, False), cmd.cwd)


def _git(cmd: Command, w: Walker) -> None:
    head = cmd.subcommand()
    if head == ("apply",):
        _patch(cmd, w)
    elif head in (("checkout",), ("restore",)) and "--" in cmd.words:
        for arg in cmd.after("--"):
            if arg.static:
                _note(w, arg.value, FileNote(None, False), cmd.cwd)


def _npm_pkg(cmd: Command, w: Walker) -> None:
    """``npm pkg set scripts.clean='rm -rf ~'`` (or ``npm set-script``, ``npm pkg
    delete``) rewrites package.json: a later ``npm run clean`` runs the new text.
    What cannot be applied leaves its contents unknown."""
    words = [a.value for a in cmd.positionals()]
    changes: list[tuple[str, str | None] | None] | None
    if words[:1] == ["set-script"]:
        changes = [(f"scripts.{words[1]}", words[2])] if len(words) >= 3 else None
    elif words[:2] in (["pkg", "set"], ["pkg", "delete"]):
        changes = [_setting(word, words[1] == "set") for word in words[2:]]
    else:
        return
    text = w.read_text("package.json", cmd.cwd)
    new = _apply(text, changes) if changes is not None and None not in changes else None
    _note(w, "package.json", FileNote(new, False), cmd.cwd)


def _setting(word: str, is_set: bool) -> tuple[str, str | None] | None:
    key, sep, value = word.partition("=")
    if is_set and not sep:
        return None
    return key, (value if is_set else None)


def _apply(text: str | None, changes: list[tuple[str, str | None] | None]) -> str | None:
    """package.json's text after the changes (``None``: a deletion), or None when it
    cannot be known (unreadable, not an object, a path through a non-object)."""
    import json

    try:
        data = json.loads(text) if text is not None else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for change in changes:
        assert change is not None
        # npm's keys: dots and brackets (``scripts.clean``, ``scripts[clean]``).
        *parents, last = re.sub(r"\[([^\]]*)\]", r".\1", change[0]).split(".")
        node: object = data
        for part in parents:
            if not isinstance(node, dict):
                return None
            node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return None
        if change[1] is None:
            node.pop(last, None)
        else:
            node[last] = change[1]
    return json.dumps(data, indent=2)


_WRITERS: dict[str, Callable[[Command, Walker], None]] = {
    **dict.fromkeys(("npm", "pnpm"), _npm_pkg),
    **dict.fromkeys(("cp", "mv", "install", "ln", "gcp", "gmv"), _copy),
    **dict.fromkeys(("sed", "gsed"), _changed(_sed_files)),
    **dict.fromkeys(("perl", "ruby"), _changed(_inplace_interpreter)),
    "dd": _changed(_dd_files),
    "tee": _tee,
    "truncate": _truncate,
    "patch": _patch,
    "git": _git,
}
