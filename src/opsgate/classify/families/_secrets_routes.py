"""Secret reads by any route: a program given a credentials path reads it.

Listing readers one by one (cat, base64, tar …) always misses the next program, so
the rule runs the other way round: any program whose arguments name a secret path
reads that secret, unless it is known only to stat, list, checksum, move the name
around, or *use* the credential without printing it (``ssh -i KEY``, ``curl --cert``,
``kubectl --kubeconfig``).  A credentials directory counts when the program recurses
into it (``tar ~/.ssh``, ``cp -r ~/.aws``); for programs that copy or archive whole
trees, so does a directory above one (``tar czf x.tgz ~``).

Decisions, each documented in docs/classification.md:

* A checksum of a secret (``sha256sum .env``) is not its value: checksum tools pass.
* A move or hard link into a name that is itself a secret (``mv .env .env.bak``)
  keeps the value behind the guard and is not a read; to any other name it is
  (``mv ~/.ssh/id_rsa /tmp/x``).  ``cp`` keeps its own, stricter rule: every copy of a
  credentials file is a read.  A symlink is not a read (every later read resolves
  it); a hard link is, since nothing on disk says where it came from.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command, Context
from opsgate.classify._dispatch_wrappers import WRAPPERS
from opsgate.classify.families._index import INDEX
from opsgate.classify.families._secrets_common import judge_operand, secret_write
from opsgate.classify.families._secrets_readers import _READERS
from opsgate.classify.paths import is_secret_dir, is_secret_path
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify._shell_state import FileNote

__all__ = ["METADATA_ONLY", "WRITES_SECRETS", "named_secrets", "secret_writes"]

# Programs that never print, copy or send a file's contents: its name, size, type,
# hash or permissions at most (or a deletion, judged by the filesystem family).
METADATA_ONLY = frozenset(
    {"ls", "exa", "eza", "lsd", "stat", "gstat", "test", "[", "[[", "file", "wc", "du", "df",
     "touch", "rm", "rmdir", "unlink", "shred", "srm", "trash", "trash-put", "gio", "chmod",
     "chown", "chgrp", "chattr", "lsattr", "getfacl", "setfacl", "realpath", "readlink",
     "basename", "dirname", "mkdir", "find", "locate", "mlocate", "plocate", "tree", "lsof",
     "fuser", "namei", "md5sum", "sha1sum", "sha224sum", "sha256sum", "sha384sum", "sha512sum",
     "shasum", "b2sum", "b3sum", "cksum", "sum", "xxhsum", "xxh64sum", "md5", "echo", "printf",
     "which", "type", "command", "cd", "pushd", "popd", "export", "unset", "inotifywait",
     "fswatch", "watchman", "ssh-add", "ssh-keygen", "ssh-copy-id", "source", ".", "git",
     "sleep", "true", "false", "builtin", "hash", "mkfifo", "sync", "ldd", "nm", "kill", "pkill",
     "killall", "skill", "pgrep", "pidof", "ps", "pstree", "top"}
)  # fmt: skip
# Programs whose own handlers already judge secret operands, with modes that print
# only names or counts (``grep -c KEY .env``, ``awk -F= '{print $1}'``).
_OWN_RULES = frozenset({"sed", "awk", "gawk", "mawk", "nawk", "openssl", "sops", "kubectl", "oc"})
# Programs this rule leaves alone: the metadata-only ones, those with their own rules
# (the readers the secrets family dispatches to its reader rule), and wrappers (their
# wrapped command is judged on its own; xargs and parallel are handled above, for their
# -a FILE).  A reader another family owns (vim, view, emacs: the shells family reads
# their ``-c`` commands) is never sent to the reader rule, so this rule judges it.
_SKIP = (
    METADATA_ONLY
    | _OWN_RULES
    | frozenset(WRAPPERS)
    | frozenset(r for r in _READERS if INDEX.get(r, "secrets") == "secrets")
) - {"cmp", "ln", "xargs", "parallel"}
# Options whose value is a credential the program uses, not prints.
_USE_OPTIONS = frozenset(
    {"--identity", "--identity-file", "--key", "--key-file", "--keyfile", "--private-key",
     "--private-key-file", "--privatekey", "--cert", "--certificate", "--cacert", "--ca-cert",
     "--cafile", "--ca-file", "--capath", "--client-cert", "--client-key", "--cert-file",
     "--kubeconfig", "--env-file", "--credentials", "--credentials-file", "--credential-file",
     "--creds-file", "--service-account-key-file", "--vault-password-file", "--vault-pass-file",
     "--vault-id", "--password-file", "--passfile", "--passphrase-file", "--netrc-file",
     "--defaults-file", "--defaults-extra-file", "--auth-file", "--authfile", "--token-file",
     "--tls-cert", "--tls-key", "--tlscert", "--tlskey", "--tlscacert", "--ssl-key",
     "--ssl-cert", "--ssl-ca", "--sslkey", "--sslcert", "--var-file", "-var-file",
     "--from-file", "--from-env-file", "--data-file", "--keytab", "--ssh-key",
     "--ssh-private-key", "--signing-key", "--secret", "--ca-certificate", "--recipients-file",
     "--config"}
)  # fmt: skip
# The same, for one program only (short options mean different things elsewhere).
# Options whose value names what a program leaves out (``tar --exclude=.env``): the
# file is not read.  (``--include`` names what it takes, and stays a candidate.)
_EXCLUDE_OPTIONS = frozenset(
    {"--exclude", "--exclude-dir", "--exclude-from", "--exclude-vcs", "--exclude-ignore",
     "--exclude-tag", "--exclude-caches", "--ignore", "--ignore-file", "--exclude-pattern"}
)  # fmt: skip
_USE_BY_PROGRAM: dict[str, frozenset[str]] = {
    **dict.fromkeys(("ssh", "scp", "sftp", "autossh", "mosh", "sshfs", "ssh-copy-id"),
                    frozenset({"-i", "-F", "-S"})),
    "curl": frozenset({"-E", "--key", "--cert", "--cacert"}),
    "kinit": frozenset({"-t", "-k"}),
    **dict.fromkeys(("dotenv", "env-cmd", "dotenvx"), frozenset({"-f", "-e", "--file"})),
    **dict.fromkeys(("helm", "kustomize", "skaffold"), frozenset({"-f", "--values"})),
    **dict.fromkeys(("docker", "podman", "nerdctl", "docker-compose"), frozenset({"-f"})),
    "age": frozenset({"-i", "-R"}),
    "sshpass": frozenset({"-f"}),
    # Variables and keys a playbook runs with (a run is judged as a run).
    **dict.fromkeys(("ansible", "ansible-playbook", "ansible-pull"),
                    frozenset({"-e", "--extra-vars", "--private-key", "--key-file"})),
}  # fmt: skip
# Options whose value is the code an interpreter runs (judged by the interpreter rules);
# per language, since ``perl -p`` (a loop that prints) takes no value.
_CODE_OPTIONS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("python", "python2", "python3", "pypy", "pypy3", "bash", "sh", "dash",
                     "zsh", "ksh", "fish", "busybox"), frozenset({"-c"})),
    "perl": frozenset({"-e", "-E"}),
    **dict.fromkeys(("ruby", "lua", "luajit", "Rscript", "R"), frozenset({"-e"})),
    **dict.fromkeys(("node", "nodejs", "bun"), frozenset({"-e", "--eval", "-p", "--print"})),
    "php": frozenset({"-r"}),
    "elixir": frozenset({"-e", "--eval"}),
    "julia": frozenset({"-e", "--eval", "-E", "--print"}),
    **dict.fromkeys(("pwsh", "powershell"), frozenset({"-c", "-Command", "-command"})),
    # An editor's commands (``vim -c '%p'``): the file is the operand, not the command.
    **dict.fromkeys(("vim", "vi", "view", "nvim", "ex", "rvim", "rview", "vimdiff"),
                    frozenset({"-c", "--cmd", "-T", "-w", "-W"})),
    "emacs": frozenset({"--eval", "-f", "--funcall"}),
}  # fmt: skip
# Options whose value is written, not read (``--output OUT``).  Short ones differ by
# program: ``rsync -o`` takes no value, and skipping a word it does not own would hide
# the file that follows.
_OUTPUT_OPTIONS = frozenset(
    {"--output", "-out", "--out", "--output-document", "--output-file", "--target-directory"}
)
_OUTPUT_BY_PROGRAM: dict[str, frozenset[str]] = {
    **dict.fromkeys(("curl", "gpg", "gpg2", "age", "sort", "zstd", "pandoc"), frozenset({"-o"})),
    "wget": frozenset({"-O"}),
    **dict.fromkeys(("cp", "mv", "install", "ln"), frozenset({"-t"})),
}  # fmt: skip
# Programs whose positional at this index is where they write (the archive, the copy).
_DESTINATION: dict[str, int] = {
    "cp": -1, "mv": -1, "install": -1, "ln": -1, "scp": -1, "rsync": -1, "rclone": -1,
    "zip": 0, "7z": 1, "7za": 1, "7zz": 1, "7zr": 1, "rar": 1, "jar": 1,
    "ditto": -1, "gcp": -1, "rcp": -1, "pv": -1,
}  # fmt: skip
# Programs that descend into a directory: always (None) or with one of these flags.
_RECURSIVE: dict[str, frozenset[str] | None] = {
    **dict.fromkeys(("tar", "bsdtar", "gtar", "7z", "7za", "7zz", "7zr", "rar", "rclone", "restic",
                     "borg", "duplicity", "kopia", "tarsnap", "croc", "wormhole", "ditto",
                     "dar", "pax", "star", "jar", "rg", "ag", "ack", "pt", "ugrep"), None),
    # Object-store clients copy a tree with a flag, or when they sync.
    **dict.fromkeys(("aws", "gsutil", "azcopy", "s3cmd", "mc", "b2"),
                    frozenset({"--recursive", "-r", "-R", "sync", "rsync", "mirror"})),
    **dict.fromkeys(("cp", "gcp"), frozenset({"-r", "-R", "-a", "--recursive", "--archive"})),
    **dict.fromkeys(("scp", "rcp"), frozenset({"-r"})),
    "rsync": frozenset({"-r", "-a", "--recursive", "--archive"}),
    "zip": frozenset({"-r", "-R", "--recurse-paths", "--recurse-patterns"}),
    **dict.fromkeys(("gzip", "pigz", "zstd", "bzip2", "xz", "lz4"), frozenset({"-r"})),
    **dict.fromkeys(("grep", "egrep", "fgrep"),
                    frozenset({"-r", "-R", "--recursive", "--dereference-recursive"})),
}  # fmt: skip
# Of those, programs that take a whole tree with them: a directory *above* a credentials
# directory (``~``, ``~/.config``, ``/``) counts as well.
_WHOLE_TREE = frozenset(
    {"tar", "bsdtar", "gtar", "7z", "7za", "7zz", "7zr", "rar", "rclone", "restic", "borg",
     "duplicity", "kopia", "tarsnap", "aws", "gsutil", "azcopy", "s3cmd", "mc", "b2", "croc",
     "wormhole", "ditto", "dar", "pax", "star", "jar", "cp", "gcp", "scp", "rcp", "rsync", "zip"}
)  # fmt: skip
# Modes in which a program only uses or checks a file it is given.
_USE_MODES: dict[str, frozenset[str]] = {
    **dict.fromkeys(("gpg", "gpg2"), frozenset(
        {"--verify", "--import", "--recv-keys", "--fingerprint", "-k", "--list-keys",
         "--list-secret-keys", "-K", "--detach-sign", "-b", "--export", "--list-packets",
         "--show-keys", "--import-ownertrust"})),
    **dict.fromkeys(("bash", "sh", "dash", "zsh", "ksh"), frozenset({"*"})),
}  # fmt: skip
_TRACE_FLAGS = frozenset({"-x", "-v", "--verbose", "--xtrace"})
_CODE_LIKE = re.compile(r"[\n;|()'\"`]|\s-")
_REMOTE_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


def named_secrets(cmd: Command, ctx: Context) -> list[Finding]:
    """Secret reads of ``cmd`` by the paths its arguments name (see the module doc)."""
    name = cmd.name
    if name in _SKIP or not cmd.args:
        return []
    if name == "ln":
        return _link(cmd, ctx)
    if name in ("xargs", "parallel"):
        files = cmd.options("-a", "--arg-file")
        return _judged(cmd, ctx, [Arg(f) for f in files], recursive=False, tree=False)
    if _names_on_stdin(cmd):
        found = _stdin_names(cmd, ctx)
        if found:
            return found
    if _uses_only(cmd):
        return []
    if name == "cmp" and not cmd.has("-l", "-b", "--verbose", "--print-bytes"):
        return []
    recursive = _recursive(cmd)
    if not recursive and _only_plain_words(cmd):
        return []
    operands = _candidates(cmd)
    found = _judged(cmd, ctx, operands, recursive=recursive, tree=recursive and name in _WHOLE_TREE)
    if found and name in ("cp", "mv", "install", "ditto", "gcp") and _keeps_secret_name(cmd, ctx):
        return []  # ``cp .env .env.bak``: the copy is as guarded as the original
    if not found and recursive:
        from opsgate.classify.families._secrets_links import followed_links

        return followed_links(cmd, ctx, operands)
    return found


# Programs that read the files named on their standard input, and the options that
# make them do so (``"*"``: always, in the modes that read).
_NAMES_ON_STDIN: dict[str, tuple[str, ...]] = {
    "cpio": ("-o", "--create", "-p", "--pass-through"),
    **dict.fromkeys(("tar", "gtar", "bsdtar"), ("-T", "--files-from", "-I")),
    "zip": ("-@", "--names-stdin"),
    "rsync": ("--files-from",),
    "pax": ("-w",),
    "afio": ("-o",),
}


def _names_on_stdin(cmd: Command) -> bool:
    modes = _NAMES_ON_STDIN.get(cmd.name)
    if modes is None or cmd.stdin is None:
        return False
    if cmd.name in ("cpio", "zip", "pax", "afio"):
        return (
            cmd.has(*modes)
            or any(  # ``cpio -ov``: a cluster
                w[:1] == "-" and w[1:2] != "-" and any(m[1] in w[1:] for m in modes if len(m) == 2)
                for w in cmd.words
            )
        )
    listed = [cmd.option(m) for m in modes]
    return any(v in ("-", "/dev/stdin") for v in listed)


def _stdin_names(cmd: Command, ctx: Context) -> list[Finding]:
    """The files a program reads by the names on its standard input: the lines of a
    known text (``echo ~/.ssh/id_rsa | cpio -o``), or what a listing prints
    (``find ~/.ssh | cpio -o``: ``_pipes_names``)."""
    stdin = cmd.stdin
    if stdin is None:
        return []
    names = [line.strip() for line in (stdin.text or "").splitlines() if line.strip()][:64]
    found: list[Finding] = []
    for name in [*names, *stdin.names]:
        tree = name.endswith("/")
        hit = judge_operand(cmd, Arg(name.rstrip("/") or "/"), ctx, verb="reads",
                            recursive=tree, tree=tree)  # fmt: skip
        if hit is not None:
            found.append(hit)
            break
    return found


def _only_plain_words(cmd: Command) -> bool:
    """The common case, decided without a look at the disk: a program that takes
    files spelt as paths, given no word that is, or names, a credentials path (flags,
    hosts, resource names, URLs: ``docker compose up -d``, ``psql -h db.internal``)."""
    if _reads_plain_words(cmd.name):
        return False
    for arg in cmd.args:
        word = arg.value
        if not arg.static:
            if "/proc/" in word:
                return False
            continue
        if is_secret_path(word) or _LOOKS_LIKE_FILE.search(word):
            if "://" in word and not word.startswith("file://"):
                continue  # a URL
            return False
    return True


# A path, a home or dot path, a glob, ``@file``, ``key=path``: worth a closer look.
_LOOKS_LIKE_FILE = re.compile(r"/|^[~.]|[*?\[@]|=[~./]")


def _uses_only(cmd: Command) -> bool:
    modes = _USE_MODES.get(cmd.name)
    if modes is None:
        return False
    if "*" in modes:
        return not cmd.has(*_TRACE_FLAGS)  # ``bash -x .env`` traces every assignment
    return cmd.has(*modes)


def _recursive(cmd: Command) -> bool:
    flags = _RECURSIVE.get(cmd.name, ())
    if flags is None:
        return True
    if not flags:
        return False
    letters = "".join(f[1] for f in flags if len(f) == 2 and f[0] == "-")
    for arg in cmd.args:
        word = arg.value
        if word == "--":
            break
        if word in flags or (
            letters and word[:1] == "-" and word[1:2] != "-" and any(c in letters for c in word)
        ):
            return True
    return False


def _candidates(cmd: Command) -> list[Arg]:
    """Every argument that may name a file the program reads."""
    skip_values = _skipped_values(cmd.name)
    options: list[Arg] = []
    positionals: list[Arg] = []
    skip = dashdash = excluding = False
    for arg in cmd.args:
        word = arg.value
        if cmd.name == "zip" and word in ("-x", "--exclude", "-i", "--include"):
            excluding = word in ("-x", "--exclude")  # ``zip -r a.zip . -x .env '*.log'``
            if not excluding:
                continue
        elif excluding and not word.startswith("-"):
            continue  # a pattern zip leaves out
        else:
            excluding = False
        if excluding:
            continue
        if skip:
            skip = False
        elif dashdash or not word.startswith("-") or word == "-":
            positionals.append(arg)
        elif word == "--":
            dashdash = True
        else:
            option, eq, value = word.partition("=")
            if option in skip_values:
                skip = not eq
            elif eq:
                options.append(Arg(value, arg.static))
    index = _DESTINATION.get(cmd.name)
    if index is not None and len(positionals) > 1:
        del positionals[index]
    out: list[Arg] = []
    for arg in options + positionals:
        if _PLAIN.match(arg.value):
            out.append(arg)
        else:
            out.extend(_path_forms(arg))
    return out


_PLAIN = re.compile(r"[\w+-][\w.+-]*\Z")


_SKIPPED: dict[str, frozenset[str]] = {}


def _skipped_values(name: str) -> frozenset[str]:
    """Options of ``name`` whose value is not a file it reads (computed once per name)."""
    found = _SKIPPED.get(name)
    if found is None:
        found = (
            _EXCLUDE_OPTIONS
            | _USE_OPTIONS
            | _OUTPUT_OPTIONS
            | _USE_BY_PROGRAM.get(name, frozenset())
            | _OUTPUT_BY_PROGRAM.get(name, frozenset())
            | _CODE_OPTIONS.get(name, frozenset())
        )
        if len(_SKIPPED) < 4096:
            _SKIPPED[name] = found
    return found


def _path_forms(arg: Arg) -> Iterator[Arg]:
    """The file names one word may carry: ``if=PATH``, ``@PATH``, ``file://PATH``."""
    word = arg.value
    if _CODE_LIKE.search(word):
        return
    if word.startswith("file://"):
        yield Arg(word[len("file://") :], arg.static)
        return
    if _REMOTE_URL.match(word):
        return
    key, eq, value = word.partition("=")
    if eq and key and "/" not in key:
        if key in ("of", "seek"):
            return  # dd's output
        word = value
    if word.startswith("@"):
        word = word[1:]
    if word:
        yield Arg(word, arg.static)


