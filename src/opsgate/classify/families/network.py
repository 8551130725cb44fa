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

import dataclasses
import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.paths import is_secret_path
from opsgate.models import Effect, Finding, Impact

__all__ = [
    "HANDLERS",
    "classify_url",
    "is_loopback_host",
    "is_metadata_host",
    "url_host",
]

_R, _L, _W, _U, _S = Effect.READ, Effect.LOCAL, Effect.WRITE, Effect.UNKNOWN, Effect.SECRET


def _words(*groups: str) -> frozenset[str]:
    return frozenset(w for g in groups for w in g.split())


# ── addresses ──────────────────────────────────────────────────────────────
_METADATA_NAMES = _words(
    "metadata metadata.google.internal metadata.goog metadata.azure.com",
    "metadata.azure.internal instance-data instance-data.ec2.internal",
    "metadata.tencentyun.com metadata.packet.net metadata.platformequinix.com",
)
_METADATA_NETS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.169.0/24",  # AWS, GCP, Azure, OCI, DigitalOcean, OpenStack
        "169.254.170.0/24",  # ECS task and EKS pod-identity credentials
        "100.100.100.200/32",  # Alibaba Cloud
        "192.0.0.192/32",  # Oracle Cloud (classic)
        "fd00:ec2::/112",  # EC2 IPv6 (fd00:ec2::254, ::23)
    )
)
_LOOPBACK_NAMES = _words("localhost host.docker.internal lvh.me localtest.me ip6-localhost")
_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")
# An IPv4 address inside a name (169.254.169.254.nip.io, 169-254-169-254.sslip.io)
# or as one 8-digit hex label (a9fea9fe.nip.io).
_EMBEDDED_V4 = re.compile(r"(?<![0-9])(\d{1,3})[.-](\d{1,3})[.-](\d{1,3})[.-](\d{1,3})(?![0-9])")
_EMBEDDED_HEX = re.compile(r"(?:^|[.-])(?:0x)?([0-9a-f]{8})(?=$|[.-])")


def _loose_ipv4(text: str) -> ipaddress.IPv4Address | None:
    """Parse like ``inet_aton``: 1–4 parts, each decimal, octal (0…) or hex (0x…),
    the last filling the remaining bytes — so ``2852039166``, ``0xa9fea9fe`` and
    ``0251.0376.0251.0376`` are all 169.254.169.254."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(_PART.fullmatch(p) for p in parts):
        return None
    nums = [
        int(p, 16) if p[:2].lower() == "0x" else int(p, 8 if p[:1] == "0" else 10)
        for p in (p if p not in ("0x", "0X") else "0" for p in parts)
    ]
    *head, last = nums
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = 0
    for n in head:
        value = value * 256 + n
    return ipaddress.IPv4Address(value * 256 ** (4 - len(head)) + last)


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every IP a host string denotes literally or embeds."""
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    v4 = _loose_ipv4(host)
    if v4 is not None:
        found.append(v4)
    try:
        v6 = ipaddress.IPv6Address(host.split("%", 1)[0])
    except ValueError:
        v6 = None
    if v6 is not None:
        found.append(v6)
        for embedded in (v6.ipv4_mapped, v6.sixtofour):
            if embedded is not None:
                found.append(embedded)
        if v6 in ipaddress.ip_network("64:ff9b::/96"):  # NAT64
            found.append(ipaddress.IPv4Address(int(v6) & 0xFFFFFFFF))
    for m in _EMBEDDED_V4.finditer(host):
        if all(int(g) <= 255 for g in m.groups()):
            found.append(ipaddress.IPv4Address(".".join(m.groups())))
    for m in _EMBEDDED_HEX.finditer(host):
        found.append(ipaddress.IPv4Address(int(m.group(1), 16)))
    return found


def _clean_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def is_metadata_host(host: str) -> bool:
    """True for a cloud instance-metadata endpoint in any spelling."""
    host = _clean_host(host)
    if host in _METADATA_NAMES:
        return True
    return any(
        ip in net for ip in _addresses(host) for net in _METADATA_NETS if ip.version == net.version
    )


def is_loopback_host(host: str) -> bool:
    """True for this machine: localhost names, 127/8, ::1, 0.0.0.0 (any spelling)."""
    host = _clean_host(host)
    if host in _LOOPBACK_NAMES or host.endswith((".localhost", ".lvh.me", ".localtest.me")):
        return True
    return any(ip.is_loopback or ip.is_unspecified for ip in _addresses(host))


