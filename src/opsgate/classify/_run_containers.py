"""Image builds and compose stacks, judged by the files they run.

``docker build``, ``podman build`` and ``docker buildx build`` read a Dockerfile (``-f``,
else ``Dockerfile``, for podman ``Containerfile``, in the context directory).  Its
``RUN`` steps run in a throwaway build container: what stays there (packages, files,
``rm -rf /root/.cache``) does not count, what reaches further (a production database, a
cloud, a host over ssh with the forwarded agent, a secret printed into the build log
the agent reads) does (``_autorun._counts``, the rule for image builds).  A build
context (the directory argument, ``--build-context name=DIR``, a bake target's
``contexts``, a compose service's ``additional_contexts``) of ``/``, a home or a
credentials directory hands those files to the build: a secret read.

``docker buildx bake`` reads its bake files (``-f``, else ``docker-bake.json``/``.hcl``
and their overrides): the targets it builds (named, else ``default``, through groups
and ``inherits``) have their Dockerfiles judged, and an ``output`` of
``type=registry`` or ``push=true`` publishes without ``--push``.

``docker compose up|create|start|run|build`` (and ``docker-compose``, ``podman-compose``)
read the compose files (``-f``/``COMPOSE_FILE``, else ``compose.yaml`` … and the
override next to it): a service's ``build:`` is judged as a build, and what it runs
(image, entrypoint, command, environment, mounts, privileges) as ``docker run`` would
be (``families._containers_spec``).  The stack's own services are its hosts: a
database named ``db`` is the stack's.

A file that is there but cannot be read or parsed is ``unknown``; a remote or
``-`` (stdin) context is not read.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from opsgate.classify._command import Command
from opsgate.classify._run_files import Code, Loaded, bad_file, cannot, load, parse_once, relabel
from opsgate.classify.families._containers_tables import _names
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.families._containers_engine import Engine
    from opsgate.classify.shell import Walker

__all__ = ["bake_findings", "build_findings", "compose_findings"]

_BUILD_VALUED = frozenset(
    _names(
        "-t --tag -f --file --build-arg --secret --ssh --build-context --target --platform "
        "--progress -o --output --cache-from --cache-to --label --network --iidfile "
        "--metadata-file --add-host --shm-size --ulimit -m --memory --memory-swap --cpu-shares "
        "-c --cpuset-cpus --cpuset-mems --cpu-period --cpu-quota --cgroup-parent --isolation "
        "--allow --attest --builder --annotation --call --authfile --creds --format --volume -v "
        "--jobs --os --arch --variant --userns --cap-add --cap-drop --device --env --unsetenv "
        "--from --manifest --runtime --timestamp --ignorefile --cert-dir --sign-by "
        "--security-opt --layer-label --retry"
    )
)
_REMOTE = re.compile(r"^([a-z][\w+.-]*://|git@|github\.com/)")


# --- builds ---------------------------------------------------------------------------


def build_findings(w: Walker, opts: Command, tool: str) -> list[Finding]:
    """``docker build [OPTS] CONTEXT``: the Dockerfile's steps and the contexts."""
    cwd = opts.cwd or w.scope.cwd
    words = [a.value for a in opts.positionals(_BUILD_VALUED)]
    given = opts.option("-f", "--file")
    if words[-1:] == ["-"] or given == "-":  # the Dockerfile comes on stdin
        stdin = opts.stdin.text if opts.stdin is not None else None
        piped = Loaded("-", "the Dockerfile on stdin", "text" if stdin else "unreadable", stdin)
        return dockerfile_findings(w, piped, cwd)
    if not words or _REMOTE.match(words[-1]):
        return []
    context = posixpath.join(cwd or "", words[-1]) if cwd else words[-1]
    named = [c.split("=", 1) for c in opts.options("--build-context") if "=" in c]
    found = _contexts(w, [("context", words[-1]), *((n, p) for n, p in named)], cwd)
    if given is not None:
        loaded = load(w, given, cwd)
    else:
        names = (
            ("Containerfile", "Dockerfile") if tool in ("podman", "buildah") else ("Dockerfile",)
        )
        loaded = _first(w, context, names)
    args = dict(a.split("=", 1) for a in opts.options("--build-arg") if "=" in a)
    return found + dockerfile_findings(w, loaded, context, args)