def _judged(
    cmd: Command, ctx: Context, operands: list[Arg], *, recursive: bool, tree: bool
) -> list[Finding]:
    every_word = _reads_plain_words(cmd.name)
    plain_ok = not recursive
    for arg in operands:
        value = arg.value
        follow = every_word
        if plain_ok and not every_word and arg.static:
            # A CLI of another family: a file it reads is spelt as a path (``./x``,
            # ``~/x``, ``dir/x``); other words are judged by name alone, with no look
            # at the disk (hosts, images, resource names).
            follow = value[:1] in _PATH_START or "/" in value
            if not follow and not _plain_secret(value):
                continue
        finding = judge_operand(
            cmd,
            arg,
            ctx,
            verb="reads",
            recursive=recursive,
            tree=tree,
            follow=follow,
            expand=every_word,
        )
        if finding is not None:
            return [finding]
    return []


def _plain_secret(word: str) -> bool:
    return is_secret_path(word) or _GLOB_CHAR.search(word) is not None


_GLOB_CHAR = re.compile(r"[*?\[]")
_PATH_START = frozenset("/~.")


@functools.lru_cache(maxsize=1024)
def _reads_plain_words(name: str) -> bool:
    """Whether ``name`` may take a plain word (``keys``) as a file to read, so a link
    on disk by that name must be followed: programs opsgate has no table for,
    interpreters, file tools, archivers and copiers.  The CLIs of the other families
    (docker, kubectl, npm, cargo …) take subcommands and names there; a file they
    read is spelt like a path (``./keys``, ``keys.json``), and only those are
    followed, which spares a system call per word on the hot path."""
    family = INDEX.get(name)
    return (
        family is None
        or family in ("shells", "secrets", "filesystem")
        or (name in _WHOLE_TREE and name not in _OBJECT_STORES)
        or name in _DESTINATION
    )


