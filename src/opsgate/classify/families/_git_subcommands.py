"""git subcommands: pushes, history rewrites, discarded work, and options that run commands."""

from __future__ import annotations

import fnmatch
import re

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.families._git_branch import note_head, note_switch, note_worktree
from opsgate.classify.families._git_common import _write, is_protected_branch
from opsgate.classify.families._git_programs import fixed_program_line
from opsgate.classify.families._git_pushcfg import (
    UNKNOWN_BRANCH,
    UNKNOWN_VALUE,
    configured_refspecs,
    note_config,
    note_upstream,
)
from opsgate.classify.paths import is_secret_path
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["_SUBCOMMANDS", "_exec_config", "_rewrite"]

# Config keys whose value git executes as a shell command.
_EXEC_KEYS = (
    "alias.*",
    "core.pager",
    "core.editor",
    "core.sshcommand",
    "core.fsmonitor",
    "core.hookspath",
    "credential.helper",
    "diff.external",
    "diff.*.command",
    "gpg.program",
    "sequence.editor",
    "filter.*.clean",
    "filter.*.smudge",
    "filter.*.process",
    "pager.*",
    "merge.*.driver",
    "uploadpack.packobjectshook",
    "ssh.variant",
)


def _exec_config(cmd: Command, ctx: Context, key: str, value: str) -> list[Finding]:
    """A config value git will run: classify it as the command it is."""
    if not any(fnmatch.fnmatchcase(key, p) for p in _EXEC_KEYS):
        return []
    if key.startswith("alias.") and not value.startswith("!"):
        return []
    script = value[1:] if value.startswith("!") else value
    found = ctx.classify_shell(script, via=f"git config {key}")
    if key.startswith(("core.hookspath", "core.fsmonitor", "credential.helper")):
        found.append(
            _write(
                cmd, "vcs.config_exec", f"sets {key}, which git runs as a program", Impact.CAUTION
            )
        )
    return found


def _push(cmd: Command, ctx: Context) -> list[Finding]:
    valued = ("--repo", "-o", "--push-option", "--receive-pack", "--exec")
    args = cmd.positionals(valued)
    ops = [a.value if a.static else _current_branch_word(a.value) for a in args]
    # A refspec built at run time (``HEAD:$(git symbolic-ref … | cut -d/ -f4)``) names
    # a branch opsgate cannot know: judged as a push to an unknown branch.
    refspecs = [
        _dynamic_refspec(op) if not a.static else op for a, op in zip(args, ops, strict=True)
    ][1:]
    remote = ops[0] if ops else "origin"
    target = f"git remote {remote}"
    if cmd.has("-f", "--force", "--force-with-lease", "--force-if-includes", "--mirror"):
        reason = "force-pushes, overwriting remote history"
        return [_write(cmd, "vcs.force_push", reason, target=target)]
    if cmd.has("-d", "--delete", "--prune"):
        reason = "deletes branches or tags on the remote"
        return [_write(cmd, "vcs.push_delete", reason, target=target)]
    if cmd.has("--all", "--tags") and not refspecs and cmd.has("--all"):
        refspecs = ["main"]
    if not refspecs:
        # ``remote.origin.push = HEAD:main``, a mirror, ``push.default = upstream``:
        # git's configuration, not the branch on disk, says where it goes.
        refspecs = configured_refspecs(cmd, ctx, ops[0] if ops else None) or []
    if not refspecs:
        branch = ctx.git_branch(cmd.cwd)
        refspecs = [branch] if branch else ["HEAD"]
    for spec in refspecs:
        gated = _push_refspec(cmd, ctx, spec, remote)
        if gated is not None:
            return gated
    return [
        Finding(
            "vcs.push",
            Impact.SAFE,
            Effect.LOCAL,
            cmd.text,
            f"pushes {', '.join(refspecs)} (a feature branch)",
            f"git remote {remote} branch {refspecs[-1].rpartition(':')[2]}",
            Environment.LOCAL,
            "feature branch",
        )
    ]


