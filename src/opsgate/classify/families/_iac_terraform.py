"""Terraform and Pulumi, and the rule helpers every IaC tool shares."""

from __future__ import annotations

import re
from collections.abc import Iterable

from opsgate.classify._command import Command, Context
from opsgate.classify.families._verbs import Rule, RuleSet, words
from opsgate.models import Effect, Environment, Finding

__all__ = [
    "_UNKNOWN",
    "Rule",
    "_destroy",
    "_finding",
    "_local",
    "_names",
    "_pulumi",
    "_read",
    "_secret",
    "_table",
    "_terraform",
    "_write",
]


_names = words
_RULES = RuleSet("iac", write="apply", destroy="destroy")
_read, _local, _write = _RULES.read, _RULES.local, _RULES.write
_destroy, _secret = _RULES.destroy, _RULES.secret
_UNKNOWN = _RULES.unknown("unrecognised subcommand")


def _table(*rows: tuple[str, Rule]) -> dict[str, Rule]:
    """``("plan show graph", rule)`` rows → one entry per word."""
    return {word: rule for words, rule in rows for word in words.split()}


_TERRAFORM = _table(
    (
        "plan validate graph providers version show state workspace",
        _read("reads configuration or state"),
    ),
    ("init get fmt login logout test metadata", _local("works on files in the project")),
    (
        "apply import taint untaint refresh force-unlock",
        _write("changes real infrastructure or its state"),
    ),
    ("destroy", _destroy("destroys every managed resource")),
    # ``output`` masks sensitive values unless -json/-raw (handled below).
    ("output", _read("prints outputs, sensitive ones masked")),
    # The console evaluates any expression against state, sensitive values included.
    ("console", _secret("can print any state value, sensitive ones included")),
)
_TERRAFORM_SUB = {
    ("state", "list"): _read("lists resources in state"),
    # state show masks sensitive attributes; state pull prints the raw state.
    ("state", "show"): _read("shows one resource, sensitive attributes masked"),
    ("state", "pull"): _secret("prints the raw state, secrets in clear"),
    ("state", "mv"): _write("edits state"),
    ("state", "replace-provider"): _write("edits state"),
    ("state", "rm"): _destroy("drops resources from state"),
    ("state", "push"): _destroy("overwrites the remote state"),
    ("workspace", "list"): _read("lists workspaces"),
    ("workspace", "show"): _read("shows the workspace"),
    # Selecting a workspace only changes .terraform/environment in the project.
    ("workspace", "select"): _local("selects a workspace"),
    ("workspace", "new"): _write("creates a workspace in the backend"),
    ("workspace", "delete"): _destroy("deletes a workspace and its state"),
    ("providers", "lock"): _local("updates the provider lock file"),
    ("providers", "mirror"): _local("downloads providers"),
    ("show", "-json"): _secret("prints state or plan as JSON, sensitive values in clear"),
}
_TF_VALUED = _names(
    "-var -var-file -target -replace -out -state -backend-config -lock-timeout -parallelism"
)


def _evidence(ctx: Context, names: Iterable[str]) -> tuple[Environment, str] | None:
    best: tuple[Environment, str] | None = None
    for name in names:
        found = ctx.environment_of(name) if name else None
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    return best


def _finding(ctx: Context, rule: Rule, evidence: str, target: str, names: Iterable[str]) -> Finding:
    env = _evidence(ctx, names)
    return Finding(
        category=rule.category,
        impact=rule.impact,
        effect=rule.effect,
        evidence=evidence,
        reason=rule.reason,
        target=target,
        environment=env[0] if env else None,
        env_source=env[1] if env else None,
    )


def _dash_opts(cmd: Command, name: str) -> list[str]:
    """Values of terraform-style single-dash options: ``-var-file=x`` or ``-var-file x``."""
    words = cmd.words
    out = [w.split("=", 1)[1] for w in words if w.startswith(name + "=")]
    return out + [words[i + 1] for i, w in enumerate(words[:-1]) if w == name]


def _project_relative(cmd: Command, ctx: Context) -> str | None:
    """The working directory inside the project (``envs/prod``): only that part is
    evidence, because ``/home/dev`` would read as 'development'."""
    root = ctx.project_dir
    if cmd.cwd and root and cmd.cwd.startswith(root.rstrip("/") + "/"):
        return cmd.cwd[len(root.rstrip("/")) + 1 :]
    return None


_UNWRAPS = re.compile(r"nonsensitive|sensitive\s*\(|file\(|templatefile")


