"""Shell writes into files that run by themselves: redirections, ``tee``, copies and
moves, links, ``sed -i``, ``perl -i``, ``yq -i``, ``patch``, ``git apply``/``am``,
``npm pkg set`` and downloads.  Each becomes a ``Written`` for ``_autorun``: the text
when the classifier knows it (a here-doc, ``printf``, a copy of a readable file),
else the pieces the command's own words add, else ``unknown``."""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING

from opsgate.classify._autorun import Kind, Written, judge_write, kind_of, might_run
from opsgate.classify._autorun_edits import diff_pieces, filter_pieces, sed_pieces, sed_scripts
from opsgate.classify._autorun_tools import ShellJudge, shown_path
from opsgate.classify._command import Arg, Command, Stdin
from opsgate.classify.paths import is_secret_path
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["redirect_written", "writes"]


def _judge(w: Walker) -> ShellJudge:
    project = w.workspace.project or w.scope.cwd
    return ShellJudge(w.session, project, w.depth, lambda path: w.read_text(path, None))


def _target(w: Walker, path: str, cwd: str | None) -> tuple[Kind, str] | None:
    base = cwd or w.scope.cwd
    if not (might_run(path) or (base and might_run(base + "/"))):
        return None  # resolving the path cannot add the words a kind needs
    if w.remote:
        return None  # a file on another machine: the remote write is judged as such
    full = w.workspace.expand(path, base)
    if full is None:
        return None
    kind = kind_of(full)
    return (kind, full) if kind is not None else None


def _judged(w: Walker, kind: Kind, full: str, sent: str, *, new: str | None = None,
            old: str | None = None, pieces: tuple[tuple[str, str], ...] = (),
            opaque: str | None = None) -> list[Finding]:  # fmt: skip
    shown = shown_path(full, w.workspace.project)
    written = Written(full, shown, new=new, old=old, pieces=pieces, opaque=opaque, sent=sent)
    return judge_write(kind, written, _judge(w))


def _content(w: Walker, kind: Kind, full: str, text: str, append: bool, sent: str) -> (
        list[Finding]):  # fmt: skip
    old = None if is_secret_path(full) else w.read_text(full, None)  # see _autorun_tools._before
    if append:
        if old is None:
            return _judged(w, kind, full, sent, pieces=(("", text),))
        return _judged(w, kind, full, sent, new=old + text, old=old, pieces=(("", text),))
    return _judged(w, kind, full, sent, new=text, old=old)


def _produced(w: Walker, kind: Kind, full: str, producer: str, source: str,
              sent: str) -> list[Finding]:  # fmt: skip
    """Text nobody can see before it runs: what its producer's words could add."""
    pieces = _producer_pieces(producer)
    if pieces is None:
        why = f"it is the output of {source or 'a command'}, which opsgate cannot see"
        return _judged(w, kind, full, sent, opaque=why)
    return _judged(w, kind, full, sent, pieces=tuple(pieces))


def _producer_pieces(source: str) -> list[tuple[str, str]] | None:
    """The pieces a producer's words can add (its source split like the shell would;
    a redirection in it is only more words that name no program)."""
    try:
        words = shlex.split(source)
    except ValueError:
        return None
    if not words:
        return None
    name = words[0].rsplit("/", 1)[-1]
    if name in ("jq", "yq", "gojq", "jaq"):
        return filter_pieces(words[1:])
    if name == "sed":
        scripts = sed_scripts(words[1:])
        return sed_pieces(scripts) if scripts is not None else None
    return None


def redirect_written(
    w: Walker, op: str, path: str, out: Stdin | None, producer: str, sent: str
) -> list[Finding]:
    """``> file``, ``>> file``, ``&> file`` into a file that runs by itself."""
    target = _target(w, path, None)
    if target is None:
        return []
    kind, full = target
    if out is None:
        return []  # only truncates: nothing is added
    if out.text is None:
        if out.untrusted:
            return _judged(w, kind, full, sent, opaque="it is downloaded or decoded at run time")
        return _produced(w, kind, full, producer, out.source.removeprefix("pipe:"), sent)
    return _content(w, kind, full, out.text, op == ">>", sent)


# --- commands that write files ------------------------------------------------------------
def may_write(name: str) -> bool:
    """Whether ``writes`` has a handler to ask for program ``name`` (keep in step with
    it: ``_cross_cutting`` skips it for other names)."""
    return name in _WRITERS or _MORE.fullmatch(name) is not None


