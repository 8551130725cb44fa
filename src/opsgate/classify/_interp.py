"""What code given to an interpreter would do.

Python is read with Python's own parser (``ast``): calls that run shell commands
(``os.system``, ``subprocess.run``) are classified as the commands they run;
deletions (``shutil.rmtree``) as deletions; ``exec`` of a decoded literal is
decoded and read again; printing ``os.environ`` is an environment dump.
Perl, Ruby, Node, PHP, Lua and awk get a narrower reading of the same calls.
Anything dynamic is ``unknown``.
"""

from __future__ import annotations

import re

from opsgate.classify._command import Arg, Command, Context
from opsgate.classify._interp_python import Shell, _metadata_url, _unknown, analyse_python
from opsgate.models import Effect, Finding, Impact

__all__ = ["analyse_python", "analyse_script"]


# --- other interpreters: a narrower reading ------------------------------------------------
_STRING = r"""(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|`([^`]*)`)"""
_EXEC_PATTERNS: dict[str, tuple[str, ...]] = {
    "perl": (
        r"\bsystem\s*\(?\s*",
        r"\bexec\s*\(?\s*",
        r"\bqx\s*[({\[/]?\s*",
        r"\bopen\s*\(.*?\|\s*",
        r"(?=`)",  # `cmd` runs cmd
    ),
    "ruby": (
        r"\bsystem\s*\(?\s*",
        r"\bexec\s*\(?\s*",
        r"%x\s*[({\[]?\s*",
        r"\bspawn\s*\(?\s*",
        r"Open3\.\w+\s*\(?\s*",
        r"IO\.popen\s*\(?\s*",
        r"(?=`)",  # `cmd` runs cmd
    ),
    "node": (
        r"\bexecSync\s*\(\s*",
        r"\bexec\s*\(\s*",
        r"\bspawnSync\s*\(\s*",
        r"\bexecFileSync\s*\(\s*",
        r"\bspawn\s*\(\s*",
        r"(?<![\w$])\$(?!\{)\s*",  # zx's $`cmd`; never a template literal's ${…}
    ),
    "php": (
        r"\bsystem\s*\(\s*",
        r"\bexec\s*\(\s*",
        r"\bshell_exec\s*\(\s*",
        r"\bpassthru\s*\(\s*",
        r"\bpopen\s*\(\s*",
        r"\bproc_open\s*\(\s*",
    ),
    "lua": (r"\bos\.execute\s*\(?\s*", r"\bio\.popen\s*\(?\s*"),
    "awk": (r"\bsystem\s*\(\s*",),
    "r": (r"\bsystem2?\s*\(\s*", r"\bshell\s*\(\s*"),
    "elixir": (r"\bSystem\.cmd\s*\(\s*", r"\bSystem\.shell\s*\(\s*", r":os\.cmd\s*\(\s*"),
    "elisp": (r"\(shell-command\s+", r"\(call-process-shell-command\s+"),
    "julia": (r"(?=`)",),  # run(`cmd`): a command literal
}
_DELETE_PATTERNS = (
    r"\brmSync\b",
    r"\brmdirSync\b",
    r"\bunlinkSync\b",
    r"\bremove_tree\b",
    r"\brmtree\b",
    r"\brm_rf\b",
    r"\brm_r\b",
    r"FileUtils\.rm",
    r"\bfs\.rm\b",
    r"\bunlink\s*\(",
    r"\bunlink\s+(?=['\"])",  # Perl's unlink "path" without parentheses
    r"\brmdir\b",
    r"\bos\.remove\b",
    r"\bFile\.delete\b",
    r"\bDir\.rmdir\b",
    r"\bremoveSync\b",
    r"\bDeno\.remove\b",
    r"\bFile\.rm_rf\b",
    r"\bFile\.rm\b",
    r"\bdelete-directory\b",
    r"\bdelete-file\b",
    r"\bfile\.remove\b",
)
_DELETES = re.compile("|".join(_DELETE_PATTERNS))
# Languages whose own deletion calls the shared list would misread elsewhere.
_DELETES_IN = {"julia": re.compile("|".join((*_DELETE_PATTERNS, r"(?<![\w.])rm\s*\(")))}
_HOME_HINTS = re.compile(
    r"homedir\(\)|\$ENV\{\s*'?HOME|ENV\[\s*['\"]HOME|expand_path\(\s*['\"]~|"
    r"['\"]~/?['\"]|['\"]/['\"]|getenv\(\s*['\"]HOME|user_home\(\)|env\.get\(\s*['\"]HOME|"
    r"Sys\.getenv\(\s*['\"]HOME|['\"]~/[^'\"]*['\"]"
)
_ENV_DUMP = re.compile(
    r"(console\.log\s*\(\s*process\.env\s*\)|^\s*process\.env\s*;?\s*$|"
    r"\b(p|pp|puts|print)\s*\(?\s*ENV\b|Deno\.env\.toObject|Sys\.getenv\(\s*\)|"
    r"System\.get_env\(\s*\)|"
    r"\bENV\.to_h\b|\bENV\.each\b|%ENV\b|\bgetenv\(\s*\)|\bENVIRON\b|"
    r"JSON\.stringify\(\s*process\.env|"
    r"\b(println|display|show|print|collect|Dict)\s*\(\s*ENV\s*\)|\bin\s+ENV\b)"
)


