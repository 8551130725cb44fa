"""Remote fan-out: pssh/parallel-ssh, pdsh, clush, dsh, mussh run one command on many
hosts.

Each is judged like ``ssh HOST 'command'``: the command is classified as run on the
hosts (``reboot`` there is a change to infrastructure, ``uptime`` a read), the hosts
are the target.  Without a command they open an interactive session whose commands
opsgate never sees: ``unknown``.  The copy tools (pscp, prsync, pdcp, ``clush
--copy``) put files on every host: a write.
"""

from __future__ import annotations

from opsgate.classify._command import Command, Context
from opsgate.models import Effect, Finding, Impact

__all__ = ["FANOUT"]

# program -> (options taking a value, options that name hosts or host files)
_SPECS: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "pssh": (
        frozenset({"-h", "--hosts", "-H", "--host", "-l", "--user", "-p", "--par", "-t",
                   "--timeout", "-o", "--outdir", "-e", "--errdir", "-x", "--extra-args", "-X",
                   "--extra-arg", "-O", "--option"}),
        ("-H", "--host", "-h", "--hosts"),
    ),
    "pdsh": (
        frozenset({"-w", "-x", "-g", "-X", "-l", "-R", "-f", "-t", "-u", "-N", "-M", "-F", "-m"}),
        ("-w", "-g"),
    ),
    "clush": (
        frozenset({"-w", "-x", "-g", "-X", "-l", "-f", "-t", "-u", "-o", "-O", "-R", "--nodes",
                   "--exclude", "--group", "--user", "--fanout", "--options", "--worker",
                   "--topology", "--pick", "--rcopy", "--dest"}),
        ("-w", "--nodes", "-g", "--group"),
    ),
    # dsh (dancer's shell): -a every machine, -g a group, -m a machine, -c concurrently.
    "dsh": (
        frozenset({"-m", "--machine", "-g", "--group", "-f", "--file", "-r", "--remoteshell",
                   "-o", "--remoteshellopt", "-F", "--forklimit"}),
        ("-m", "--machine", "-g", "--group", "-f", "--file"),
    ),
    # mussh: the command is -c's value (or a file with -C), the hosts -h/-H.
    "mussh": (
        frozenset({"-h", "-H", "-c", "-C", "-l", "-L", "-m", "-t", "-s", "-i", "-o", "-a",
                   "-A", "-J", "-d"}),
        ("-h", "-H"),
    ),
}  # fmt: skip
_SPECS["parallel-ssh"] = _SPECS["pssh"]
_COPIERS = frozenset({"pscp", "pscp.pssh", "prsync", "pdcp", "rpdcp", "parallel-scp"})


def _fanout(cmd: Command, ctx: Context) -> list[Finding]:
    if cmd.name in _COPIERS or (cmd.name == "clush" and cmd.has("-c", "--copy", "--rcopy")):
        return [_finding(cmd, Effect.WRITE, f"{cmd.name} copies files to many hosts", _hosts(cmd))]
    valued, host_options = _SPECS[cmd.name]
    hosts = _hosts(cmd, host_options)
    words = [a.value for a in cmd.positionals(valued)]
    if cmd.name == "mussh":
        words = cmd.options("-c")
        if cmd.has("-C"):  # the commands are in a file opsgate does not read here
            reason = f"mussh runs the commands of a file on {hosts}"
            return [_finding(cmd, Effect.UNKNOWN, reason, hosts)]
    if cmd.has("-a", "--all") and cmd.name in ("clush", "dsh"):
        hosts = "all cluster nodes" if cmd.name == "clush" else "every dsh machine"
    if not words:
        reason = f"{cmd.name} opens an interactive session on {hosts}; what it runs is unseen"
        return [_finding(cmd, Effect.UNKNOWN, reason, hosts)]
    script = words[0] if len(words) == 1 else " ".join(words)
    found = ctx.classify_shell(script, via=cmd.name, remote=hosts)
    return found or [_finding(cmd, Effect.READ, f"runs {script[:60]} on {hosts}", hosts)]


def _hosts(cmd: Command, options: tuple[str, ...] = ("-H", "-h", "-w", "-g")) -> str:
    named = [v for name in options for v in cmd.options(name)]
    return ",".join(named)[:120] if named else f"{cmd.name} hosts"


def _finding(cmd: Command, effect: Effect, reason: str, hosts: str) -> Finding:
    impact = Impact.SAFE if effect is Effect.READ else Impact.CAUTION
    return Finding("network.fanout", impact, effect, cmd.text, reason, hosts)


FANOUT = {**dict.fromkeys(_SPECS, _fanout), **dict.fromkeys(_COPIERS, _fanout)}
