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

from collections.abc import Iterable

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.families._system_common import (
    _R,
    _U,
    _W,
    _finding,
    _flag_handler,
    _verb_handler,
    _words,
)
from opsgate.classify.families._system_host import (
    _FLAG_TABLE,
    _at,
    _chroot,
    _crontab,
    _firewall_cmd,
    _ip,
    _nft,
    _pfctl,
    _schtasks,
    _tc,
)
from opsgate.classify.families._system_services import _INIT_SCRIPT, _TABLE, _kill, _pkill, _power
from opsgate.models import Finding

__all__ = ["HANDLERS", "classify_init_script"]


# Host hostname / power: an argument means "change it".
_POWER = frozenset({"reboot", "shutdown", "halt", "poweroff", "telinit", "init", "kexec"})


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


def _killall5(cmd: Command, ctx: Context) -> list[Finding]:
    """``killall5``: every process outside the caller's session (what shutdown uses)."""
    reason = "signals every process outside its own session"
    return [_finding(cmd, ctx, _W, "process.mass_kill", reason, target="this host")]


HANDLERS: dict[str, Handler] = {
    **{name: _verb_handler(spec) for name, spec in _TABLE.items()},
    **{name: _flag_handler(spec) for name, spec in _FLAG_TABLE.items()},
    **_uses_handler(_POWER, _power),
    **_uses_handler(("nginx", "apachectl", "apache2ctl", "httpd"), _server_binary),
    **_uses_handler(("kill",), _kill),
    **_uses_handler(("pkill", "killall", "skill"), _pkill),
    "killall5": _killall5,
    **_uses_handler(("at", "batch", "atq", "atrm"), _at),
    "crontab": _crontab,
    "schtasks": _schtasks,
    "chroot": _chroot,
    "nft": _nft,
    "pfctl": _pfctl,
    "firewall-cmd": _firewall_cmd,
    "ip": _ip,
    "tc": _tc,
}
