"""Where packages come from: npm-package-arg and PEP 508/pip spellings of a source."""

from __future__ import annotations

import pytest

from opsgate.classify._package_sources import npm_remote, python_remote


@pytest.mark.parametrize(
    ("spec", "remote"),
    [
        ("lodash", False),
        ("lodash@4.17.21", False),
        ("@types/node", False),
        ("@types/node@20.1.0", False),
        ("lodash-es@npm:lodash@4", False),
        ("./packages/util", False),
        ("file:tools", False),
        ("workspace:*", False),
        ("^18.3.1", False),
        ("https://registry.npmjs.org/x/-/x-1.0.0.tgz", False),
        ("http://localhost:4873/x/-/x-1.0.0.tgz", False),
        ("github:someuser/repo", True),
        ("someuser/repo", True),
        ("someuser/repo#v2", True),
        ("lp@someuser/repo", True),
        ("lp@github:someuser/repo", True),
        ("git+https://github.com/u/r.git", True),
        ("git@github.com:u/r.git", True),
        ("https://codeload.github.com/u/r/tar.gz/main", True),
        ("gitlab:u/r", True),
    ],
)
def test_npm_remote(spec: str, remote: bool) -> None:
    assert (npm_remote(spec) is not None) is remote


@pytest.mark.parametrize(
    ("spec", "remote"),
    [
        ("requests==2.32.3", False),
        ("requests[socks]>=2", False),
        (".", False),
        ("./vendor/helper", False),
        ("git+file:///srv/repo", False),
        ("file:///tmp/x.whl", False),
        ("https://files.pythonhosted.org/packages/x/requests-2.32.3-py3-none-any.whl", False),
        ("git+https://github.com/u/r.git", True),
        ("hg+https://hg.example/r", True),
        ("shim @ git+https://github.com/u/shim@v1", True),
        ("https://example.net/requests-2.32.0.tar.gz", True),
    ],
)
def test_python_remote(spec: str, remote: bool) -> None:
    assert (python_remote(spec) is not None) is remote