_OBJECT_STORES = frozenset({"aws", "gsutil", "azcopy", "s3cmd", "mc", "b2", "rclone"})


def _keeps_secret_name(cmd: Command, ctx: Context) -> bool:
    """``cp .env .env.bak``, ``mv ~/.ssh/id_rsa ~/.ssh/id_rsa.old``: the destination is a
    credentials path too, so the value stays where the guard already looks."""
    from opsgate.classify.families._secrets_common import _resolve

    ops = cmd.positionals(("-t", "--target-directory", "-S", "--suffix", "-m", "--mode"))
    target = cmd.option("-t", "--target-directory")
    dest = target if target is not None else (ops[-1].value if len(ops) > 1 else None)
    if dest is None:
        return False
    full = _resolve(dest, ctx, cmd.cwd)
    sources = ops if target is not None else ops[:-1]
    into_dir = target is not None or len(sources) > 1 or dest.endswith("/") or _is_dir(full, ctx)
    for src in sources:
        inside = f"{full.rstrip('/')}/{src.value.rstrip('/').rsplit('/', 1)[-1]}"
        kept = is_secret_path(inside) if into_dir else is_secret_path(full)
        if not (kept or is_secret_dir(full)):
            return False
    return True


def _is_dir(full: str, ctx: Context) -> bool:
    """Whether ``full`` is a directory on the agent's machine (asked of the file source)."""
    session = getattr(ctx, "session", None)
    if session is None or ctx.remote is not None or not full.startswith("/"):
        return False
    return bool(session.file_kind(full) == "dir")