def writes(cmd: Command, w: Walker) -> list[Finding]:
    """Cross-cutting: a command that writes a file that runs by itself."""
    handler = _WRITERS.get(cmd.name)
    if handler is None and _MORE.fullmatch(cmd.name):
        from opsgate.classify._autorun_writers import MORE_WRITERS

        handler = MORE_WRITERS.get(_PYTHON.sub("python", cmd.name))
    if handler is None or w.remote:
        return []
    if (
        (handler in _NAMES_ITS_TARGET or cmd.name not in _WRITERS)
        and cmd.name != "direnv"
        and not (
            any(_may_name(word) for word in cmd.words)
            or _may_name(cmd.cwd or w.scope.cwd or "")
            or (handler not in _NAMES_ITS_TARGET and _may_name(_stdin_text(cmd)))
        )
    ):
        return []  # a copy, edit or download that names no such file, nor is made in one
    return handler(cmd, w)


# Writers of ``_autorun_writers``, imported when one is met (see there).
_MORE = re.compile(r"g?awk|r?ed|ex|n?vim?|dd|python[\d.]*|node|direnv")
_PYTHON = re.compile(r"^python[\d.]*$")


def _stdin_text(cmd: Command) -> str:
    """A here-doc's text (``python3 - <<EOF``): an interpreter may name the file there."""
    return (cmd.stdin.text or "")[:4096] if cmd.stdin is not None else ""


def _tee(cmd: Command, w: Walker) -> list[Finding]:
    out: list[Finding] = []
    for arg in cmd.positionals():
        target = _target(w, arg.value, cmd.cwd) if arg.static else None
        if target is None:
            continue
        kind, full = target
        stdin = cmd.stdin
        if stdin is None or stdin.text is None:
            why = "it comes from a pipe opsgate cannot see" if stdin else "it is typed at run time"
            out += _judged(w, kind, full, cmd.text, opaque=why)
        else:
            append = cmd.has("-a", "--append")
            out += _content(w, kind, full, stdin.text, append, cmd.text)
    return out


_COPY_VALUE_OPTS = ("-t", "--target-directory", "-S", "--suffix", "-m", "--mode", "-o",
                    "--owner", "-g", "--group", "--backup")  # fmt: skip
_AUTORUN_DIR = re.compile(r"(^|/)\.(github|gitea|forgejo|gitlab|circleci|buildkite|husky|githooks|"
                          r"devcontainer|azure-pipelines|azuredevops|woodpecker|semaphore|vscode|"
                          r"idea)(/|$)")  # fmt: skip


def _copy(cmd: Command, w: Walker) -> list[Finding]:
    """cp, mv, install, ln, rsync: the destination gets the source's text (a link's
    target's)."""
    ops = [a for a in cmd.positionals(_COPY_VALUE_OPTS)]
    if cmd.name == "rsync":
        ops = [a for a in cmd.positionals(("-e", "--rsh", "--exclude", "--include", "-f"))]
        if any(":" in a.value.split("/", 1)[0] for a in ops[-1:]):
            return []  # to another machine: judged as a remote copy
    return _copy_into(cmd, w, ops, cmd.option("-t", "--target-directory"))


def _copy_into(cmd: Command, w: Walker, ops: list[Arg], directory: str | None) -> list[Finding]:
    if directory is None and len(ops) < 2:
        return []
    sources, dest = (ops, directory) if directory is not None else (ops[:-1], ops[-1].value)
    into_dir = directory is not None or len(sources) > 1 or dest.endswith("/")
    recursive = cmd.name == "rsync" or cmd.has("-r", "-R", "-a", "--recursive", "--archive")
    out: list[Finding] = []
    for src in sources:
        name = src.value.rstrip("/").rsplit("/", 1)[-1]
        candidates = (
            [posixpath.join(dest, name)] if into_dir else [dest, posixpath.join(dest, name)]
        )
        target = next((t for t in (_target(w, c, cmd.cwd) for c in candidates) if t), None)
        if target is None:
            if recursive and any(_AUTORUN_DIR.search(c) for c in [dest, *candidates]):
                out += _opaque_dir(dest, cmd.text)
            continue
        kind, full = target
        out += _copied(w, kind, full, src.value, src.static, cmd)
    return out


