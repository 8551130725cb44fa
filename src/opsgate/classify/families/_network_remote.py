"""Raw sockets (nc, socat, telnet), remote shells and copies (ssh, scp, rsync, ftp)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from opsgate.classify._command import Command, Context
from opsgate.classify.families._network_addresses import _words, is_loopback_host, is_metadata_host
from opsgate.classify.families._network_common import (
    _L,
    _R,
    _S,
    _U,
    _W,
    _exfil,
    _finding,
    _has,
    _scan,
    _values,
    _with_env,
)
from opsgate.classify.families._ssh_config import config_commands, config_settings
from opsgate.classify.paths import is_secret_path
from opsgate.models import Finding, Impact

__all__ = ["_ftp", "_nc", "_rsync", "_scp", "_socat", "_ssh", "_ssh_copy_id", "_telnet"]

# ── raw sockets ────────────────────────────────────────────────────────────
_NC_SHORT = "ecpswiqxXTIOM"
_NC_LONG = _words(
    "--exec --sh-exec --lua-exec --source-port --source --wait --idle-timeout --proxy",
    "--proxy-type --proxy-auth --output --hex-dump --allow --allowfile --deny --denyfile",
    "--max-conns --ssl-cert --ssl-key --ssl-trustfile --ssl-ciphers",
)


def _stdin_file(cmd: Command) -> str | None:
    if cmd.stdin and cmd.stdin.source.startswith("file:"):
        return cmd.stdin.source[5:]
    return None


def _socket_send(cmd: Command, ctx: Context, host: str, category: str) -> list[Finding]:
    """A raw connection to ``host``: what it sends decides."""
    if is_metadata_host(host):
        reason = "connects to the cloud metadata service"
        return [_finding(_S, "secrets.cloud_metadata", cmd.text, reason, host)]
    if is_loopback_host(host):
        return [_finding(_L, category, cmd.text, "connects to this machine", host)]
    sent = _stdin_file(cmd)
    if sent is not None:
        return _with_env(_exfil(cmd, host, [sent]), ctx)
    if cmd.stdin is not None:
        # A raw protocol payload (``printf 'FLUSHALL\r\n' | nc redis 6379``) can't be modelled.
        reason = f"sends a raw payload to {host}"
        return _with_env([_finding(_U, category, cmd.text, reason, host)], ctx)
    return _with_env([_finding(_R, category, cmd.text, f"connects to {host}", host)], ctx)


def _nc(cmd: Command, ctx: Context) -> list[Finding]:
    opts, pos = _scan(cmd.words, _NC_SHORT, _NC_LONG)
    if _has(opts, "-e", "-c", "--exec", "--sh-exec", "--lua-exec"):
        reason = "hands a shell to the network (reverse or bind shell)"
        return [_finding(_W, "network.reverse_shell", cmd.text, reason, pos[0] if pos else None)]
    if _has(opts, "-z"):
        return [_finding(_R, "network.port_check", cmd.text, "port check; no data sent")]
    if _has(opts, "-l", "--listen"):
        return [_finding(_L, "network.listen", cmd.text, "listens on a local port")]
    if not pos:
        return []
    return _socket_send(cmd, ctx, pos[0], "network.socket")


_SOCAT_NET = re.compile(
    r"^(TCP|UDP|SCTP|DCCP|SSL|OPENSSL|SOCKS|PROXY|VSOCK|IP|UDPLITE)[-\w]*[:,]", re.I
)
_SOCAT_EXEC = re.compile(r"^(EXEC|SYSTEM):(.*?)(,[\w-]+(=[^,]*)?)*$", re.I | re.S)
_SOCAT_FILE = re.compile(
    r"^(?:OPEN|GOPEN|CREATE|FILE|CREAT):([^,]+)|^(/[^,:]+|\.{1,2}/[^,:]+)", re.I
)


def _socat(cmd: Command, ctx: Context) -> list[Finding]:
    addrs = [w for w in cmd.words if not w.startswith("-") or w == "-"][-2:]
    execs = [m.group(2) for a in addrs if (m := _SOCAT_EXEC.match(a))]
    nets = [a for a in addrs if _SOCAT_NET.match(a)]
    if execs and nets:
        reason = "connects a shell to the network (reverse or bind shell)"
        return [_finding(_W, "network.reverse_shell", cmd.text, reason)]
    found = [f for e in execs for f in ctx.classify_shell(e, via="socat")]
    files = [m.group(1) or m.group(2) for a in addrs if (m := _SOCAT_FILE.match(a))]
    for addr in nets:
        if "LISTEN" in addr.upper() or addr.upper().startswith(("TCP-L:", "UDP-RECV")):
            found.append(_finding(_L, "network.listen", cmd.text, "listens on a local port"))
            continue
        host = addr.split(":", 2)[1] if addr.count(":") >= 1 else ""
        host = host.split(",", 1)[0]
        if files:
            found.extend(_with_env(_exfil(cmd, host, files), ctx))
        else:
            found.extend(_socket_send(cmd, ctx, host, "network.socket"))
    return found


def _telnet(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_words("-l -b -e -n -X -k"))]
    return _socket_send(cmd, ctx, pos[0], "network.socket") if pos else []


# ── remote shells and copies ───────────────────────────────────────────────
_SSH_SHORT = "BbcDEeFIiJLlmOoPpQRSWw"
_SSH_NO_SHELL = frozenset({"-N", "-W", "-O", "-G", "-V", "-Q"})  # no remote command runs
_SSH_OPT_KEY = re.compile(r"^\s*(\w+)\s*[=\s]\s*(.*)$", re.S)


def _host_of(dest: str) -> str:
    """``user@host``, ``ssh://user@host:22``, ``user@[::1]`` → host."""
    dest = dest.removeprefix("ssh://").removeprefix("sftp://").removeprefix("rsync://")
    dest = dest.rsplit("@", 1)[-1].split("/", 1)[0]
    if dest.startswith("["):
        return dest[1:].split("]", 1)[0]
    return dest.split(":", 1)[0] if dest.count(":") <= 1 else dest


