"""Backup, sync and fleet tools: rclone, restic, borg, MinIO's mc, Salt, Nomad
(``_ops_nomad``).

Data tables: subcommand → (effect, impact, reason).  Syncing or pruning deletes data
at the destination; remote execution through Salt or Nomad is a change on every
matched host.
"""

from __future__ import annotations

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.families._ops_nomad import nomad
from opsgate.models import Effect, Finding, Impact

__all__ = ["HANDLERS"]

_R, _W, _S = Effect.READ, Effect.WRITE, Effect.SECRET
_SAFE, _CAUTION, _DESTROY = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE

Row = tuple[Effect, Impact, str]
_TABLES: dict[str, dict[str, Row]] = {
    "rclone": {
        "sync": (_W, _DESTROY, "makes the destination match the source, deleting extra files"),
        "bisync": (_W, _DESTROY, "syncs both ways, deleting on either side"),
        "delete": (_W, _DESTROY, "deletes files"), "deletefile": (_W, _DESTROY, "deletes a file"),
        "purge": (_W, _DESTROY, "deletes a path and everything in it"),
        "rmdir": (_W, _CAUTION, "removes a directory"), "rmdirs": (_W, _CAUTION, "removes dirs"),
        "cleanup": (_W, _DESTROY, "empties the trash / old versions"),
        "copy": (_W, _CAUTION, "copies files to the remote"), "move": (_W, _CAUTION, "moves"),
        "copyto": (_W, _CAUTION, "copies"), "moveto": (_W, _CAUTION, "moves"),
        "mkdir": (_W, _CAUTION, "creates a directory"), "touch": (_W, _CAUTION, "touches"),
        "config show": (_S, _CAUTION, "prints remote credentials"),
        "config dump": (_S, _CAUTION, "prints remote credentials"),
    },
    "restic": {
        "forget": (_W, _DESTROY, "removes snapshots"), "prune": (_W, _DESTROY, "deletes data"),
        "unlock": (_W, _CAUTION, "removes repository locks"),
        "backup": (_W, _CAUTION, "writes a snapshot"), "init": (_W, _CAUTION, "creates a repo"),
        "restore": (_W, _CAUTION, "restores files"), "key": (_S, _CAUTION, "manages keys"),
    },
    "borg": {
        "delete": (_W, _DESTROY, "deletes archives"), "prune": (_W, _DESTROY, "prunes archives"),
        "compact": (_W, _CAUTION, "compacts the repository"),
        "create": (_W, _CAUTION, "writes an archive"), "extract": (_W, _CAUTION, "extracts"),
        "key export": (_S, _CAUTION, "exports the repository key"),
    },
    "mc": {
        "rm": (_W, _DESTROY, "deletes objects"), "rb": (_W, _DESTROY, "removes a bucket"),
        "mirror": (_W, _CAUTION, "mirrors to the destination"),
        "cp": (_W, _CAUTION, "copies objects"), "mv": (_W, _CAUTION, "moves objects"),
        "mb": (_W, _CAUTION, "creates a bucket"),
        "admin": (_W, _CAUTION, "administers the server"),
        "alias list": (_S, _CAUTION, "prints access keys"),
        "alias ls": (_S, _CAUTION, "prints access keys"),
    },
}  # fmt: skip


_VALUED = ("-r", "--repo", "--repository", "-p", "--password-file", "--password-command",
           "--cache-dir", "--log-file", "-o", "--option", "--config", "-c", "--address",
           "-address", "--namespace", "-namespace", "--region", "-region", "--keep-last",
           "--keep-daily", "--keep-weekly", "--keep-monthly", "--keep-within", "--host",
           "--tag", "--path")  # fmt: skip


def _lookup(cmd: Command) -> tuple[str, Row] | None:
    words = [a.value for a in cmd.positionals(_VALUED)]
    table = _TABLES[cmd.name]
    for depth in (2, 1):
        key = " ".join(words[:depth])
        if key in table:
            return key, table[key]
    return None


def _target(cmd: Command) -> str:
    for word in cmd.words:
        if ":" in word and not word.startswith("-") and "://" not in word:
            return f"{cmd.name} remote {word.split(':', 1)[0]}"
    repo = cmd.option("-r", "--repo") or cmd.env.get("RESTIC_REPOSITORY") or cmd.env.get(
        "BORG_REPO")  # fmt: skip
    return f"{cmd.name} {repo}" if repo else f"{cmd.name} (configured remote)"


def _table_handler(cmd: Command, ctx: Context) -> list[Finding]:
    if cmd.has("--dry-run", "-n") and cmd.name in ("rclone", "restic", "borg"):
        return []
    hit = _lookup(cmd)
    if hit is None:
        return []
    key, (effect, impact, reason) = hit
    if cmd.name == "rclone" and key in ("copy", "copyto", "move", "moveto", "sync"):
        ops = [a.value for a in cmd.positionals(_VALUED)]
        if ops and ":" not in ops[-1]:
            # The destination is a local path: a download into the workspace.
            return [
                Finding(
                    f"rclone.{key}",
                    Impact.SAFE,
                    Effect.LOCAL,
                    cmd.text,
                    f"rclone {key} downloads to {ops[-1]}",
                    ops[-1],
                )
            ]
    target = _target(cmd)
    found = ctx.environment_of(target)
    env, source = found if found else (None, None)
    return [
        Finding(
            f"{cmd.name}.{key.replace(' ', '_')}",
            impact,
            effect,
            cmd.text,
            f"{cmd.name} {key} {reason}",
            target,
            env,
            source,
        )
    ]


def _salt(cmd: Command, ctx: Context) -> list[Finding]:
    """``salt 'TARGET' module.function args``: remote execution on every matched minion."""
    words = [w for w in cmd.words if not w.startswith("-")]
    if len(words) < 2:
        return []
    target, function = words[0], words[1]
    if function.startswith(("test.", "grains.", "pillar.items", "sys.", "status.", "network.")):
        if function.startswith("pillar.") or function == "grains.items":
            return [
                Finding(
                    "secrets.read",
                    Impact.CAUTION,
                    Effect.SECRET,
                    cmd.text,
                    "pillar data holds secrets",
                )
            ]
        return []
    if function in ("cmd.run", "cmd.shell", "cmd.script") and len(words) > 2:
        return ctx.classify_shell(words[2], via="salt cmd.run", remote=f"salt:{target}")
    return [
        Finding(
            "salt.execute",
            Impact.CAUTION,
            Effect.WRITE,
            cmd.text,
            f"salt runs {function} on {target}",
            f"salt:{target}",
        )
    ]


def _iisreset(cmd: Command, ctx: Context) -> list[Finding]:
    """Windows IIS: ``iisreset /status`` reads; anything else stops or restarts the web
    server (or reboots the machine with /reboot)."""
    words = [w.lower().lstrip("/-") for w in cmd.words]
    if words and all(w in ("status", "?", "help") for w in words):
        return []
    impact = _DESTROY if "reboot" in words else _CAUTION
    return [Finding("service.restart", impact, _W, cmd.text, "iisreset stops or restarts IIS",
                    "this host (IIS)")]  # fmt: skip


HANDLERS: dict[str, Handler] = {
    "iisreset": _iisreset,
    **{name: _table_handler for name in _TABLES},
    "nomad": nomad,
    "salt": _salt,
    "salt-ssh": _salt,
}