def _extract(cmd: Command, w: Walker) -> list[Finding]:
    """tar and unzip unpacking into a directory whose files run by themselves."""
    if cmd.name == "tar" and not (
        cmd.has("-x", "--extract", "--get") or (cmd.words and re.fullmatch(r"[a-wyzA-Z]*x\w*",
                                                                            cmd.words[0]))
    ):  # fmt: skip
        return []
    dest = cmd.option("-C", "--directory", "-d") or "."
    full = w.workspace.expand(dest, cmd.cwd) or dest
    if w.remote or not (_AUTORUN_DIR.search(full) or _AUTORUN_DIR.search(dest)):
        return []
    return _opaque_dir(dest, cmd.text, "unpacks an archive")


def _opaque_dir(path: str, sent: str, what: str = "copies a whole directory") -> list[Finding]:
    from opsgate.classify._shell_nodes import unknown

    reason = (f"{what} into {path}, where files run by themselves; "
              "opsgate does not read it file by file")  # fmt: skip
    return [unknown(reason, sent)]


def _copied(w: Walker, kind: Kind, full: str, source: str, static: bool, cmd: Command) -> (
        list[Finding]):  # fmt: skip
    if not static:
        return _judged(w, kind, full, cmd.text, opaque="it is copied from a path known at run time")
    if cmd.name == "ln" and not source.startswith("/"):
        source = posixpath.join(posixpath.dirname(full), source)  # relative to the link
    note = w.file_note(source, cmd.cwd)
    if note is not None and note.text is None:
        if note.untrusted:
            return _judged(w, kind, full, cmd.text, opaque="it is downloaded in this command")
        return _produced(w, kind, full, note.producer, "an earlier command", cmd.text)
    text = w.read_text(source, cmd.cwd)
    if text is None:
        why = f"it is copied from {source}, which opsgate cannot read"
        return _judged(w, kind, full, cmd.text, opaque=why)
    return _content(w, kind, full, text, False, cmd.text)


def _in_place(cmd: Command, w: Walker) -> list[Finding]:
    """``sed -i``, ``perl -i``, ``yq -i``: the pieces the command's words put in."""
    words = list(cmd.words)
    if cmd.name == "sed":
        if not any(x == "-i" or x.startswith(("-i", "--in-place")) for x in words):
            return []
        if (
            "-i" in words
            and words.index("-i") + 1 < len(words)
            and not words[words.index("-i") + 1]
        ):
            del words[words.index("-i") + 1]  # BSD sed: -i '' (no backup suffix)
        scripts = sed_scripts(words)
        pieces = sed_pieces(scripts) if scripts is not None else None
        files = _operands_after_script(cmd, scripts)
    elif cmd.name == "perl":
        if not any(x.startswith("-") and "i" in x and not x.startswith("--") for x in words):
            return []
        script = cmd.option("-e", "-E") or next((x[2:] for x in words if x.startswith("-pe")), "")
        pieces = sed_pieces([script]) if re.match(r"\s*s(\W)", script) else None
        files = [a.value for a in cmd.positionals(("-e", "-E", "-M", "-I"))]
    else:
        if not cmd.has("-i", "--inplace"):
            return []
        pieces = filter_pieces(words)
        files = [a.value for a in cmd.positionals(("-o", "--output-format", "-p", "-I"))
                 if a.value not in ("e", "eval", "ea", "eval-all")][1:]  # fmt: skip
    out: list[Finding] = []
    for path in files:
        target = _target(w, path, cmd.cwd)
        if target is None:
            continue
        kind, full = target
        if pieces is None:
            why = f"{cmd.name} changes it in a way opsgate cannot read from the command"
            out += _judged(w, kind, full, cmd.text, opaque=why)
        else:
            out += _judged(w, kind, full, cmd.text, pieces=tuple(pieces))
    return out


def _operands_after_script(cmd: Command, scripts: list[str] | None) -> list[str]:
    operands = [a.value for a in cmd.positionals(("-e", "--expression", "-f", "--file", "-l"))]
    explicit = cmd.option("-e", "--expression", "-f", "--file") is not None
    return operands if explicit or scripts is None else operands[1:]