def _first(w: Walker, directory: str, names: tuple[str, ...]) -> Loaded:
    for name in names:
        loaded = load(w, posixpath.join(directory, name), None)
        if loaded.state != "missing":
            return loaded
    return loaded


def dockerfile_findings(
    w: Walker, loaded: Loaded, context: str | None, args: dict[str, str] | None = None
) -> list[Finding]:
    """The RUN steps of a Dockerfile being built, by what reaches beyond the build, with
    the ``ENV`` and ``ARG`` values of their stage (``args``: the ``--build-arg``s)."""
    from opsgate.classify._autorun import MAX_TEXT, Runs, Step, _counts
    from opsgate.classify._autorun_text import _RUN_FLAG, _exec_form, _instructions

    where = f"the image build of {loaded.shown}"
    if loaded.state == "missing":
        return []  # the build fails
    if loaded.text is None:
        return [cannot(loaded, where)]
    if len(loaded.text) > MAX_TEXT:
        return [bad_file(loaded, "is too large to judge")]
    found: list[Finding] = []
    env: dict[str, str] = {}
    for line, instruction, rest in _instructions(loaded.text):
        if instruction == "FROM":
            env = {}  # a new stage starts from its base image's environment
        elif instruction == "ENV":
            env.update(_assignments(rest))
        elif instruction == "ARG":
            declared = _assignments(rest) or dict.fromkeys(rest.split(), "")
            env.update(
                {k: (args or {}).get(k, v) for k, v in declared.items() if k in (args or {}) or v}
            )
        if instruction != "RUN":
            continue
        while _RUN_FLAG.match(rest):
            rest = _RUN_FLAG.sub("", rest, count=1)
        script = _exec_form(rest) or rest
        step = Step(f"line {line}: RUN", script, "sh", Runs.BUILD)
        raw = w.classify_shell(script, via=where, cwd=context, env=env)
        code = Code(loaded.path, loaded.shown, loaded.text, "shell", f"RUN:{line}")
        found += relabel([f for f in raw if _counts(f, step)], code, where)
    return found


def _assignments(rest: str) -> dict[str, str]:
    """``ENV A=1 B="x y"``, ``ENV A 1`` (the old form), ``ARG A=1``; an ``ARG`` without
    a default is set only by ``--build-arg``, unknown here."""
    try:
        words = shlex.split(rest)
    except ValueError:
        return {}
    if len(words) >= 2 and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(w.split("=", 1) for w in words if "=" in w)


def _contexts(w: Walker, named: list[tuple[str, str]], cwd: str | None) -> list[Finding]:
    """Build contexts that hand the builder the host's root, a home or credentials."""
    from opsgate.classify._paths_zones import Zone
    from opsgate.classify.families._containers_tables import _CREDENTIAL_DIRS

    found = []
    for name, path in named:
        if _REMOTE.match(path):
            continue  # docker-image://, oci-layout://, a URL
        full = w.workspace.expand(re.sub(r"^\$\{?HOME\}?(?=/|$)", "~", path), cwd)
        if full is None or not full.startswith("/"):
            continue
        ws = w.workspace
        homes = {h.rstrip("/") for h in (ws.home, *ws.other_homes)}
        zone = Zone.HOME if full.rstrip("/") in homes else ws.zone(full)
        if zone in (Zone.ROOT, Zone.HOME) or _CREDENTIAL_DIRS.search(full):
            what = zone.value if zone in (Zone.ROOT, Zone.HOME) else "a credentials directory"
            reason = (
                f"the build context {name}={path} hands {what} to the build: its keys "
                "and credentials can be copied into the image or printed in the build log"
            )
            found.append(Finding("secrets.read", Impact.CAUTION, Effect.SECRET,
                                 f"build context {name}={path}"[:200], reason, full))  # fmt: skip
    return found


