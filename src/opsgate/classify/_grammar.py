"""Loading the bash grammar cheaply.

``tree_sitter_bash/__init__.py`` imports ``importlib.resources`` (about 9 ms) only
to serve its highlight queries, which opsgate never uses.  The hook's whole-process
budget is 25 ms, so the grammar's compiled extension is loaded directly.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import re
from types import ModuleType

from tree_sitter import Language, Parser, Tree

__all__ = ["parse_bash"]

_PARSER: Parser | None = None


def _load_binding(package: str) -> ModuleType:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{package} is not installed; reinstall opsgate")
    folder = next(iter(spec.submodule_search_locations))
    for name in sorted(os.listdir(folder)):
        if name.startswith("_binding") and name.endswith(
            tuple(importlib.machinery.EXTENSION_SUFFIXES)
        ):
            full = f"{package}._binding"
            loader = importlib.machinery.ExtensionFileLoader(full, os.path.join(folder, name))
            ext_spec = importlib.util.spec_from_file_location(full, loader.path, loader=loader)
            if ext_spec is None:
                break
            module = importlib.util.module_from_spec(ext_spec)
            loader.exec_module(module)
            return module
    raise ImportError(f"{package} has no compiled grammar; reinstall opsgate")


def parser() -> Parser:
    global _PARSER
    if _PARSER is None:
        binding = _load_binding("tree_sitter_bash")
        _PARSER = Parser(Language(binding.language()))
    return _PARSER


# tree-sitter-bash reads unmapped memory (SIGSEGV on Linux) when `{` is followed by a
# 4-byte UTF-8 sequence (upstream issue tree-sitter-bash#337, all released versions).
# Characters outside the Basic Multilingual Plane, and lone surrogates, are never
# shell syntax, so they are replaced before parsing; words keep their positions.
_UNSAFE = re.compile("[\U00010000-\U0010ffff\ud800-\udfff]")


def sanitize(script: str) -> str:
    if script.isascii():
        return script  # nearly every command: nothing outside the BMP to replace
    return _UNSAFE.sub("\ufffd", script)


def parse_bash(script: str) -> Tree:
    return parser().parse(sanitize(script).encode("utf-8"))