def analyse_script(
    lang: str, code: str, ctx: Context, shell: Shell, *, printed: bool
) -> list[Finding]:
    """Perl/Ruby/Node/PHP/Lua/awk: shell-outs and deletions, read from string literals."""
    findings = _shell_outs(lang, code, shell)
    if lang == "php":
        findings.extend(_php_copies(code, shell))
        code = _PHP_COPY.sub("0", code)
    if lang == "node":
        from opsgate.classify._interp_temp import without_fresh_temp_calls

        # Writes and deletions inside a directory the code just made are temp-file work.
        code = without_fresh_temp_calls(code)
    findings.extend(_code_secrets(lang, code))
    deletes = _DELETES_IN.get(lang, _DELETES)
    if deletes.search(code):
        findings.extend(_deletions(lang, code, ctx, deletes))
    findings.extend(_env_dumps(lang, code, printed=printed))
    if re.search(r"\beval\s*\(\s*(?!['\"])", code) and lang in ("node", "php", "perl", "ruby"):
        findings.append(_unknown(f"{lang} evaluates code built at run time", code))
    from opsgate.classify._interp_effects import unmodelled_effects

    findings.extend(unmodelled_effects(lang, code))
    from opsgate.classify._guard_reach import code_findings

    findings.extend(code_findings(lang, code))
    from opsgate.classify._interp_cloud import sdk_findings

    findings.extend(sdk_findings(lang, code, shell))
    from opsgate.classify._interp_sql import driver_sql_findings

    findings.extend(driver_sql_findings(lang, code, shell))
    from opsgate.classify._interp_datastores import datastore_findings

    findings.extend(datastore_findings(lang, code, shell))
    return findings


# PHP's ``copy('.env.example', '.env')`` of two literal paths: judged as ``cp`` of them
# (Laravel's composer ``post-root-package-install``), so the destination is weighed.
# No ``:`` in either: a stream wrapper (``https://…``, ``php://``, ``data:``) is a
# download or more, not a file copy.
_PHP_COPY = re.compile(
    r"(?<![\w$>:\\])copy\s*\(\s*(['\"])([^'\"\n$\\:]*)\1\s*,\s*(['\"])([^'\"\n$\\:]*)\3\s*\)"
)


def _php_copies(code: str, shell: Shell) -> list[Finding]:
    import shlex

    found: list[Finding] = []
    for m in _PHP_COPY.finditer(code):
        found.extend(shell(shlex.join(["cp", "--", m.group(2), m.group(4)])))
    return found


def _shell_outs(lang: str, code: str, shell: Shell) -> list[Finding]:
    """Commands run from string literals (``system("…")``, backticks …)."""
    findings: list[Finding] = []
    for pattern in _EXEC_PATTERNS.get(lang, ()):
        for m in re.finditer(pattern + "(?=['\"`({\\[/@$])", code):
            rest = code[m.end() :].lstrip("([{/")
            lit = re.match(_STRING, rest)
            if lit is None or _built(rest[lit.end() :], lit.group(0)):
                findings.append(_unknown(f"{lang} runs a command built at run time", code))
                continue
            text = next((g for g in lit.groups() if g is not None), "")
            findings.extend(shell(text.replace('\\"', '"').replace("\\'", "'")))
    return findings


def _deletions(lang: str, code: str, ctx: Context, deletes: re.Pattern[str]) -> list[Finding]:
    """A deletion call seen in ``code``: of home or /, of a literal path, or of a built one."""
    if _HOME_HINTS.search(code):
        return [
            Finding(
                "filesystem.delete",
                Impact.DESTRUCTIVE,
                Effect.WRITE,
                code[:200],
                f"{lang} code deletes the home directory or /",
            )
        ]
    literal = re.search(_STRING, code[deletes.search(code).end() :])  # type: ignore[union-attr]  # searched above
    path = next((g for g in literal.groups() if g is not None), None) if literal else None
    if path is None:
        return [_unknown(f"{lang} code deletes a path built at run time", code)]
    from opsgate.classify.families.filesystem import delete_findings

    cmd = Command("rm", (Arg(path),), code[:200])
    return delete_findings(cmd, [Arg(path)], ctx, recursive=True)


