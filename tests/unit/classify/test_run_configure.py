"""Configure steps that run project code: cmake, meson, gradle init scripts.  Each
case: the files, the command, and the worst effect and impact opsgate must find.
(go test, turbo and nx list files, which this in-memory disk cannot: their cases are
in ``tests/corpus/fix30build.jsonl``, on a real disk.)"""

from __future__ import annotations

import pytest

from opsgate.classify._run_configure import _cmake_args, _meson_args
from opsgate.models import Effect, Impact
from run_files_disk import Disk, run, worst

OK = (Effect.LOCAL, Impact.SAFE)
DESTROYS = (Effect.WRITE, Impact.DESTRUCTIVE)
LISTS = "cmake_minimum_required(VERSION 3.20)\nproject(app C)\n"


CASES = [
    # --- cmake ------------------------------------------------------------------------
    ("cmake-exec-rm", {"CMakeLists.txt": LISTS + "execute_process(COMMAND rm -rf $ENV{HOME})\n"},
     "cmake -B build", DESTROYS),
    ("cmake-exec-git-ok", {"CMakeLists.txt": LISTS + "execute_process(COMMAND ${GIT_EXECUTABLE} "
                           "describe --tags OUTPUT_VARIABLE V ERROR_QUIET)\n"},
     "cmake -S . -B build", OK),
    ("cmake-comment-ok",
     {"CMakeLists.txt": LISTS + "# execute_process(COMMAND rm -rf $ENV{HOME})\n"},
     "cmake -B build", OK),
    ("cmake-build-does-not-configure", {"CMakeLists.txt": LISTS + "execute_process(COMMAND rm "
                                        "-rf $ENV{HOME})\n"}, "cmake --build build", OK),
    ("cmake-set-variable", {"CMakeLists.txt": LISTS + "set(DIR $ENV{HOME}/.ssh)\n"
                            "file(REMOVE_RECURSE ${DIR})\n"}, "cmake -B build", DESTROYS),
    ("cmake-include", {"CMakeLists.txt": LISTS + "include(cmake/x.cmake)\n",
                       "cmake/x.cmake": "execute_process(COMMAND rm -rf $ENV{HOME})\n"},
     "cmake -B build", DESTROYS),
    ("cmake-builtin-module-ok", {"CMakeLists.txt": LISTS + "include(GNUInstallDirs)\n"},
     "cmake -B build", OK),
    ("cmake-cache-script", {"CMakeLists.txt": LISTS, "init.cmake": "execute_process(COMMAND rm "
                            "-rf $ENV{HOME})\n"}, "cmake -C init.cmake -B build", DESTROYS),
    ("cmake-script-mode", {"x.cmake": "execute_process(COMMAND rm -rf $ENV{HOME})\n"},
     "cmake -P x.cmake", DESTROYS),
    # --- meson ------------------------------------------------------------------------
    ("meson-runcmd", {"meson.build": "project('a', 'c')\nrun_command('rm', '-rf', '/home/dev', "
                      "check: false)\n"}, "meson setup build", DESTROYS),
    ("meson-find-program-ok", {"meson.build": "project('a', 'c')\ng = find_program('git')\n"
                               "run_command(g, 'describe', check: false)\n"},
     "meson setup build", OK),
    ("meson-compile-does-not-setup", {"meson.build": "run_command('rm', '-rf', '/home/dev')\n"},
     "meson compile -C build", OK),
    # --- gradle -----------------------------------------------------------------------
    ("gradle-init-script", {"build.gradle": "", "i.gradle": "delete System.getProperty("
                            "'user.home') + '/.ssh'\n"}, "gradle -I i.gradle build", DESTROYS),
]  # fmt: skip


@pytest.mark.parametrize(("files", "command", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_configure_runs(
    files: dict[str, str], command: str, expected: tuple[Effect, Impact]
) -> None:
    found = worst(run(command, Disk(files)))
    if expected == OK:
        assert found[0] <= Effect.LOCAL, found
    else:
        assert found == expected


def test_cmake_arguments() -> None:
    text = 'execute_process(COMMAND a "b c" [[d]] $(e) (f g) OUTPUT_QUIET)'
    assert _cmake_args(text, text.index("(") + 1) == ["COMMAND", "a", "b c", "d", "$", "e",
                                                       "f", "g", "OUTPUT_QUIET"]  # fmt: skip


def test_meson_arguments() -> None:
    text = "run_command(git, 'a', ['b', 'c'], find_program('sh'), x.y(), check: true)"
    assert _meson_args(text, text.index("(") + 1, {"git": "git"}) == [
        "git", "a", "b", "c", "sh", None,
    ]  # fmt: skip