# Substitutions that print the checked-out branch: ``git push origin $(git branch
# --show-current)`` pushes whatever HEAD names when it runs, which is HEAD.
_CURRENT_BRANCH = re.compile(
    r"^(?:\$\(|`)\s*git\s+(?:branch\s+--show-current|rev-parse\s+--abbrev-ref\s+HEAD"
    r"|symbolic-ref\s+--short\s+HEAD|name-rev\s+--name-only\s+HEAD)\s*(?:\)|`)$"
)


def _current_branch_word(word: str) -> str:
    return "HEAD" if _CURRENT_BRANCH.match(word.strip()) else word


def _dynamic_refspec(word: str) -> str:
    if word == "HEAD":
        return word  # ``$(git branch --show-current)``: the checked-out branch
    src, sep, dst = word.partition(":")
    if sep and "$" not in dst and "`" not in dst:
        return word  # only the source is built at run time; the destination is named
    force = "+" if word.startswith("+") else ""
    return f"{force}{src.lstrip('+') if sep else 'HEAD'}:{UNKNOWN_BRANCH}"


def _push_refspec(cmd: Command, ctx: Context, spec: str, remote: str) -> list[Finding] | None:
    """A force (``+src``), delete (``:dst``) or protected-branch refspec; None otherwise."""
    target = f"git remote {remote}"
    if spec.startswith("+"):
        reason = f"force-pushes {spec[1:]} (+ refspec)"
        return [_write(cmd, "vcs.force_push", reason, target=target)]
    src, sep, dst = spec.partition(":")
    if sep and not src:
        return [_write(cmd, "vcs.push_delete", f"deletes {dst} on the remote", target=target)]
    dest = dst if sep else src
    if dest == "HEAD":
        dest = ctx.git_branch(cmd.cwd) or "HEAD"
    if dest in ("HEAD", UNKNOWN_BRANCH) or "*" in dest or is_protected_branch(dest):
        unnamed = dest in ("HEAD", UNKNOWN_BRANCH)
        what = "an unknown branch" if unnamed else f"the protected branch {dest}"
        target = f"git remote {remote} branch {dest}"
        return [
            _write(cmd, "vcs.push_protected", f"pushes to {what}", Impact.CAUTION, target=target)
        ]
    return None


def _reset(cmd: Command, ctx: Context) -> list[Finding]:
    # --keep aborts rather than discard local changes; --merge still drops staged ones.
    if cmd.has("--hard", "--merge"):
        return [_write(cmd, "vcs.discard", "git reset --hard discards uncommitted changes")]
    return []


def _clean(cmd: Command, ctx: Context) -> list[Finding]:
    # Without -f git refuses, unless clean.requireForce is false somewhere: don't rely on it.
    if cmd.has("-n", "--dry-run"):
        return []
    return [_write(cmd, "vcs.discard", "git clean deletes untracked (or ignored) files")]


def _checkout(cmd: Command, ctx: Context) -> list[Finding]:
    note_switch(cmd, ctx)
    _note_tracking(cmd, ctx)
    words = cmd.words
    if cmd.has("-f", "--force") or "--" in words or "." in words:
        return [_write(cmd, "vcs.discard", "git checkout of paths discards uncommitted changes")]
    if cmd.has("--orphan", "-B"):
        return [_write(cmd, "vcs.history_rewrite", "resets or orphans a branch", Impact.CAUTION)]
    return []


def _restore(cmd: Command, ctx: Context) -> list[Finding]:
    staged_only = cmd.has("--staged", "-S") and not cmd.has("--worktree", "-W")
    if staged_only and not cmd.option("--source", "-s"):
        return []
    return [_write(cmd, "vcs.discard", "git restore discards changes in the working tree")]


def _note_tracking(cmd: Command, ctx: Context) -> None:
    """``git checkout -t origin/main -b x``: the branch checked out now tracks a
    branch the push configuration may send it to."""
    if cmd.has("-t", "--track") or any(w.startswith("--track=") for w in cmd.words):
        starts = [a for a in cmd.positionals(_TRACK_VALUED)]
        start = starts[-1].value if starts and starts[-1].static else None
        note_upstream(cmd, ctx, None, start)