# --- bake -----------------------------------------------------------------------------

# buildx reads every one of these that is there, compose files as bake definitions too.
_BAKE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml",
               "docker-bake.json", "docker-bake.hcl", "docker-bake.override.json",
               "docker-bake.override.hcl")  # fmt: skip
_BAKE_VALUED = frozenset(
    _names(
        "-f --file --set --progress --builder --metadata-file --call --allow --provenance --sbom "
        "--var"
    )
)
_MAX_TARGETS = 32
_Bake = tuple[dict[str, dict[str, Any]], dict[str, list[str]]]  # targets, groups


def bake_findings(w: Walker, opts: Command) -> tuple[bool, list[Finding]]:
    """(whether the targets' outputs publish, the findings of their builds)."""
    if opts.has("--print", "--list", "--list-targets", "--list-variables") or opts.option(
        "--call"
    ) not in (None, "build"):
        return False, []
    cwd = opts.cwd or w.scope.cwd or ""
    given = opts.options("-f", "--file")
    files = [load(w, f, cwd) for f in given] if given else [
        loaded for n in _BAKE_FILES if (loaded := load(w, posixpath.join(cwd, n), None)).state
        != "missing"
    ]  # fmt: skip
    targets: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[str]] = {}
    found: list[Finding] = []
    for loaded in files:
        if loaded.text is None:
            if loaded.state != "missing":
                found.append(cannot(loaded, "docker buildx bake"))
            continue
        parsed = _bake_file(loaded.path, loaded.text)
        if parsed is None:
            found.append(bad_file(loaded, "is not a bake file opsgate can read"))
            continue
        base = posixpath.dirname(loaded.path)
        for name, attrs in parsed[0].items():
            targets.setdefault(name, {"_dir": base}).update(attrs)
        groups.update(parsed[1])
    names = [a.value for a in opts.positionals(_BAKE_VALUED)] or ["default"]
    chosen = _bake_targets(names, targets, groups)
    overrides = [s.split("=", 1)[1] for s in opts.options("--set") if ".output=" in s]
    publishes = False
    for attrs in chosen:
        outputs = overrides or (["type=docker"] if opts.has("--load") else attrs.get("output"))
        if any(re.search(r"type=registry|push=true", str(o)) for o in outputs or []):
            publishes = True
        found += _bake_build(w, attrs)
    return publishes, found


