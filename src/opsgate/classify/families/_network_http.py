"""HTTP clients: curl, wget, httpie and xh."""

from __future__ import annotations

import re
from collections.abc import Iterable

from opsgate.classify._command import Command, Context
from opsgate.classify.families._network_addresses import (
    _words,
    is_loopback_host,
    is_metadata_host,
    url_host,
)
from opsgate.classify.families._network_common import (
    _S,
    _exfil,
    _finding,
    _has,
    _output_findings,
    _scan,
    _values,
    _with_env,
    classify_url,
)
from opsgate.classify.families._network_tunnels import through_tunnel
from opsgate.models import Finding

__all__ = ["_curl", "_httpie", "_wget"]

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
        tunnel = through_tunnel(ctx, url, method, cmd.text) if is_loopback_host(host) else None
        findings.extend(tunnel if tunnel is not None else classify_url(url, method, cmd.text))
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