def _ssh_options(
    cmd: Command, ctx: Context, opts: list[tuple[str, str | None]], host: str
) -> list[Finding]:
    """Forwards and ``-o`` settings that act on their own."""
    found: list[Finding] = []
    settings = {
        m.group(1).lower(): m.group(2) for v in _values(opts, "-o") if (m := _SSH_OPT_KEY.match(v))
    }
    for key in ("proxycommand", "localcommand", "knownhostscommand"):
        if settings.get(key, "none").lower() != "none":  # runs on this machine
            found.extend(ctx.classify_shell(settings[key], via=f"ssh {key}"))
    if _has(opts, "-R") or "remoteforward" in settings:
        reason = f"opens a way from {host} back into this machine (remote forward)"
        found.append(_finding(_W, "network.tunnel", cmd.text, reason, host))
    if _has(opts, "-L", "-D") or {"localforward", "dynamicforward"} & settings.keys():
        reason = f"forwards a local port through {host}"
        found.append(_finding(_L, "network.tunnel", cmd.text, reason, host))
    return found


def _ssh_host(opts: list[tuple[str, str | None]], dest: str) -> str:
    """The machine ssh connects to: ``-o HostName=web-prod-1`` beats the destination's
    name (for ssh's own settings the first value given wins)."""
    for value in _values(opts, "-o"):
        found = _SSH_OPT_KEY.match(value)
        if found is not None and found.group(1).lower() == "hostname" and found.group(2):
            return _host_of(found.group(2).strip())
    return _host_of(dest)


def _retarget(findings: Iterable[Finding], host: str) -> list[Finding]:
    """Nested findings from a remote script land on ``host``."""
    return [f if f.target else dataclasses.replace(f, target=host) for f in findings]