def url_host(url: str) -> str | None:
    """The host of a URL; scheme-less forms (``localhost:3000/x``, ``:3000``,
    ``example.org``) are read the way curl and httpie read them."""
    text = url.strip()
    if text.startswith(":"):
        text = "localhost" + text  # httpie shorthand
    if "://" not in text:
        text = "http://" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    return host or None


# ── findings ───────────────────────────────────────────────────────────────
_READ_METHODS = _words("GET HEAD OPTIONS TRACE CONNECT PROPFIND")


def _finding(
    effect: Effect,
    category: str,
    evidence: str,
    reason: str,
    target: str | None = None,
    impact: Impact | None = None,
) -> Finding:
    if impact is None:
        impact = Impact.SAFE if effect in (_R, _L) else Impact.CAUTION
    return Finding(category, impact, effect, evidence, reason, target)


def _with_env(findings: Iterable[Finding], ctx: Context) -> list[Finding]:
    """Fill in the environment of each finding's target host from the inventory
    or its name; a remote host's unknown environment is left for the policy."""
    out = []
    for f in findings:
        if f.target and f.environment is None:
            env = ctx.environment_of(f.target)
            if env is not None:
                f = dataclasses.replace(f, environment=env[0], env_source=env[1])
        out.append(f)
    return out


def classify_url(url: str, method: str = "GET", evidence: str | None = None) -> list[Finding]:
    """One HTTP request by method and URL (also the WebFetch tool's verdict)."""
    evidence = evidence or url
    method = method.upper()
    scheme = url.split("://", 1)[0].lower() if "://" in url else "http"
    host = url_host(url)
    if scheme not in ("http", "https", "ftp", "ftps", "ws", "wss", "sftp", "scp") or not host:
        reason = f"a {scheme}: URL reaches something other than a web server"
        return [_finding(_U, "network.request", evidence, reason, host)]
    if is_metadata_host(host):
        reason = "the cloud metadata service hands out live credentials"
        return [_finding(_S, "secrets.cloud_metadata", evidence, reason, host)]
    if is_loopback_host(host):
        effect = _R if method in _READ_METHODS else _L
        return [_finding(effect, "network.request", evidence, "request to this machine", host)]
    if method in _READ_METHODS:
        return [_finding(_R, "network.request", evidence, f"{method} is a read", host)]
    impact = Impact.DESTRUCTIVE if method == "DELETE" else Impact.CAUTION
    reason = f"{method} changes state on {host}"
    return [_finding(_W, "network.request.write", evidence, reason, host, impact)]


# Places a download must not land: they run code or hold trust.
_PROTECTED = re.compile(
    r"^(/etc|/usr|/bin|/sbin|/lib\w*|/boot|/var/spool/cron|/System|/Library)(/|$)"
    r"|^~?/?(\.bashrc|\.bash_profile|\.bash_login|\.profile|\.zshrc|\.zprofile|\.zshenv"
    r"|\.config/fish/config\.fish|\.ssh/.*|\.local/bin/.*|\.config/autostart/.*)$"
    r"|(^|/)\.git/(hooks/|config$)"
)


def _output_findings(cmd: Command, ctx: Context, paths: Iterable[str | None]) -> list[Finding]:
    out = []
    for path in paths:
        if not path or path == "-":
            continue
        rel = path[len(ctx.home) :] if path.startswith(ctx.home + "/") else path
        if _PROTECTED.search(rel.removeprefix("~")) or _PROTECTED.search(rel):
            reason = f"writes a download to a protected place ({path})"
            out.append(_finding(_W, "filesystem.write_protected", cmd.text, reason, path))
    return out


def _exfil(cmd: Command, host: str, files: Iterable[str]) -> list[Finding]:
    """Files sent to ``host``: secrets are disclosed; anything else leaves the
    machine, which is a write unless the other end is this machine."""
    out = []
    for path in files:
        if is_secret_path(path):
            reason = f"sends the secret file {path} to {host}"
            out.append(_finding(_S, "secrets.exfiltration", cmd.text, reason, host))
        elif not is_loopback_host(host):
            reason = f"uploads {path} to {host}"
            out.append(_finding(_W, "network.upload", cmd.text, reason, host))
    return out


# ── option scanning ────────────────────────────────────────────────────────


