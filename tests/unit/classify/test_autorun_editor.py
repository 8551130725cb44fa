"""What editor settings make the editor start: the steps read from VS Code settings, the
user-level settings' kinds, JetBrains run configurations, and npx's package names."""

from __future__ import annotations

import pytest

from opsgate.classify._autorun import Runs, kind_of
from opsgate.classify._autorun_editor import editor_steps
from opsgate.classify._autorun_read import READERS
from opsgate.classify._command import Arg, Command
from opsgate.classify._run_npx import package_program


def _scripts(doc: dict[str, object]) -> list[str]:
    return [s.script for s in editor_steps(doc, Runs.HERE)]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"git.path": "${workspaceFolder}/tools/git"}, ["./tools/git"]),
        ({"ruff.path": ["~/bin/ruff", "/usr/bin/ruff"]}, ["~/bin/ruff", "/usr/bin/ruff"]),
        ({"rust-analyzer.server.path": "${userHome}/ra"}, ["~/ra"]),
        ({"go.alternateTools": {"go": "./x/go"}}, ["./x/go"]),
        ({"editor.fontSize": 13, "files.exclude": {"a": True}, "python.venvPath": "~/v"}, []),
        ({"terminal.integrated.profiles.linux": {"z": {"path": "/usr/bin/zsh", "args": ["-l"]}}},
         ["/usr/bin/zsh -l"]),
        ({"terminal.integrated.profiles.linux": {"pwsh": None, "g": {"source": "Git Bash"}}}, []),
        ({"terminal.integrated.shell.linux": "/bin/bash",
          "terminal.integrated.shellArgs.linux": ["-c", "make dev"]},
         ["/bin/bash", "/bin/bash -c 'make dev'"]),
        ({"terminal.integrated.env.linux": {"BASH_ENV": "${workspaceFolder}/env.sh",
                                            "PATH": "/x", "PAGER": "less -R"}},
         [". ./env.sh", "less -R"]),
        ({"terminal.integrated.env.osx": {"NODE_OPTIONS": "--require ./hook.js"}},
         ["node --require ./hook.js -e 0"]),
        ({"settings": {"clangd.path": "./c"}}, ["./c"]),
    ],
)  # fmt: skip
def test_editor_steps(doc: dict[str, object], expected: list[str]) -> None:
    assert _scripts(doc) == expected


def test_opaque_variables_stay_findings() -> None:
    steps = editor_steps({"terminal.integrated.env.linux": {"LD_PRELOAD": "/x.so"}}, Runs.HERE)
    assert [s.fact[0] if s.fact else None for s in steps] == ["editor.terminal_env"]


def test_programs_are_started_not_interactive() -> None:
    steps = editor_steps({"python.defaultInterpreterPath": "python3",
                          "terminal.integrated.env.linux": {"PROMPT_COMMAND": "date"}},
                         Runs.HERE)  # fmt: skip
    assert [(s.script, s.started) for s in steps] == [("python3", True), ("date", False)]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/home/u/.config/Code/User/settings.json", "VS Code user settings"),
        ("/home/u/.config/Cursor/User/profiles/ab12/settings.json", "VS Code user settings"),
        ("/Users/u/Library/Application Support/Code/User/tasks.json", "VS Code user tasks"),
        ("/home/u/.vscode-server/data/Machine/settings.json", "VS Code user settings"),
        ("/home/u/.config/Code/User/keybindings.json", None),
        ("/home/u/.config/Code/User/globalStorage/x/settings.json", None),
    ],
)
def test_user_settings_kinds(path: str, name: str | None) -> None:
    kind = kind_of(path)
    assert (kind.name if kind else None) == name


_RUN_CONFIG = """<component name="ProjectRunConfigurationManager">
  <configuration default="false" name="{name}" type="{type}">
{options}
  </configuration>
</component>
"""


@pytest.mark.parametrize(
    ("kind", "options", "expected"),
    [
        ("ShConfigurationType", '<option name="SCRIPT_TEXT" value="rm -rf &quot;$HOME/x&quot;" />'
         '<option name="EXECUTE_SCRIPT_FILE" value="false" />', ['rm -rf "$HOME/x"']),
        ("ShConfigurationType", '<option name="SCRIPT_PATH" value="$PROJECT_DIR$/s.sh" />'
         '<option name="INTERPRETER_PATH" value="/bin/sh" />', ["/bin/sh ./s.sh"]),
        ("js.build_tools.npm", '<scripts><script value="dev" /></scripts>', ["npm run dev"]),
        ("PythonConfigurationType", '<option name="SCRIPT_NAME" value="$PROJECT_DIR$/a.py" />',
         ["python3 ./a.py"]),
        ("GradleRunConfiguration", "", [""]),
    ],
)  # fmt: skip
def test_run_configuration(kind: str, options: str, expected: list[str]) -> None:
    whole, _ = READERS["idea_run"]
    steps = whole(_RUN_CONFIG.format(name="n", type=kind, options=options), Runs.HERE) or []
    assert [s.script for s in steps] == expected


@pytest.mark.parametrize(
    ("word", "name"),
    [("@devcontainers/cli", "devcontainer"), ("@devcontainers/cli@0.71.0", "devcontainer"),
     ("prisma@5", "prisma"), ("eslint", "eslint"), ("./bin/x@1", "x@1")],
)  # fmt: skip
def test_package_program(word: str, name: str) -> None:
    base = word.rsplit("/", 1)[-1]
    inner = Command(base, (Arg("up"),), f"npx {word} up", path=word if "/" in word else None)
    assert package_program(inner).name == name
