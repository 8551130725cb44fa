"""Round a22's classes (task gaps22): Go and Rust programs a command runs, dbt's default
target read as a fact, scripts' argv, framework runners.  The corpus cases
(``tests/corpus/gaps22.jsonl``) judge whole commands; these pin the parts."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsgate.classify import ClassifyContext, GivenFiles, classify
from opsgate.classify._command import Arg
from opsgate.classify._compiled_effects import analyse_program
from opsgate.classify._files_dbt import decode, default_targets, encode
from opsgate.classify._run_argv import bind_node_argv
from opsgate.models import Action, Classification, Effect, Environment


def _run(command: str, cwd: Path, ctx: ClassifyContext | None = None) -> Classification:
    action = Action("", "Bash", {"command": command}, cwd=str(cwd), project_dir=str(cwd))
    return classify(action, ctx or ClassifyContext())


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _shells(lang: str, code: str) -> list[str]:
    seen: list[str] = []
    analyse_program(lang, code, lambda text: seen.append(text) or [])
    return seen


_GO_HOME = 'h, _ := os.UserHomeDir()\nos.RemoveAll(filepath.Join(h, ".ssh"))\n'
_RUST_RC = 'let home = env::var("HOME").unwrap();\nfs::write(format!("{home}/.bashrc"), s)?;\n'
_RUST_HOME = 'let d = dirs::home_dir().expect("no home");\nstd::fs::remove_dir_all(d)?;\n'


@pytest.mark.parametrize(
    ("lang", "code", "runs"),
    [
        ("go", 'exec.Command("kubectl", "delete",\n\t"ns", "prod")\n', "kubectl delete ns prod"),
        ("go", 'exec.CommandContext(ctx, "sh", "-c", "rm -rf /srv")\n', "rm -rf /srv"),
        ("go", _GO_HOME, "rm -rf ~/.ssh"),
        ("go", 'os.WriteFile(".git/hooks/x", b, 0o755)\n', "cp -r build/out .git/hooks/x"),
        ("go", 'f, _ := os.OpenFile("out.log", os.O_RDONLY, 0)\n', None),
        ("rust", _RUST_RC, "cp -r build/out ~/.bashrc"),
        ("rust", _RUST_HOME, "rm -rf ~"),
        ("rust", 'let url = "https://x.example/a"; // comment\nprintln!("{url}");\n', None),
    ],
)
def test_program_effects_are_judged_as_the_commands_they_equal(
    lang: str, code: str, runs: str | None
) -> None:
    assert _shells(lang, code) == ([runs] if runs else [])


@pytest.mark.parametrize(
    ("lang", "code"),
    [
        ("go", "exec.Command(name, args...).Run()\n"),
        ("go", "os.RemoveAll(dir)\n"),  # a parameter: known only at run time
        ("go", "os.WriteFile(cfg.Path, data, 0o600)\n"),
        ("rust", "fn wipe(p: &Path) { std::fs::remove_dir_all(p).unwrap(); }\n"),
        ("rust", 'Command::new(prog).arg("-x").status()?;\n'),
    ],
)
def test_effects_built_at_run_time_are_unknown(lang: str, code: str) -> None:
    found = analyse_program(lang, code, lambda text: [])
    assert found and all(f.effect is Effect.UNKNOWN for f in found)


def test_node_argv_is_bound_and_consts_follow() -> None:
    text = "const dir = process.argv[2];\nfs.rmSync(dir);\nconsole.log(process.argv[3]);\n"
    bound = bind_node_argv(text, "x.js", (Arg("build"),))
    assert 'fs.rmSync("build")' in bound
    assert "process.argv[3]" in bound  # past the arguments given: left as it is
    assert bind_node_argv(text, "x.js", (Arg("$X", static=False),)) == text


def test_dbt_profiles_keep_only_the_target_names() -> None:
    text = "a:\n  target: prod\n  outputs:\n    prod: {password: hunter2}\nb: {target: dev}\n"
    pairs = default_targets(text)
    assert pairs == (("a", "prod"), ("b", "dev"))
    assert decode(encode(pairs)) == pairs and "hunter2" not in encode(pairs)
    assert default_targets("- a list") is None


def test_dbt_home_profiles_are_a_fact_never_a_read(tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    _write(home, {".dbt/profiles.yml": "shop:\n  target: prod\n  outputs:\n    prod:\n"
                                        "      password: hunter2\n"})  # fmt: skip
    _write(project, {"dbt_project.yml": "name: shop\nprofile: shop\n", "models/a.sql": "select 1"})
    local = _run("dbt run", project, ClassifyContext(home=str(home)))
    assert local.environment is Environment.PRODUCTION
    assert not any(".dbt" in f.path for f in local.files)  # the password file is never read
    assert not any("hunter2" in value for _, value in local.facts)
    given = ClassifyContext(home=str(home), files=lambda: GivenFiles.of(local.files, local.facts))
    assert _run("dbt run", project, given).findings == local.findings
    dev = _run("dbt run --target dev", project, ClassifyContext(home=str(home)))
    assert dev.environment is not Environment.PRODUCTION
