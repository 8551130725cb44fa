"""Steps that may create files opsgate does not see, and scripts run after them.

``tar xzf tools.tgz && ./tools/install.sh``, ``python3 gen.py && sh out/run.sh``: the
script is not on disk when the command is judged, but an earlier step of the same
command may write it, and what that step writes cannot be read now.  Such a script is
``unknown``, never "nothing runs".  A script missing with nothing before it that could
create it still runs nothing (the command fails), as before.

What opsgate models exactly stays out of this: a redirection (``echo … > gen.sh``),
a download (``curl -o``) and a copy leave a note of the file (``_run_notes``), which is
read before the disk.  Every other program may create files, except the few in
``_NEUTRAL``, which never write a file other than through a redirection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from opsgate.classify._command import Command

if TYPE_CHECKING:
    from opsgate.classify._shell_state import ShellSession
    from opsgate.classify.shell import Walker

__all__ = ["maker", "note_maker", "planted", "walked"]

# Programs that write no file of their own (directories and empty files at most).
_NEUTRAL = frozenset(
    {
        "echo", "printf", "cd", "pwd", "ls", "cat", "head", "tail", "grep", "egrep", "fgrep",
        "rg", "ag", "wc", "sort", "uniq", "cut", "tr", "test", "[", "[[", "true", "false", ":",
        "which", "type", "command", "export", "set", "unset", "sleep", "date", "whoami", "id",
        "hostname", "uname", "printenv", "stat", "file", "basename", "dirname", "realpath",
        "readlink", "du", "df", "ps", "free", "mkdir", "chmod", "chown", "touch", "rm", "rmdir",
        "diff", "cmp", "jq", "yq", "column", "nl", "tee", "seq", "expr", "read", "exit",
        "return", "shift", "local", "declare", "readonly", "umask", "ulimit", "wait", "kill",
        "trap", "pushd", "popd", "dirs", "hash", "alias", "unalias", "shopt", "history",
        "less", "more", "tput", "clear", "sync", "nproc", "uptime", "env", "mktemp",
    }
)  # fmt: skip


# Package installers write into tool directories (``node_modules``, site-packages,
# ``vendor``, the system), where programs are judged by their names and never read
# (``_run_path``): ``pip install -r requirements.txt && python manage.py test`` makes no
# script of the project.  Their sub-verbs that install; None: every sub-verb.
_INSTALLERS: dict[str, frozenset[str] | None] = {
    **dict.fromkeys(("apt-get", "apt", "yum", "dnf", "apk", "brew", "zypper", "pacman"), None),
    **dict.fromkeys(("pip", "pip3"), frozenset({"install", "uninstall"})),
    **dict.fromkeys(("npm", "pnpm", "bun"), frozenset({"ci", "install", "i", "add", "uninstall"})),
    "yarn": frozenset({"", "install", "add", "remove"}),
    "composer": frozenset({"install", "require", "update"}),
    "bundle": frozenset({"install"}),
    "gem": frozenset({"install"}),
    "poetry": frozenset({"install", "add"}),
    "uv": frozenset({"sync", "add", "pip"}),
    "go": frozenset({"get", "mod"}),
}


# Compilers and bundlers turn the project's sources into a program: what they write is
# the project's own code in another form, which opsgate judges by the sources or not at
# all (a binary already built runs as nothing, like ``go run`` and ``./main``), so
# ``gcc main.c -o main && ./main`` and ``tsc && node dist/index.js`` stay ordinary
# work.  Build systems that run recipes or plugins (make, npm scripts, cmake, gradle)
# are not here: a recipe can write a script (make counts as a compiler only when its
# recipes were read and walked, ``walked``).  Their sub-verbs; None: every sub-verb.
_COMPILERS: dict[str, frozenset[str] | None] = {
    **dict.fromkeys(("gcc", "g++", "cc", "c++", "clang", "clang++", "tcc", "rustc", "javac",
                     "kotlinc", "scalac", "swiftc", "ghc", "tsc", "esbuild", "swc", "babel",
                     "webpack", "rollup", "parcel", "vite", "nim", "crystal", "tsup",
                     "tsdown", "unbuild", "ncc", "microbundle"), None),
    "go": frozenset({"build", "install"}),
    "cargo": frozenset({"build", "b"}),
    "swift": frozenset({"build"}),
    "dotnet": frozenset({"build", "publish"}),
    "zig": frozenset({"build", "build-exe"}),
    "dart": frozenset({"compile"}),
    "deno": frozenset({"compile"}),
    "bun": frozenset({"build"}),
}  # fmt: skip


# Package scripts are read and walked command by command (``_run_node``), each of
# their steps noted here in turn: the runner itself writes nothing.
_SCRIPT_RUNNERS: dict[str, frozenset[str] | None] = {
    **dict.fromkeys(("npm", "pnpm", "bun"), frozenset({"run", "run-script", "test", "t",
                                                       "start"})),
    "yarn": frozenset({"run", "test", "start"}),
}  # fmt: skip


# Programs that write a file only when told to (else their output goes to stdout).
_CURL_OUT = ("-o", "-O", "--output", "--remote-name", "--remote-name-all", "--output-dir")
_OUTPUT_FLAGS: dict[str, tuple[str, ...]] = {
    "curl": _CURL_OUT, "http": ("-o", "--output", "-d", "--download"),
    "xh": ("-o", "--output", "-d", "--download"),
}  # fmt: skip


# git's verbs that only read the repository (a build script's ``git rev-parse HEAD``).
_GIT_READS = frozenset({"rev-parse", "describe", "status", "log", "show", "diff", "ls-files",
                        "ls-tree", "cat-file", "rev-list", "blame", "shortlog", "branch",
                        "tag", "remote", "config", "symbolic-ref", "name-rev", "grep",
                        "for-each-ref", "merge-base", "version"})  # fmt: skip


def note_maker(cmd: Command, w: Walker) -> None:
    """Remember the first step of this command that may have created files."""
    runs = w.session.runs
    if runs.maker or runs.planted or cmd.name in _NEUTRAL or not cmd.name:
        return
    if cmd.name == "git" and _git_reads(cmd):
        return
    if any(step is cmd for step in runs.walked):
        return  # its own steps noted what they write
    if cmd.name in _OUTPUT_FLAGS and not cmd.has(*_OUTPUT_FLAGS[cmd.name]):
        return  # ``curl URL | python3 -m json.tool``: to its output, no file
    for table in (_INSTALLERS, _COMPILERS, _SCRIPT_RUNNERS):
        if cmd.name in table:
            verbs = table[cmd.name]
            ops = cmd.positionals()
            if verbs is None or (ops[0].value if ops else "") in verbs:
                return
    runs.maker = cmd.path or cmd.name


@contextmanager
def planted(session: ShellSession) -> Iterator[None]:
    """While judging a file that runs later somewhere else (a CI workflow, a
    Dockerfile): its steps run after a checkout and a build opsgate cannot see, so
    what is missing on this disk says nothing; a missing file there runs nothing."""
    runs = session.runs
    saved = runs.maker
    runs.planted += 1
    try:
        yield
    finally:
        runs.planted -= 1
        runs.maker = saved


def walked(w: Walker, cmd: Command) -> None:
    """``cmd`` is a runner (``make`` with a makefile opsgate read whole) whose steps
    were each walked as commands, so each noted the files it may create: the runner
    itself creates none.  Kept by identity, not by text: the same words may run
    again after a step changed the makefile."""
    w.session.runs.walked.append(cmd)


def maker(w: Walker) -> str:
    """The earlier step that may have created files, or ""."""
    return w.session.runs.maker


def _git_reads(cmd: Command) -> bool:
    """``git rev-parse …``, ``git log …``: no file appears.  (``git branch NAME``,
    ``git tag NAME`` and ``git config K V`` write only inside ``.git``.)"""
    words = [a.value for a in cmd.positionals(("-C", "-c", "--git-dir", "--work-tree"))]
    return bool(words) and words[0] in _GIT_READS
