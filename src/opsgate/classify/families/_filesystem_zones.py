"""Where an operand lands: zones, and the findings for deleting what is there."""

from __future__ import annotations

import re
from collections.abc import Iterable

from opsgate.classify._command import Arg, Command, Context
from opsgate.classify._words import Value
from opsgate.classify.paths import Workspace, Zone
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["_finding", "_workspace", "delete_findings", "locate"]

# Zones whose deletion loses data that cannot be recovered from the project.
_DESTRUCTIVE_ZONES = frozenset(
    {
        Zone.DEVICE,
        Zone.ROOT,
        Zone.SYSTEM,
        Zone.HOME,
        Zone.HOME_FILE,
        Zone.PROJECT_ROOT,
        Zone.PROJECT_ANCESTOR,
        Zone.PROJECT_GIT,
        Zone.OTHER,
    }
)
_GLOB = re.compile(r"[*?\[]")
_PURE_WILDCARD = re.compile(r"^(?:[.*?]|\[[^\]]*\])+$")


def _workspace(ctx: Context) -> Workspace:
    ws = getattr(ctx, "workspace", None)
    if isinstance(ws, Workspace):
        return ws
    return Workspace(ctx.project_dir, ctx.home)


def _finding(
    category: str, impact: Impact, effect: Effect, cmd: Command | str, reason: str, target: str
) -> Finding:
    evidence = cmd.text if isinstance(cmd, Command) else cmd
    # A path known only at run time is still on this machine (another machine's path
    # is promoted by ``ssh``'s walker): local, not an unknown remote target.
    return Finding(
        category, impact, effect, evidence, reason, target, Environment.LOCAL, "agent workspace"
    )


def locate(
    arg: Arg | Value, ctx: Context, cwd: str | None, *, follow: bool = False
) -> tuple[Zone, str]:
    """The zone of an operand, with its resolved path.  Globs resolve to the directory
    whose contents they match (``./*`` is the contents of the working directory).
    ``follow``: the operand itself may be a link whose target is changed (a write)."""
    text = arg.value if isinstance(arg, Arg) else arg.text
    ws = _workspace(ctx)
    if not arg.static:
        return _locate_dynamic(text, ws, cwd)
    full = ws.expand(text, cwd)
    if full is None:
        return Zone.UNKNOWN, text
    # A trailing slash makes the kernel follow a last component that is a link:
    # ``rm -rf build/`` with ``build -> ~`` empties the home directory.
    follow = follow or (text.endswith("/") and text.strip("/") != "")
    return _place(_through_links(full + "/." if follow else full, ctx).removesuffix("/."), ws)


def _through_links(full: str, ctx: Context) -> str:
    """``k/*`` after ``ln -s ~/.ssh k``: what is changed is inside the link's target,
    wherever the link itself lives (a project under /tmp is scratch; ~/.ssh is not).
    Only the directories on the way are followed: the last component, a link itself,
    is what ``rm k`` removes."""
    resolve = getattr(ctx, "real_path", None)
    if resolve is None or full == "/":
        return full
    parent, _, last = full.rpartition("/")
    real = resolve(parent) if parent else parent
    if not isinstance(real, str) or real == parent:
        return full
    project = ctx.project_dir
    if project and project != "/":
        # A checkout reached through a link (~/src -> /mnt/data/src) stays the project.
        shown = resolve(project)
        if isinstance(shown, str) and shown != project and real.startswith(shown + "/"):
            real = project + real[len(shown) :]
    return real.rstrip("/") + "/" + last


def _place(full: str, ws: Workspace) -> tuple[Zone, str]:
    if _GLOB.search(full):
        parts = full.split("/")
        last = parts[-1]
        base_parts = [p for p in parts[:-1] if not _GLOB.search(p)]
        if len(base_parts) < len(parts) - 1:  # a glob in a directory part: `**`, `*/x`
            base = "/".join(base_parts) or "/"
            if _PURE_WILDCARD.match(last):
                return ws.zone(base), base + "/*"
            return ws.zone(_join(base, last)), _join(base, last)
        base = "/".join(parts[:-1]) or "/"
        if _PURE_WILDCARD.match(last):
            return _contents_zone(ws, base, last), full
        if base == "/":
            return Zone.SYSTEM, full
    return ws.zone(full), full


def _contents_zone(ws: Workspace, directory: str, pattern: str) -> Zone:
    """The zone of everything a wildcard matches in ``directory``: the directory's own,
    except that the (non-hidden) files of a project that lives in scratch space are
    scratch — its root and its ``.git`` are not (``Workspace.zone``)."""
    zone = ws.zone(directory)
    if zone is Zone.PROJECT_ROOT and not pattern.startswith("."):
        inside = ws.zone(directory.rstrip("/") + "/x")
        return Zone.TEMP if inside is Zone.TEMP else zone
    return zone