_TRACK_VALUED = ("-b", "-B", "-c", "-C", "--create", "--force-create", "--orphan", "--conflict")


def _branch(cmd: Command, ctx: Context) -> list[Finding]:
    upstream = cmd.option("-u", "--set-upstream-to")
    if upstream is not None or cmd.has("-t", "--track"):
        named = [a.value for a in cmd.positionals(("-u", "--set-upstream-to"))]
        if upstream is not None:
            note_upstream(cmd, ctx, named[0] if named else None, upstream)
        elif len(named) >= 2:
            note_upstream(cmd, ctx, named[0], named[1])
    if cmd.has("-D", "-M", "-C", "-f", "--force") or (
        cmd.has("-d", "--delete") and cmd.has("--force", "-f")
    ):
        return [_write(cmd, "vcs.branch_delete", "deletes or overwrites a branch by force")]
    if cmd.has("-d", "--delete", "-m", "--move"):
        names = [a.value for a in cmd.positionals()]
        if any(is_protected_branch(n) for n in names):
            return [_write(cmd, "vcs.branch_delete", "deletes or renames a protected branch")]
    return []


def _stash(cmd: Command, ctx: Context) -> list[Finding]:
    sub = cmd.words[:1]
    if sub and sub[0] in ("drop", "clear"):
        return [_write(cmd, "vcs.discard", f"git stash {sub[0]} deletes stashed work")]
    return []


def _rebase(cmd: Command, ctx: Context) -> list[Finding]:
    ran = _runs_command(("-x", "--exec"))(cmd, ctx)
    if ran:
        return [*ran, _write(cmd, "vcs.history_rewrite", "rewrites commit history")]
    if cmd.has("--abort", "--continue", "--skip", "--quit", "--edit-todo", "--show-current-patch"):
        return []
    branch = ctx.git_branch(cmd.cwd)
    # A sequence editor that leaves the todo list as git wrote it (``:``, ``true``) makes
    # ``-i --autosquash`` an ordinary rebase: only fixup! commits are folded, none dropped.
    editor = cmd.env.get("GIT_SEQUENCE_EDITOR")
    scripted = editor is not None and editor.strip() not in _NOOP_EDITORS
    interactive = cmd.has("-i", "--interactive") and editor is None
    if (
        interactive
        or scripted
        or cmd.has("--onto", "--root", "-x", "--exec")
        or (branch is not None and is_protected_branch(branch))
    ):
        return [_write(cmd, "vcs.history_rewrite", "rewrites commit history")]
    return []


# Sequence editors that change nothing in the rebase todo list.
_NOOP_EDITORS = frozenset({":", "true", "/bin/true", "/usr/bin/true", "cat"})


def _rewrite(cmd: Command, ctx: Context) -> list[Finding]:
    if cmd.name.endswith("filter-repo") and cmd.has("--analyze", "--dry-run"):
        return []  # reports under .git/filter-repo/, or a comparison; no ref moves
    return [_write(cmd, "vcs.history_rewrite", f"{cmd.name} rewrites repository history")]


def _reflog(cmd: Command, ctx: Context) -> list[Finding]:
    if cmd.words[:1] in (("expire",), ("delete",)):
        return [_write(cmd, "vcs.history_rewrite", "expires reflog entries (loses recovery)")]
    return []


def _gc(cmd: Command, ctx: Context) -> list[Finding]:
    prune = cmd.option("--prune")
    if prune in ("now", "all") or cmd.name == "git prune":
        return [_write(cmd, "vcs.history_rewrite", "prunes unreachable objects now")]
    return []


def _symbolic_ref(cmd: Command, ctx: Context) -> list[Finding]:
    note_head(cmd, ctx)
    return []


def _update_ref(cmd: Command, ctx: Context) -> list[Finding]:
    return [_write(cmd, "vcs.history_rewrite", "moves or deletes a ref directly")]