def _link(cmd: Command, ctx: Context) -> list[Finding]:
    """``ln -s TARGET NAME`` is remembered (later reads of NAME resolve to TARGET);
    a hard link to a secret is a copy under a new name, so it is a read."""
    from opsgate.classify.families._links_made import placed

    ops = cmd.positionals(("-t", "--target-directory", "-S", "--suffix"))
    if len(ops) < 2:
        return []
    symbolic = cmd.has("-s", "--symbolic")
    if not symbolic:
        if _keeps_secret_name(cmd, ctx):
            return []
        return _judged(cmd, ctx, ops[:-1], recursive=False, tree=False)
    for target, name in placed(cmd, ctx):
        _note_link(cmd, ctx, target, name)
    return []


def _note_link(cmd: Command, ctx: Context, target: Arg, name: Arg) -> None:
    scope = getattr(ctx, "scope", None)
    workspace = getattr(ctx, "workspace", None)
    if scope is None or workspace is None or not (target.static and name.static):
        return
    from opsgate.classify._shell_state import FileNote

    where = workspace.expand(name.value, cmd.cwd)
    if where is None:
        return
    if target.value.startswith(("/", "~")):
        resolved = workspace.expand(target.value, cmd.cwd)
    else:
        resolved = workspace.expand(target.value, where.rsplit("/", 1)[0] or "/")
    if resolved is None:
        return
    old: FileNote | None = scope.files.get(where)
    if old is not None and old.link is None and (old.text is not None or old.untrusted):
        return
    # ``origin`` too: running the link later runs what it points at (``_run_notes``).
    scope.files[where] = FileNote(None, False, origin=resolved, link=resolved)


