"""The pure readers behind issue 14's runner, kill and branch fixes (wip/runners14):
Rust build scripts, Python that kills every process, a script's own arguments, fd's
name patterns, and the fact-recorded listing of the files a runner collects."""

from __future__ import annotations

import ast

import pytest

from helpers import make_command
from opsgate.classify._command import Arg
from opsgate.classify._files import GivenFiles, LocalFiles
from opsgate.classify._interp_kills import python_mass_kill
from opsgate.classify._run_argv import bind_python_argv
from opsgate.classify._run_rust import analyse_rust
from opsgate.classify.families._filesystem_fd import _name_glob
from opsgate.classify.families._system_kills import lists_every_process


def _rust(code: str) -> list[str]:
    seen: list[str] = []

    def shell(text: str) -> list:  # type: ignore[type-arg]  # findings or nothing
        seen.append(text)
        return []

    findings = analyse_rust(code, None, shell, "/p")  # type: ignore[arg-type]  # no ctx needed
    return seen + [f.category for f in findings]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ('fn main() { Command::new("sh").arg("-c").arg("rm -rf ~").status(); }', ["rm -rf ~"]),
        ('fn main() { Command::new("git").args(["push", "-f"]).status(); }', ["git push -f"]),
        ("fn main() { Command::new(prog).status(); }", ["unknown"]),
        ('fn main() { let h = env::var("HOME").unwrap(); fs::remove_dir_all(h); }',
         ["filesystem.delete"]),
        ('fn main() { let o = env::var("OUT_DIR").unwrap(); fs::write(format!("{}/a", o), ""); }',
         []),
        ('fn main() { fs::write("/etc/hosts", "x"); }', ["unknown"]),
        ('fn main() { println!("cargo:rerun-if-changed=build.rs"); }', []),
        ('// Command::new("rm")\nfn main() {}', []),
    ],
)  # fmt: skip
def test_rust_build_scripts(code: str, expected: list[str]) -> None:
    assert _rust(code) == expected


@pytest.mark.parametrize(
    ("code", "mass"),
    [
        ("import os\n[os.kill(int(p), 9) for p in os.listdir('/proc') if p.isdigit()]", True),
        ("import psutil\nfor p in psutil.process_iter():\n    p.terminate()", True),
        ("import os, signal\nos.kill(-1, signal.SIGKILL)", True),
        ("import os\nos.kill(1234, 15)", False),
        ("import os\nprint(os.listdir('/proc'))", False),
        ("import subprocess\np = subprocess.Popen(['sleep', '9'])\np.kill()", False),
    ],
)
def test_python_mass_kill(code: str, mass: bool) -> None:
    assert (python_mass_kill(ast.parse(code)) is not None) is mass


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        ("shutil.rmtree(sys.argv[1])", ("build",), "shutil.rmtree('build')"),
        ("print(sys.argv[0])", (), "print('x.py')"),
        ("shutil.rmtree(sys.argv[2])", ("a",), "shutil.rmtree(sys.argv[2])"),
        ("from sys import argv\nos.remove(argv[1])", ("f",),
         "from sys import argv\nos.remove('f')"),
    ],
)  # fmt: skip
def test_python_argv_bound(text: str, args: tuple[str, ...], expected: str) -> None:
    assert bind_python_argv(text, "x.py", tuple(Arg(a) for a in args)) == expected


def test_python_argv_unknown_argument_stays() -> None:
    text = "shutil.rmtree(sys.argv[1])"
    assert bind_python_argv(text, "x.py", (Arg("$DIR", False),)) == text


@pytest.mark.parametrize(
    ("pattern", "glob"),
    [("__pycache__", "__pycache__"), ("node_modules", "node_modules"),
     (".mypy_cache", ".mypy_cache"), ("build", "*build*"), ("dist", "*dist*"),
     ("py$", "*py$*")],
)  # fmt: skip
def test_fd_name_glob(pattern: str, glob: str) -> None:
    assert _name_glob(pattern) == glob


@pytest.mark.parametrize(
    ("line", "every"),
    [("pgrep -u dev", True), ("pgrep -f .", True), ("pgrep -f vite", False),
     ("pgrep -u dev node", False), ("pgrep -d , -u dev", True)],
)  # fmt: skip
def test_pgrep_lists_every_process(line: str, every: bool) -> None:
    assert lists_every_process(make_command(line)) is every


def test_listing_is_a_fact_and_bounded(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "tests" / "unit").mkdir(parents=True)
    (tmp_path / "tests" / "unit" / "test_a.py").write_text("")
    (tmp_path / "tests" / "conftest.py").write_text("")
    (tmp_path / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "node_modules" / "x" / "test_no.py").write_text("")
    source = LocalFiles()
    found = source.files_named(str(tmp_path), ("test_*.py", "conftest.py"), recursive=True)
    assert found == (f"{tmp_path}/tests/conftest.py", f"{tmp_path}/tests/unit/test_a.py")
    key = f"files:test_*.py|conftest.py:r@{tmp_path}"
    assert source.facts[key].split("\n") == list(found)
    # The control plane answers from what the hook sent, and knows nothing otherwise.
    given = GivenFiles(given_facts={key: source.facts[key]})
    assert given.files_named(str(tmp_path), ("test_*.py", "conftest.py"), recursive=True) == found
    assert GivenFiles().files_named(str(tmp_path), ("*.mk",)) is None
    for i in range(70):
        (tmp_path / f"test_{i}.py").write_text("")
    assert LocalFiles().files_named(str(tmp_path), ("test_*.py",)) is None
