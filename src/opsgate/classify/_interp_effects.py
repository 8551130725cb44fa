"""What Perl, Ruby, JavaScript (node, bun, deno), PHP and Lua code may do that the
narrow reading in ``_interp`` does not model.

That reading follows shell-outs and deletions written with literal strings.  Any
other call that writes, deletes, runs a program, opens the network or dispatches by a
computed name (``unlink glob …``, ``File.write``, ``fs.appendFileSync``, ``Kernel.send``,
``array_map("unlink", …)``) is an effect opsgate cannot judge: the code is ``unknown``,
never safe.  Code with none of these calls — printing, parsing, reading project files,
arithmetic — is recognisably read-only and passes.
"""

from __future__ import annotations

import re

from opsgate.classify._interp_loopback import without_plain_gets
from opsgate.classify._interp_servers import without_tcp_http_servers
from opsgate.models import Effect, Finding, Impact

__all__ = ["unmodelled_effects"]

# Per language: calls and constructs with effects (writes, deletions, processes, the
# network, code built at run time or reached by a computed name).  They are matched on
# the code with string contents blanked, so words in messages do not count.
_EFFECTS: dict[str, tuple[str, ...]] = {
    "perl": (
        r"\b(unlink|rmdir|rename|link|symlink|chmod|chown|utime|truncate|mkdir|system|exec|"
        r"fork|kill|syscall|qx|eval|do|require|dbmopen|socket|connect|send|sysopen|open|"
        r"remove_tree|rmtree|make_path|mkpath|copy|move)\b",
        r"`",
        r"&\s*[\{\$]|->\s*\$|\*\{|\bno\s+strict\b|\bCORE::",
        r"\b(IO::Socket|LWP|HTTP::Tiny|Net::|DBI|File::Copy|File::Path|POSIX)\b",
    ),
    "ruby": (
        r"\b(File|FileUtils|Dir|IO|Pathname)\s*\.\s*(delete|unlink|write|binwrite|rename|"
        r"chmod|chown|symlink|link|rm\w*|mkdir\w*|mv|cp\w*|touch|truncate|open|new|popen|"
        r"sysopen|remove\w*|install|ln\w*)\b",
        r"\b(system|exec|spawn|fork|syscall|eval|instance_eval|class_eval|module_eval|send|"
        r"public_send|__send__|const_get|instance_variable_set|define_method)\b",
        r"(?<![.\w:])(method|binding|load|require_relative|trap|open|exit!)\b",
        r"`|%x",
        r"\b(Open3|Process(?!\s*\.\s*(?:wait\w*|detach|pid|clock_gettime)\b)|Socket|TCPSocket|UDPSocket|Net::|URI\.open|Kernel|ObjectSpace|"
        r"Fiddle)\b",
    ),
    "node": (
        r"\b(child_process|worker_threads|cluster|dgram|inspector)\b",
        r"\brequire\s*\(\s*['\"](node:)?(vm|net|tls|http2?|https)['\"]",
        r"\b(from|import)\s*['\"](node:)?(vm|net|tls|http2?|https)['\"]",  # ES modules
        r"(?<![\w.])(execSync|execFileSync|spawnSync|exec|execFile|spawn|fork)\s*\(",
        r"(?<![\w])(writeFile|writeFileSync|appendFile|appendFileSync|unlink|unlinkSync|rm|"
        r"rmSync|rmdir|rmdirSync|rename|renameSync|copyFile|copyFileSync|cpSync|mkdir|"
        r"mkdirSync|symlink|symlinkSync|link|linkSync|chmod|chmodSync|chown|chownSync|"
        r"truncate|truncateSync|createWriteStream|openSync|utimes|utimesSync|writeSync|"
        r"writev|rmtree|removeSync|outputFile|outputFileSync|emptyDir|ensureDir)\s*\(",
        r"\bfs\s*\.\s*(open|write|cp)\b",
        r"\bDeno\s*\.\s*(remove|removeSync|writeTextFile|writeTextFileSync|writeFile|"
        r"writeFileSync|run|Command|rename|renameSync|mkdir|mkdirSync|chmod|chmodSync|"
        r"symlink|symlinkSync|truncate|truncateSync|create|createSync|open|openSync|kill|"
        r"copyFile|copyFileSync|link|linkSync|connect|listen|serve)\b",
        r"\bBun\s*\.\s*(spawn|spawnSync|write|\$|file|serve|connect|listen)\b|\$`",
        r"\bprocess\s*\.\s*(kill|binding|dlopen|chdir|abort|setuid|setgid)\b|"
        r"\bprocess\s*\[",
        r"\b(eval|Function|import|require)\s*\(\s*(?!['\"][^'\"]*['\"]\s*\))",
        # A call of fetch, or fetch handed on as a value; not a test's stub of it
        # (``global.fetch = jest.fn(…)``, ``fetch.mockClear()``).
        r"(?<![.\w])fetch\s*\(|(?:[=(,]|\breturn)\s*fetch\b(?!\s*[.=(])|"
        r"\b(XMLHttpRequest|WebSocket|EventSource|sendBeacon)\b",
        r"\b(globalThis|global|window|self|module|exports|require)\s*\[",
        # A member chosen by a string built at run time (``obj[`ex${x}`]``); an array of
        # template strings (``(f) => [`eslint ${f}`]``) is no member access.
        r"[\w$)\]]\s*\[\s*(['\"`][^\]]*['\"`]\s*\+|`[^`\]]*\$\{)",
    ),
    "php": (
        r"\b(unlink|rmdir|rename|copy|file_put_contents|fopen|fwrite|fputs|mkdir|chmod|chown|"
        r"chgrp|symlink|link|touch|tempnam|system|exec|shell_exec|passthru|popen|proc_open|"
        r"pcntl_exec|pcntl_fork|eval|assert|create_function|call_user_func|"
        r"call_user_func_array|array_map|array_walk|usort|preg_replace_callback|mail|"
        r"curl_exec|fsockopen|stream_socket_client|socket_create|include|require|"
        r"include_once|require_once|putenv|ini_set|dl|ftp_\w+)\b",
        r"`",
        r"\$\w+\s*\(|\$\{|\bnew\s+\$",
    ),
    "julia": (
        r"(?<![\w.])(rm|mv|cp|cptree|mkdir|mkpath|touch|chmod|chown|symlink|hardlink|write|"
        r"open|download|run|pipeline|spawn|success|kill|ccall|"
        r"eval|include|include_string|cd|setenv|withenv|exit|addprocs)\s*\(",
        r"`|@eval|@ccall|@spawn|@async|\bMeta\s*\.|\b(Base|Core|Libc|Sockets|Downloads|HTTP|"
        r"Distributed|Pkg)\s*\.|\bENV\s*\[[^\]]*\]\s*=|\bgetfield\s*\(",
    ),
    "lua": (
        r"\bos\s*\.\s*(remove|rename|execute|exit|tmpname)\b",
        r"\bio\s*\.\s*(popen|output|open)\b",
        r"\b(load|loadstring|loadfile|dofile|require|debug|setmetatable|rawset)\b",
        r"\bpackage\s*\.\s*loadlib\b|\b_G\s*\[|\b_ENV\b",
    ),
}
_COMPILED = {lang: re.compile("|".join(f"(?:{p})" for p in ps)) for lang, ps in _EFFECTS.items()}
_COMMENT = {
    "perl": re.compile(r"(?m)^\s*#.*$"),
    "ruby": re.compile(r"(?m)^\s*#.*$"),
    "node": re.compile(r"(?m)^\s*//.*$"),
    "php": re.compile(r"(?m)^\s*(//|#).*$"),
    "lua": re.compile(r"(?m)^\s*--.*$"),
    "julia": re.compile(r"(?m)^\s*#.*$"),
}
# String literals (contents blanked before matching), and Perl's match and substitution
# operators, whose text is data.
_QUOTED = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")
_PERL_REGEX = re.compile(
    r"(?<![\w$@%&])(?:s|tr|y)([/|#!{])(?:\\.|(?!\1).)*\1(?:\\.|(?!\1).)*\1[a-z]*|"
    r"(?<![\w$@%&)\]])(?:m|qr)?/(?:\\.|[^/\n])*/[a-z]*"
)
# JavaScript module names stay visible: require("child_process") is the effect.
_MODULE_ARG = re.compile(r"(require|import)\s*\(\s*$|\b(from|import)\s*$")


