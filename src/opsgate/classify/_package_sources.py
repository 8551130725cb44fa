"""Where the packages a package manager installs or runs come from (issue 14.1).

A named package from the public registry (``pip install requests==2.32.3``, ``npm
install lodash``, ``npx prettier``, ``uvx ruff``) is the tool's ordinary business.
Other sources are code fetched from the network that runs at once (SPEC §2/§4): a git
repository (``git+https://…``, npm's ``github:user/repo`` and ``user/repo``
shorthand), a tarball or sdist URL, or a ``--index-url``/``--registry`` that is
neither the public one, one on this machine (a dev mirror) nor one configured in the
user's or project's settings.  Installing builds it (``setup.py``, npm's ``prepare``)
and ``npx``/``uvx``/``pipx run`` run it: ``network.fetch_exec``, never auto-allowed.
The same sources are read where the command takes them from: a requirements file
(and the files it includes), package.json dependencies.

A LOCAL package is on disk and is read instead: ``npm install ./packages/util`` and
``file:``/``link:``/``portal:`` dependencies run that package's ``preinstall``,
``install``, ``postinstall`` and ``prepare`` scripts, judged as the shell commands
they are (``_run_node``); local Python projects in a requirements file build like
``pip install ./lib`` (``_run_pip_local``).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify._run_files import Loaded, load, parse_once, toml_or_none
from opsgate.classify.families._network_addresses import is_loopback_host, url_host
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["PACKAGE_SOURCE_TOOLS", "package_sources"]

PACKAGE_SOURCE_TOOLS = frozenset(
    {"npm", "pnpm", "yarn", "bun", "npx", "bunx", "pnpx", "pip", "pip3", "uv", "uvx", "pipx"}
)

_PUBLIC_HOSTS = frozenset({
    "pypi.org", "pypi.python.org", "files.pythonhosted.org", "registry.npmjs.org",
    "registry.npmjs.com", "registry.yarnpkg.com",
})  # fmt: skip
_JS_VALUED = frozenset({"--registry", "--prefix", "--location", "-w", "--workspace", "--filter",
                        "-C", "--dir", "--cwd", "--tag", "--otp", "-p", "--package", "-c",
                        "--call"})  # fmt: skip
_JS_INSTALL = frozenset({"install", "i", "ci", "add", "a", "in", "ins", "inst", "insta", "instal",
                         "isnt", "isnta", "isntal", "isntall", "clean-install", "ic",
                         "install-clean", "isntall-clean", "install-test", "it", "cit",
                         "install-ci-test"})  # fmt: skip
# Verbs that fetch a package and run it (``pnpm exec``/``yarn exec`` run a local command).
_JS_EXEC = {"npm": ("exec", "x"), "pnpm": ("dlx",), "yarn": ("dlx",), "bun": ("x",)}
_JS_SECTIONS = ("dependencies", "devDependencies", "optionalDependencies")
_HOSTED = ("github:", "gitlab:", "bitbucket:", "gist:", "git+", "git://", "git@", "ssh://")
_SHORTHAND = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(#\S*)?$")
_ARCHIVE = re.compile(r"\.(tgz|tar|tar\.gz|zip|whl|tar\.bz2)$", re.I)
_LOCAL_PROTOCOLS = ("file:", "link:", "portal:")
_PY_VCS = ("git+", "hg+", "svn+", "bzr+")
_PY_VALUED = frozenset({"-r", "--requirement", "-c", "--constraint", "-t", "--target",
                        "--prefix", "--root", "-i", "--index-url", "--extra-index-url", "-d",
                        "--dest", "-f", "--find-links", "--python", "-p", "--from", "--with",
                        "--spec", "--index", "--default-index", "-e", "--editable",
                        "--with-editable", "--with-requirements", "--directory", "--project",
                        "--package", "--group", "--extra", "--env-file"})  # fmt: skip
_PY_INDEXES = ("-i", "--index-url", "--extra-index-url", "--index", "--default-index", "-f",
               "--find-links")  # fmt: skip
_PY_SPEC_OPTIONS = ("--from", "--with", "--spec", "-e", "--editable", "--with-editable")
_MAX_REQUIREMENT_DEPTH = 4


def package_sources(cmd: Command, w: Walker) -> list[Finding]:
    """Findings for the non-registry sources ``cmd`` installs or runs packages from, and
    the install scripts of the local packages it installs."""
    if w.remote is not None or cmd.name not in PACKAGE_SOURCE_TOOLS:
        return []
    if cmd.name in ("pip", "pip3", "uv", "uvx", "pipx"):
        return _python(cmd, w)
    return _js(cmd, w)


# --- npm, yarn, pnpm, bun, npx ---------------------------------------------------------


def npm_remote(spec: str) -> str | None:
    """What non-registry place an npm package spec fetches from, as npm-package-arg
    reads it (``github:u/r``, ``u/r``, ``git+https://``, a tarball URL), or None."""
    spec = spec.strip()
    if spec.startswith(_LOCAL_PROTOCOLS) or spec.startswith((".", "/", "~")) or not spec:
        return None
    if spec.startswith(_HOSTED):
        return spec
    if spec.startswith(("http://", "https://")):
        return None if _trusted_url(spec) else spec
    if spec.startswith("npm:"):
        return npm_remote(spec[4:].split("@", 2)[-1] if spec.count("@") > 1 else "")
    at = spec.find("@", 1)
    if at > 0:
        return npm_remote(spec[at + 1 :])
    if _SHORTHAND.match(spec) and not _ARCHIVE.search(spec):
        return f"github:{spec}"
    return None


def _npm_local(spec: str) -> str | None:
    """The directory a local npm spec names (``./x``, ``file:x``, ``util@link:../x``)."""
    at = spec.find("@", 1)
    if at > 0 and spec[at + 1 :].startswith(_LOCAL_PROTOCOLS):
        spec = spec[at + 1 :]
    for protocol in _LOCAL_PROTOCOLS:
        if spec.startswith(protocol):
            return spec[len(protocol) :].removeprefix("//") or "."
    if spec in (".", "..") or spec.startswith(("./", "../", "/", "~/")):
        return None if _ARCHIVE.search(spec) else spec
    return None


def _js(cmd: Command, w: Walker) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_JS_VALUED)]
    findings = _index(cmd, w, cmd.options("--registry"))
    if cmd.name in ("npx", "bunx", "pnpx"):
        specs = [*cmd.options("-p", "--package"), *pos[:1]]
        return findings + _fetched(cmd, specs, npm_remote, runs=True)
    verb = pos[0] if pos else ("install" if cmd.name in ("yarn", "bun", "pnpm") else "")
    if verb == "global" and pos[1:2] == ["add"]:  # yarn global add
        verb, pos = "add", pos[1:]
    if verb in _JS_EXEC.get(cmd.name, ()):
        specs = [*cmd.options("-p", "--package"), *pos[1:2]]
        return findings + _fetched(cmd, specs, npm_remote, runs=True)
    if verb not in _JS_INSTALL:
        return findings
    specs = pos[1:]
    findings += _fetched(cmd, specs, npm_remote, runs=False)
    base = cmd.cwd or w.scope.cwd
    if specs:
        for spec in specs:
            directory = _npm_local(spec)
            if directory is not None:
                findings += _local_package(cmd, w, directory, base)
        return findings
    return findings + _dependencies(cmd, w, base)


