"""Users, firewalls, network configuration, chroot and schedulers (cron, at)."""

from __future__ import annotations

import re

from opsgate.classify._command import Command, Context
from opsgate.classify.families._system_common import (
    _DESTRUCTIVE,
    _R,
    _U,
    _W,
    _finding,
    _flag_handler,
    _Flags,
    _words,
)
from opsgate.models import Finding

__all__ = [
    "_FLAG_TABLE",
    "_at",
    "_chroot",
    "_crontab",
    "_firewall_cmd",
    "_ip",
    "_nft",
    "_pfctl",
    "_tc",
]

_FIREWALL_WRITE = _words(
    "-A --append -I --insert -D --delete -R --replace -P --policy -F --flush -X",
    "--delete-chain -N --new-chain -E --rename-chain -Z --zero",
)
_USER_TOOLS = _Flags(
    "host.users",
    always=True,
    read=_words("-S --status -c --check -h --help"),
    reason="changes accounts or privileges",
)

_FLAG_TABLE: dict[str, _Flags] = {
    "sysctl": _Flags(
        "kernel.config",
        write=_words("-w --write -p --load --system"),
        assign_writes=True,
        reason="changes kernel parameters",
    ),
    "mount": _Flags(
        "host.mount",
        writes_from=1,
        read=_words("-l --show-labels"),
        write=_words("-a --all"),
        takes_value=_words("-t --types -o --options -O"),
        reason="mounts a filesystem",
    ),
    "umount": _Flags("host.mount", always=True, reason="unmounts a filesystem"),
    "swapon": _Flags(
        "host.mount",
        writes_from=1,
        write=_words("-a --all"),
        read=_words("-s --summary --show"),
        reason="changes swap",
    ),
    "swapoff": _Flags("host.mount", always=True, reason="changes swap"),
    "modprobe": _Flags(
        "kernel.module",
        always=True,
        read=_words("-n --dry-run --show-depends -c --showconfig -D"),
        reason="loads or unloads kernel modules",
    ),
    "insmod": _Flags("kernel.module", always=True, reason="loads a kernel module"),
    "rmmod": _Flags("kernel.module", always=True, reason="unloads a kernel module"),
    "useradd": _USER_TOOLS,
    "adduser": _USER_TOOLS,
    "usermod": _USER_TOOLS,
    "passwd": _USER_TOOLS,
    "chpasswd": _USER_TOOLS,
    "groupadd": _USER_TOOLS,
    "groupmod": _USER_TOOLS,
    "gpasswd": _USER_TOOLS,
    "chsh": _USER_TOOLS,
    "chfn": _USER_TOOLS,
    "addgroup": _USER_TOOLS,
    "vipw": _USER_TOOLS,
    "vigr": _USER_TOOLS,
    "visudo": _USER_TOOLS,
    "groupdel": _USER_TOOLS,
    "delgroup": _USER_TOOLS,
    "chage": _Flags(
        "host.users", always=True, read=_words("-l --list"), reason="changes password ageing"
    ),
    # Removing a user with its home directory loses that user's files for good.
    "userdel": _Flags(
        "host.users",
        always=True,
        destructive=_words("-r --remove -f --force"),
        reason="deletes a user account",
    ),
    "deluser": _Flags(
        "host.users",
        always=True,
        destructive=_words("--remove-home --remove-all-files"),
        reason="deletes a user account",
    ),
    "iptables": _Flags(
        "firewall.change",
        write=_FIREWALL_WRITE,
        target="firewall",
        read=_words("-L --list -S --list-rules -C --check -V --version -h"),
    ),
    "iptables-save": _Flags("firewall.change"),  # prints the rules; a redirect is the walker's
    "iptables-restore": _Flags(
        "firewall.change",
        always=True,
        read=_words("-t --test"),
        reason="replaces the firewall rules",
        target="firewall",
    ),
    # macOS/BSD pf: -d turns the firewall off, -F flushes rules, -f loads a rule set.
    "pfctl": _Flags(
        "firewall.change",
        write=_words("-d -e -E -X -F -f -k -K -T -z -x -D -Fa -Fr -Fn -Fs"),
        read=_words("-s -n --help -h"),
        takes_value=_words("-F -f -s -a -t -T -x -k -K -i -o -p -D"),
        reason="changes or turns off the packet filter",
        target="firewall",
    ),
    # macOS Gatekeeper: --master-disable / --global-disable let any app run unsigned.
    "spctl": _Flags(
        "firewall.change",
        write=_words(
            "--master-disable --global-disable --master-enable --global-enable",
            "--add --remove --enable --disable",
        ),
        read=_words("--status --assess -a --help -h"),
        reason="changes or turns off Gatekeeper, macOS's code-signing check",
        target="gatekeeper",
    ),
    "nft": _Flags(
        "firewall.change",
        write=_words("-f --file -i --interactive"),
        read=_words("-c --check"),
        takes_value=_words("-I --includepath -D --define"),
        reason="changes firewall rules",
        target="firewall",
    ),
    "journalctl": _Flags(
        "logs.change",
        write=_words(
            "--rotate --flush --sync --relinquish-var",
            "--smart-relinquish-var --setup-keys",
            "--update-catalog",
        ),
        destructive=_words("--vacuum-size --vacuum-time --vacuum-files"),
        reason="deletes or rotates system journals",
    ),
    "dmesg": _Flags(
        "logs.change",
        write=_words(
            "-C --clear -c --read-clear -n --console-level", "-D --console-off -E --console-on"
        ),
        reason="clears or reconfigures the kernel log",
    ),
    "hostname": _Flags(
        "host.config", writes_from=1, write=_words("-F --file -b --boot"), reason="renames the host"
    ),
    "ifconfig": _Flags("network.config", writes_from=2, reason="reconfigures a network interface"),
    "ifup": _Flags("network.config", always=True, reason="brings an interface up"),
    "ifdown": _Flags("network.config", always=True, reason="takes an interface down"),
}
for _twin in ("ip6tables", "arptables", "ebtables", "iptables-legacy", "iptables-nft"):
    _FLAG_TABLE[_twin] = _FLAG_TABLE["iptables"]
