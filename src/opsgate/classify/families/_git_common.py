"""Protected branches and the finding every git write shares."""

from __future__ import annotations

import fnmatch

from opsgate.classify._command import Command
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["GIT_COMMANDS", "PROTECTED_BRANCHES", "_write", "is_protected_branch"]

# git's own commands (git 2.39 to 2.47, and the usual add-ons): a name among them is
# never an alias (git runs its own command first).
GIT_COMMANDS = frozenset({
    "add", "am", "annotate", "apply", "archive", "backfill", "bisect", "blame", "branch",
    "bugreport", "bundle", "cat-file", "check-attr", "check-ignore", "check-mailmap",
    "check-ref-format", "checkout", "checkout-index", "cherry", "cherry-pick", "citool",
    "clean", "clone", "column", "commit", "commit-graph", "commit-tree", "config",
    "count-objects", "credential", "credential-cache", "credential-store", "cvsimport",
    "cvsserver", "daemon", "describe", "diagnose", "diff", "diff-files", "diff-index",
    "diff-tree", "difftool", "fast-export", "fast-import", "fetch", "fetch-pack",
    "filter-branch", "fmt-merge-msg", "for-each-ref", "for-each-repo", "format-patch",
    "fsck", "fsck-objects", "gc", "get-tar-commit-id", "gitk", "grep", "gui",
    "hash-object", "help", "hook", "http-backend", "http-fetch", "http-push", "imap-send",
    "index-pack", "init", "init-db", "instaweb", "interpret-trailers", "last-modified",
    "lfs", "log", "ls-files", "ls-remote", "ls-tree", "mailinfo", "mailsplit",
    "maintenance", "merge", "merge-base", "merge-file", "merge-index", "merge-octopus",
    "merge-one-file", "merge-ours", "merge-recursive", "merge-recursive-ours",
    "merge-recursive-theirs", "merge-resolve", "merge-subtree", "merge-tree", "mergetool",
    "mktag", "mktree", "multi-pack-index", "mv", "name-rev", "notes", "p4", "pack-objects",
    "pack-redundant", "pack-refs", "patch-id", "pickaxe", "prune", "prune-packed", "pull",
    "push", "quiltimport", "range-diff", "read-tree", "rebase", "receive-pack", "reflog",
    "refs", "remote", "remote-ext", "remote-fd", "remote-ftp", "remote-ftps",
    "remote-http", "remote-https", "repack", "replace", "replay", "repo", "request-pull",
    "rerere", "reset", "restore", "rev-list", "rev-parse", "revert", "rm", "scalar",
    "send-email", "send-pack", "shell", "shortlog", "show", "show-branch", "show-index",
    "show-ref", "sparse-checkout", "stage", "stash", "status", "stripspace", "submodule",
    "subtree", "svn", "switch", "symbolic-ref", "tag", "unpack-file", "unpack-objects",
    "update-index", "update-ref", "update-server-info", "upload-archive", "upload-pack",
    "var", "verify-commit", "verify-pack", "verify-tag", "version", "web--browse",
    "whatchanged", "worktree", "write-tree",
})  # fmt: skip

PROTECTED_BRANCHES = (
    "main",
    "master",
    "production",
    "prod",
    "release",
    "release/*",
    "release-*",
    "releases/*",
    "stable",
    "live",
    "trunk",
)


def is_protected_branch(name: str) -> bool:
    branch = name.removeprefix("refs/heads/")
    return any(fnmatch.fnmatchcase(branch, p) for p in PROTECTED_BRANCHES)


def _write(cmd: Command, category: str, reason: str, impact: Impact = Impact.DESTRUCTIVE,
           target: str | None = None) -> Finding:  # fmt: skip
    env = Environment.LOCAL if target is None else None
    return Finding(
        category,
        impact,
        Effect.WRITE,
        cmd.text,
        reason,
        target,
        env,
        "agent workspace" if target is None else None,
    )