def _dependencies(cmd: Command, w: Walker, start: str | None) -> list[Finding]:
    """``npm install`` with no operand installs package.json's dependencies, and those
    of each workspace package, whose own install scripts run too."""
    from opsgate.classify._run_node import _package_json
    from opsgate.classify._run_node_workspaces import workspace_packages

    base = cmd.option("--prefix", "-C", "--dir", "--cwd")
    if base:
        start = w.workspace.expand(base, start)
    loaded = _package_json(w, start, base is None)
    if loaded is None or loaded.text is None:
        return []
    findings = _declared(cmd, w, loaded)
    for directory in (workspace_packages(w, loaded) or [])[1:]:
        findings += _local_package(cmd, w, directory, None)
        member = load(w, posixpath.join(directory, "package.json"), None)
        findings += _declared(cmd, w, member) if member.text is not None else []
    return findings


def _declared(cmd: Command, w: Walker, loaded: Loaded) -> list[Finding]:
    """The remote dependencies of one package.json, and its local ones' scripts."""
    deps = parse_once("package.json:deps", loaded.text or "", _dependencies_of)
    directory = posixpath.dirname(loaded.path)
    where = f"{cmd.name} ({loaded.shown} dependencies)"
    findings = _fetched(cmd, list(deps.values()), npm_remote, runs=False, where=where)
    for spec in deps.values():
        local = _npm_local(spec) if spec.startswith(_LOCAL_PROTOCOLS) else None
        if local is not None:
            findings += _local_package(cmd, w, local, directory)
    return findings


