"""Service managers, power and signals: systemctl, service, init scripts, reboot, kill."""

from __future__ import annotations

import re

from opsgate.classify._command import Command, Context
from opsgate.classify.families._system_common import _R, _U, _W, _finding, _Verbs, _words
from opsgate.classify.families._system_kills import mass_kill_reason
from opsgate.models import Effect, Finding

__all__ = ["_INIT_SCRIPT", "_TABLE", "_kill", "_pkill", "_power"]

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
    mass = mass_kill_reason(cmd, targets)
    if mass:
        return [_finding(cmd, ctx, _W, "process.mass_kill", mass)]
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
    mass = mass_kill_reason(cmd, names)
    if mass:
        return [_finding(cmd, ctx, _W, "process.mass_kill", mass)]
    reason = "signals the developer's own processes by name"
    return [_finding(cmd, ctx, Effect.LOCAL, "process.signal", reason)]
