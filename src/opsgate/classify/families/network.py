"""Network clients: HTTP (curl, wget, httpie, xh), raw sockets (nc, socat,
telnet), remote shells and copies (ssh, scp, sftp, rsync, ftp) and tunnels.

What decides a verdict is where the request goes and what it carries:

* cloud metadata endpoints hand out live credentials → ``SECRET``, whatever the
  method, however the address is spelt (decimal, hex, IPv6, wildcard DNS);
* secret files leaving the machine (``curl -F f=@.env``, ``scp ~/.ssh/id_rsa``)
  → ``SECRET``; other uploads → ``WRITE`` (data leaves the workspace);
* state-changing HTTP to a remote host → ``WRITE`` (``DELETE`` is destructive);
  the same to loopback is the developer's own dev server → ``LOCAL``;
* anything that hands this machine to the network (``nc -e``, ``socat EXEC:``,
  ``ssh -R``, ngrok) → ``WRITE``;
* ``ssh host CMD`` is judged by CMD, classified as running on that host.
"""

from __future__ import annotations

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.families._network_addresses import (
    _words,
    is_loopback_host,
    is_metadata_host,
    url_host,
)
from opsgate.classify.families._network_common import _L, _R, _S, _W, _finding, classify_url
from opsgate.classify.families._network_fanout import FANOUT
from opsgate.classify.families._network_http import _curl, _httpie, _wget
from opsgate.classify.families._network_remote import (
    _ftp,
    _nc,
    _rsync,
    _scp,
    _socat,
    _ssh,
    _ssh_copy_id,
    _telnet,
)
from opsgate.models import Finding

__all__ = ["HANDLERS", "classify_url", "is_loopback_host", "is_metadata_host", "url_host"]


# ── tunnels ────────────────────────────────────────────────────────────────
# A tunnel publishes a port of this machine to the internet.
_TUNNEL_READ = _words(
    "version help completion credits diagnose list info update --version -v", "--help -h whoami"
)
_TUNNEL_SECRET = _words("token")


def _tunnel(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_words("--url --config --port -p --to -s"))]
    words = set(pos[:2]) | ({cmd.words[0]} if cmd.words else set())
    if words & _TUNNEL_SECRET:
        return [_finding(_S, "secrets.read", cmd.text, f"{cmd.name} prints a tunnel credential")]
    if (words & _TUNNEL_READ and not cmd.has("--url")) or (not cmd.args and cmd.name == "ngrok"):
        return [_finding(_R, "network.tunnel", cmd.text, "read-only")]
    if pos[:1] == ["config"] or pos[:2] in (["access", "tcp"], ["access", "ssh"]):
        return [_finding(_L, "network.tunnel", cmd.text, "local client configuration")]
    reason = f"{cmd.name} exposes this machine to the internet or changes a tunnel"
    return [_finding(_W, "network.tunnel", cmd.text, reason, cmd.name)]


HANDLERS: dict[str, Handler] = {
    "curl": _curl,
    "wget": _wget,
    **dict.fromkeys(("http", "https", "xh", "xhs"), _httpie),
    **dict.fromkeys(("nc", "ncat", "netcat"), _nc),
    "socat": _socat,
    "telnet": _telnet,
    "ssh": _ssh,
    "scp": _scp,
    "rsync": _rsync,
    **dict.fromkeys(("sftp", "ftp", "lftp"), _ftp),
    "ssh-copy-id": _ssh_copy_id,
    **dict.fromkeys(("ngrok", "cloudflared", "lt", "localtunnel", "bore", "zrok"), _tunnel),
    **FANOUT,
}