def _worktree(cmd: Command, ctx: Context) -> list[Finding]:
    note_worktree(cmd, ctx)
    sub = cmd.words[:1]
    if sub == ("remove",) and cmd.has("-f", "--force"):
        return [_write(cmd, "vcs.discard", "removes a worktree with its uncommitted changes")]
    if sub == ("prune",):
        return []
    return []


# Keys that change what git reads or fetches from then on: another configuration file
# (which may set any key above), or another source for every clone and fetch.
_REDIRECT_KEYS = ("include.path", "includeif.*.path", "url.*.insteadof",
                  "url.*.pushinsteadof")  # fmt: skip
# Keys whose value git runs as a program on later commands, beyond _EXEC_KEYS.
_LATER_KEYS = ("diff.*.textconv", "core.askpass", "core.gitproxy", "difftool.*.cmd",
               "mergetool.*.cmd", "gpg.*.program", "sendemail.smtpserver")  # fmt: skip
# Programs people name as their editor, pager or diff tool: setting one is ordinary.
_USUAL_PROGRAMS = frozenset({"vi", "vim", "nvim", "nano", "emacs", "emacsclient", "code",
                             "code-insiders", "cursor", "subl", "mate", "micro", "hx", "kak",
                             "zed", "less", "more", "most", "bat", "cat", "delta",
                             "diff-so-fancy", "meld", "kdiff3", "vimdiff", "nvimdiff",
                             "opendiff", "git-lfs", "gpg", "gpg2", "ssh", "true"})  # fmt: skip


_PROGRAM_DIRS = ("/usr/bin/", "/bin/", "/usr/local/bin/", "/opt/homebrew/bin/")


def _usual_program(value: str) -> bool:
    """``vim``, ``less -R``, ``/usr/bin/delta``: a known program, installed, with plain
    arguments (no shell syntax, no script file it could be handed)."""
    words = value.split()
    if not words or any(c in value for c in ";|&$`<>()"):
        return False
    program = words[0]
    installed = "/" not in program or program.startswith(_PROGRAM_DIRS)
    return installed and program.rsplit("/", 1)[-1] in _USUAL_PROGRAMS


def _config(cmd: Command, ctx: Context) -> list[Finding]:
    args = cmd.positionals(("-f", "--file", "--type", "--default", "--value", "--comment"))
    ops = [a.value for a in args]
    if ops[:1] and ops[0] in _CONFIG_VERBS:  # git 2.46: ``git config set KEY VALUE``
        verb, ops = ops[0], ops[1:]
    else:
        verb = "unset" if cmd.has("--unset", "--unset-all") else "set"
    if not ops or cmd.option("-f", "--file") is not None or cmd.has("--blob"):
        return []
    if verb == "unset":
        note_config(cmd, ctx, ops[0], None, add=False)
        return []
    if verb != "set" or len(ops) < 2:
        return []
    key = ops[0].lower()
    value = ops[1] if args[1].static else None
    if value is None and key.startswith("alias."):
        value = UNKNOWN_VALUE  # an alias to words chosen at run time runs anything
    note_config(cmd, ctx, ops[0], value, add=cmd.has("--add", "--append"))
    return _exec_config(cmd, ctx, key, ops[1]) + _stored_for_later(cmd, ctx, key, ops[1])


_CONFIG_VERBS = frozenset({"set", "unset", "get", "list", "edit", "rename-section",
                           "remove-section"})  # fmt: skip