def _terraform_rule(cmd: Command, words: list[str]) -> Rule:
    verb = words[0] if words else ""
    second = words[1] if len(words) > 1 else ""
    rule = _TERRAFORM_SUB.get((verb, second)) or _TERRAFORM.get(verb, _UNKNOWN)
    if verb in ("state", "workspace") and (verb, second) not in _TERRAFORM_SUB:
        rule = _UNKNOWN
    if verb == "show" and cmd.has("-json"):
        rule = _TERRAFORM_SUB[("show", "-json")]
    if verb == "output" and (cmd.has("-json", "-raw") or any(w.startswith("-raw=") for w in words)):
        rule = _secret("-json/-raw print sensitive outputs in clear")
    if verb in ("apply", "plan") and cmd.has("-destroy"):
        rule = _destroy("destroys every managed resource") if verb == "apply" else rule
    expression = cmd.stdin.text if verb == "console" and cmd.stdin is not None else None
    if expression is not None and not _UNWRAPS.search(expression):
        # Console output redacts sensitive values unless the expression unwraps them.
        rule = _TERRAFORM.get("show", rule)
    if verb == "init" and cmd.has("-migrate-state", "-force-copy"):
        rule = _write("migrates state to another backend")
    return rule


# terragrunt's own commands (the others are terraform's, run through it).
_TERRAGRUNT = _table(
    ("render-json render terragrunt-info graph-dependencies output-module-groups hclvalidate "
     "validate-inputs find list info dag", _read("reads terragrunt configuration")),
    ("hclfmt scaffold catalog aws-provider-patch", _local("works on files in the project")),
)  # fmt: skip
_TERRAGRUNT_SUB = {
    ("hcl", "fmt"): _local("formats HCL files in the project"),
    ("hcl", "format"): _local("formats HCL files in the project"),
    ("hcl", "validate"): _read("validates terragrunt configuration"),
    ("stack", "generate"): _local("generates units in the project"),
    ("stack", "clean"): _local("removes generated units"),
    ("backend", "bootstrap"): _write("creates the remote state backend"),
    ("backend", "migrate"): _write("migrates remote state"),
    ("backend", "delete"): _destroy("deletes remote state"),
}


def _terragrunt_rule(words: list[str]) -> Rule | None:
    pair = [*words, "", ""][:2]
    return _TERRAGRUNT_SUB.get((pair[0], pair[1])) or _TERRAGRUNT.get(pair[0])


