"""pytest's temporary-directory fixtures, as the analyser places them.

A fixture or test that takes ``tmp_path`` (or ``tmpdir``, ``tmp_path_factory``'s
``mktemp`` aside) gets a new, empty directory pytest made for that test alone: a
``git init`` or an ``rmtree`` there touches nothing else.  The name is taken as such
only where pytest binds it: a parameter (without a default) of a function pytest
calls itself, a ``@pytest.fixture`` or a ``test_*`` function the module never calls,
and the name bound nowhere else.
"""

from __future__ import annotations

import ast

__all__ = ["PYTEST_TMP", "pytest_temp_names"]

PYTEST_TMP = "/tmp/pytest-of-opsgate/pytest-current/tmp"
_TEMP_FIXTURES = ("tmp_path", "tmpdir")


def pytest_temp_names(tree: ast.Module) -> dict[str, str]:
    """``{"tmp_path": PYTEST_TMP}`` for each fixture name bound only by pytest."""
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)
              and isinstance(n.func, ast.Name)}  # fmt: skip
    referenced = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | called
    pytest_args: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and _pytest_calls(fn, referenced):
            pytest_args.update(id(a) for a in _plain_args(fn))
    out: dict[str, str] = {}
    for name in _TEMP_FIXTURES:
        if _bound_only_by(tree, name, pytest_args):
            out[name] = PYTEST_TMP
    return out


def _pytest_calls(fn: ast.FunctionDef | ast.AsyncFunctionDef, referenced: set[str]) -> bool:
    if any("fixture" in ast.unparse(d) for d in fn.decorator_list):
        return True  # pytest refuses a direct call of a fixture
    return fn.name.startswith("test") and fn.name not in referenced and not fn.decorator_list


def _plain_args(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    """Parameters without a default value: pytest fills those with fixtures."""
    positional = [*fn.args.posonlyargs, *fn.args.args]
    plain = positional[: len(positional) - len(fn.args.defaults)]
    plain += [a for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True) if d is None]
    return plain


def _bound_only_by(tree: ast.Module, name: str, allowed: set[int]) -> bool:
    seen = False
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.arg == name:
            if id(node) not in allowed:
                return False
            seen = True
        elif (
            isinstance(node, ast.Name) and node.id == name and not isinstance(node.ctx, ast.Load)
        ) or (isinstance(node, ast.Global | ast.Nonlocal) and name in node.names):
            return False
    return seen