def _bake_targets(
    names: list[str], targets: dict[str, dict[str, Any]], groups: dict[str, list[str]]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    queue, seen = list(names), set[str]()
    while queue and len(seen) < _MAX_TARGETS:
        name = queue.pop(0)
        if name in seen:
            continue
        seen.add(name)
        if name in groups:
            queue += groups[name]
        elif name in targets:
            out.append(_inherit(name, targets, 0))
    return out


def _inherit(name: str, targets: dict[str, dict[str, Any]], depth: int) -> dict[str, Any]:
    attrs = targets.get(name, {})
    merged: dict[str, Any] = {}
    for parent in attrs.get("inherits") or []:
        if depth < 8 and isinstance(parent, str):
            merged.update(_inherit(parent, targets, depth + 1))
    merged.update(attrs)
    return merged


def _bake_build(w: Walker, attrs: dict[str, Any]) -> list[Finding]:
    base = _text(attrs, "_dir", w.scope.cwd or "")
    context = _text(attrs, "context", ".")
    if _REMOTE.match(context):
        return []
    directory = posixpath.normpath(posixpath.join(base, context))
    contexts = _env(attrs.get("contexts")) | _env(attrs.get("additional_contexts"))
    found = _contexts(w, [("context", directory), *contexts.items()], base)
    loaded = load(w, posixpath.join(directory, _text(attrs, "dockerfile", "Dockerfile")), None)
    return found + dockerfile_findings(w, loaded, directory)


def _bake_file(path: str, text: str) -> _Bake | None:
    if path.endswith(".json"):
        return _bake_json(text)
    if path.endswith((".yml", ".yaml")):
        return _bake_compose(text)
    return _bake_hcl(text)


def _bake_compose(text: str) -> _Bake | None:
    """A compose file as bake reads it: a target per service that builds, all in
    ``default``."""
    from opsgate.classify._autorun_yaml import _load

    doc = parse_once("compose", text, _load)
    if not isinstance(doc, dict):
        return None
    targets = {}
    for name, service in _mapping(doc.get("services")).items():
        build = service.get("build") if isinstance(service, dict) else None
        if build is not None:
            targets[name] = build if isinstance(build, dict) else {"context": build}
    return targets, {"default": list(targets)}


def _bake_json(text: str) -> _Bake | None:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    targets, groups = _mapping(doc.get("target")), _mapping(doc.get("group"))
    return (
        {n: dict(t) for n, t in targets.items() if isinstance(t, dict)},
        {n: [x for x in g.get("targets", []) if isinstance(x, str)]
         for n, g in groups.items() if isinstance(g, dict)},
    )  # fmt: skip


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(attrs: dict[str, Any], key: str, default: str) -> str:
    value = attrs.get(key)
    return value if isinstance(value, str) else default


_BLOCK = re.compile(r'^[ \t]*(target|group)\s+"([^"]+)"\s*\{', re.MULTILINE)
_ATTR = re.compile(r"^[ \t]*([\w-]+)\s*=\s*", re.MULTILINE)
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_PAIR = re.compile(r'"?([\w.-]+)"?\s*=\s*"((?:[^"\\]|\\.)*)"')


def _bake_hcl(text: str) -> _Bake | None:
    """The ``target`` and ``group`` blocks of a bake HCL file: their string, list and
    map attributes (a value built from variables or functions is kept as written)."""
    targets: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[str]] = {}
    for match in _BLOCK.finditer(text):
        body = _braced(text, match.end())
        if body is None:
            return None
        attrs = _hcl_attrs(body)
        if match.group(1) == "group":
            groups[match.group(2)] = [t for t in attrs.get("targets") or [] if isinstance(t, str)]
        else:
            targets[match.group(2)] = attrs
    return targets, groups


def _braced(text: str, start: int) -> str | None:
    depth, i, quoted = 1, start, False
    while i < len(text):
        ch = text[i]
        if quoted:
            i += 2 if ch == "\\" else 1
            quoted = ch != '"' if ch != "\\" else quoted
            continue
        if ch == '"':
            quoted = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:i]
        i += 1
    return None


