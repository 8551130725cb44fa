"""Files that run by themselves: a write into one is judged by the commands it adds.

A CI workflow runs on the next push, a git hook at the next commit, a ``postinstall``
script at the next install, a devcontainer's ``initializeCommand`` when the folder
opens — none of them waits for another command the agent types.  So a write into
such a file is judged when it is made, by what it adds, with the whole classifier:
the commands are read out of the file's structure (``_autorun_read``) and classified
exactly like a Bash command.  Ordinary project scripts and Makefiles are not in the
table: they run only when someone runs them, and that command is judged then.

Where the commands run decides which of their effects count.  On this machine
(hooks, lifecycle scripts, editor startup) and on a self-hosted CI runner (a machine
that stays) every effect counts.  A hosted CI runner or an image build is thrown away
after the job: what stays on it — system packages, its own services and files, a test
job's service database — does not count, and what reaches further — clusters,
clouds, registries, remote branches, production databases, secrets — does.  A CI job
that names a deployment ``environment:`` reaches real systems, so its database work
counts too.  A container (a devcontainer, an image's entrypoint) is thrown away too,
but may hold the project through a bind mount, so destroying files there counts.
A CI job that runs only after a person acts — a push to a protected branch, a release,
a manual job — is ordinary project work to write (``_autorun_triggers``): the person
who merges or starts it is the human in the loop.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from opsgate.classify._paths_zones import Zone
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = [
    "KINDS",
    "MAX_TEXT",
    "Judge",
    "Kind",
    "Runs",
    "Step",
    "Written",
    "judge_write",
    "kind_of",
    "might_run",
    "step_findings",
]

# Larger texts are not read: a write that big into a file that runs is not judged blind.
MAX_TEXT = 256 * 1024
# At most this many findings per write (the first ones already decide).
_MAX_FINDINGS = 24


class Runs(enum.Enum):
    """Where a file's commands run, which decides which of their effects count."""

    HERE = "on this machine"
    SELF_HOSTED = "on a self-hosted CI runner"
    RUNNER = "on a CI runner"
    DEPLOY = "in a CI deployment job"
    BUILD = "in an image build"
    CONTAINER = "in a container"
    GATED = "only after a person merges, releases or starts it"
    MERGED = "after every merge to a protected branch"


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of file that runs by itself."""

    name: str
    pattern: str  # a regular expression on the '/'-separated path
    reader: str  # the name of its reader in ``_autorun_read.READERS``
    runs: Runs
    when: str  # when it runs, in plain words


# Where VS Code and its forks keep the user's settings (Linux, macOS, Windows), and the
# settings of a remote server (``~/.vscode-server/data/Machine``).
def _editor_user(name: str) -> str:
    return (r"(^|/)(Code|Code - Insiders|Code - OSS|VSCodium|Cursor|Windsurf|Positron)/User/"
            rf"(profiles/[^/]+/)?{name}$|(^|/)\.(vscode|vscode-insiders|vscodium|cursor|windsurf)"
            rf"-server/data/(Machine|User)/{name}$")  # fmt: skip


KINDS: tuple[Kind, ...] = (
    # CI workflows and pipelines: they run on the next push, pull request or schedule.
    Kind("GitHub Actions workflow", r"(^|/)\.(github|gitea|forgejo)/workflows/[^/]+\.ya?ml$",
         "github", Runs.RUNNER, "on the next push, pull request or schedule"),
    Kind("GitHub Actions action", r"(^|/)action\.ya?ml$", "github", Runs.RUNNER,
         "in every workflow that uses it"),
    Kind("GitLab CI pipeline", r"(^|/)([^/]*\.)?gitlab-ci\.ya?ml$|(^|/)\.gitlab/ci/.+\.ya?ml$",
         "gitlab", Runs.RUNNER, "on the next push"),
    Kind("CircleCI config", r"(^|/)\.circleci/[^/]+\.ya?ml$", "circleci", Runs.RUNNER,
         "on the next push"),
    Kind("Azure Pipelines", r"(^|/)azure-pipelines[^/]*\.ya?ml$|(^|/)\.(azure-pipelines|"
         r"azuredevops)/.+\.ya?ml$", "azure", Runs.RUNNER, "on the next push"),
    Kind("Bitbucket Pipelines", r"(^|/)bitbucket-pipelines\.ya?ml$", "bitbucket", Runs.RUNNER,
         "on the next push"),
    Kind("Buildkite hook", r"(^|/)\.buildkite/hooks/[^/]+$", "shell", Runs.RUNNER,
         "in every Buildkite job"),
    Kind("Buildkite pipeline", r"(^|/)\.buildkite/.+\.ya?ml$", "buildkite", Runs.RUNNER,
         "on the next push"),
    Kind("Drone/Woodpecker pipeline", r"(^|/)\.(drone|woodpecker)\.ya?ml$|(^|/)\.woodpecker/[^/]+"
         r"\.ya?ml$", "drone", Runs.RUNNER, "on the next push"),
    Kind("Travis CI config", r"(^|/)\.travis\.ya?ml$", "travis", Runs.RUNNER, "on the next push"),
    Kind("AppVeyor config", r"(^|/)\.?appveyor\.ya?ml$", "appveyor", Runs.RUNNER,
         "on the next push"),
    Kind("Cirrus CI config", r"(^|/)\.cirrus\.ya?ml$", "cirrus", Runs.RUNNER, "on the next push"),
    Kind("Semaphore pipeline", r"(^|/)\.semaphore/[^/]+\.ya?ml$", "semaphore", Runs.RUNNER,
         "on the next push"),
    Kind("Jenkins pipeline", r"(^|/)Jenkinsfile([.-][^/]*)?$|\.jenkinsfile$", "jenkins",
         Runs.RUNNER, "on the next push"),
    # Git hooks kept in the project (.git/hooks itself is a protected place).
    Kind("husky git hook", r"(^|/)\.husky/([^/.][^/]*|_/[^/]+)$", "shell", Runs.HERE,
         "at the next git commit, push or merge"),
    Kind("git hook", r"(^|/)\.githooks/[^/]+$", "shell", Runs.HERE,
         "at the next git commit, push or merge"),
    Kind("lefthook config", r"(^|/)\.?lefthook(-local)?\.(ya?ml|json)$", "lefthook", Runs.HERE,
         "at the next git commit or push"),
    Kind("pre-commit config", r"(^|/)\.pre-commit-config\.ya?ml$", "precommit", Runs.HERE,
         "at the next git commit"),
    # Package lifecycle scripts: the package manager runs them by itself.
    Kind("package.json", r"(^|/)package\.json$", "npm", Runs.HERE,
         "at the next install, pack or git commit"),
    Kind("composer.json", r"(^|/)composer\.json$", "composer", Runs.HERE,
         "at the next composer install or update"),
    Kind("setup.py", r"(^|/)setup\.py$", "python", Runs.HERE, "at the next pip install"),
    Kind("npm config", r"(^|/)\.npmrc$", "npmrc", Runs.HERE, "in every npm script it runs"),
    # Editors, shells entering the directory, containers.
    Kind("VS Code settings", r"(^|/)\.vscode/settings\.json$|\.code-workspace$", "vscode",
         Runs.HERE, "when the editor opens the folder and in every terminal it opens"),
    Kind("JetBrains startup tasks", r"(^|/)\.idea/(workspace|startup)\.xml$", "idea", Runs.HERE,
         "when the IDE opens the project"),
    Kind("devcontainer", r"(^|/)\.devcontainer(/[^/]+)?/devcontainer\.json$|(^|/)"
         r"\.devcontainer\.json$", "devcontainer", Runs.CONTAINER,
         "when the folder is opened in its container"),
    Kind("mise config", r"(^|/)\.?mise(\.local)?\.toml$|(^|/)\.mise/config\.toml$", "mise",
         Runs.HERE, "when a shell enters the directory"),
    Kind("Dockerfile", r"(^|/)(Dockerfile|Containerfile)([.-][^/]*)?$|\.(dockerfile|"
         r"containerfile)$", "dockerfile", Runs.BUILD,
         "at the next image build and wherever the image starts"),
    # More pipelines, and code that a pipeline or a tool runs without naming it again.
    Kind("Google Cloud Build config", r"(^|/)cloudbuild[^/]*\.(ya?ml|json)$", "cloudbuild",
         Runs.RUNNER, "when its build trigger fires (usually the next push)"),
    Kind("GitHub Actions action code", r"(^|/)\.github/actions/.+\.(m?js|cjs)$", "node",
         Runs.RUNNER, "in every workflow that uses the action"),
    Kind("GitHub Actions action script", r"(^|/)\.github/actions/.+\.(sh|bash)$", "shell",
         Runs.RUNNER, "in every workflow that uses the action"),
    Kind("GitHub Actions action code", r"(^|/)\.github/actions/.+\.py$", "python",
         Runs.RUNNER, "in every workflow that uses the action"),
    Kind("container entrypoint", r"(^|/)(docker-)?entrypoint([.-][^/]*)?\.sh$|(^|/)"
         r"docker-entrypoint\.d/[^/]+\.sh$", "entrypoint", Runs.CONTAINER,
         "every time the container starts"),
    Kind("Python start-up file", r"(^|/)(site|dist)-packages/[^/]+\.pth$", "pth", Runs.HERE,
         "at the start of every Python of that environment"),
    Kind("Python start-up module", r"(^|/)(site|dist)-packages/(site|user)customize\.py$",
         "python", Runs.HERE, "at the start of every Python of that environment"),
    Kind("lint-staged config", r"(^|/)\.lintstagedrc(\.(json|ya?ml))?$", "lintstaged",
         Runs.HERE, "at the next git commit (from the pre-commit hook)"),
    Kind("lint-staged config", r"(^|/)(\.lintstagedrc|lint-staged\.config)\.(m?js|cjs)$",
         "node", Runs.HERE, "at the next git commit (from the pre-commit hook)"),
    Kind("yarn config", r"(^|/)\.yarnrc(\.ya?ml)?$", "yarnrc", Runs.HERE,
         "with every yarn command"),
    Kind("VS Code tasks", r"(^|/)\.vscode/tasks\.json$", "vstasks", Runs.HERE,
         "when the folder is opened (tasks that run on folderOpen)"),
    Kind("direnv .envrc", r"(^|/)\.envrc$", "envrc", Runs.HERE,
         "when a shell enters the directory (once allowed)"),
    # The user's own editor settings, outside any project: they apply to every folder.
    Kind("VS Code user settings", _editor_user(r"settings\.json"), "vscode", Runs.HERE,
         "in every window and terminal of the editor, whatever folder it opens"),
    Kind("VS Code user tasks", _editor_user(r"tasks\.json"), "vstasks", Runs.HERE,
         "when any folder is opened (tasks that run on folderOpen)"),
)  # fmt: skip

# One alternation for the whole table: a path is matched once, whatever its length.
# Every pattern starts with ``(^|/)`` or ``\.``, so a match starts only at the path's
# start, a "/" or a "."; the leading guard turns every other position away at once,
# instead of trying the table's forty branches there (the same matches, 3-4x faster).
_KIND_RE = re.compile(
    "(?:^|(?=[/.]))(?:"
    + "|".join(f"(?P<k{i}>{kind.pattern})" for i, kind in enumerate(KINDS))
    + ")",
    re.IGNORECASE,
)
# A word every pattern above needs: most paths (every write and redirect is asked)
# are turned away by this one cheap search instead of the table's thirty anchored ones.
_HINTS = (
    "workflows/", "action.y", "gitlab", ".circleci/", "azure", "bitbucket-pipelines",
    ".buildkite/", ".drone.", ".woodpecker", ".travis.", "appveyor.", ".cirrus.",
    ".semaphore/", "jenkinsfile", ".husky/", ".githooks/", "lefthook", ".pre-commit-config.",
    "package.json", "composer.json", "setup.py", ".npmrc", ".vscode/", ".code-workspace",
    ".idea/", "devcontainer", "mise", "dockerfile", "containerfile", "cloudbuild",
    ".github/actions/", "entrypoint", "-packages/", "lintstaged", "lint-staged", ".yarnrc",
    ".envrc", "/user/", "-server/data/",
)  # fmt: skip
_HINT = re.compile("|".join(re.escape(h) for h in _HINTS), re.IGNORECASE)
# The same hints, case-sensitive: for lower-cased ASCII text (much faster than _HINT).
_HINT_LOWER = re.compile("|".join(re.escape(h) for h in _HINTS))


def might_run(path: str) -> bool:
    """A cheap first look: False means no file under ``path`` runs by itself."""
    if path.isascii():
        # The hints are lower-case ASCII; in ASCII text, case-insensitive matching is
        # just lower(), and a case-sensitive search is several times cheaper.
        return _HINT_LOWER.search(path.lower()) is not None
    return _HINT.search(path) is not None  # Unicode case folding (K, ſ) stays the regex's


def kind_of(path: str) -> Kind | None:
    """The kind of file ``path`` is, if it runs by itself."""
    path = path.replace("\\", "/")
    if not might_run(path):
        return None
    match = _KIND_RE.search(path)
    if match is None or match.lastgroup is None:
        return None
    return KINDS[int(match.lastgroup[1:])]


@dataclass(frozen=True, slots=True)
class Step:
    """One thing a file runs: a script in a language, with where it runs.  A ``fact``
    step is a write by itself (a deploy action, a terminal's start-up program)."""

    where: str  # e.g. "jobs.deploy.steps[2].run" or "line 4: RUN"
    script: str = ""
    lang: str = "sh"  # sh, python, node, pwsh, cmd
    runs: Runs = Runs.HERE
    env: Environment | None = None  # the deployment environment the job names
    services: frozenset[str] = frozenset()  # the job's throwaway service containers
    fact: tuple[str, str] | None = None  # (category, reason)
    # Another file of the repository whose steps run here (a reusable workflow, a GitLab
    # ``include: local``): (its reader, its path from the repository's top).
    include: tuple[str, str] | None = None
    # A program the editor starts and talks to (a terminal's shell, a language server):
    # that it starts interactive, waiting for input, is its job, not a finding.
    started: bool = False

    @property
    def key(self) -> tuple[object, ...]:
        """What the step is, not where: a step that only moved adds nothing."""
        return (self.script, self.lang, self.runs, self.env, self.services, self.fact,
                self.include, self.started)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Written:
    """What a write puts into a file, as far as it is known."""

    path: str  # absolute, '/'-separated
    shown: str  # how evidence names the file (relative to the project)
    new: str | None = None  # the whole text after the write
    old: str | None = None  # the whole text before it (None: new or unreadable)
    pieces: tuple[tuple[str, str], ...] = ()  # (removed, added) when only pieces are known
    opaque: str | None = None  # why the written text cannot be known
    sent: str = ""  # what the agent itself sent: evidence may quote from it


class Judge(Protocol):
    """Classifies a step's commands; reads files through the classifier's reader."""

    def read(self, path: str) -> str | None: ...

    def run(self, step: Step) -> list[Finding]: ...


def judge_write(kind: Kind, written: Written, judge: Judge) -> list[Finding]:
    """The findings a write into a file of ``kind`` adds."""
    found = _findings(kind, written, judge)
    return _placed(kind, written, found) if found else []


def _findings(kind: Kind, written: Written, judge: Judge) -> list[Finding]:
    from opsgate.classify._autorun_read import READERS

    if written.opaque is not None:
        return [_unknown(kind, written, written.opaque)]
    whole, piece = READERS[kind.reader]
    pieces = written.pieces
    if written.new is not None:
        if len(written.new) > MAX_TEXT:
            return [_unknown(kind, written, f"the text is over {MAX_TEXT // 1024} KiB")]
        new_steps = whole(written.new, kind.runs)
        if new_steps is not None:
            old = written.old if written.old and len(written.old) <= MAX_TEXT else None
            old_steps = (whole(old, kind.runs) if old else None) or []
            if any(s.include for s in (*new_steps, *old_steps)):
                top = repository_top(kind, written.path)
                new_steps = included(new_steps, top, judge)
                old_steps = included(old_steps, top, judge)
            return _added(kind, written, new_steps, old_steps, judge)[:_MAX_FINDINGS]
        # Not a document of its kind (a half-written file): judge its text as added.
        pieces = pieces or (("", written.new),)
    found: list[Finding] = []
    for removed, added in pieces:
        if len(added) > MAX_TEXT:
            return [_unknown(kind, written, f"the text is over {MAX_TEXT // 1024} KiB")]
        before = piece(removed, kind.runs) if removed.strip() else []
        found += _added(kind, written, piece(added, kind.runs), before, judge)
    return found[:_MAX_FINDINGS]


def repository_top(kind: Kind, path: str) -> str:
    """The directory a file of ``kind`` at ``path`` sits in as the repository sees it
    (``/p`` for ``/p/.github/workflows/ci.yml``): where its includes are named from."""
    match = re.compile(kind.pattern, re.IGNORECASE).search(path)
    if match is None:
        return path.rsplit("/", 1)[0]
    return path[: match.start()].rstrip("/") or "/"


_MAX_INCLUDES = 16


def included(steps: Sequence[Step], top: str, judge: Judge, depth: int = 0) -> list[Step]:
    """Steps with each include replaced by the steps of the file it names, run where
    the including step runs; a file that cannot be read is unknown."""
    if not any(s.include for s in steps):
        return list(steps)
    from opsgate.classify._autorun_read import INCLUDED

    out: list[Step] = []
    count = 0
    for step in steps:
        if step.include is None:
            out.append(step)
            continue
        count += 1
        reader, name = step.include
        path = f"{top}/{name.removeprefix('./').lstrip('/')}"
        text = judge.read(path) if count <= _MAX_INCLUDES and ".." not in name else None
        found = INCLUDED[reader](text, step.runs) if text and len(text) <= MAX_TEXT else None
        if found is None or depth >= 3:
            why = f"runs {name}, which opsgate cannot read"
            out.append(replace(step, include=None, fact=("unknown", why), lang="fact"))
            continue
        where = f"{step.where} ({name})"
        found = [replace(s, where=f"{where}: {s.where}", env=s.env or step.env) for s in found]
        out += included(found, top, judge, depth + 1)
    return out


_CI_SOURCE = (
    "a CI runner, whose environment opsgate does not know (an unknown remote is production)"
)


def _placed(kind: Kind, written: Written, found: list[Finding]) -> list[Finding]:
    """What planted commands reach is never the agent's own workspace.  CI runs them on
    a remote runner whose environment is unknown, so, as for any unknown remote, it is
    production.  A hook, a lifecycle script or editor start-up runs them here, on every
    commit, install or start: persistence, marked as the protected write it is."""
    if kind.runs is Runs.RUNNER:
        return [
            replace(f, environment=Environment.PRODUCTION, env_source=_CI_SOURCE)
            if f.environment is None or f.environment is Environment.LOCAL
            else f
            for f in found
        ]
    reason = f"plants commands in {written.shown}, a {kind.name} that runs by itself {kind.when}"
    marker = Finding("filesystem.protected_write", Impact.CAUTION, Effect.WRITE, written.shown,
                     reason, written.path, Environment.LOCAL, "agent workspace")  # fmt: skip
    return [*found, marker]


def _added(
    kind: Kind, written: Written, new: Sequence[Step], old: Sequence[Step], judge: Judge
) -> list[Finding]:
    """Findings of the new steps that the old steps did not already have."""
    unmatched = Counter(s.key for s in old)
    fresh = []
    for step in new:
        if unmatched[step.key] > 0:
            unmatched[step.key] -= 1  # unchanged: it ran before this write too
        else:
            fresh.append(step)
    counted = [(s, f) for s in fresh for f in _counted(s, judge)]
    if not counted:
        return []
    known: Counter[tuple[object, ...]] = Counter()
    for step in old:
        if unmatched[step.key] > 0:
            unmatched[step.key] -= 1
            known.update(_key(step, f) for f in _counted(step, judge))
    out = []
    for step, f in counted:
        if known[_key(step, f)] > 0:
            known[_key(step, f)] -= 1  # an edit elsewhere in a step that already did this
            continue
        out.append(_planted(kind, written, step, f))
    return out


def _key(step: Step, f: Finding) -> tuple[object, ...]:
    """A finding and the script lines it came from: evidence is often only the first
    words (``kubectl apply``), and a changed target on the same line is a new command."""
    return (f.category, f.evidence, f.target, f.effect, _source_lines(step.script, f.evidence))


def _source_lines(script: str, evidence: str) -> str:
    lines = script.splitlines()
    head = evidence.split("\n", 1)[0].strip()
    for i, line in enumerate(lines):
        if head and head in line:
            end = i
            while end + 1 < len(lines) and lines[end].rstrip().endswith("\\"):
                end += 1  # the command goes on after a backslash-newline
            return "\n".join(x.strip() for x in lines[i : end + 1])
    return ""


def step_findings(step: Step, judge: Judge) -> list[Finding]:
    """What ``step`` does that matters where it runs (a local runner of a pipeline or
    a container judges the steps it runs with the same rule as a write of them)."""
    return _counted(step, judge)


def _counted(step: Step, judge: Judge) -> list[Finding]:
    if step.runs is Runs.GATED:
        return []  # it waits for a person
    if step.runs is Runs.MERGED:
        # The person who merges reviews the change, not a release: a publish to a
        # package registry there happens on the next merge of anything, for good.
        return [f for f in judge.run(step) if _publishes(f)]
    if step.fact is not None:
        category, reason = step.fact
        effect = Effect.UNKNOWN if category == "unknown" else Effect.WRITE
        return [Finding(category, Impact.CAUTION, effect, step.where, reason)]
    found = [f for f in judge.run(step) if _counts(f, step)]
    if step.started:
        found = [f for f in found if not _interactive(f)]
    if step.lang in ("python", "node"):
        from opsgate.classify._autorun_sdk import api_commands

        for line in api_commands(step.script, step.lang):
            twin = replace(step, where=f"{step.where} (API call)", script=line, lang="sh")
            found += [f for f in judge.run(twin) if _counts(f, twin)]
    return found


def _interactive(f: Finding) -> bool:
    """``zsh``, ``python3``: a shell or interpreter started with nothing to run."""
    return f.category == "unknown" and f.reason.endswith(
        ("starts an interactive shell", "starts an interactive interpreter")
    )


# Effects that stay on a throwaway CI runner or container (unless they went over ssh).
_RUNNER_LOCAL = ("package.system", "package.global", "package.config", "service.", "process.",
                 "host.", "containers.", "kubernetes.local", "filesystem.protected_write",
                 "filesystem.write_protected", "filesystem.permissions", "filesystem.write",
                 "system.", "firewall.", "kernel.", "network.config", "network.listen",
                 "logs.")  # fmt: skip
_DATA = ("database.", "redis.", "mongo.", "datastore.")
# Hosts that are the runner itself ("database" is a client's default with no host given).
_LOOPBACK = frozenset({"", "database", "localhost", "127.0.0.1", "::1", "0.0.0.0"})  # noqa: S104
_HOST = re.compile(r"^(?:[a-z][\w+.-]*://)?(?:[^@/]*@)?(\[[^\]]*\]|[^:/?#\s]*)")


def _publishes(f: Finding) -> bool:
    """A publish to a registry that is not this machine's (``cargo publish``)."""
    return f.category == "package.publish" and f.effect >= Effect.WRITE


def _counts(f: Finding, step: Step) -> bool:
    """Whether ``f`` matters where the step runs (see the module docstring)."""
    if f.effect < Effect.WRITE or step.runs is Runs.GATED:
        return False
    if step.runs in (Runs.HERE, Runs.SELF_HOSTED):
        return True  # a machine that stays: everything counts, as for a Bash command
    if _destroys_data(f) and step.runs is not Runs.BUILD:
        # Only worth doing where data lives: a runner that stays, ``act``.  An image
        # build's RUN deletes inside the build container (``rm -rf /root/.cache``);
        # even a bind mount there is read-only or thrown away.
        return True
    if (
        step.runs is Runs.CONTAINER
        and f.impact is Impact.DESTRUCTIVE
        and (
            f.category.startswith(("filesystem.", "disk."))
            and f.category != "filesystem.permissions"
        )
    ):
        return True  # a container may hold the project through a bind mount
    if ", via " in f.reason:
        return True  # it went over ssh (or the like) to another machine
    if f.category.startswith(_DATA):
        # A test job's own database (loopback, a service container, a client's default)
        # is the runner's; any other, a deployment job's, and destroying data count.
        if f.impact is Impact.DESTRUCTIVE or step.runs is Runs.DEPLOY:
            return True
        match = _HOST.match((f.target or "").lower())
        host = match.group(1).strip("[]") if match else ""
        return not (host in _LOOPBACK or host in step.services)
    if f.environment is not None and f.environment > Environment.LOCAL:
        return True  # it names an environment (a context, a profile, a host)
    if f.environment is Environment.LOCAL or f.category.startswith(_RUNNER_LOCAL):
        return False
    # An installer fetched into a build container runs there without credentials.
    return not (step.runs is Runs.BUILD and f.category == "network.fetch_exec")


# Where deleting is about data, not disk space: the root, homes and what is in them
# (keys, dotfiles), the project's parents, and the places servers keep their data.
# Freeing a throwaway runner's disk (toolchains under /usr and /opt, caches, build
# output) does not count; deleting these is an attack on whatever machine runs it.
_DATA_ZONES = tuple(f"({z.value})" for z in (Zone.ROOT, Zone.HOME, Zone.HOME_FILE,
                                              Zone.PROJECT_ANCESTOR))  # fmt: skip
_DATA_ROOTS = re.compile(r"^/(?:srv|data|mnt|media|var/www|var/opt|var/backups)(?:/|$)|"
                         r"^/var/lib/(?!(?:apt|dpkg|dnf|yum|rpm|apk|pacman|snapd|cache)(?:/|$))"
                         r"[^/]")  # fmt: skip


def _destroys_data(f: Finding) -> bool:
    if f.impact is not Impact.DESTRUCTIVE or not f.category.startswith(("filesystem.", "disk.")):
        return False
    if f.category == "filesystem.permissions":
        return False
    if any(zone in f.reason for zone in _DATA_ZONES):
        return True
    return bool(f.target) and _DATA_ROOTS.match(f.target or "") is not None


def _planted(kind: Kind, written: Written, step: Step, f: Finding) -> Finding:
    words = (
        f.evidence if f.evidence and len(f.evidence) <= 120 and f.evidence in written.sent else ""
    )
    evidence = f"{written.shown}: {step.where}" + (f": {words}" if words else f" ({f.category})")
    env, source = f.environment, f.env_source
    if step.env is not None and (env is None or env is Environment.LOCAL):
        env, source = step.env, f"the deployment environment its CI job names ({step.env.label})"
    effect = f.effect if f.effect in (Effect.UNKNOWN, Effect.SECRET) else Effect.WRITE
    reason = (
        f"{written.shown} is a {kind.name} that runs by itself {kind.when} "
        f"({step.runs.value}); what this write adds there ({step.where}): {f.reason}"
    )
    return Finding(f.category, f.impact, effect, evidence, reason, f.target, env, source)


def _unknown(kind: Kind, written: Written, why: str) -> Finding:
    reason = (
        f"{written.shown} is a {kind.name} that runs by itself {kind.when}, and what this "
        f"write puts there cannot be read: {why}"
    )
    return Finding("unknown", Impact.CAUTION, Effect.UNKNOWN, written.shown, reason, written.path)
