"""Task runners read their project files: make, npm/yarn/pnpm/bun, just, task,
composer, rake, uv/poetry/pdm, tox, nox.  Each case: the files, the command, and the
worst effect and impact opsgate must find."""

from __future__ import annotations

import json

import pytest

from opsgate.classify._run_make_expand import Expander
from opsgate.classify._run_make_parse import parse_makefile
from opsgate.models import Effect, Impact
from run_files_disk import Disk, run, worst

OK = (Effect.LOCAL, Impact.SAFE)  # at most ordinary local work
DESTROYS = (Effect.WRITE, Impact.DESTRUCTIVE)


def pkg(**scripts: str) -> str:
    return json.dumps({"name": "app", "scripts": scripts})


CASES = [
    # --- make -------------------------------------------------------------------------
    ("make-goal", {"Makefile": "a:\n\techo a\nb:\n\trm -rf ~\n"}, "make a", OK),
    ("make-other-goal", {"Makefile": "a:\n\techo a\nb:\n\trm -rf ~\n"}, "make b", DESTROYS),
    ("make-first-goal", {"Makefile": ".PHONY: x\nb:\n\trm -rf ~\na:\n\ttrue\n"}, "make", DESTROYS),
    (
        "make-default-goal-var",
        {"Makefile": ".DEFAULT_GOAL := a\nb:\n\trm -rf ~\na:\n\ttrue\n"},
        "make",
        OK,
    ),
    ("make-prereq-chain", {"Makefile": "a: b\nb: c\nc:\n\trm -rf ~\n"}, "make a", DESTROYS),
    (
        "make-var-in-prereq",
        {"Makefile": "DEPS = c\na: $(DEPS)\nc:\n\trm -rf ~\n"},
        "make a",
        DESTROYS,
    ),
    (
        "make-subst-ref",
        {"Makefile": "X = ~/.ssh.bak\nY = $(X:.bak=)\nz:\n\trm -rf $(Y)\n"},
        "make z",
        DESTROYS,
    ),
    (
        "make-cmdline-override",
        {"Makefile": "DIR = build\nclean:\n\trm -rf $(DIR)\n"},
        "make clean DIR=~",
        DESTROYS,
    ),
    (
        "make-cmdline-build",
        {"Makefile": "DIR = ~\nclean:\n\trm -rf $(DIR)\n"},
        "make clean DIR=build",
        OK,
    ),
    ("make-env-var-unknown", {"Makefile": "clean:\n\trm -rf $(OUT)/\n"}, "make clean", None),
    ("make-C", {"sub/Makefile": "x:\n\trm -rf ~\n"}, "make -C sub x", DESTROYS),
    ("make-C-joined", {"sub/Makefile": "x:\n\trm -rf ~\n"}, "make -Csub x", DESTROYS),
    ("make-f-joined", {"k.mk": "x:\n\trm -rf ~\n"}, "make -fk.mk x", DESTROYS),
    ("make-dry-cluster", {"Makefile": "x:\n\trm -rf ~\n"}, "make -nB x", OK),
    ("make-inline-recipe", {"Makefile": "x: ; rm -rf ~\n"}, "make x", DESTROYS),
    ("make-double-colon", {"Makefile": "x::\n\ttrue\nx::\n\trm -rf ~\n"}, "make x", DESTROYS),
    (
        "make-define-shell",
        {"Makefile": "define S\n$(shell rm -rf ~)\nendef\nx:\n\ttrue\n"},
        "make x",
        DESTROYS,
    ),
    ("make-bang-assign", {"Makefile": "V != rm -rf ~; echo 1\nx:\n\ttrue\n"}, "make x", DESTROYS),
    ("make-shell-in-recipe", {"Makefile": "x:\n\techo $(shell rm -rf ~)\n"}, "make x", DESTROYS),
    (
        "make-unresolved-prereq-judges-all",
        {"Makefile": "a: $(foreach x,y,$(x))\n\ttrue\nevil:\n\trm -rf ~\n"},
        "make a",
        DESTROYS,
    ),
    ("make-continuation", {"Makefile": "x:\n\trm -rf \\\n\t  ~\n"}, "make x", DESTROYS),
    ("make-missing-include-optional", {"Makefile": "-include none.mk\nx:\n\ttrue\n"}, "make x", OK),
    # --- npm and friends ----------------------------------------------------------------
    (
        "npm-post-script",
        {"package.json": pkg(build="tsc", postbuild="rm -rf ~")},
        "npm run build",
        DESTROYS,
    ),
    ("npm-install-preinstall", {"package.json": pkg(preinstall="rm -rf ~")}, "npm i", DESTROYS),
    ("npm-install-test", {"package.json": pkg(test="rm -rf ~")}, "npm it", DESTROYS),
    (
        "npm-parent-package",
        {"package.json": pkg(test="rm -rf ~"), "sub/x": ""},
        "cd sub && npm test",
        DESTROYS,
    ),
    (
        "npm-non-string-script",
        {"package.json": json.dumps({"scripts": {"test": ["jest"]}})},
        "npm test",
        (Effect.UNKNOWN, Impact.CAUTION),
    ),
    ("npm-cycle", {"package.json": pkg(a="npm run b", b="npm run a")}, "npm run a", OK),
    ("yarn-bare-install", {"package.json": pkg(postinstall="rm -rf ~")}, "yarn", DESTROYS),
    ("yarn-builtin-is-not-script", {"package.json": pkg(add="rm -rf ~")}, "yarn add left-pad", OK),
    ("pnpm-script", {"package.json": pkg(e2e="rm -rf ~")}, "pnpm e2e", DESTROYS),
    ("bun-test-is-builtin", {"package.json": pkg(test="rm -rf ~")}, "bun test", OK),
    (
        "npm-remote-not-read",
        {"package.json": pkg(test="rm -rf ~")},
        "docker run --rm node:20 npm test",
        OK,
    ),
    # --- just, task, composer, rake ---------------------------------------------------------
    ("just-default-first", {"justfile": "a:\n    rm -rf ~\nb:\n    true\n"}, "just", DESTROYS),
    ("just-variable", {"justfile": "d := '~/.ssh'\nx:\n    rm -rf {{d}}\n"}, "just x", DESTROYS),
    ("just-backtick-var", {"justfile": "v := `rm -rf ~`\nx:\n    true\n"}, "just x", DESTROYS),
    (
        "just-param-not-recipe",
        {"justfile": "x ARG:\n    echo {{ARG}}\nrm:\n    rm -rf ~\n"},
        "just x rm",
        OK,
    ),
    (
        "just-import",
        {"justfile": "import 'more.just'\n", "more.just": "y:\n    rm -rf ~\n"},
        "just y",
        DESTROYS,
    ),
    (
        "just-other-shell",
        {"justfile": "set shell := ['python3', '-c']\nx:\n    print(1)\n"},
        "just x",
        (Effect.UNKNOWN, Impact.CAUTION),
    ),
    (
        "task-deps",
        {"Taskfile.yml": "version: '3'\ntasks:\n  a:\n    deps: [b]\n  b: rm -rf ~\n"},
        "task a",
        DESTROYS,
    ),
    (
        "task-called",
        {
            "Taskfile.yml": "tasks:\n  a:\n    cmds:\n      - task: b\n"
            "  b:\n    cmds: ['rm -rf ~']\n"
        },
        "task a",
        DESTROYS,
    ),
    (
        "task-sh-var",
        {"Taskfile.yml": "vars:\n  V:\n    sh: rm -rf ~\ntasks:\n  a: echo\n"},
        "task a",
        DESTROYS,
    ),
    (
        "task-default",
        {"Taskfile.yml": "tasks:\n  default:\n    cmds: ['rm -rf ~']\n"},
        "task",
        DESTROYS,
    ),
    (
        "composer-ref",
        {"composer.json": json.dumps({"scripts": {"a": "@b", "b": "rm -rf ~"}})},
        "composer run a",
        DESTROYS,
    ),
    (
        "composer-install-event",
        {"composer.json": json.dumps({"scripts": {"post-install-cmd": ["rm -rf ~"]}})},
        "composer install",
        DESTROYS,
    ),
    (
        "composer-no-scripts",
        {"composer.json": json.dumps({"scripts": {"post-install-cmd": ["rm -rf ~"]}})},
        "composer install --no-scripts",
        OK,
    ),
    (
        "rake-prereq",
        {"Rakefile": "task default: [:b]\n\ntask :b do\n  sh 'rm -rf ~'\nend\n"},
        "rake",
        DESTROYS,
    ),
    (
        "rake-namespace",
        {"Rakefile": 'namespace :db do\n  task :wipe do\n    sh "rm -rf ~"\n  end\nend\n'},
        "rake db:wipe",
        DESTROYS,
    ),
    (
        "rake-ruby-body",
        {"Rakefile": "task :x do\n  FileUtils.rm_rf(Dir.home)\nend\n"},
        "rake x",
        None,
    ),
    (
        "pre-commit-local",
        {
            ".pre-commit-config.yaml": "repos:\n- repo: local\n  hooks:\n  - id: x\n"
            "    entry: rm -rf ~\n    language: system\n"
        },
        "pre-commit run x",
        DESTROYS,
    ),
    (
        "pre-commit-other-hook",
        {
            ".pre-commit-config.yaml": "repos:\n- repo: local\n  hooks:\n  - id: x\n"
            "    entry: rm -rf ~\n    language: system\n"
        },
        "pre-commit run y",
        OK,
    ),
    # --- python projects -------------------------------------------------------------------
    (
        "pdm-script-cmd",
        {"pyproject.toml": "[tool.pdm.scripts]\nwipe = 'rm -rf ~'\n"},
        "pdm run wipe",
        DESTROYS,
    ),
    (
        "hatch-script-list",
        {"pyproject.toml": "[tool.hatch.envs.default.scripts]\nx = ['true', 'rm -rf ~']\n"},
        "hatch run x",
        DESTROYS,
    ),
    (
        "poetry-entry-missing-module",
        {"pyproject.toml": "[tool.poetry.scripts]\nx = 'nowhere.cli:main'\n"},
        "poetry run x",
        (Effect.UNKNOWN, Impact.CAUTION),
    ),
    (
        "tox-all-envs",
        {"tox.ini": "[testenv]\ncommands = pytest\n[testenv:wipe]\ncommands = rm -rf {env:HOME}\n"},
        "tox",
        DESTROYS,
    ),
    (
        "tox-chosen-env",
        {"tox.ini": "[testenv]\ncommands = pytest\n[testenv:wipe]\ncommands = rm -rf /home/dev\n"},
        "tox -e py312",
        OK,
    ),
    (
        "nox-python-body",
        {
            "noxfile.py": "import nox, shutil\n\n@nox.session\n"
            "def x(session):\n    shutil.rmtree('/home/dev')\n"
        },
        "nox",
        DESTROYS,
    ),
]