def _stored_for_later(cmd: Command, ctx: Context, key: str, value: str) -> list[Finding]:
    """A stored key (not ``git -c``) that makes later git commands run a program or
    read code from elsewhere is persistence, whatever the program does today
    (``core.pager 'sh /tmp/x'``: /tmp/x may be written tomorrow)."""
    if key.startswith(("core.hookspath", "core.fsmonitor", "credential.helper")):
        return []  # already found by _exec_config
    if any(fnmatch.fnmatchcase(key, p) for p in _REDIRECT_KEYS):
        reason = f"sets {key}, which changes where git reads its configuration or code"
        return [_write(cmd, "vcs.config_exec", reason, Impact.CAUTION)]
    runs = _EXEC_KEYS + _LATER_KEYS
    if not any(fnmatch.fnmatchcase(key, p) for p in runs):
        return []
    if key.startswith("alias.") and not value.startswith("!"):
        return []
    if _usual_program(value):
        return []
    line = value.removeprefix("!")
    if fixed_program_line(line):  # ``!f() { git log …; }; f``, ``jq -S .``: judged as is
        exec_key = any(fnmatch.fnmatchcase(key, p) for p in _EXEC_KEYS)
        return [] if exec_key else ctx.classify_shell(line, via=f"git config {key}")
    reason = f"sets {key}, which git runs as a program on later commands"
    return [_write(cmd, "vcs.config_exec", reason, Impact.CAUTION)]


_REV_PATH = re.compile(r"[\w~^@{}./-]+:([^\s:)'\"`]+)")


def _show(cmd: Command, ctx: Context) -> list[Finding]:
    """``git show REV:.env`` prints a secret file from history; so does ``git cat-file
    -p $(git rev-parse HEAD:.env)``, whose object is named inside the substitution."""
    for arg in cmd.positionals():
        _, sep, path = arg.value.partition(":")
        paths = [path] if sep and arg.static else []
        if not arg.static:
            paths += _REV_PATH.findall(arg.value)
        secret = next((p for p in paths if p and is_secret_path(p)), None)
        if secret is not None:
            return [
                Finding(
                    "secrets.read",
                    Impact.CAUTION,
                    Effect.SECRET,
                    cmd.text,
                    f"prints {secret} from git history, which holds credentials",
                )
            ]
    return []