def _patch(cmd: Command, w: Walker) -> list[Finding]:
    """``patch`` and ``git apply``/``git am``: the ``+`` lines of every file it changes
    (and ``git mv``, a move)."""
    original = None
    if cmd.name == "git":
        sub = cmd.subcommand(("-C", "-c", "--git-dir", "--work-tree"))
        if sub == ("mv",):
            ops = cmd.positionals(("-C", "-c", "--git-dir", "--work-tree"))[1:]
            return _copy_into(cmd, w, [a for a in ops], None)
        if sub not in (("apply",), ("am",)):
            return []
        if cmd.has("--check", "--stat", "--numstat", "--summary"):
            return []
        ops = cmd.positionals(("-C", "-c", "-p", "--directory", "--include", "--exclude"))[1:]
        patches = [a.value for a in ops]
    else:
        given = cmd.option("-i", "--input")
        ops = cmd.positionals(("-i", "--input", "-p", "-d", "-o", "-r", "-D", "-F", "-B"))
        patches = [given] if given else [a.value for a in ops[1:2]]
        original = ops[0].value if ops else None
    texts: list[str | None] = [w.read_text(p, cmd.cwd) for p in patches if p != "-"]
    if not patches or "-" in patches:
        texts.append(cmd.stdin.text if cmd.stdin is not None else None)
    if any(t is None for t in texts):
        return _unreadable_patch(cmd, w)
    reverse = cmd.has("-R", "--reverse")
    out: list[Finding] = []
    for text in texts:
        assert text is not None
        for path, pieces in diff_pieces(text, reverse=reverse).items():
            # `patch FILE PATCH` puts every hunk into FILE, whatever the headers say.
            target = _target(w, original or _strip(path), cmd.cwd)
            if target is not None:
                out += _judged(w, target[0], target[1], cmd.text, pieces=tuple(pieces))
    return out


def _strip(path: str) -> str:
    return path[2:] if path.startswith(("a/", "b/")) else path


def _unreadable_patch(cmd: Command, w: Walker) -> list[Finding]:
    from opsgate.classify._shell_nodes import unknown

    reason = "applies a patch opsgate cannot read, which may change files that run by themselves"
    return [unknown(reason, cmd.text)]


def _npm_pkg(cmd: Command, w: Walker) -> list[Finding]:
    """``npm pkg set scripts.postinstall=…`` and ``npm set-script postinstall …``: a
    lifecycle script written by npm itself."""
    words = [a.value for a in cmd.positionals()]
    if words[:1] == ["set-script"] and len(words) >= 3:
        settings = [f"scripts.{words[1]}={words[2]}"]
    elif cmd.subcommand(depth=2) == ("pkg", "set"):
        settings = words[2:]
    else:
        return []
    target = _target(w, "package.json", cmd.cwd)
    if target is None:
        return []
    pieces = []
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep:
            continue
        nested: object = value
        for part in reversed(key.split(".")):
            nested = {part: nested}
        pieces.append(("", json.dumps(nested)))
    return _judged(w, target[0], target[1], cmd.text, pieces=tuple(pieces)) if pieces else []


def _download(cmd: Command, w: Walker) -> list[Finding]:
    flag = {"curl": ("-o", "--output"), "wget": ("-O", "--output-document")}[cmd.name]
    path = cmd.option(*flag)
    target = _target(w, path, cmd.cwd) if path else None
    if target is None:
        return []
    return _judged(w, target[0], target[1], cmd.text, opaque="it is downloaded from the network")


_WRITERS: dict[str, Callable[[Command, Walker], list[Finding]]] = {
    "tee": _tee,
    "sponge": _tee,
    "cp": _copy,
    "mv": _copy,
    "install": _copy,
    "ln": _copy,
    "rsync": _copy,
    "tar": _extract,
    "unzip": _extract,
    "sed": _in_place,
    "perl": _in_place,
    "yq": _in_place,
    "patch": _patch,
    "git": _patch,
    "npm": _npm_pkg,
    "pnpm": _npm_pkg,
    "curl": _download,
    "wget": _download,
}


def _may_name(word: str) -> bool:
    """Whether a word may name a file that runs by itself, or a directory of them."""
    return might_run(word + "/") or _AUTORUN_DIR.search(word) is not None


# Writers whose target is one of their own words (``patch`` reads it from the patch,
# ``npm pkg set`` writes package.json without naming it).
_NAMES_ITS_TARGET = frozenset({_tee, _copy, _in_place, _extract, _download})
