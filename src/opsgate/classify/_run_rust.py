"""Rust that cargo runs while it builds: a package's ``build.rs``.

Read narrowly, like Perl or Ruby (``_interp``): a ``Command::new("sh").arg("-c")
.arg("…")`` or ``Command::new("git").args(["push", …])`` of literals is judged as the
command line it runs; ``remove_dir_all``/``remove_file`` of a literal path as that
deletion, of the home directory (``env::var("HOME")``, ``home_dir()``) as a deletion
of home.  Writes into cargo's ``OUT_DIR``, ``println!("cargo:…")`` and the build
helpers (``cc``, ``prost_build`` …) are what build scripts are for and pass.  Any
other write, process, network use or ``unsafe`` code is ``unknown``, never safe.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from opsgate.classify._command import Arg, Command, Context
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Effect, Finding, Impact

__all__ = ["analyse_rust"]

Shell = Callable[[str], list[Finding]]

_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_COMMAND = re.compile(r"Command::new\s*\(")
_DELETE = re.compile(r"\b(remove_dir_all|remove_file|remove_dir)\s*\(")
_HOME = re.compile(r'env::var(_os)?\s*\(\s*"(HOME|USERPROFILE)"|\bhome_dir\s*\(|"~/?')
# Effects a build script may have that this reading does not follow.
_EFFECTS = re.compile(
    r"\b(fs::write|File::create|OpenOptions|fs::rename|fs::copy|create_dir(_all)?|"
    r"set_permissions|symlink|hard_link|TcpStream|UdpSocket|TcpListener|reqwest|ureq|"
    r"hyper|std::net|libc::|unsafe|include!|env::set_var|process::exit)\b"
)
_OUT_DIR = re.compile(r'"OUT_DIR"')


def analyse_rust(code: str, ctx: Context, shell: Shell, cwd: str | None) -> list[Finding]:
    """Findings for a build script's Rust source (run by cargo in ``cwd``)."""
    text = _without_comments(code)
    statements = _statements(text)
    home = _bound_names(statements, _HOME)
    out = _bound_names(statements, _OUT_DIR)
    findings: list[Finding] = []
    for statement in statements:
        if _COMMAND.search(statement):
            findings += _command(statement, shell)
        if _DELETE.search(statement):
            findings += _delete(statement, ctx, cwd, home)
        elif _EFFECTS.search(statement) and not _in_out_dir(statement, out):
            what = _EFFECTS.search(statement).group(0)  # type: ignore[union-attr]  # searched
            findings.append(unknown(f"Rust code uses {what}, an effect opsgate does not model",
                                    statement.strip()[:200]))  # fmt: skip
    return findings


def _bound_names(statements: list[str], value: re.Pattern[str]) -> re.Pattern[str] | None:
    """Variables bound to what ``value`` finds (``let home = env::var("HOME")…``), and
    those bound to them in turn (``let dest = Path::new(&out).join(…)``)."""
    names: list[str] = []
    for statement in statements:
        bound = re.search(r"\blet\s+(?:mut\s+)?(\w+)", statement)
        known = re.compile(r"\b(" + "|".join(names) + r")\b") if names else None
        if bound and (value.search(statement) or (known and known.search(statement))):
            names.append(bound.group(1))
    return re.compile(r"\b(" + "|".join(names) + r")\b") if names else None


def _in_out_dir(statement: str, out: re.Pattern[str] | None) -> bool:
    """A write into cargo's ``OUT_DIR``, where build scripts put what they generate."""
    return bool(_OUT_DIR.search(statement) or (out is not None and out.search(statement)))


def _statements(text: str) -> list[str]:
    """The code between ``;``, ``{`` and ``}`` outside string literals."""
    blanked = _STRING.sub(lambda m: '"' + "_" * (len(m.group(0)) - 2) + '"', text)
    out: list[str] = []
    start = 0
    for match in re.finditer(r"[;{}]", blanked):
        out.append(text[start : match.start()])
        start = match.end()
    out.append(text[start:])
    return [s for s in out if s.strip()]


def _without_comments(code: str) -> str:
    code = re.sub(r"/\*.*?\*/", " ", code, flags=re.DOTALL)
    return re.sub(r"(?m)//.*$", "", code)


def _command(statement: str, shell: Shell) -> list[Finding]:
    """``Command::new("prog").arg("a").args(["b", "c"])``: literals only."""
    at = _COMMAND.search(statement)
    chain = statement[at.start() :] if at else statement
    pieces = re.findall(r"(?:Command::new|\.args?)\s*\(\s*(\[[^\]]*\]|&?\[[^\]]*\]|[^)]*)\)", chain)
    words: list[str] = []
    for piece in pieces:
        literals = _STRING.findall(piece)
        stripped = _STRING.sub("", piece).strip(" &[],\n\t")
        if stripped or not literals:
            return [unknown("Rust code runs a command built at run time", statement.strip()[:200])]
        words += [s.encode().decode("unicode_escape") for s in literals]
    if (
        len(words) >= 3
        and words[0].rsplit("/", 1)[-1] in ("sh", "bash", "zsh")
        and words[1] == "-c"
    ):
        return shell(words[2])
    return shell(" ".join(shlex.quote(w) for w in words))


def _delete(
    statement: str, ctx: Context, cwd: str | None, home: re.Pattern[str] | None
) -> list[Finding]:
    from opsgate.classify.families.filesystem import delete_findings

    if _HOME.search(statement) or (home is not None and home.search(statement)):
        reason = "Rust code deletes the home directory or a part of it"
        return [Finding("filesystem.delete", Impact.DESTRUCTIVE, Effect.WRITE,
                        statement.strip()[:200], reason)]  # fmt: skip
    call = _DELETE.search(statement)
    rest = statement[call.end() :] if call else ""
    literal = re.match(r'\s*&?\s*(?:Path::new\s*\(\s*)?"((?:[^"\\]|\\.)*)"\s*\)', rest)
    if literal is None:
        return [unknown("Rust code deletes a path built at run time", statement.strip()[:200])]
    path = literal.group(1)
    probe = Command("rm", (Arg(path),), statement.strip()[:200], cwd=cwd)
    return delete_findings(probe, [Arg(path)], ctx, recursive=True)