def _locate_dynamic(text: str, ws: Workspace, cwd: str | None) -> tuple[Zone, str]:
    """``/tmp/build.$$``: only the last component is unknown, so the directory decides."""
    head = re.split(r"[$`]", text, maxsplit=1)[0]
    if "/" not in head:
        return Zone.UNKNOWN, text
    directory = head.rsplit("/", 1)[0] or "/"
    full = ws.expand(directory, cwd)
    if full is None or ("$" in text[len(head) :].split("/", 1)[-1] and "/" in text[len(head) :]):
        return Zone.UNKNOWN, text
    zone = ws.zone(full + "/x")
    if zone in (Zone.PROJECT_DISPOSABLE, Zone.TEMP, Zone.HARMLESS):
        return zone, text
    if zone in (Zone.PROJECT, Zone.PROJECT_ROOT):
        return Zone.PROJECT, text
    return zone if zone in _DESTRUCTIVE_ZONES else Zone.UNKNOWN, text


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name


def delete_findings(
    cmd: Command, targets: Iterable[Arg], ctx: Context, *, recursive: bool, verb: str = "deletes"
) -> list[Finding]:
    out: list[Finding] = []
    for arg in targets:
        zone, path = locate(arg, ctx, cmd.cwd)
        if zone is Zone.UNKNOWN:
            out.append(
                _finding(
                    "filesystem.delete",
                    Impact.CAUTION,
                    Effect.UNKNOWN,
                    cmd,
                    f"{verb} {arg.value}, a path only known at run time",
                    path,
                )
            )
        elif zone in _DESTRUCTIVE_ZONES or (
            zone is Zone.PROJECT
            and (recursive or _GLOB.search(path))
            and not _looks_like_file(path)
            and not _built_product(ctx, arg, path)
        ):
            what = zone.value if zone is not Zone.PROJECT else "source files in the project"
            out.append(
                _finding(
                    "filesystem.delete",
                    Impact.DESTRUCTIVE,
                    Effect.WRITE,
                    cmd,
                    f"{verb} {path} ({what})",
                    path,
                )
            )
        elif zone is not Zone.HARMLESS:
            out.append(
                _finding(
                    "filesystem.delete",
                    Impact.SAFE,
                    Effect.LOCAL,
                    cmd,
                    f"{verb} {path} ({zone.value})",
                    path,
                )
            )
    return out


# Only a word written as a plain relative name is asked of the disk: a path the
# reading may have resolved wrongly (quotes, ``~``, variables, ``..``) keeps the
# stricter judgement.
_PLAIN_NAME = re.compile(r"(?!.*\.\.)[\w@+-][\w.@+/-]*")


def _built_product(ctx: Context, arg: Arg, path: str) -> bool:
    """``rm -rf *.o app build/`` in a makefile's clean recipe: ``app`` is a target the
    makefile builds (``RunState.products``, set while its recipes are judged), and
    with no tree of files at that path (not there yet, or the built file) deleting it
    loses no sources.  A target that names an existing directory (a makefile with a
    rule named ``src``) stays a delete of that tree; so does anything an earlier step
    wrote, moved or linked there, or a path read through quotes, ``~`` or variables."""
    session = getattr(ctx, "session", None)
    scope = getattr(ctx, "scope", None)
    if session is None or scope is None or ctx.remote is not None:
        return False
    if path not in session.runs.products or not _PLAIN_NAME.fullmatch(arg.value):
        return False
    if session.runs.maker or session.runs.planted:
        return False
    prefix = path.rstrip("/") + "/"
    if any(k == path or k.startswith(prefix) or path.startswith(k.rstrip("/") + "/")
           for k in scope.files):  # fmt: skip
        return False
    return session.file_kind(path) in (None, "file")


_FILE_SUFFIX = re.compile(
    r"\.(json|lock|ya?ml|toml|txt|md|log|lockb|sum|mod|ini|cfg|conf|csv|tsv|js|mjs|cjs|ts|tsx|"
    r"jsx|py|rb|go|rs|java|kt|c|h|cc|cpp|hpp|cs|php|sh|sql|html|css|scss|svg|png|jpe?g|gif|"
    r"pdf|zip|tar|gz|tgz|whl|jar|db|sqlite3?|bak|tmp|orig|rej|patch|diff|pid|sock|out|prof|"
    r"xml|html?|map|snap|lcov|info|dat|bin|img|iso|dmp|trace|cov)$"
)


def _looks_like_file(path: str) -> bool:
    """``rm -rf package-lock.json``: -r does nothing to a file; judge it as one file."""
    base = path.rstrip("/").rsplit("/", 1)[-1]
    return not path.endswith("/") and bool(_FILE_SUFFIX.search(base)) and not _GLOB.search(base)