for _twin in ("ip6tables-save", "iptables-legacy-save", "iptables-nft-save"):
    _FLAG_TABLE[_twin] = _FLAG_TABLE["iptables-save"]
for _twin in ("ip6tables-restore", "iptables-legacy-restore", "iptables-nft-restore"):
    _FLAG_TABLE[_twin] = _FLAG_TABLE["iptables-restore"]

_NFT_READ = _words("list describe monitor help")
_NFT_WRITE = _words("add create insert replace delete destroy flush reset rename import")
_FIREWALLD_READ = ("--state", "--list", "--get", "--query", "--info", "--check-config")


def _nft(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_FLAG_TABLE["nft"].takes_value | {"-f", "--file"})]
    if pos and pos[0] in _NFT_WRITE:
        return [
            _finding(
                cmd,
                ctx,
                _W,
                "firewall.change",
                f"nft {pos[0]} changes firewall rules",
                target=" ".join(pos[1:3]) or None,
            )
        ]
    if pos and pos[0] not in _NFT_READ:
        return [_finding(cmd, ctx, _U, "firewall.change", f"unrecognised nft command {pos[0]!r}")]
    return _flag_handler(_FLAG_TABLE["nft"])(cmd, ctx)


def _firewall_cmd(cmd: Command, ctx: Context) -> list[Finding]:
    flags = {f for f in cmd.flags() if f.startswith("--") and f not in ("--zone", "--permanent")}
    writes = [f for f in flags if not f.startswith(_FIREWALLD_READ)]
    if writes:
        reason = f"firewall-cmd {' '.join(sorted(writes))} changes the firewall"
        return [_finding(cmd, ctx, _W, "firewall.change", reason)]
    return [_finding(cmd, ctx, _R, "firewall.change", "read-only query")]


# ``ip OBJECT VERB``: the verb may be abbreviated (``ip a``, ``ip r s``), so a read
# is any prefix of a read verb and everything else (add, del, set, flush) writes.
_IP_READ = ("show", "list", "lst", "get", "monitor", "help", "save", "showdump", "exec")
_IP_VALUED = _words("-n -netns -f -family -b -batch -rc -rcvbuf -l -loops")
_IP_NETNS_EXEC = re.compile(r"\bnetns\s+exec\s+\S+\s+(.*)$", re.DOTALL)