# Programs that write the files they are given: (options whose value is not a file,
# whether the write needs a flag to be in place).
_IN_PLACE = frozenset({"-i", "--in-place"})


# The programs ``secret_writes`` judges (``_cross_cutting`` skips it for the others).
WRITES_SECRETS = frozenset({"tee", "sed", "gsed", "perl", "ruby"})


def secret_writes(cmd: Command, ctx: Context) -> list[Finding]:
    """``tee .env``, ``sed -i … .env``, ``perl -pi -e … .env``: a write into a
    credentials file, stopped for a human like the Write tool (see docs)."""
    name = cmd.name
    if name == "tee":
        files = cmd.positionals()
        how = "appends to" if cmd.has("-a", "--append") else "overwrites"
    elif name in ("sed", "gsed") and _in_place(cmd):
        ops = cmd.positionals(("-e", "-f", "--expression", "--file", "-l", "--line-length"))
        files = ops if cmd.option("-e", "--expression", "-f", "--file") else ops[1:]
        how = "edits"
    elif name in ("perl", "ruby") and _in_place(cmd):
        code = cmd.option("-e", "-E")
        files = [a for a in cmd.positionals(("-e", "-E", "-I", "-M", "-m")) if a.value != code]
        how = "edits"
    else:
        return []
    out: list[Finding] = []
    for arg in files:
        if arg.static:
            out += secret_write(arg.value, ctx, cmd.text, how)
    return out


def _in_place(cmd: Command) -> bool:
    return any(
        w in _IN_PLACE
        or w.startswith(("--in-place=",))
        or (w.startswith("-") and not w.startswith("--") and "i" in w[1:] and len(w) <= 6)
        for w in cmd.words
    )
