"""Services and the host: service managers, signals, power, kernel, users, cron,
firewalls and network configuration.

Every change here is host state, not workspace state, so it is ``Effect.WRITE``
in every environment (SPEC §3: "every state change on infrastructure").  Impact
is CAUTION for anything the host recovers from (a restart, a reboot, a flushed
firewall that can be reloaded) and DESTRUCTIVE only for irreversible loss
(``crontab -r``, ``userdel -r``, deleting journals).  The target is the unit or
thing touched; the environment stays None unless the action names a host
(``systemctl -H``, or classification inside ``ssh host …``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from opsgate.classify._command import Command, Context, Handler
from opsgate.models import Effect, Finding, Impact

__all__ = ["HANDLERS", "classify_init_script"]

_R, _W, _U = Effect.READ, Effect.WRITE, Effect.UNKNOWN
_SAFE, _CAUTION, _DESTRUCTIVE = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE


def _finding(
    cmd: Command,
    ctx: Context,
    effect: Effect,
    category: str,
    reason: str,
    *,
    impact: Impact | None = None,
    target: str | None = None,
    host: str | None = None,
) -> Finding:
    """One finding; a named or enclosing remote host becomes the target, with its
    environment evidence, because that is what the change lands on."""
    if impact is None:
        impact = _SAFE if effect in (_R, Effect.LOCAL) else _CAUTION
    host = host or ctx.remote
    env = ctx.environment_of(host) if host else None
    return Finding(
        category=category,
        impact=impact,
        effect=effect,
        evidence=cmd.text,
        reason=reason,
        target=host or target,
        environment=env[0] if env else None,
        env_source=env[1] if env else None,
    )


@dataclass(frozen=True, slots=True)
class _Verbs:
    """A tool whose positional word picks the action (``systemctl restart x``)."""

    category: str
    read: frozenset[str]
    write: frozenset[str]
    destructive: frozenset[str] = frozenset()
    takes_value: frozenset[str] = frozenset()
    verb_at: int = 0  # index of the verb among the positionals
    bare: Effect = _R  # no verb at all (``systemctl`` alone lists units)
    read_flags: frozenset[str] = frozenset()  # flags that make any call a read
    host_option: tuple[str, ...] = ()  # options naming a remote host


def _words(*groups: str) -> frozenset[str]:
    return frozenset(w for g in groups for w in g.split())


def _verb_handler(spec: _Verbs) -> Handler:
    def handle(cmd: Command, ctx: Context) -> list[Finding]:
        pos = [a.value for a in cmd.positionals(spec.takes_value)]
        host = cmd.option(*spec.host_option) if spec.host_option else None
        if spec.read_flags and cmd.has(*spec.read_flags):
            return [_finding(cmd, ctx, _R, spec.category, "read-only query", host=host)]
        if len(pos) <= spec.verb_at:
            return [_finding(cmd, ctx, spec.bare, spec.category, "no action given", host=host)]
        verb = pos[spec.verb_at]
        others = pos[: spec.verb_at] + pos[spec.verb_at + 1 :]
        target = " ".join(others) or cmd.name
        if verb in spec.read or verb.startswith(("list-", "is-", "show-", "get-")):
            return [_finding(cmd, ctx, _R, spec.category, f"{verb} is read-only", host=host)]
        if verb in spec.destructive:
            reason = f"{verb} irreversibly removes {target}"
            return [
                _finding(
                    cmd,
                    ctx,
                    _W,
                    spec.category,
                    reason,
                    impact=_DESTRUCTIVE,
                    target=target,
                    host=host,
                )
            ]
        if verb in spec.write or verb.startswith("set-"):
            reason = f"{cmd.name} {verb} changes host state ({target})"
            return [_finding(cmd, ctx, _W, spec.category, reason, target=target, host=host)]
        reason = f"unrecognised {cmd.name} action {verb!r}"
        return [_finding(cmd, ctx, _U, spec.category, reason, target=target, host=host)]

    return handle


_SERVICE_WRITE = _words(
    "start stop restart reload try-restart reload-or-restart try-reload-or-restart",
    "condrestart force-reload enable disable reenable preset preset-all mask unmask",
    "kill clean freeze thaw isolate daemon-reload daemon-reexec reset-failed edit revert",
    "link add-wants add-requires set-property set-environment unset-environment",
    "import-environment default rescue emergency halt poweroff reboot kexec exit",
    "soft-reboot suspend hibernate hybrid-sleep suspend-then-hibernate switch-root",
    "bind mount-image graceful graceful-stop",
)
_SERVICE_READ = _words(
    "status show cat help list is-active is-enabled is-failed is-system-running",
    "get-default show-environment log-level log-target service-log-level",
    "service-log-target whoami configtest",
)

_SYSTEMCTL = _Verbs(
    category="service.control",
    read=_SERVICE_READ,
    write=_SERVICE_WRITE,
    takes_value=_words(
        "-t --type -s --signal -p --property -H --host -M --machine --state -n --lines",
        "-o --output --root --kill-whom --kill-value --job-mode --what --timestamp",
        "--when --boot-loader-entry --reboot-argument --message --image --drop-in",
        "-P --preset-mode --boot-loader-menu",
    ),
    host_option=("-H", "--host"),
)

_INIT_SCRIPT = _Verbs(
    category="service.control",
    read=_words("status help usage configtest test"),
    write=_SERVICE_WRITE,
    bare=_U,
)

_TABLE: dict[str, _Verbs] = {
    "systemctl": _SYSTEMCTL,
    # ``service NAME ACTION`` / ``rc-service NAME ACTION``: the verb comes second.
    "service": _Verbs(
        "service.control",
        _SERVICE_READ,
        _SERVICE_WRITE,
        verb_at=1,
        read_flags=_words("--status-all -e --list"),
    ),
    "rc-service": _Verbs(
        "service.control",
        _SERVICE_READ,
        _SERVICE_WRITE,
        verb_at=1,
        read_flags=_words("-e --exists -l --list -r --resolve"),
    ),
    "launchctl": _Verbs(
        "service.control",
        read=_words(
            "list print print-cache print-disabled blame dumpstate error help",
            "version procinfo hostinfo resolveport examine managerpid manageruid",
            "managername getenv plist dumpjpcategory",
        ),
        write=_words(
            "load unload bootstrap bootout enable disable kickstart kill start",
            "stop remove submit setenv unsetenv reboot config limit attach asuser",
        ),
    ),
    "supervisorctl": _Verbs(
        "service.control",
        read=_words("status avail pid tail maintail version help fg"),
        write=_words("start stop restart reload reread update add remove clear shutdown", "signal"),
        takes_value=_words(
            "-c --configuration -s --serverurl -u --username -p --password", "-r --history-file"
        ),
        bare=_U,  # an interactive shell: the commands it will run are unseen
    ),
    "pm2": _Verbs(
        "service.control",
        read=_words(
            "list ls l status logs describe show info monit jlist prettylist env",
            "ping report id dashboard dash",
        ),
        write=_words(
            "start stop restart reload delete del kill scale flush save",
            "resurrect startup unstartup update reset reloadLogs deploy trigger",
            "sendSignal install uninstall set unset link unlink",
        ),
        takes_value=_words("--lines -n --name -i --instances --env"),
    ),
    "pg_ctl": _Verbs(
        "service.control",
        read=_words("status"),
        write=_words(
            "start stop restart reload promote kill init initdb logrotate", "register unregister"
        ),
        takes_value=_words(
            "-D --pgdata -l --log -m --mode -o --options -p -t --timeout",
            "-N -U -P -S -e -c --core-files",
        ),
        bare=_U,
    ),
    # ``pg_ctlcluster 15 main restart``
    "pg_ctlcluster": _Verbs(
        "service.control",
        _words("status"),
        _words("start stop restart reload promote"),
        verb_at=2,
        bare=_U,
    ),
    "sv": _Verbs(
        "service.control",
        _words("status s check"),
        _SERVICE_WRITE | _words("up down once pause cont hup alarm interrupt quit 1 2 term kill"),
    ),
    "initctl": _Verbs(
        "service.control",
        _words("list status show-config check-config version", "log-priority"),
        _SERVICE_WRITE | _words("emit reload-configuration"),
    ),
    "update-rc.d": _Verbs(
        "service.control",
        frozenset(),
        _words("defaults remove enable disable", "defaults-disabled"),
        verb_at=1,
    ),
    "rc-update": _Verbs(
        "service.control",
        _words("show"),
        _words("add del delete"),
        read_flags=_words("-s --show -v --verbose"),
    ),
    "chkconfig": _Verbs(
        "service.control",
        _words("--list"),
        _words("on off reset add del"),
        verb_at=1,
        read_flags=_words("--list"),
    ),
    # The *ctl family: ``set-*`` writes, ``status``/``show``/``list-*`` read.
    "timedatectl": _Verbs(
        "host.config",
        _words("status show timesync-status show-timesync"),
        _words("ntp-servers revert"),
    ),
    "hostnamectl": _Verbs(
        "host.config", _words("status"), _words("hostname icon-name chassis", "deployment location")
    ),
    "localectl": _Verbs("host.config", _words("status"), frozenset()),
    "loginctl": _Verbs(
        "host.sessions",
        _words("status"),
        _words(
            "activate lock-session unlock-session lock-sessions unlock-sessions terminate-session",
            "kill-session enable-linger disable-linger terminate-user kill-user attach",
            "flush-devices terminate-seat",
        ),
        host_option=("-H", "--host"),
    ),
    "ufw": _Verbs(
        "firewall.change",
        read=_words("status show version help app"),
        write=_words(
            "enable disable reload default logging allow deny reject limit delete",
            "insert prepend route reset",
        ),
        read_flags=_words("--dry-run --version -h --help"),
    ),
}

# Host hostname / power: an argument means "change it".
_POWER = frozenset({"reboot", "shutdown", "halt", "poweroff", "telinit", "init", "kexec"})


def _power(cmd: Command, ctx: Context) -> list[Finding]:
    # ``-h`` means halt to shutdown, so only ``--help`` is help.
    if "--help" in cmd.words or (cmd.name == "init" and not cmd.args):
        return [_finding(cmd, ctx, _R, "host.power", "prints help")]
    reason = f"{cmd.name} changes the machine's power state or runlevel"
    return [_finding(cmd, ctx, _W, "host.power", reason, target="this host")]


# ── signals ────────────────────────────────────────────────────────────────
# System daemons: stopping or signalling them interrupts service for everyone.
_DAEMON = re.compile(
    r"^(nginx|apache2|httpd|mysqld|mariadbd|mysqld_safe|mysql|postgres|postmaster|"
    r"redis-server|redis|mongod|mongos|sshd|ssh|dockerd|docker|containerd|kubelet|"
    r"systemd\S*|init|cron|crond|rsyslogd|syslog-ng|php\S*-fpm\S*|php-fpm\S*|memcached|"
    r"rabbitmq\S*|beam\.smp|elasticsearch|haproxy|varnishd|named|dnsmasq|"
    r"NetworkManager|wpa_supplicant|snapd|etcd|consul|vault|nomad|supervisord|"
    r"caddy|traefik|envoy|unbound|postfix|dovecot|exim4?|slapd|zookeeper|kafka|"
    r"clickhouse\S*|influxd|prometheus|grafana\S*|gitlab\S*|jenkins|Xorg|gdm\S*|"
    r"sddm|lightdm|polkitd|dbus-daemon|udevd|agetty|login)$"
)
# Pid files of system daemons live under these directories.
_SYSTEM_PIDFILE = re.compile(r"(^|\s|<)/(var/)?run/|/var/lib/|/usr/local/var/run/")
_SUBST_NAME = re.compile(r"\b(?:pidof|pgrep)\s+(?:-\S+\s+)*['\"]?([\w.@-]+)")
_SIGNAL_VALUE = frozenset({"-s", "-n", "--signal"})


def _kill_targets(cmd: Command) -> tuple[str | None, list[str], bool]:
    """(signal, targets, list_only) for ``kill [-SIG | -s SIG] target…``."""
    signal: str | None = None
    targets: list[str] = []
    words = list(cmd.words)
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-l", "-L", "--list", "--table"):
            return None, [], True
        if word in _SIGNAL_VALUE and i + 1 < len(words):
            signal, i = words[i + 1], i + 2
            continue
        if word == "--":
            targets.extend(words[i + 1 :])
            break
        if word.startswith("-") and signal is None and not targets and len(word) > 1:
            signal = word[1:]  # -9, -HUP, -SIGKILL; a later "-1" is a target
        else:
            targets.append(word)
        i += 1
    return signal, targets, False


def _system_process(text: str) -> bool:
    """True when a kill target is PID 1, every process, or a system daemon."""
    if text in ("1", "-1") or re.fullmatch(r"-\d+", text):
        return True  # init, or a whole process group / every process
    if _SYSTEM_PIDFILE.search(text):
        return True
    names = _SUBST_NAME.findall(text)
    return any(_DAEMON.match(n) for n in names)


def _kill(cmd: Command, ctx: Context) -> list[Finding]:
    signal, targets, list_only = _kill_targets(cmd)
    if list_only or signal in ("0", "SIG0"):
        return [_finding(cmd, ctx, _R, "process.signal", "signal 0 only checks a process exists")]
    hits = [t for t in targets if _system_process(t)]
    if hits:
        reason = f"signals system processes ({', '.join(hits)})"
        return [_finding(cmd, ctx, _W, "process.signal", reason, target=hits[0])]
    reason = "signals a process the agent's own session started"
    return [_finding(cmd, ctx, Effect.LOCAL, "process.signal", reason)]


def _pkill(cmd: Command, ctx: Context) -> list[Finding]:
    takes = _words(
        "-s --signal -u --euid -U --uid -g --pgroup -G --group -P --parent",
        "-t --terminal -F --pidfile --ns --nslist -o -n -O --older",
    )
    if cmd.has("-l", "--list", "-V", "--version") and cmd.name == "killall":
        return [_finding(cmd, ctx, _R, "process.signal", "lists signal names")]
    names = [a.value for a in cmd.positionals(takes)]
    words = " ".join(names).split()
    users = cmd.options("-u", "--euid", "-U", "--uid", "--user")
    pidfile = cmd.option("-F", "--pidfile") or ""
    system = [n for n in words if _DAEMON.match(n.rsplit("/", 1)[-1])]
    if system or (users and users != [ctx.home.rsplit("/", 1)[-1]]) or _system_process(pidfile):
        reason = f"signals system processes ({' '.join(system or users or [pidfile])})"
        return [_finding(cmd, ctx, _W, "process.signal", reason, target=" ".join(system) or None)]
    reason = "signals the developer's own processes by name"
    return [_finding(cmd, ctx, Effect.LOCAL, "process.signal", reason)]


# ── simple flag-driven tools ───────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class _Flags:
    """A tool whose flags decide.  Checked in order: destructive flags, write
    flags, read flags (which beat ``always``: ``modprobe -n`` is a dry run), then
    ``always`` / enough positionals / a ``name=value`` assignment."""

    category: str
    write: frozenset[str] = frozenset()
    read: frozenset[str] = frozenset()
    destructive: frozenset[str] = frozenset()
    writes_from: int = 0  # this many positionals mean a change (``ifconfig eth0 down`` → 2)
    always: bool = False
    assign_writes: bool = False  # ``sysctl key=value``
    takes_value: frozenset[str] = frozenset()
    reason: str = "changes host state"
    target: str | None = None  # a fixed target; else the last positional


def _flag_handler(spec: _Flags) -> Handler:
    def handle(cmd: Command, ctx: Context) -> list[Finding]:
        pos = [a.value for a in cmd.positionals(spec.takes_value)]
        target = spec.target or (pos[-1] if pos else None)
        if spec.destructive and cmd.has(*spec.destructive):
            reason = f"{cmd.name}: irreversible — {spec.reason}"
            return [
                _finding(cmd, ctx, _W, spec.category, reason, impact=_DESTRUCTIVE, target=target)
            ]
        if not (spec.write and cmd.has(*spec.write)) and spec.read and cmd.has(*spec.read):
            return [_finding(cmd, ctx, _R, spec.category, "read-only query")]
        writes = (
            spec.always
            or (spec.write and cmd.has(*spec.write))
            or (spec.writes_from > 0 and len(pos) >= spec.writes_from)
            or (spec.assign_writes and any("=" in p for p in pos))
        )
        if writes:
            reason = f"{cmd.name} {spec.reason}"
            return [_finding(cmd, ctx, _W, spec.category, reason, target=target)]
        return [_finding(cmd, ctx, _R, spec.category, "read-only query")]

    return handle


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


def _server_binary(cmd: Command, ctx: Context) -> list[Finding]:
    """nginx / apachectl / httpd: ``-t``/configtest read; ``-s SIG``, ``-k ACTION``,
    an init-style action, or a bare call that starts the daemon all write."""
    read_flags = ("-t", "-T", "-v", "-V", "-h", "-?", "-S", "-M", "-l", "-L")
    action = cmd.option("-s", "-k")
    pos = [a.value for a in cmd.positionals(_words("-s -k -c -p -g -e -f -d -C -D"))]
    action = action or (pos[0] if pos else None)
    if action in _INIT_SCRIPT.read or action in ("fullstatus", "-t"):
        return [_finding(cmd, ctx, _R, "service.control", f"{action} is read-only")]
    if action is None and cmd.has(*read_flags):
        return [_finding(cmd, ctx, _R, "service.control", "tests or prints the configuration")]
    reason = f"{cmd.name} {action or 'starts the server'} changes a running service"
    return [_finding(cmd, ctx, _W, "service.control", reason, target=cmd.name)]


def classify_init_script(cmd: Command, ctx: Context) -> list[Finding]:
    """``/etc/init.d/NAME ACTION`` or ``/etc/rc.d/NAME ACTION``, where ``cmd.name``
    is the script's basename (the service).  The shell walker calls this for
    programs under those directories, whose basename alone says nothing."""
    pos = [a.value for a in cmd.positionals()]
    verb = pos[0] if pos else None
    if verb in _INIT_SCRIPT.read:
        return [_finding(cmd, ctx, _R, "service.control", f"{verb} is read-only")]
    if verb is None:
        return [_finding(cmd, ctx, _U, "service.control", "init script called without an action")]
    reason = f"{cmd.name} {verb} changes a system service"
    return [_finding(cmd, ctx, _W, "service.control", reason, target=cmd.name)]


def _uses_handler(names: Iterable[str], handler: Handler) -> dict[str, Handler]:
    return dict.fromkeys(names, handler)


HANDLERS: dict[str, Handler] = {
    **{name: _verb_handler(spec) for name, spec in _TABLE.items()},
    **{name: _flag_handler(spec) for name, spec in _FLAG_TABLE.items()},
    **_uses_handler(_POWER, _power),
    **_uses_handler(("nginx", "apachectl", "apache2ctl", "httpd"), _server_binary),
    **_uses_handler(("kill",), _kill),
    **_uses_handler(("pkill", "killall", "skill"), _pkill),
    **_uses_handler(("at", "batch", "atq", "atrm"), _at),
    "crontab": _crontab,
    "chroot": _chroot,
    "nft": _nft,
    "firewall-cmd": _firewall_cmd,
    "ip": _ip,
    "tc": _tc,
}
