"""System family: services, signals, power, kernel, users, cron, firewalls."""

from __future__ import annotations

import pytest

from helpers import MemoryContext, make_command
from opsgate.classify.families.system import HANDLERS, classify_init_script
from opsgate.models import Effect, Environment, Impact

R, L, W, U = Effect.READ, Effect.LOCAL, Effect.WRITE, Effect.UNKNOWN
SAFE, CAUTION, DESTRUCTIVE = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE

CASES = [
    # service managers
    ("systemctl-reload", "systemctl reload nginx", W, CAUTION),
    ("systemctl-enable-now", "systemctl enable --now redis-server", W, CAUTION),
    ("systemctl-kill-signal-value", "systemctl kill -s SIGKILL docker.service", W, CAUTION),
    ("systemctl-daemon-reload", "systemctl daemon-reload", W, CAUTION),
    ("systemctl-set-default", "systemctl set-default multi-user.target", W, CAUTION),
    ("systemctl-suspend", "systemctl suspend", W, CAUTION),
    ("systemctl-status", "systemctl status nginx", R, SAFE),
    ("systemctl-list-timers", "systemctl list-timers --all", R, SAFE),
    ("systemctl-is-enabled", "systemctl is-enabled sshd", R, SAFE),
    ("systemctl-failed", "systemctl --failed", R, SAFE),
    ("systemctl-unknown-verb", "systemctl frobnicate x", U, CAUTION),
    ("service-restart", "service nginx restart", W, CAUTION),
    ("service-status", "service nginx status", R, SAFE),
    ("service-status-all", "service --status-all", R, SAFE),
    ("launchctl-unload", "launchctl unload -w /Library/LaunchDaemons/x.plist", W, CAUTION),
    ("launchctl-list", "launchctl list", R, SAFE),
    ("supervisorctl-stop-all", "supervisorctl stop all", W, CAUTION),
    ("supervisorctl-status", "supervisorctl status", R, SAFE),
    ("supervisorctl-interactive", "supervisorctl", U, CAUTION),
    ("pm2-delete-all", "pm2 delete all", W, CAUTION),
    ("pm2-logs", "pm2 logs api --lines 100 --nostream", R, SAFE),
    ("nginx-s-stop", "nginx -s stop", W, CAUTION),
    ("nginx-configtest", "nginx -t", R, SAFE),
    ("nginx-bare-starts", "nginx", W, CAUTION),
    ("apachectl-configtest", "apachectl configtest", R, SAFE),
    ("apachectl-graceful", "apachectl -k graceful", W, CAUTION),
    ("pg-ctl-stop", "pg_ctl -D /var/lib/postgresql/data stop -m immediate", W, CAUTION),
    ("pg-ctl-status", "pg_ctl status -D /var/lib/postgresql/data", R, SAFE),
    # signals
    ("kill-0-check", "kill -0 $(cat /tmp/devserver.pid)", R, SAFE),
    ("kill-hup-run-pidfile", "kill -HUP '$(cat /run/nginx.pid)'", W, CAUTION),
    ("kill-every-process", "kill -TERM -1", W, CAUTION),
    ("kill-pid-1", "kill -9 1", W, CAUTION),
    ("kill-pidof-daemon", "kill -STOP '$(pidof mysqld)'", W, CAUTION),
    ("kill-dev-server-pid", "kill 12345", L, SAFE),
    ("kill-port-3000", "kill -9 '$(lsof -t -i :3000)'", L, SAFE),
    ("pkill-daemon", "pkill nginx", W, CAUTION),
    ("pkill-dev-server", "pkill -f 'python manage.py runserver'", L, SAFE),
    ("pkill-other-user", "pkill -u postgres", W, CAUTION),
    # power
    ("telinit-6", "telinit 6", W, CAUTION),
    ("shutdown-h-is-halt", "shutdown -h now", W, CAUTION),
    ("reboot", "reboot", W, CAUTION),
    # kernel, mounts, users
    ("sysctl-write", "sysctl -w net.ipv4.ip_forward=1", W, CAUTION),
    ("sysctl-assign", "sysctl vm.swappiness=10", W, CAUTION),
    ("sysctl-read", "sysctl -a", R, SAFE),
    ("mount-list", "mount", R, SAFE),
    ("mount-device", "mount /dev/sdb1 /mnt", W, CAUTION),
    ("modprobe-dry-run", "modprobe -n loop", R, SAFE),
    ("rmmod", "rmmod loop", W, CAUTION),
    ("useradd", "useradd -m bob", W, CAUTION),
    ("userdel-remove-home", "userdel -r bob", W, DESTRUCTIVE),
    ("visudo-check", "visudo -c", R, SAFE),
    # cron and at
    ("crontab-list", "crontab -l", R, SAFE),
    ("crontab-stdin", "crontab -", W, CAUTION),
    ("crontab-remove", "crontab -r", W, DESTRUCTIVE),
    ("atq", "atq", R, SAFE),
    # firewalls
    ("iptables-policy-accept", "iptables -P INPUT ACCEPT", W, CAUTION),
    ("iptables-append-cluster", "iptables -t nat -A POSTROUTING -j MASQUERADE", W, CAUTION),
    ("iptables-list-cluster", "iptables -nL", R, SAFE),
    ("iptables-save", "iptables-save", R, SAFE),
    ("iptables-restore", "iptables-restore rules.v4", W, CAUTION),
    ("nft-flush", "nft flush ruleset", W, CAUTION),
    ("nft-list", "nft list ruleset", R, SAFE),
    ("nft-file", "nft -f /etc/nftables.conf", W, CAUTION),
    ("ufw-allow", "ufw allow from any to any port 5432", W, CAUTION),
    ("ufw-status", "ufw status verbose", R, SAFE),
    ("firewall-cmd-add", "firewall-cmd --permanent --add-port=80/tcp", W, CAUTION),
    ("firewall-cmd-list", "firewall-cmd --zone=public --list-all", R, SAFE),
    # network config
    ("ip-addr-show", "ip addr show", R, SAFE),
    ("ip-abbrev-read", "ip -br a", R, SAFE),
    ("ip-route-add", "ip route add default via 10.0.0.1", W, CAUTION),
    ("ip-link-set", "ip link set eth0 down", W, CAUTION),
    ("tc-add", "tc qdisc add dev eth0 root netem delay 100ms", W, CAUTION),
    ("tc-show", "tc qdisc show dev eth0", R, SAFE),
    ("ifconfig-read", "ifconfig eth0", R, SAFE),
    ("ifconfig-down", "ifconfig eth0 down", W, CAUTION),
    # logs and host config
    ("journalctl-read", "journalctl -p err -b --no-pager", R, SAFE),
    ("journalctl-vacuum", "journalctl --vacuum-time=1d", W, DESTRUCTIVE),
    ("dmesg-clear", "dmesg -C", W, CAUTION),
    ("dmesg-read", "dmesg --level=err,warn", R, SAFE),
    ("timedatectl-set", "timedatectl set-timezone UTC", W, CAUTION),
    ("hostnamectl-status", "hostnamectl", R, SAFE),
    ("chroot-unknown", "chroot /mnt bash", U, CAUTION),
]