def _ip(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_IP_VALUED)]
    # Exact words: ``-br`` (brief output) is not ``-b`` (batch file).
    if {"-b", "-batch", "-force"} & set(cmd.words):
        return [_finding(cmd, ctx, _U, "network.config", "runs ip commands from a batch file")]
    if len(pos) >= 3 and pos[0] == "netns" and pos[1] == "exec":
        inner = " ".join(pos[3:])
        return ctx.classify_shell(inner, via="ip netns exec") if inner else []
    verb = pos[1] if len(pos) > 1 else ""
    if not verb or any(r.startswith(verb) for r in _IP_READ) or verb in ("dev", "table"):
        return [_finding(cmd, ctx, _R, "network.config", "read-only query")]
    reason = f"ip {pos[0]} {verb} changes the host's network configuration"
    return [_finding(cmd, ctx, _W, "network.config", reason, target=" ".join(pos[2:4]) or None)]


_TC_WRITE = _words("add del delete change replace link")


def _tc(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_words("-b -batch -n -netns"))]
    if any(p in _TC_WRITE for p in pos[1:2]) or cmd.has("-b", "-batch"):
        return [_finding(cmd, ctx, _W, "network.config", "tc changes traffic control")]
    return [_finding(cmd, ctx, _R, "network.config", "read-only query")]


def _chroot(cmd: Command, ctx: Context) -> list[Finding]:
    # The inner command acts on another root filesystem, so its paths mean
    # something else: it cannot be judged as if it ran here.
    return [_finding(cmd, ctx, _U, "host.chroot", "runs a command inside another root")]


def _crontab(cmd: Command, ctx: Context) -> list[Finding]:
    if cmd.has("-l", "--list", "-T", "--test"):
        return [_finding(cmd, ctx, _R, "host.cron", "lists the crontab")]
    if cmd.has("-r", "--remove"):
        return [
            _finding(
                cmd,
                ctx,
                _W,
                "host.cron",
                "deletes the whole crontab",
                impact=_DESTRUCTIVE,
                target="crontab",
            )
        ]
    return [_finding(cmd, ctx, _W, "host.cron", "installs or edits a crontab", target="crontab")]


def _at(cmd: Command, ctx: Context) -> list[Finding]:
    """``at``/``batch`` run a script later: a persistent change, and the script
    itself is judged now (``echo 'rm -rf ~' | at now``)."""
    if cmd.name in ("atq",) or cmd.has("-l", "-c"):
        return [_finding(cmd, ctx, _R, "host.schedule", "lists scheduled jobs")]
    if cmd.name == "atrm" or cmd.has("-r", "-d"):
        return [_finding(cmd, ctx, _W, "host.schedule", "removes scheduled jobs")]
    found = [_finding(cmd, ctx, _W, "host.schedule", "schedules a job to run later")]
    path = cmd.option("-f")
    script = ctx.read_text(path, cmd.cwd) if path else (cmd.stdin.text if cmd.stdin else None)
    if script:
        found.extend(ctx.classify_shell(script, via=cmd.name))
    elif path or (cmd.stdin and cmd.stdin.text is None):
        found.append(_finding(cmd, ctx, _U, "host.schedule", "the scheduled script is unseen"))
    return found


_SCHTASKS_CHANGES = frozenset({"/create", "/change", "/delete", "/run", "/end"})


def _schtasks(cmd: Command, ctx: Context) -> list[Finding]:
    """Windows' task scheduler from a POSIX shell (Git Bash, WSL's ``schtasks.exe``)."""
    verbs = {w.lower() for w in cmd.words if w.startswith(("/", "-"))}
    changes = {v.replace("-", "/", 1) for v in verbs} & _SCHTASKS_CHANGES
    if not changes:
        return [_finding(cmd, ctx, _R, "host.schedule", "lists scheduled tasks")]
    verb = sorted(changes)[0].lstrip("/")
    return [_finding(cmd, ctx, _W, "host.schedule", f"{verb}s a scheduled task")]


def _pfctl(cmd: Command, ctx: Context) -> list[Finding]:
    """``pfctl -n`` only parses; ``-T show``/``-T test`` only look at a table."""
    if cmd.has("-n") or cmd.option("-T") in ("show", "test", "s", "t"):
        return [_finding(cmd, ctx, _R, "firewall.change", "read-only query")]
    return _flag_handler(_FLAG_TABLE["pfctl"])(cmd, ctx)
