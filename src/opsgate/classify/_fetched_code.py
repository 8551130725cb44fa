"""Code that arrives over the network or is decoded at run time, then runs (issue 13.1).

``curl … | sh`` is found by the pipe.  The same thing written inside the interpreter's
own code — ``exec(urlopen(URL).read())``, ``fetch(URL).then(eval)``,
``eval(Net::HTTP.get(…))``, a socket wired to ``/bin/sh -i`` — leaves only an
``unknown`` (code the classifier cannot follow) next to a network call.  Together they
are fetched code: never for the agent's own prompt to approve.  Likewise a shell
handed the output of ``base64 -d`` runs decoded text nobody has read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["decoded_script", "network_code", "raw_connections"]

# Ways code reaches the network from inside an interpreter: a URL it names, or a
# socket it opens.
_NETWORK = re.compile(
    r"https?://(?!localhost\b|127\.|\[::1\])"
    r"|\b(urlopen|urlretrieve|requests\.(get|post)|httpx\.|fetch\s*\(|XMLHttpRequest|"
    r"Net::HTTP|URI\.open|open-uri|LWP|HTTP::Tiny|IO::Socket|TCPSocket|fsockopen|"
    r"curl_exec|socket\.socket|\.connect\s*\(|socket\.http|/dev/tcp/|/dev/udp/)",
    re.IGNORECASE,
)
# Programs whose output is text decoded from another form.
_DECODERS = re.compile(
    r"\b(base64|base32|basenc)\b[^|;)]*\s(-d|--decode|-D)\b|\bxxd\b[^|;)]*\s-r|"
    r"\bopenssl\b[^|;)]*\s-d\b|\b(gunzip|zcat|bzcat|xzcat|uudecode)\b|\brev\b"
)


def network_code(lang: str, code: str, found: Sequence[Finding], evidence: str) -> list[Finding]:
    """A ``network.fetch_exec`` finding when ``code`` both reaches the network and does
    something the classifier cannot follow (runs what it got, most likely)."""
    if not any(f.effect is Effect.UNKNOWN for f in found):
        return []
    if _NETWORK.search(code) is None:
        return []
    reason = f"{lang} code fetches from the network and runs what opsgate cannot read"
    return [Finding("network.fetch_exec", Impact.CAUTION, Effect.UNKNOWN, evidence[:200], reason)]


def decoded_script(shell: str, text: str, evidence: str) -> list[Finding]:
    """``sh -c "$(… | base64 -d)"``: the shell runs decoded text."""
    if _DECODERS.search(text) is None:
        return []
    reason = f"{shell} runs text decoded at run time, which nobody has read"
    return [Finding("evasion.decode_exec", Impact.CAUTION, Effect.UNKNOWN, evidence[:200], reason)]


_RAW = re.compile(r"/dev/(tcp|udp)/([^\s;&|<>)]+)")


def raw_connections(script: str) -> list[Finding]:
    """``/dev/tcp/HOST/PORT`` in a command the parser could not read."""
    return [raw_connection(m.group(2), m.group(0)) for m in _RAW.finditer(script)]


def raw_connection(where: str, evidence: str) -> Finding:
    """A bash ``/dev/tcp/HOST/PORT`` (``where`` is ``HOST/PORT``): bytes nobody reads as
    a protocol, to a service on this machine (a local target) or anywhere else (a
    reverse shell's pattern, judged as a remote target)."""
    from opsgate.classify.families.network import is_loopback_host

    host = where.split("/", 1)[0]
    if is_loopback_host(host):
        reason = (
            f"opens a raw connection to a service on this machine ({where}); what it sends"
            " is not read"
        )
        return Finding("network.connection", Impact.CAUTION, Effect.WRITE, evidence[:200],
                       reason, where, Environment.LOCAL)  # fmt: skip
    reason = f"opens a raw network connection to {where} (reverse shell pattern)"
    return Finding(
        "network.connection", Impact.CAUTION, Effect.WRITE, evidence[:200], reason, where
    )