def _classify(line: str, ctx: MemoryContext | None = None, stdin: str | None = None):
    cmd = make_command(line, stdin=stdin, stdin_source="pipe:echo")
    return HANDLERS[cmd.name](cmd, ctx or MemoryContext())


@pytest.mark.parametrize(
    ("line", "effect", "impact"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_effect_and_impact(line: str, effect: Effect, impact: Impact) -> None:
    findings = _classify(line)
    assert findings
    assert max(f.effect for f in findings) is effect
    assert max(f.impact for f in findings) is impact


def test_service_target_is_the_unit_without_environment() -> None:
    (finding,) = _classify("systemctl restart postgresql@15-main")
    assert finding.target == "postgresql@15-main"
    assert finding.environment is None
    assert finding.category == "service.control"


def test_systemctl_host_option_names_the_remote() -> None:
    (finding,) = _classify("systemctl -H web-prod-1 restart nginx")
    assert finding.target == "web-prod-1"
    assert finding.environment is Environment.PRODUCTION


def test_inside_ssh_the_remote_host_is_the_target() -> None:
    (finding,) = _classify("systemctl reload nginx", MemoryContext(remote="web-dev-2"))
    assert finding.target == "web-dev-2"
    assert finding.environment is Environment.DEVELOPMENT


def test_at_classifies_the_scheduled_script() -> None:
    ctx = MemoryContext()
    findings = _classify("at now + 1 minute", ctx, stdin="rm -rf ~/project")
    assert findings[0].effect is W
    assert ctx.nested == [("rm -rf ~/project", "at", None)]


@pytest.mark.parametrize(
    ("line", "effect"),
    [("/etc/init.d/nginx stop", W), ("/etc/init.d/nginx status", R), ("/etc/rc.d/sshd", U)],
    ids=["initd-stop", "initd-status", "rcd-no-action"],
)
def test_init_script(line: str, effect: Effect) -> None:
    (finding,) = classify_init_script(make_command(line), MemoryContext())
    assert finding.effect is effect
    if effect is W:
        assert finding.target == "nginx"