def _hcl_attrs(body: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for match in _ATTR.finditer(body):
        rest = body[match.end() :]
        if rest.startswith("["):
            end = rest.find("]")
            attrs[match.group(1)] = _STRING.findall(rest[: end if end > 0 else len(rest)])
        elif rest.startswith("{"):
            end = rest.find("}")
            attrs[match.group(1)] = dict(_PAIR.findall(rest[: end if end > 0 else len(rest)]))
        else:
            value = _STRING.match(rest)
            attrs[match.group(1)] = value.group(1) if value else rest.split("\n", 1)[0].strip()
    return attrs


# --- compose --------------------------------------------------------------------------

_COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
_UP_VALUED = frozenset(
    _names(
        "--scale -t --timeout --wait-timeout --pull --exit-code-from --attach --no-attach "
        "--build-arg --ssh --builder --index --signal"
    )
)
_MAX_SERVICES = 32


def compose_findings(
    w: Walker, head: Command, opts: Command, verb: str, engine: Engine, evidence: str
) -> list[Finding]:
    """What the services a compose verb starts or builds would do."""
    from opsgate.classify._autorun_yaml import _load
    from opsgate.classify.families._containers_spec import Spec, judge_spec

    services: dict[str, dict[str, Any]] = {}
    found: list[Finding] = []
    root = ""
    for loaded in _compose_files(w, head, opts):
        if loaded.text is None:
            found.append(cannot(loaded, evidence))
            continue
        doc = parse_once("compose", loaded.text, _load)
        if not isinstance(doc, dict) or "include" in doc:
            found.append(bad_file(loaded, "is not a compose file opsgate can read whole"))
            continue
        root = root or posixpath.dirname(loaded.path)
        for name, service in _mapping(doc.get("services")).items():
            if isinstance(service, dict):
                services[name] = _merge(services.get(name, {}), service)
    directory = head.option("--project-directory") or root
    chosen, inner = _chosen(verb, opts, services, head)
    if verb == "run" and inner and not chosen:
        # A service opsgate cannot read: its command is still what the words say.
        spec = Spec("", tuple(inner), False)
        found += judge_spec(w, spec, engine, evidence, base=None, cwd=opts.cwd,
                            via="docker compose run")  # fmt: skip
    for name in chosen:
        service = services[name]
        built, steps = _service_build(w, service, directory)
        found += steps
        if verb == "build":
            continue
        spec = _service_spec(service, built, inner if name == chosen[0] else None, opts, verb)
        mounts = tuple(_rooted(m, directory) for m in spec.mounts)
        spec = replace(spec, mounts=mounts, services=frozenset(services))
        found += judge_spec(w, spec, engine, f"{evidence} ({name})", base=None,
                            cwd=directory or None, via=f"compose service {name}")  # fmt: skip
    return found


def _compose_files(w: Walker, head: Command, opts: Command) -> list[Loaded]:
    """``-f`` files or ``COMPOSE_FILE``, else the nearest compose file and its override."""
    from opsgate.classify._run_files import nearest

    cwd = opts.cwd or w.scope.cwd
    given = head.options("-f", "--file") or [
        p for p in head.env.get("COMPOSE_FILE", "").split(":") if p
    ]
    if given:
        loaded = [load(w, f, cwd) for f in given if f != "-"]
        return [x for x in loaded if x.state != "missing"]
    first = nearest(w, head.option("--project-directory") or cwd or "", _COMPOSE_FILES)
    if first is None:
        return []
    stem, _, ext = posixpath.basename(first.path).rpartition(".")
    override = load(
        w, posixpath.join(posixpath.dirname(first.path), f"{stem}.override.{ext}"), None
    )
    return [first] + ([override] if override.state != "missing" else [])


def _merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A later compose file's service over an earlier one's: lists add, maps merge."""
    out = dict(old)
    for key, value in new.items():
        if key == "environment":
            out[key] = {**_env(old.get(key)), **_env(value)}
        elif isinstance(value, list) and isinstance(old.get(key), list):
            out[key] = [*old[key], *value]
        else:
            out[key] = value
    return out


def _env(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return dict(str(e).split("=", 1) for e in value if "=" in str(e))
    return {}


def _chosen(
    verb: str, opts: Command, services: dict[str, dict[str, Any]], head: Command
) -> tuple[list[str], list[str] | None]:
    """The services a verb starts (with those they depend on), and ``run``'s command."""
    from opsgate.classify.families._containers_docker import _COMPOSE_RUN_VALUED
    from opsgate.classify.families._containers_engine import _split

    words = list(opts.words)
    inner: list[str] | None = None
    if verb == "run":
        at = _split(words, 0, _COMPOSE_RUN_VALUED)
        named = words[at : at + 1]
        inner = words[at + 1 :] or None
    else:
        named = [a.value for a in opts.positionals(_UP_VALUED)]
    if not named:
        active = set(head.options("--profile")) | set(
            head.env.get("COMPOSE_PROFILES", "").split(",")
        )
        named = [
            n for n, s in services.items() if not (p := set(_list(s.get("profiles")))) or active & p
        ]
    out: list[str] = []
    queue = [n for n in named if n in services]
    while queue and len(out) < _MAX_SERVICES:
        name = queue.pop(0)
        if name in out:
            continue
        out.append(name)
        if not opts.has("--no-deps"):
            deps = services[name].get("depends_on") or []
            queue += [d for d in deps if isinstance(d, str) and d in services]
    return out, inner


def _service_build(
    w: Walker, service: dict[str, Any], root: str
) -> tuple[Loaded | None, list[Finding]]:
    build = service.get("build")
    if build is None:
        return None, []
    spec = build if isinstance(build, dict) else {"context": build}
    context = _text(spec, "context", ".")
    if _REMOTE.match(context):
        return None, []
    directory = posixpath.normpath(posixpath.join(root, context))
    named = list(_env(spec.get("additional_contexts")).items())
    found = _contexts(w, [("context", directory), *named], root)
    loaded = load(w, posixpath.join(directory, _text(spec, "dockerfile", "Dockerfile")), None)
    return loaded, found + dockerfile_findings(w, loaded, directory)


def _service_spec(
    service: dict[str, Any], built: Loaded | None, inner: list[str] | None, opts: Command,
    verb: str,
) -> Any:  # fmt: skip
    from opsgate.classify.families._containers_spec import Spec, image_program

    entrypoint = _words(service.get("entrypoint"))
    given = opts.option("--entrypoint") if verb == "run" else None
    if given is not None:
        entrypoint = shlex.split(given)
    command = inner if inner is not None else _words(service.get("command"))
    image = _text(service, "image", "")
    if built is not None and not image:
        # A built image's entrypoint is its Dockerfile's: known when it sets none.
        own = built.text is not None and not re.search(r"(?im)^\s*ENTRYPOINT\b", built.text)
        argv = (*(entrypoint or []), *(command or []))
        spec = Spec("", argv or None, own or bool(entrypoint))
    else:
        spec = image_program(image, entrypoint, command or [])
    env = _env(service.get("environment"))
    volumes = _list(service.get("volumes"))
    if verb == "run":
        env.update(_env(opts.options("-e", "--env")))
        volumes += opts.options("-v", "--volume")
    return replace(spec, env=env, mounts=tuple(_volume(v) for v in volumes),
                   escapes=tuple(_escapes(service)))  # fmt: skip


def _words(value: Any) -> list[str] | None:
    """A compose ``command``/``entrypoint``: a list, or a string split as a shell would
    split it (without running a shell)."""
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError:
            return [value]
    return None


def _volume(value: Any) -> tuple[str, str]:
    if isinstance(value, dict):
        if value.get("type", "volume") != "bind":
            return ("", str(value.get("target", "")))
        return (str(value.get("source", "")), str(value.get("target", "")))
    parts = str(value).split(":")
    return (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])


def _rooted(mount: tuple[str, str], root: str) -> tuple[str, str]:
    """Relative sources are the compose file's directory's; ``${HOME}`` is ``~``."""
    source, target = mount
    source = re.sub(r"^\$\{?HOME\}?(?=/|$)", "~", source)
    if source.startswith("."):
        source = posixpath.normpath(posixpath.join(root, source))
    return source, target


def _escapes(service: dict[str, Any]) -> list[str]:
    out = ["privileged"] if str(service.get("privileged", "")).lower() == "true" else []
    out += [f"{k}: host" for k in ("pid", "ipc", "userns_mode", "uts") if service.get(k) == "host"]
    caps = _list(service.get("cap_add"))
    out += [f"cap_add {c}" for c in caps if str(c).upper() in ("SYS_ADMIN", "ALL")]
    return out