# An expression that is the environment, printed by ``node -p`` or ``julia -E``.
_PRINTED_ENV = {"node": r"\s*process\.env\s*", "julia": r"\s*ENV\s*"}


def _env_dumps(lang: str, code: str, *, printed: bool) -> list[Finding]:
    if _ENV_DUMP.search(code):
        reason = f"{lang} code prints the process environment"
    elif printed and re.fullmatch(_PRINTED_ENV.get(lang, "(?!)"), code):
        reason = "prints the process environment"
    else:
        return []
    return [Finding("secrets.env_dump", Impact.CAUTION, Effect.SECRET, code[:200], reason)]


def _built(after: str, literal: str) -> bool:
    """A literal that is only the start of the command: ``'rm -rf ' + dir``, `${…}`."""
    return bool(re.match(r"\s*(\+|\.\s*\$|<>|\.\.)", after)) or "${" in literal or "#{" in literal


_READ_CALLS = re.compile(
    r"(readFileSync|readFile|File\.read|IO\.read|file_get_contents|slurp|read_file|readLines|"
    r"File\.open|open\s*\(|fs\.read|Deno\.readTextFile|File\.read!|readlines|\bcat\b|"
    # the same in more languages: Python's pathlib, Node streams, Lua, PHP, Go, Rust,
    # Java, .NET, Emacs Lisp, R, awk's getline
    r"read_text|read_bytes|createReadStream|io\.open|io\.lines|\bfopen\b|\bfile\s*\(|"
    r"ReadFile|read_to_string|readAll|readString|ReadAllText|ReadAllBytes|ReadAllLines|"
    r"(?<![\w.])read\s*\(|readchomp|"  # Julia's read(path, String)
    r"insert-file-contents|find-file|f-read|read\.csv|read\.table|\bscan\s*\(|getline)"
)


_LISTS_DIR = re.compile(
    r"\b(readdirSync|readdir|opendirSync|opendir|listdir|scandir|"
    r"iterdir|os\.walk|Dir\.(?:glob|entries|children|each_child)|glob)\b"
)


# Node's dotenv, loaded and its values shown: ``console.log(require('dotenv').config().parsed)``.
_NODE_DOTENV = re.compile(r"""require\(\s*['"]dotenv(?:/config)?['"]\s*\)|from\s+['"]dotenv"""
                          r"""(?:/config)?['"]|import\s+['"]dotenv/config['"]""")  # fmt: skip
_SHOWN = re.compile(r"\.parsed\b|(?:console\.\w+|JSON\.stringify|process\.stdout\.write)"
                    r"\s*\(\s*process\.env(?:\s*[,)]|\.\w*(?:key|token|secret|pass|pwd|cred|"
                    r"url|dsn)\w*)", re.IGNORECASE)  # fmt: skip


def _code_secrets(lang: str, code: str) -> list[Finding]:
    """Code that reads a secret file by name, or talks to the metadata service."""
    from opsgate.classify.paths import is_secret_path

    out: list[Finding] = []
    if lang == "node" and _NODE_DOTENV.search(code) and _SHOWN.search(code):
        reason = "node code loads the .env secrets file with dotenv and shows its values"
        out.append(Finding("secrets.read", Impact.CAUTION, Effect.SECRET, code[:200], reason))
    for lit in re.finditer(_STRING, code):
        text = next((g for g in lit.groups() if g is not None), "")
        if _metadata_url(text):
            out.append(
                Finding(
                    "secrets.cloud_metadata",
                    Impact.CAUTION,
                    Effect.SECRET,
                    text[:200],
                    f"{lang} code contacts the cloud metadata service",
                )
            )
        elif (
            text
            and len(text) < 256
            and _READ_CALLS.search(code)
            and (is_secret_path(text) or (_LISTS_DIR.search(code) and is_secret_path(f"{text}/")))
        ):  # a credentials directory listed and its files read (``readdirSync("~/.ssh")``)
            out.append(
                Finding(
                    "secrets.read",
                    Impact.CAUTION,
                    Effect.SECRET,
                    code[:200],
                    f"{lang} code reads {text}, which holds credentials",
                )
            )
    return out