def unmodelled_effects(lang: str, code: str) -> list[Finding]:
    """An ``unknown`` finding when ``code`` makes a call with effects that opsgate does
    not model; [] for read-only code, and for one shell-out of a literal string (which
    the shell classifier judges)."""
    pattern = _COMPILED.get(lang)
    if pattern is None:
        return []
    if lang == "node":  # a plain GET is judged like curl's (``_interp_loopback``)
        code = without_tcp_http_servers(_without_tcp_servers(without_plain_gets(code)))
        code = _without_literal_shell_outs(code)
    body = _blank_strings(lang, _MODELLED_DELETE.sub(" ", _COMMENT[lang].sub("", code)))
    hit = pattern.search(body)
    if hit is None or _MODELLED.match(code) is not None:
        return []
    call = hit.group(0).strip()[:40]
    return [
        Finding(
            "unknown.interpreter",
            Impact.CAUTION,
            Effect.UNKNOWN,
            code[:200],
            f"{lang} code uses {call!r}, an effect opsgate does not model",
        )
    ]


def _blank_strings(lang: str, code: str) -> str:
    if lang == "perl":
        code = _PERL_REGEX.sub(" ", code)

    def blank(m: re.Match[str]) -> str:
        text = m.group(0)
        if lang == "node" and _MODULE_ARG.search(code[: m.start()]):
            return text
        return text[0] + " " * (len(text) - 2) + text[-1]

    return _QUOTED.sub(blank, code)