def _ssh(cmd: Command, ctx: Context) -> list[Finding]:
    opts, pos = _scan(cmd.words, _SSH_SHORT, frozenset(), stop_at_positional=True)
    # ssh reads options again after the destination; the command starts at the
    # next plain word and keeps its own dashes (``ssh host -p 22 ls -la``).
    if pos:
        more, rest = _scan(pos[1:], _SSH_SHORT, frozenset(), stop_at_positional=True)
        opts, pos = opts + more, pos[:1] + rest
    if not pos:
        return [_finding(_R, "network.ssh", cmd.text, "prints ssh information")]
    alias = _host_of(pos[0])
    files = _values(opts, "-F")
    config = files[0] if files else None
    settings = config_settings(cmd, ctx, config, alias) if config != "none" else {}
    host = _ssh_host(opts, pos[0])
    if host == alias and settings.get("hostname"):  # ``-o HostName`` wins over the file
        host = _host_of(settings["hostname"].replace("%h", alias))
    found = _ssh_options(cmd, ctx, opts, host)
    found += config_commands(cmd, ctx, config, alias, settings) if settings or config else []
    script = " ".join(pos[1:])
    stdin = cmd.stdin
    sent = _stdin_file(cmd)
    if sent and not is_secret_path(sent) and _STDIN_SHELL.match(script):
        script = ""  # ``ssh h 'bash -s' < x.sh`` runs x.sh there: judged as its text
    if sent and (is_secret_path(sent) or script):
        found.extend(_exfil(cmd, host, [sent]))  # ``ssh h 'cat > x' < file`` ships the file
    elif script and stdin is not None and stdin.text is None and stdin.source.startswith("pipe:"):
        # ``tar czf - . | ssh h 'cat > x'``: data produced here leaves the machine.
        reason = f"streams data produced on this machine to {host}"
        found.append(_finding(_W, "network.upload", cmd.text, reason, host))
    if script and stdin is not None and stdin.text is not None and "OPSGATE_EOF" not in stdin.text:
        # Keep the payload attached to the remote command (``ssh h psql <<SQL``).
        script = f"{script} <<'OPSGATE_EOF'\n{stdin.text}\nOPSGATE_EOF"
    elif not script and stdin is not None:
        script = stdin.text or (ctx.read_text(sent, cmd.cwd) if sent else None) or ""
        if not script:
            reason = f"feeds an unseen script to a shell on {host}"
            found.append(_finding(_U, "network.ssh", cmd.text, reason, host))
    if script:
        found.extend(_retarget(ctx.classify_shell(script, via="ssh", remote=host), host))
    elif stdin is None and _git_service(pos[0]):
        reason = f"checks the SSH key with {host}'s git service, which runs no command"
        found.append(_finding(_R, "network.ssh", cmd.text, reason, host))
    elif stdin is None and not _has(opts, *_SSH_NO_SHELL):
        reason = f"opens an interactive shell on {host}; what it will run is unseen"
        found.append(_finding(_U, "network.ssh", cmd.text, reason, host))
    return _with_env(found, ctx)


# A remote shell that reads its program from standard input (``bash -s``, ``sudo sh``).
_STDIN_SHELL = re.compile(
    r"^(?:sudo(?:\s+-[A-Za-z]+)*\s+)?(?:/\S*/)?(?:ba|z|da|k)?sh"
    r"(?:\s+-[A-Za-z]*s[A-Za-z]*)?(?:\s+--(?:\s.*)?)?$"
)
# Git hosting services whose SSH login as ``git`` only greets and closes: no shell, no
# command (``ssh -T git@github.com``, the documented key check).
_GIT_SERVICES = frozenset({"github.com", "ssh.github.com", "gitlab.com", "bitbucket.org",
                           "codeberg.org", "ssh.dev.azure.com", "git.sr.ht"})  # fmt: skip


def _git_service(dest: str) -> bool:
    dest = dest.removeprefix("ssh://")
    return dest.rpartition("@")[0] == "git" and _host_of(dest).lower() in _GIT_SERVICES


_REMOTE_SPEC = re.compile(r"^(?:[a-z]+://)?(?:[^@/:\s]+@)?(\[[^\]]+\]|[^:/\s]{2,}):(.*)$", re.I)


def _remote(word: str) -> tuple[str, str] | None:
    """``[user@]host:path`` (or ``host::module``, ``scp://``/``rsync://``) → (host, path)."""
    if word.startswith(("scp://", "rsync://", "sftp://")):
        rest = word.split("://", 1)[1]
        return _host_of(rest), "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    m = _REMOTE_SPEC.match(word)
    return (m.group(1).strip("[]"), m.group(2).lstrip(":")) if m else None


_RSYNC_LONG = _words(
    "--rsh --exclude --include --exclude-from --include-from --files-from --filter --port",
    "--password-file --bwlimit --log-file --temp-dir --partial-dir --backup-dir --suffix",
    "--chmod --chown --max-size --min-size --timeout --compare-dest --copy-dest --link-dest",
    "--block-size --out-format --rsync-path --iconv --usermap --groupmap --remote-option",
    "--info --debug --skip-compress --checksum-choice --compress-choice --address",
    "--sockopts --outbuf --stop-after --stop-at --contimeout --modify-window --max-delete",
    "--only-write-batch --write-batch --read-batch --compress-level --log-file-format",
)
_RSYNC_DELETE = (
    "--delete",
    "--del",
    "--delete-before",
    "--delete-during",
    "--delete-after",
    "--delete-delay",
    "--delete-excluded",
    "--delete-missing-args",
)


def _inside(path: str, ctx: Context, cmd: Command) -> bool:
    """A local path inside the project or a temp directory."""
    path = path.replace("~", ctx.home, 1) if path.startswith("~") else path
    if not path.startswith("/"):
        path = f"{cmd.cwd or ctx.project_dir or ''}/{path}"
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            parts = parts[:-1]
        elif part not in ("", "."):
            parts.append(part)
    norm = "/" + "/".join(parts)
    roots = [r for r in (ctx.project_dir, "/tmp", "/var/tmp") if r]
    return any(norm == r or norm.startswith(r.rstrip("/") + "/") for r in roots)