def _dependencies_of(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    found: dict[str, str] = {}
    for section in _JS_SECTIONS:
        listed = data.get(section) if isinstance(data, dict) else None
        if isinstance(listed, dict):
            found.update({k: v for k, v in listed.items() if isinstance(v, str)})
    return found


def _local_package(cmd: Command, w: Walker, path: str, base: str | None) -> list[Finding]:
    from opsgate.classify._run_node import _INSTALL_SCRIPTS, _run_scripts

    directory = w.workspace.expand(path, base)
    if directory is None or w.session.file_kind(directory) != "dir":
        return []
    return _run_scripts(w, cmd, directory, list(_INSTALL_SCRIPTS), None, walk_up=False)


# --- pip, uv, uvx, pipx ----------------------------------------------------------------


def python_remote(spec: str) -> str | None:
    """The URL a Python requirement fetches from (``git+https://…``, an sdist URL,
    ``name @ URL``), or None for a registry name or a local path."""
    spec = spec.strip()
    url = spec.split("@", 1)[1].strip() if re.match(r"^[\w.\-\[\], ]+@\s*\S+://", spec) else spec
    if url.startswith(_PY_VCS):
        inner = url.split("+", 1)[1]
        return None if inner.startswith("file:") else url
    if "://" not in url or url.startswith("file:"):
        return None
    return None if _trusted_url(url) else url


def _python(cmd: Command, w: Walker) -> list[Finding]:
    pos = [a.value for a in cmd.positionals(_PY_VALUED)]
    findings = _index(cmd, w, [v for o in _PY_INDEXES for v in cmd.options(o)])
    chosen = _python_specs(cmd.name, pos)
    if chosen is None:
        return findings
    specs, runs = chosen
    specs = [*specs, *(v for o in _PY_SPEC_OPTIONS for v in cmd.options(o))]
    findings += _fetched(cmd, specs, python_remote, runs=runs)
    for spec in specs:
        findings += _project_dependencies(cmd, w, spec)
    for path in cmd.options("-r", "--requirement", "--with-requirements"):
        findings += _requirements(cmd, w, path, cmd.cwd or w.scope.cwd, 0)
    return findings


def _python_specs(name: str, pos: list[str]) -> tuple[list[str], bool] | None:
    """The package operands of a pip/uv/uvx/pipx command line, and whether it runs
    the package at once (``uvx``, ``uv tool run``, ``uv run --with``, ``pipx run``)."""
    if name == "uvx":
        return pos[:1], True
    if name == "pipx":
        if pos[:1] == ["run"]:
            return pos[1:2], True
        return (pos[1:], False) if pos[:1] in (["install"], ["inject"]) else None
    if name == "uv":
        if pos[:1] == ["tool"]:
            return (pos[2:3], pos[1] == "run") if pos[1:2] in (["run"], ["install"]) else None
        if pos[:1] == ["run"]:
            return [], True
        if pos[:2] == ["pip", "install"]:
            return pos[2:], False
        return (pos[1:], False) if pos[:1] == ["add"] else None
    return (pos[1:], False) if pos[:1] in (["install"], ["wheel"]) else None


def _project_dependencies(cmd: Command, w: Walker, spec: str) -> list[Finding]:
    """``pip install .``: the local project's ``[project] dependencies`` are installed
    with it (``name @ git+https://…`` among them)."""
    from opsgate.classify._run_pip_local import _local

    if not _local(spec):
        return []
    directory = spec.split("[", 1)[0]
    loaded = load(w, posixpath.join(directory, "pyproject.toml"), cmd.cwd or w.scope.cwd)
    data = parse_once("toml", loaded.text, toml_or_none) if loaded.text is not None else None
    project = data.get("project") if isinstance(data, dict) else None
    deps = project.get("dependencies") if isinstance(project, dict) else None
    if not isinstance(deps, list):
        return []
    where = f"{cmd.name} ({loaded.shown} dependencies)"
    listed = [d for d in deps if isinstance(d, str)]
    return _fetched(cmd, listed, python_remote, runs=False, where=where)


def _requirements(
    cmd: Command, w: Walker, path: str, base: str | None, depth: int
) -> list[Finding]:
    """The sources a requirements file (and the files it includes) names."""
    if python_remote(path) is not None:
        why = f"{cmd.name} installs what a requirements file fetched from {path} lists"
        return [_finding(cmd, why)]
    loaded = load(w, path, base)
    if loaded.text is None or depth > _MAX_REQUIREMENT_DEPTH:
        return []
    here = posixpath.dirname(loaded.path)
    where = f"{cmd.name} ({loaded.shown})"
    specs: list[str] = []
    indexes: list[str] = []
    local: list[str] = []
    findings: list[Finding] = []
    for line in _logical_lines(loaded.text):
        words = line.replace("=", " ", 1).split() if line.startswith("-") else [line]
        option, value = (words[0], " ".join(words[1:])) if line.startswith("-") else ("", line)
        if option in ("-r", "--requirement"):
            findings += _requirements(cmd, w, value, here, depth + 1)
        elif option in _PY_INDEXES:
            indexes.append(value)
        elif option in ("-e", "--editable", ""):
            specs.append(value)
            if python_remote(value) is None and value.startswith((".", "/", "~")):
                local.append(value)
    findings += _fetched(cmd, specs, python_remote, runs=False, where=where)
    findings += _index(cmd, w, indexes, where=where)
    if local:
        from opsgate.classify._run_pip_local import local_project_builds

        findings += local_project_builds(cmd, w, local)
    return findings


def _logical_lines(text: str) -> list[str]:
    joined = re.sub(r"\\\r?\n", " ", text[: 256 * 1024])
    lines = (re.sub(r"(^|\s)#.*", "", line).strip() for line in joined.splitlines()[:4096])
    return [line for line in lines if line]


# --- sources and findings --------------------------------------------------------------


def _trusted_url(url: str) -> bool:
    host = (url_host(url) or "").lower()
    return bool(host) and (host in _PUBLIC_HOSTS or is_loopback_host(host))


def _fetched(
    cmd: Command,
    specs: list[str],
    remote: Callable[[str], str | None],
    *,
    runs: bool,
    where: str | None = None,
) -> list[Finding]:
    findings: list[Finding] = []
    for spec in specs:
        source = remote(spec)
        if source is None:
            continue
        what = "runs" if runs else "installs, building it with its own setup code,"
        why = f"{where or cmd.name} {what} a package fetched from {source}, not a registry"
        findings.append(_finding(cmd, why))
    return findings


def _index(cmd: Command, w: Walker, urls: list[str], where: str | None = None) -> list[Finding]:
    """Package indexes that are neither public, on this machine nor configured."""
    findings: list[Finding] = []
    for url in urls:
        if "://" not in url or url.startswith("file:") or _trusted_url(url):
            continue
        host = (url_host(url) or "").lower()
        if host in _configured_hosts(cmd, w):
            continue
        why = (f"{where or cmd.name} installs packages from {url}, an index that is not the "
               "public one nor configured on this machine; their setup code runs")  # fmt: skip
        findings.append(_finding(cmd, why))
    return findings


# pip's and uv's own settings (``.npmrc`` holds credentials: ``_run_npmrc`` keeps
# only its registries' hosts).
_CONFIG_FILES = ("~/.config/pip/pip.conf", "~/.pip/pip.conf", "/etc/pip.conf",
                 "~/.config/uv/uv.toml", ".venv/pip.conf", "uv.toml")  # fmt: skip
_CONFIG_URL = re.compile(r"(?im)^\s*[\w.@:/-]*(registry|index|url)[\w-]*\s*[=:]\s*[\"']?(\S+)")


def _configured_hosts(cmd: Command, w: Walker) -> frozenset[str]:
    """Hosts of the registries and indexes the user's and project's settings name, as
    they were before this command (a file it writes is no configuration)."""
    from opsgate.classify._run_npmrc import registry_hosts

    hosts = set(registry_hosts(w, cmd, w.workspace.project))
    for path in _CONFIG_FILES:
        loaded = load(w, path, cmd.cwd or w.scope.cwd)
        if loaded.text is None or _written(w, loaded):
            continue
        for match in _CONFIG_URL.finditer(loaded.text[: 64 * 1024]):
            host = url_host(match.group(2).strip("\"'"))
            if host:
                hosts.add(host.lower())
    return frozenset(hosts)


def _written(w: Walker, loaded: Loaded) -> bool:
    return loaded.path in w.scope.files


def _finding(cmd: Command, why: str) -> Finding:
    return Finding("network.fetch_exec", Impact.CAUTION, Effect.UNKNOWN, cmd.text[:200], why)