def _runs_command(option_names: tuple[str, ...], *, positional: bool = False) -> Handler:
    """Subcommands that run a shell command given as an option or as the remaining words:
    ``bisect run CMD``, ``difftool -x CMD``, ``submodule foreach CMD``, ``rebase -x CMD``."""

    def handler(cmd: Command, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for value in cmd.options(*option_names):
            out += ctx.classify_shell(value, via=cmd.name)
        if positional:
            words = [a.value for a in cmd.args]
            for marker in ("run", "foreach"):
                if marker in words:
                    rest = [w for w in words[words.index(marker) + 1 :] if w != "--recursive"]
                    script = rest[0] if len(rest) == 1 else " ".join(_quote(w) for w in rest)
                    if rest:
                        # foreach runs inside each submodule: the directory is not ours to know.
                        cwd = None if marker == "foreach" else cmd.cwd
                        out += ctx.classify_shell(script, via=cmd.name, cwd=cwd)
        return out

    return handler


def _quote(word: str) -> str:
    import shlex

    return shlex.quote(word)


def _discard_plumbing(cmd: Command, ctx: Context) -> list[Finding]:
    """read-tree -u --reset, checkout-index -f: overwrite the working tree."""
    if cmd.name == "git read-tree" and cmd.has("--reset") and cmd.has("-u"):
        return [_write(cmd, "vcs.discard", "git read-tree -u --reset overwrites the working tree")]
    if cmd.name == "git checkout-index" and cmd.has("-f", "--force"):
        return [_write(cmd, "vcs.discard", "git checkout-index -f overwrites working files")]
    return []


def _rm(cmd: Command, ctx: Context) -> list[Finding]:
    if cmd.has("--cached") or cmd.has("-n", "--dry-run"):
        return []
    if cmd.has("-f", "--force") and cmd.has("-r"):
        return [_write(cmd, "vcs.discard", "git rm -rf deletes files and their local changes")]
    return []


def _add(cmd: Command, ctx: Context) -> list[Finding]:
    """``git add -f .env``: a credentials file staged into the repository's history,
    from where the next commit and push publish its values (to any remote the command
    names).  Example and template files are not credentials files."""
    if cmd.has("-n", "--dry-run"):
        return []
    for arg in cmd.after("--") or cmd.positionals(("--chmod", "--pathspec-from-file")):
        if arg.static and is_secret_path(arg.value):
            reason = f"stages {arg.value}, a credentials file, into the repository's history"
            return [_write(cmd, "vcs.secret_commit", reason, Impact.CAUTION)]
    return []


def _patch_of_secret(cmd: Command, ctx: Context) -> list[Finding]:
    """``git log -p -- .env``: the history of a secret file, values included."""
    if cmd.name == "git log" and not cmd.has("-p", "--patch", "-u"):
        return []
    for arg in cmd.after("--") or cmd.positionals():
        if arg.static and is_secret_path(arg.value):
            return [
                Finding(
                    "secrets.read",
                    Impact.CAUTION,
                    Effect.SECRET,
                    cmd.text,
                    f"prints the contents of {arg.value} from git history",
                )
            ]
    return []


def _grep(cmd: Command, ctx: Context) -> list[Finding]:
    """``git grep -n sk_live``: the tracked files' matching lines, a tracked ``.env``'s
    values among them (``_secrets_readers.search_hunt``)."""
    from opsgate.classify._command import Arg
    from opsgate.classify.families._secrets_readers import search_hunt

    found = _patch_of_secret(cmd, ctx)
    if found:
        return found
    words = cmd.positionals(_GREP_VALUED)
    patterns = [Arg(v) for v in cmd.options("-e")] or words[:1]
    # A revision (``git grep x HEAD~3``) searches that tree: the paths are the rest.
    rest = words if cmd.options("-e") else words[1:]
    paths = [a for a in rest if not (a.static and _REVISION.match(a.value))]
    for pattern in patterns:
        hunt = search_hunt(cmd, pattern, paths, ctx, hidden=True, tracked=True)
        if hunt:
            return hunt
    return []


# Options of git grep whose next word is not a pattern or a path.
_GREP_VALUED = ("-e", "-f", "-m", "-A", "-B", "-C", "--max-depth", "--max-count",
                "--threads", "--context", "--after-context", "--before-context",
                "--open-files-in-pager")  # fmt: skip
_REVISION = re.compile(r"^(HEAD|@)([~^]\d*)*$|^[0-9a-f]{7,40}$|\.\.")


def _tag(cmd: Command, ctx: Context) -> list[Finding]:
    if cmd.has("-d", "--delete", "-f", "--force"):
        return [_write(cmd, "vcs.tag_delete", "deletes or moves a tag", Impact.CAUTION)]
    return []


def _switch(cmd: Command, ctx: Context) -> list[Finding]:
    note_switch(cmd, ctx)
    _note_tracking(cmd, ctx)
    if cmd.has("--discard-changes", "-f", "--force", "-C", "--force-create"):
        return [_write(cmd, "vcs.discard", "switches branches discarding local changes")]
    return []


_SUBCOMMANDS: dict[str, Handler] = {
    "add": _add,
    "push": _push,
    "reset": _reset,
    "clean": _clean,
    "checkout": _checkout,
    "restore": _restore,
    "branch": _branch,
    "stash": _stash,
    "rebase": _rebase,
    "filter-branch": _rewrite,
    "filter-repo": _rewrite,
    "replace": _rewrite,
    "reflog": _reflog,
    "gc": _gc,
    "prune": _gc,
    "update-ref": _update_ref,
    "symbolic-ref": _symbolic_ref,
    "worktree": _worktree,
    "config": _config,
    "show": _show,
    "cat-file": _show,
    "tag": _tag,
    "switch": _switch,
    "bisect": _runs_command((), positional=True),
    "submodule": _runs_command((), positional=True),
    "difftool": _runs_command(("-x", "--extcmd")),
    "mergetool": _runs_command(("--tool-cmd",)),
    "read-tree": _discard_plumbing,
    "checkout-index": _discard_plumbing,
    "rm": _rm,
    "log": _patch_of_secret,
    "diff": _patch_of_secret,
    "whatchanged": _patch_of_secret,
    # Line by line, a search of tracked files, an archive: each prints what it names.
    "blame": _patch_of_secret,
    "annotate": _patch_of_secret,
    "grep": _grep,
    "archive": _patch_of_secret,
}