@pytest.mark.parametrize(("files", "command", "expected"),
                         [pytest.param(f, c, e, id=i) for i, f, c, e in CASES])  # fmt: skip
def test_task_runner(
    files: dict[str, str], command: str, expected: tuple[Effect, Impact] | None
) -> None:
    found = worst(run(command, Disk(files)))
    if expected is None:  # judged, but with a path opsgate cannot know: never allowed
        assert found[0] >= Effect.WRITE
    elif expected == OK:
        assert found[0] <= Effect.LOCAL, found
    else:
        assert found == expected


def test_make_expansion() -> None:
    mk = parse_makefile(
        "SRC = a.c b.c\nOBJ = $(SRC:.c=.o)\nP = $(patsubst %.c,obj/%.o,$(SRC))\n"
        "N = $(notdir src/x.c) $(addprefix -I,inc lib) $(filter %.c,$(SRC) x.h)\n",
        "Makefile",
    )
    ex = Expander(mk, {}, {})
    assert ex.expand("$(OBJ)") == ("a.o b.o", True)
    assert ex.expand("$(P)") == ("obj/a.o obj/b.o", True)
    assert ex.expand("$(N)") == ("x.c -Iinc -Ilib a.c b.c", True)
    assert ex.expand("$$HOME $(CC)", recipe=True) == ("$HOME cc", True)
    assert ex.expand("$(UNSET)", recipe=True) == ("${UNSET}", True)
    assert ex.expand("$(call f,x)")[1] is False
    assert ex.expand("$(shell rm -rf ~)", recipe=True) == ("$(rm -rf ~)", True)


def test_make_parse_conditionals_keep_both_branches() -> None:
    mk = parse_makefile("ifeq ($(X),1)\na:\n\ttrue\nelse\nb:\n\tfalse\nendif\n", "Makefile")
    assert [r.targets for r in mk.rules] == [["a"], ["b"]]
    assert [r.recipe for r in mk.rules] == [[(3, "true")], [(6, "false")]]