# A deletion of a literal path: the narrow reading judges it by that path.
_MODELLED_DELETE = re.compile(
    r"(?:require\s*\(\s*['\"](?:node:)?fs['\"]\s*\)\s*\.\s*|\bfs\s*\.\s*)?"
    r"\b(rmSync|rmdirSync|unlinkSync|rmtree|rm_rf|rm_r|removeSync|remove_tree|"
    r"FileUtils\.rm\w*|File\.(?:delete|unlink|rm\w*)|Dir\.rmdir|Deno\.remove(?:Sync)?|"
    r"os\.remove|unlink)\s*\(\s*(['\"])[^'\"\n]*\2"
)
# One call the narrow reading models, with a literal argument: ``system("ls")``,
# ``require("child_process").execSync("npm test")``.  Its own finding judges it.
_MODELLED = re.compile(
    r"^\s*(?:(?:const|let|var)\s+\w+\s*=\s*)?"
    r"(?:require\s*\(\s*['\"](?:node:)?child_process['\"]\s*\)\s*\.\s*)?"
    r"(system|exec|execSync|spawnSync|shell_exec|passthru|os\.execute|io\.popen)\s*\(?\s*"
    r"(['\"])(?:(?!\2)[^\\]|\\.)*\2\s*\)?\s*;?\s*$",
    re.S,
)


# Node code whose every process call runs one literal command line (``execSync('git
# rev-parse --short HEAD')`` in a vite config): each is judged as that command by the
# narrow reading (``_interp``), so neither the calls nor the child_process import are an
# unmodelled effect.  One call of another shape (``spawn(cmd, args)``, a template with
# ``${…}``) keeps them all unmodelled.  zx's ``$`git status``` is such a call.
_PROCESS_CALL = re.compile(
    r"\b(execSync|exec|spawnSync|spawn|execFileSync|execFile|fork)\s*\(|(?<![\w$])\$\s*`"
)
_LITERAL_CALL = re.compile(
    r"\b(?:execSync|exec)\s*\(\s*(['\"`])(?:(?!\1)[^\\$]|\\.)*\1\s*"
    r"(?:,\s*\{[^{}()]*\}\s*)?\)"
    r"|(?<![\w$])\$\s*`(?:[^`\\$]|\\.)*`"  # zx's $`cmd`
)
_CHILD_PROCESS = re.compile(
    r"""(?:import\s*\{[^}]*\}\s*from\s*|\brequire\s*\(\s*)['"](?:node:)?child_process['"]\s*\)?"""
)


def _without_literal_shell_outs(code: str) -> str:
    calls = len(_PROCESS_CALL.findall(code))
    if not calls or len(_LITERAL_CALL.findall(code)) != calls:
        return code
    return _CHILD_PROCESS.sub(" ", _LITERAL_CALL.sub("0", code))


# ``Deno.serve({ port: 8000 }, handler)``, ``Bun.serve({ fetch })``: a server on a TCP
# port is local work, as ``python3 -m http.server`` is; the handler's own calls are
# still read.  One on a Unix socket path (``path:``, ``unix:``, ``transport: "unix"``)
# may stand in for opsgate's own decision service, so it stays unmodelled.
# (Any such option anywhere in the code keeps every server call unmodelled: options
# may nest, or be built apart from the call.)
_TCP_SERVER = re.compile(r"\b(?:Deno|Bun)\s*\.\s*(?:serve|listen)\s*\(")
_SOCKET_OPTION = re.compile(r"\b(?:path|unix|transport)\b\s*['\"]?\s*[:=]")


def _without_tcp_servers(code: str) -> str:
    return code if _SOCKET_OPTION.search(code) else _TCP_SERVER.sub("(", code)