def _copy(cmd: Command, ctx: Context, pos: list[str], deletes: bool) -> list[Finding]:
    """scp/rsync: SOURCES… DEST, either side possibly remote."""
    if len(pos) < 2:
        return [_finding(_R, "network.copy", cmd.text, "lists files")] if pos else []
    *sources, dest = pos
    remote_dest = _remote(dest)
    found: list[Finding] = []
    for src in sources:
        remote_src = _remote(src)
        if remote_src and is_secret_path(remote_src[1]):
            reason = f"copies the secret file {remote_src[1]} from {remote_src[0]}"
            found.append(_finding(_S, "secrets.read", cmd.text, reason, remote_src[0]))
        if remote_dest:
            found.extend(_exfil(cmd, remote_dest[0], [remote_src[1] if remote_src else src]))
    if remote_dest and deletes:
        reason = f"deletes files on {remote_dest[0]} that are not in the source"
        found.append(
            _finding(_W, "network.copy", cmd.text, reason, remote_dest[0], Impact.DESTRUCTIVE)
        )
    elif not remote_dest and not _inside(dest, ctx, cmd):
        impact = Impact.DESTRUCTIVE if deletes else Impact.CAUTION
        reason = f"writes into {dest}, outside the project"
        found.append(_finding(_W, "filesystem.write_outside", cmd.text, reason, dest, impact))
    elif not remote_dest:
        found.append(_finding(_L, "network.copy", cmd.text, f"copies into {dest}"))
    return _with_env(found, ctx)


def _scp(cmd: Command, ctx: Context) -> list[Finding]:
    opts, pos = _scan(cmd.words, "cFiJloPSXD", frozenset())
    found = _ssh_options(cmd, ctx, opts, "scp")
    return found + _copy(cmd, ctx, pos, deletes=False)


def _rsync(cmd: Command, ctx: Context) -> list[Finding]:
    opts, pos = _scan(cmd.words, "efBMT", _RSYNC_LONG)
    if _has(opts, "-n", "--dry-run", "--list-only"):
        return [_finding(_R, "network.copy", cmd.text, "dry run; nothing is copied")]
    deletes = _has(opts, *_RSYNC_DELETE, "--remove-source-files")
    return _copy(cmd, ctx, pos, deletes)


_FTP_WRITE = _words(
    "put mput reput append rename mkdir chmod chown chgrp ln symlink site", "quote mirror -R"
)
_FTP_DELETE = _words("rm rmdir delete mdelete mrm")


def _ftp_script(cmd: Command, host: str, text: str) -> list[Finding]:
    verbs = [line.split()[0].lower() for line in re.split(r"[\n;]", text) if line.split()]
    if any(v in _FTP_DELETE for v in verbs):
        reason = f"deletes files on {host}"
        return [_finding(_W, "network.ftp", cmd.text, reason, host, Impact.DESTRUCTIVE)]
    if any(v in _FTP_WRITE for v in verbs) or any(w.startswith("!") for w in verbs):
        return [_finding(_W, "network.ftp", cmd.text, f"changes files on {host}", host)]
    return [_finding(_R, "network.ftp", cmd.text, f"reads from {host}", host)]


def _ftp(cmd: Command, ctx: Context) -> list[Finding]:
    """sftp/ftp/lftp: a batch (``-b f``, ``lftp -c '…'``, a here-doc) is judged by
    its verbs; ``sftp host:file`` downloads; anything else is interactive."""
    pos = [a.value for a in cmd.positionals(_words("-b -c -e -f -F -i -o -P -p -l -B -R -s"))]
    host = _host_of(pos[0]) if pos else "?"
    batch = cmd.option("-b", "-f") if cmd.name != "lftp" else cmd.option("-f")
    text = cmd.option("-c", "-e") if cmd.name == "lftp" else None
    text = text or (ctx.read_text(batch, cmd.cwd) if batch else None)
    text = text or (cmd.stdin.text if cmd.stdin else None)
    if text is not None:
        return _with_env(_ftp_script(cmd, host, text), ctx)
    if pos and _remote(pos[0]) and cmd.name == "sftp":
        return _copy(cmd, ctx, pos if len(pos) > 1 else [*pos, "."], deletes=False)
    reason = f"interactive session on {host}; what it will do is unseen"
    return _with_env([_finding(_U, "network.ftp", cmd.text, reason, host)], ctx)


def _ssh_copy_id(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_words("-i -p -o -t -F"))]
    host = _host_of(pos[-1]) if pos else "?"
    reason = f"installs a login key on {host}"
    return _with_env([_finding(_W, "network.ssh", cmd.text, reason, host)], ctx)
