"""System package managers: apt, dnf, yum, apk, zypper, brew, dpkg, rpm, pacman …"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opsgate.classify._command import Command, Context
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["_L", "_R", "_SYSTEM", "_W", "_dpkg", "_f", "_pacman", "_system", "_words"]

_R, _L, _W = Effect.READ, Effect.LOCAL, Effect.WRITE


def _words(*groups: str) -> frozenset[str]:
    return frozenset(w for g in groups for w in g.split())


def _f(
    cmd: Command,
    effect: Effect,
    category: str,
    reason: str,
    target: str | None = None,
    impact: Impact | None = None,
) -> Finding:
    if impact is None:
        impact = Impact.SAFE if effect in (_R, _L) else Impact.CAUTION
    if category == "package.global" and effect is _W:
        # A user-level tool or extension onto this machine's PATH or editor: a change
        # on the agent's own machine, outside the project (not a remote target).
        return Finding(category, impact, effect, cmd.text, reason, target, Environment.LOCAL)
    return Finding(category, impact, effect, cmd.text, reason, target)


# ── system package managers ────────────────────────────────────────────────
# Removing any of these can cut the host off (ssh, sudo, init, libc, kernel).
_CRITICAL = re.compile(
    r"^(openssh-server|openssh|ssh|sshd|sudo|systemd|systemd-sysv|init|libc6|glibc|bash|"
    r"coreutils|linux-image\S*|kernel\S*|grub\S*|apt|dpkg|rpm|yum|dnf|pacman|python3|"
    r"network-manager|netplan\.io|ifupdown|iproute2|openssl|ca-certificates)([:=].*)?$"
)


@dataclass(frozen=True, slots=True)
class _Manager:
    read: frozenset[str]
    install: frozenset[str]
    remove: frozenset[str] = frozenset()
    purge: frozenset[str] = frozenset()
    local: frozenset[str] = frozenset()  # index refresh, cache clean, download
    dry_run: frozenset[str] = frozenset()
    takes_value: frozenset[str] = frozenset()
    category: str = "package.system"


_APT = _Manager(
    read=_words(
        "search show showsrc list policy madison depends rdepends changelog help",
        "showhold showmanual showauto moo check",
    ),
    install=_words(
        "install reinstall upgrade full-upgrade dist-upgrade build-dep",
        "satisfy hold unhold markauto mark edit-sources safe-upgrade",
    ),
    remove=_words("remove autoremove"),
    purge=_words("purge autopurge"),
    local=_words("update clean autoclean download source"),
    dry_run=_words("-s --simulate --dry-run --just-print --no-act --recon --assume-no"),
    takes_value=_words("-o --option -c --config-file -t --target-release -a --host-architecture"),
)
_DNF = _Manager(
    read=_words(
        "list info search provides whatprovides repolist check-update deplist",
        "history repoquery updateinfo help",
    ),
    install=_words(
        "install reinstall update upgrade downgrade distro-sync swap group groupinstall",
        "module config-manager localinstall update-minimal",
    ),
    remove=_words("remove erase autoremove groupremove"),
    local=_words("makecache clean download"),
    dry_run=_words("--assumeno"),
    takes_value=_words("--enablerepo --disablerepo --repo -c --config --installroot -x --exclude"),
)
_SYSTEM: dict[str, _Manager] = {
    "apt": _APT,
    "apt-get": _APT,
    "aptitude": _APT,
    "apt-mark": _APT,
    "yum": _DNF,
    "dnf": _DNF,
    "microdnf": _DNF,
    "tdnf": _DNF,
    "zypper": _Manager(
        read=_words("se search if info lr repos lp list-patches pa packages pt patterns help"),
        install=_words(
            "in install up update dup dist-upgrade patch ar addrepo rr removerepo mr",
            "modifyrepo al addlock",
        ),
        remove=_words("rm remove"),
        local=_words("ref refresh clean"),
        dry_run=_words("--dry-run -D"),
    ),
    "apk": _Manager(
        read=_words("search info list policy stats dot version audit"),
        install=_words("add upgrade fix"),
        remove=_words("del"),
        local=_words("update cache fetch"),
        dry_run=_words("-s --simulate"),
    ),
    "snap": _Manager(
        read=_words(
            "find info list connections services logs changes version get known",
            "interfaces aliases warnings tasks model help",
        ),
        install=_words(
            "install refresh revert enable disable set unset connect disconnect alias",
            "unalias switch restart start stop create-user remove-user",
        ),
        remove=_words("remove"),
        local=_words("download"),
    ),
    "flatpak": _Manager(
        read=_words("list info search remotes remote-ls history ps documents permissions"),
        install=_words("install update remote-add remote-modify repair override mask pin"),
        remove=_words("uninstall remove remote-delete"),
        local=_words("run"),
    ),
    "brew": _Manager(
        read=_words(
            "info list ls search deps outdated doctor config leaves desc home uses log",
            "cat --prefix --cellar --version shellenv commands help missing",
        ),
        install=_words(
            "install upgrade reinstall tap untap link unlink pin unpin bundle services",
            "autoremove cleanup",
        ),
        remove=_words("uninstall remove rm"),
        local=_words("update fetch"),
        dry_run=_words("-n --dry-run"),
        category="package.global",
    ),
    "choco": _Manager(
        read=_words("search list info find outdated"),
        install=_words("install upgrade pin"),
        remove=_words("uninstall"),
    ),
    "winget": _Manager(
        read=_words("search list show"),
        install=_words("install upgrade import"),
        remove=_words("uninstall remove"),
    ),
    "scoop": _Manager(
        read=_words("search list info status"),
        install=_words("install update"),
        remove=_words("uninstall"),
        category="package.global",
    ),
}
_DPKG_WRITE = _words("-i --install -r --remove --configure --unpack --set-selections -a")
_DPKG_PURGE = _words("-P --purge")
_RPM_WRITE = _words("-i --install -U --upgrade -F --freshen -e --erase --import --reinstall")


def _system(cmd: Command, ctx: Context) -> list[Finding]:
    spec = _SYSTEM[cmd.name]
    pos = [a.value for a in cmd.positionals(spec.takes_value)]
    verb = pos[0] if pos else ""
    pkgs = pos[1:]
    if spec.dry_run and cmd.has(*spec.dry_run):
        return [_f(cmd, _R, spec.category, "simulation; nothing is installed")]
    if not verb or verb in spec.read:
        return [_f(cmd, _R, spec.category, "read-only query")]
    if verb in spec.local:
        return [_f(cmd, _L, spec.category, f"{verb} refreshes or cleans the package cache")]
    return _changes(cmd, spec, verb, pkgs)


def _changes(cmd: Command, spec: _Manager, verb: str, pkgs: list[str]) -> list[Finding]:
    target = " ".join(pkgs) or cmd.name
    purge = verb in spec.purge or cmd.has("--purge")
    if verb in spec.remove or purge:
        critical = [p for p in pkgs if _CRITICAL.match(p)]
        if purge or critical:
            why = "purges packages and their configuration" if purge else "removes packages"
            reason = f"{cmd.name} {why} ({', '.join(critical) or target})"
            return [_f(cmd, _W, spec.category, reason, target, Impact.DESTRUCTIVE)]
        return [_f(cmd, _W, spec.category, f"{cmd.name} removes {target}", target)]
    if verb in spec.install:
        return [_f(cmd, _W, spec.category, f"{cmd.name} {verb} changes installed software", target)]
    return [_f(cmd, Effect.UNKNOWN, spec.category, f"unrecognised {cmd.name} command {verb!r}")]


def _dpkg(cmd: Command, ctx: Context) -> list[Finding]:
    pkgs = [a.value for a in cmd.positionals()]
    if cmd.has(*_DPKG_PURGE):
        return _changes(cmd, _APT, "purge", pkgs)
    if cmd.has("-r", "--remove"):
        return _changes(cmd, _APT, "remove", pkgs)
    write = _RPM_WRITE if cmd.name == "rpm" else _DPKG_WRITE
    if cmd.has(*write) or cmd.name == "dpkg-reconfigure":
        return [_f(cmd, _W, "package.system", f"{cmd.name} changes installed software")]
    return [_f(cmd, _R, "package.system", "read-only query")]


def _pacman(cmd: Command, ctx: Context) -> list[Finding]:
    """``pacman -S…`` installs unless a query letter (s, i, l, g, p) or download
    only (w) rides along; ``-R…`` removes (``n`` deletes config); ``-Q``/``-F`` read."""
    ops = "".join(w[1:] for w in cmd.words if w.startswith("-") and not w.startswith("--"))
    pkgs = [a.value for a in cmd.positionals()]
    if "R" in ops or cmd.has("--remove"):
        return _changes(cmd, _APT, "purge" if "n" in ops else "remove", pkgs)
    if ("S" in ops or cmd.has("--sync")) and not set(ops) & set("silgpw"):
        if not pkgs and "u" not in ops:
            return [_f(cmd, _L, "package.system", "refreshes the package databases")]
        return _changes(cmd, _APT, "install", pkgs)
    if "U" in ops or "D" in ops or cmd.has("--upgrade", "--database"):
        return _changes(cmd, _APT, "install", pkgs)
    return [_f(cmd, _R, "package.system", "read-only query")]