def _scan(
    words: Iterable[str], short: str, long: frozenset[str], stop_at_positional: bool = False
) -> tuple[list[tuple[str, str | None]], list[str]]:
    """(options, positionals) for getopt-style words, where a cluster may end in
    a valued option (``-sX PUT``, ``-XPOST``, ``-fNR 80:x:80``)."""
    opts: list[tuple[str, str | None]] = []
    pos: list[str] = []
    items = iter(words)
    for word in items:
        if pos and stop_at_positional:
            pos.append(word)
        elif word == "--":
            pos.extend(items)
        elif word.startswith("--"):
            name, eq, value = word.partition("=")
            opts.append((name, value if eq else next(items, "") if name in long else None))
        elif word.startswith("-") and len(word) > 1:
            for i, ch in enumerate(word[1:], 1):
                if ch in short:
                    opts.append((f"-{ch}", word[i + 1 :] or next(items, "")))
                    break
                opts.append((f"-{ch}", None))
        else:
            pos.append(word)
    return opts, pos


def _values(opts: list[tuple[str, str | None]], *names: str) -> list[str]:
    return [v for k, v in opts if k in names and v is not None]


def _has(opts: list[tuple[str, str | None]], *names: str) -> bool:
    return any(k in names for k, _ in opts)


# ── HTTP clients ───────────────────────────────────────────────────────────
_CURL_SHORT = "AbcCdDEeFHKmoPQrTtuUwxXyYz"
_CURL_LONG = _words(
    "--data --data-raw --data-binary --data-ascii --data-urlencode --json --form",
    "--form-string --upload-file --header --output --user --proxy --request --url",
    "--user-agent --referer --cookie --cookie-jar --cert --key --cacert --capath --config",
    "--max-time --connect-timeout --retry --retry-delay --retry-max-time --resolve",
    "--connect-to --write-out --range --continue-at --dump-header --limit-rate --variable",
    "--max-filesize --interface --local-port --proxy-user --oauth2-bearer --aws-sigv4",
    "--unix-socket --abstract-unix-socket --output-dir --noproxy --preproxy --socks5",
    "--socks5-hostname --socks4 --socks4a --proxy-header --mail-from --mail-rcpt",
    "--quote --time-cond --speed-time --speed-limit --dns-servers --doh-url --max-redirs",
    "--trace --trace-ascii --stderr --netrc-file --request-target --url-query --rate",
    "--etag-save --etag-compare --hsts --alt-svc --cert-type --key-type --ciphers",
    "--expect100-timeout --keepalive-time --pinnedpubkey --login-options --tls-max",
)
_METADATA_HEADER = re.compile(r"^\s*(metadata-flavor|metadata|x-aws-ec2-metadata-token)", re.I)


def _curl_uploads(opts: list[tuple[str, str | None]], cmd: Command) -> list[str]:
    """Local files whose contents curl sends: ``-d @f``, ``-F k=@f``, ``-F k=<f``,
    ``--data-urlencode k@f``, ``-T f``; ``@-`` is stdin from a file redirect."""
    files = []
    for key, value in opts:
        value = value or ""
        if key in ("-T", "--upload-file"):
            files.append(value)
        elif key in ("-F", "--form"):
            m = re.search(r"=[@<]([^;]+)", value)
            files.extend([m.group(1)] if m else [])
        elif key.startswith(("-d", "--data", "--json")):
            m = re.match(r"(?:[^=@]*)@(.+)$", value)
            files.extend([m.group(1)] if m else [])
    stdin_file = cmd.stdin.source[5:] if cmd.stdin and cmd.stdin.source.startswith("file:") else ""
    return [stdin_file if f == "-" else f for f in files if f and (f != "-" or stdin_file)]


def _http(
    cmd: Command,
    ctx: Context,
    method: str,
    urls: list[str],
    uploads: list[str],
    outputs: Iterable[str | None] = (),
    via_hosts: Iterable[str] = (),
) -> list[Finding]:
    findings = _output_findings(cmd, ctx, outputs)
    for host in via_hosts:  # --resolve / --connect-to / --proxy can redirect any URL
        if is_metadata_host(host):
            reason = "routes the request to the cloud metadata service"
            findings.append(_finding(_S, "secrets.cloud_metadata", cmd.text, reason, host))
    for url in urls:
        host = url_host(url) or url
        findings.extend(classify_url(url, method, cmd.text))
        findings.extend(_exfil(cmd, host, uploads))
    return _with_env(findings, ctx)