def _terraform(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._run_terraform import terraform_programs, terragrunt_programs

    words = [a.value for a in cmd.positionals(_TF_VALUED)]
    if cmd.name == "terragrunt":
        # ``terragrunt run-all apply`` / ``run --all apply`` run terraform's verb.
        words = [w for w in words if w not in ("run-all", "run", "exec")]
    own = _terragrunt_rule(words) if cmd.name == "terragrunt" else None
    rule = own or _terraform_rule(cmd, words)
    workspace = cmd.env.get("TF_WORKSPACE")
    if words[:2] == ["workspace", "select"] and len(words) > 2:
        workspace = words[2]
    names = [
        workspace or "",
        *_dash_opts(cmd, "-var-file"),
        *_dash_opts(cmd, "-chdir"),
        *_dash_opts(cmd, "-backend-config"),
        _project_relative(cmd, ctx) or "",
    ]
    target = f"terraform workspace {workspace}" if workspace else "terraform (current workspace)"
    if rule.effect in (Effect.WRITE, Effect.UNKNOWN):  # what a card is asked for
        _bind_configuration(cmd, ctx)
    found = [_finding(ctx, rule, " ".join([cmd.name, *words[:2]]), target, names)]
    if cmd.name == "terragrunt":  # its hooks, run_cmd, and terraform's programs
        return found + terragrunt_programs(cmd, ctx, words)
    chdir = _dash_opts(cmd, "-chdir")
    return found + terraform_programs(
        cmd, ctx, words[0] if words else "", chdir[-1] if chdir else None
    )


# What terraform reads of its directory: configuration, variables, terragrunt's HCL;
# local modules sit below it (``./modules/x``).
_CONFIGURATION = (".tf", ".tf.json", ".tfvars", ".tfvars.json", ".hcl")


def _bind_configuration(cmd: Command, ctx: Context) -> None:
    """A grant for ``terraform apply`` covers the configuration it was approved with:
    the digest of the directory's configuration files (``-chdir=`` or the working
    directory) and of each ``-var-file``, recorded for the grant to bind."""
    from opsgate.classify._files_digest import bind_digest

    chdir = _dash_opts(cmd, "-chdir")
    where = chdir[-1] if chdir else "."
    bind_digest(ctx, where, cmd.cwd, _CONFIGURATION, depth=3)
    base = _bind_base(ctx, where, cmd.cwd)
    for var_file in _dash_opts(cmd, "-var-file"):
        bind_digest(ctx, var_file, base)


def _bind_base(ctx: Context, where: str, cwd: str | None) -> str | None:
    """terraform resolves ``-var-file`` inside the ``-chdir`` directory."""
    session = getattr(ctx, "session", None)
    return session.workspace.expand(where, cwd) if session is not None else cwd


_PULUMI = _table(
    ("preview whoami version about logs org", _read("reads stacks or previews changes")),
    (
        "login logout install new plugin convert schema gen-completion",
        _local("works on this machine"),
    ),
    ("config", _local("edits the stack's config file in the project")),
    ("up update import refresh cancel watch", _write("changes stack resources or state")),
    ("destroy", _destroy("destroys every resource in the stack")),
    ("env", _secret("opens an ESC environment, secrets included")),
)
_PULUMI_SUB = {
    **{("stack", v): _read("reads stacks") for v in _names("ls history output export tag graph")},
    ("stack", "select"): _local("selects a stack"),
    ("stack", "init"): _write("creates a stack"),
    ("stack", "rm"): _destroy("removes a stack and its state"),
    ("stack", "import"): _write("replaces stack state"),
    ("stack", "rename"): _write("renames a stack"),
    **{("config", v): _read("reads stack config") for v in ("get", "")},
    ("state", "delete"): _destroy("deletes resources from state"),
    **{("env", v): _read("reads ESC environments") for v in _names("ls get version diff")},
}


_SECRET_NAME = re.compile(r"pass|secret|token|key|cred|private|dsn|conn|auth|cert", re.I)


def _pulumi_secret(cmd: Command, ctx: Context, key: str) -> bool:
    """Whether ``pulumi config get KEY`` prints a secret (it decrypts them): KEY is
    ``secure:`` in the stack's ``Pulumi.<stack>.yaml``; when that file cannot be read
    (no ``--stack``, not there), whether KEY is named like a secret."""
    stack = (cmd.option("-s", "--stack") or "").rsplit("/", 1)[-1]
    where = cmd.option("-C", "--cwd")
    text = ctx.read_text(f"{where}/Pulumi.{stack}.yaml" if where else f"Pulumi.{stack}.yaml",
                         cmd.cwd) if stack else None  # fmt: skip
    if text is None:
        return bool(_SECRET_NAME.search(key))
    name = re.escape(key.rsplit(":", 1)[-1])
    entry = re.search(rf"^\s*(?:[\w-]+:)?{name}:\s*(.*)$", text, re.MULTILINE)
    if entry is None:
        return bool(_SECRET_NAME.search(key))
    rest = text[entry.end() : entry.end() + 200]
    return entry.group(1).strip().startswith("secure") or bool(
        not entry.group(1).strip() and re.match(r"\s*\n\s+secure:", rest)
    )


def _pulumi(cmd: Command, ctx: Context) -> list[Finding]:
    words = [a.value for a in cmd.positionals(_names("-s --stack -C --cwd --config-file --target"))]
    verb = words[0] if words else ""
    second = words[1] if len(words) > 1 else ""
    rule = _PULUMI_SUB.get((verb, second)) or _PULUMI.get(verb, _UNKNOWN)
    if verb == "state" and (verb, second) not in _PULUMI_SUB:
        rule = _write("edits stack state")
    if verb == "stack" and not second:
        rule = _read("shows the current stack")
    if cmd.has("--show-secrets") or (verb, second) == ("env", "open"):
        rule = _secret("--show-secrets prints secret values")
    if (
        (verb, second) == ("config", "get")
        and len(words) > 2
        and _pulumi_secret(cmd, ctx, words[2])
    ):
        rule = _secret("pulumi config get prints a secret config value decrypted")
    if verb in ("up", "update", "refresh", "destroy") and cmd.has("--preview-only"):
        rule = _read("preview only")
    stack = cmd.option("-s", "--stack") or (
        words[2] if verb == "stack" and len(words) > 2 else None
    )
    target = f"pulumi stack {stack}" if stack else "pulumi (current stack)"
    names = [stack or "", cmd.option("-C", "--cwd") or "", _project_relative(cmd, ctx) or ""]
    from opsgate.classify._run_pulumi import pulumi_program

    found = _finding(ctx, rule, " ".join(["pulumi", *words[:2]]), target, names)
    return [found, *pulumi_program(cmd, ctx, verb)]