def _curl(cmd: Command, ctx: Context) -> list[Finding]:
    opts, pos = _scan(cmd.words, _CURL_SHORT, _CURL_LONG)
    uploads = _curl_uploads(opts, cmd)
    method = (_values(opts, "-X", "--request") or [""])[-1].upper()
    sends = _has(opts, "-d", "-F", "--form", "--form-string", "--json") or any(
        k.startswith("--data") for k, _ in opts
    )
    if not method:
        method = "HEAD" if _has(opts, "-I", "--head") else "GET"
        method = "PUT" if _has(opts, "-T", "--upload-file") else method
        method = "POST" if sends and not _has(opts, "-G", "--get") else method
    # --resolve HOST:PORT:ADDR and --connect-to H1:P1:H2:P2 send the URL elsewhere.
    via = [v.rsplit(":", 1)[-1].strip("[]") for v in _values(opts, "--resolve")]
    via += [v.split(":")[2] for v in _values(opts, "--connect-to") if v.count(":") >= 3]
    via += [url_host(p) or p for p in _values(opts, "-x", "--proxy", "--preproxy")]
    findings = _http(
        cmd,
        ctx,
        method,
        pos + _values(opts, "--url"),
        uploads,
        _values(opts, "-o", "--output"),
        via,
    )
    if any(_METADATA_HEADER.match(h) for h in _values(opts, "-H", "--header")):
        reason = "sends a cloud metadata header: a credential request"
        findings.append(_finding(_S, "secrets.cloud_metadata", cmd.text, reason))
    return findings


_WGET_SHORT = "OoaPieTtwQUlARDIXB"
_WGET_LONG = _words(
    "--post-data --post-file --body-data --body-file --method --header --output-document",
    "--output-file --append-output --directory-prefix --input-file --user --password",
    "--http-user --http-password --user-agent --referer --load-cookies --save-cookies",
    "--tries --timeout --wait --execute --certificate --private-key --ca-certificate",
    "--limit-rate --quota --level --accept --reject --domains --bind-address",
)


def _wget(cmd: Command, ctx: Context) -> list[Finding]:
    opts, pos = _scan(cmd.words, _WGET_SHORT, _WGET_LONG)
    posting = _has(opts, "--post-data", "--post-file")
    method = (_values(opts, "--method") or ["POST" if posting else "GET"])[-1].upper()
    if _has(opts, "--spider"):
        method = "HEAD"
    uploads = _values(opts, "--post-file", "--body-file")
    outputs = _values(opts, "-O", "--output-document", "-P", "--directory-prefix")
    return _http(cmd, ctx, method, pos, uploads, outputs)


_HTTPIE_VALUED = _words(
    "-a --auth -A --auth-type -o --output --session --session-read-only --verify --cert",
    "--cert-key --cert-key-pass --proxy --pretty -s --style -p --print --format-options",
    "--timeout --max-redirects --boundary --default-scheme --ssl --ciphers",
    "--response-charset --response-mime --raw -P --history-print",
)
_HTTPIE_ITEM = re.compile(r"^(?P<key>(?:[^=:@\\]|\\.)*)(?P<sep>:=@|=@|:=|==|=|@|:)(?P<val>.*)$")


def _httpie(cmd: Command, ctx: Context) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_HTTPIE_VALUED)]
    if not pos or cmd.has("--offline", "--help", "--version"):
        return []
    method = ""
    if len(pos) > 1 and re.fullmatch(r"[A-Za-z]+", pos[0]):
        method, pos = pos[0].upper(), pos[1:]
    url, items = pos[0], pos[1:]
    uploads: list[str] = []
    sends = cmd.has("--raw", "-f", "--form", "--multipart")
    for item in items:
        m = _HTTPIE_ITEM.match(item)
        if m is None:
            continue
        sep, val = m.group("sep"), m.group("val")
        if sep in ("=", ":=", "=@", ":=@", "@"):
            sends = True
        if sep in ("=@", ":=@", "@"):
            uploads.append(val.split(";", 1)[0])
    if cmd.name in ("https", "xhs") and "://" not in url:
        url = "https://" + url
    method = method or ("POST" if sends else "GET")
    return _http(cmd, ctx, method, [url], uploads, [cmd.option("-o", "--output")])


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
    host = _host_of(pos[0])
    found = _ssh_options(cmd, ctx, opts, host)
    script = " ".join(pos[1:])
    stdin = cmd.stdin
    sent = _stdin_file(cmd)
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
    elif stdin is None and not _has(opts, *_SSH_NO_SHELL):
        reason = f"opens an interactive shell on {host}; what it will run is unseen"
        found.append(_finding(_U, "network.ssh", cmd.text, reason, host))
    return _with_env(found, ctx)


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
}
