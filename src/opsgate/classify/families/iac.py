"""Infrastructure as code: terraform/tofu/terragrunt, pulumi, ansible, cdk,
serverless, packer, vagrant.

Planning, rendering and linting read; anything that touches real resources or
the shared state (apply, import, state edits, deploys) is a write in every
environment; commands that print state or outputs in clear disclose secrets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from opsgate.classify._command import Command, Context, Handler
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["HANDLERS"]


def _names(text: str) -> list[str]:
    """Table rows written as one space-separated string."""
    return text.split()


class Rule(NamedTuple):
    effect: Effect
    impact: Impact
    category: str
    reason: str


def _read(reason: str) -> Rule:
    return Rule(Effect.READ, Impact.SAFE, "iac.read", reason)


def _local(reason: str) -> Rule:
    return Rule(Effect.LOCAL, Impact.SAFE, "iac.local", reason)


def _write(reason: str) -> Rule:
    return Rule(Effect.WRITE, Impact.CAUTION, "iac.apply", reason)


def _destroy(reason: str) -> Rule:
    return Rule(Effect.WRITE, Impact.DESTRUCTIVE, "iac.destroy", reason)


def _secret(reason: str) -> Rule:
    return Rule(Effect.SECRET, Impact.CAUTION, "secrets.read", reason)


_UNKNOWN = Rule(Effect.UNKNOWN, Impact.CAUTION, "iac.unknown", "unrecognised subcommand")


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


def _terraform(cmd: Command, ctx: Context) -> list[Finding]:
    words = [a.value for a in cmd.positionals(_TF_VALUED)]
    if cmd.name == "terragrunt":
        # ``terragrunt run-all apply`` / ``run --all apply`` run terraform's verb.
        words = [w for w in words if w not in ("run-all", "run")]
    rule = _terraform_rule(cmd, words)
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
    return [_finding(ctx, rule, " ".join([cmd.name, *words[:2]]), target, names)]


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
    if verb in ("up", "update", "refresh", "destroy") and cmd.has("--preview-only"):
        rule = _read("preview only")
    stack = cmd.option("-s", "--stack") or (
        words[2] if verb == "stack" and len(words) > 2 else None
    )
    target = f"pulumi stack {stack}" if stack else "pulumi (current stack)"
    names = [stack or "", cmd.option("-C", "--cwd") or "", _project_relative(cmd, ctx) or ""]
    return [_finding(ctx, rule, " ".join(["pulumi", *words[:2]]), target, names)]


_ANSIBLE_READ_MODULES = frozenset(
    _names("ping setup gather_facts stat debug service_facts package_facts find wait_for")
)
_ANSIBLE_SHELL_MODULES = frozenset(
    _names("shell command raw ansible.builtin.shell ansible.builtin.command ansible.builtin.raw")
)
_ANSIBLE_VALUED = _names(
    "-i --inventory -l --limit -m --module-name -a --args -e --extra-vars -u --user -f --forks "
    "-t --tags --skip-tags --vault-password-file --vault-id -b --become-user -k -T --timeout "
    "--private-key --start-at-task -c --connection"
)


def _ansible(cmd: Command, ctx: Context) -> list[Finding]:
    positional = [a.value for a in cmd.positionals(_ANSIBLE_VALUED)]
    hosts = cmd.option("-l", "--limit") or (
        positional[0] if cmd.name == "ansible" and positional else "all"
    )
    inventory = cmd.options("-i", "--inventory")
    names = [hosts, *inventory, *cmd.options("-e", "--extra-vars")]
    target = f"ansible hosts {hosts}" + (f" ({', '.join(inventory)})" if inventory else "")
    evidence = " ".join([cmd.name, *positional[:1]])
    if cmd.has("--list-hosts", "--syntax-check", "--list-tasks", "--list-tags", "--check", "-C"):
        return [
            _finding(ctx, _read("check mode, listing or syntax check"), evidence, target, names)
        ]
    if cmd.name == "ansible-playbook":
        return [_finding(ctx, _write("runs a playbook against hosts"), evidence, target, names)]
    module = cmd.option("-m", "--module-name") or "command"  # ansible's default module
    args = cmd.option("-a", "--args") or ""
    if module in _ANSIBLE_SHELL_MODULES:
        seen = _finding(
            ctx, _read("runs a command on hosts"), f"ansible -m {module}", target, names
        )
        if not args:
            return [seen]
        return [seen, *ctx.classify_shell(args, via="ansible", remote=hosts)]
    if module.rsplit(".", 1)[-1] in _ANSIBLE_READ_MODULES:
        return [
            _finding(
                ctx,
                _read(f"module {module} only gathers facts"),
                f"ansible -m {module}",
                target,
                names,
            )
        ]
    rule = (
        _destroy(f"module {module} removes things")
        if "state=absent" in args
        else _write(f"module {module} changes hosts")
    )
    return [_finding(ctx, rule, f"ansible -m {module}", target, names)]


_VAULT = _table(
    ("view decrypt", _secret("prints or writes out decrypted vault contents")),
    ("encrypt encrypt_string create edit rekey", _local("encrypts files in the project")),
)


def _ansible_vault(cmd: Command, ctx: Context) -> list[Finding]:
    verb = next(iter(cmd.subcommand(_names("--vault-id --vault-password-file --output"))), "")
    return [_finding(ctx, _VAULT.get(verb, _UNKNOWN), f"ansible-vault {verb}", "ansible vault", [])]


def _ansible_misc(cmd: Command, ctx: Context) -> list[Finding]:
    # inventory/doc/config/lint read; galaxy installs roles into the project; pull
    # and console run plays or ad-hoc commands the guard can't see.
    rule = {
        "ansible-galaxy": _local("installs roles and collections"),
        "ansible-pull": _write("pulls and runs a playbook on this host"),
        "ansible-console": Rule(
            Effect.UNKNOWN, Impact.CAUTION, "iac.unknown", "interactive ad-hoc console"
        ),
    }.get(cmd.name, _read("reads ansible configuration or inventory"))
    return [_finding(ctx, rule, cmd.name, "ansible", [])]


def _verb_tool(
    table: dict[str, Rule], label: str, valued: list[str], env_flags: list[str]
) -> Handler:
    """A CLI whose first positional word is the verb (cdk, serverless, packer, vagrant)."""

    def handler(cmd: Command, ctx: Context) -> list[Finding]:
        words = [a.value for a in cmd.positionals(valued)]
        verb = words[0] if words else ""
        rule = table.get(" ".join(words[:2]), table.get(verb, _UNKNOWN))
        names = [v for flag in env_flags for v in cmd.options(flag)] + words[1:2]
        names += [cmd.env.get("AWS_PROFILE", "")]
        stage = next((v for flag in env_flags for v in cmd.options(flag)), None)
        target = f"{label} {stage}" if stage else f"{label} (default)"
        return [_finding(ctx, rule, " ".join([cmd.name, *words[:1]]), target, names)]

    return handler


_CDK = _table(
    (
        "synth synthesize diff ls list doctor docs version metadata notices context "
        "acknowledge ack",
        _read("reads or synthesises locally"),
    ),
    ("init", _local("creates a project")),
    ("deploy bootstrap import watch rollback migrate gc", _write("deploys stacks")),
    ("destroy", _destroy("deletes CloudFormation stacks")),
)
_SERVERLESS = _table(
    (
        "info logs metrics package print plugin config create doctor",
        _read("reads or packages locally"),
    ),
    ("offline", _local("runs the service locally")),
    ("deploy rollback invoke", _write("deploys or invokes the service")),
    ("remove", _destroy("deletes the deployed service")),
    ("invoke local", _local("invokes a function locally")),
    # ``print`` resolves ${ssm:…}/${secretsmanager:…} variables.
    ("print", _secret("prints the resolved configuration, secrets included")),
)
_PACKER = _table(
    (
        "validate fmt inspect init version console plugins hcl2_upgrade",
        _read("checks templates locally"),
    ),
    ("build", _write("builds machine images in cloud accounts")),
)
# A Vagrant VM is defined by the project's Vagrantfile and rebuilt by ``vagrant up``:
# like build output, it belongs to the workspace.
_VAGRANT = _table(
    ("status global-status ssh-config port version validate box", _read("reads local VM state")),
    (
        "up halt reload provision suspend resume init package snapshot plugin",
        _local("manages a local VM"),
    ),
    ("destroy", Rule(Effect.LOCAL, Impact.CAUTION, "iac.local", "destroys the project's local VM")),
    ("ssh", Rule(Effect.UNKNOWN, Impact.CAUTION, "iac.unknown", "opens a shell in the VM")),
)


def _vagrant(cmd: Command, ctx: Context) -> list[Finding]:
    inner = cmd.option("-c", "--command")
    if inner:
        return ctx.classify_shell(inner, via="vagrant ssh", cwd=cmd.cwd)
    return _verb_tool(_VAGRANT, "vagrant", [], [])(cmd, ctx)


HANDLERS: dict[str, Handler] = {
    "terraform": _terraform,
    "tofu": _terraform,
    "terragrunt": _terraform,
    "pulumi": _pulumi,
    "ansible": _ansible,
    "ansible-playbook": _ansible,
    "ansible-vault": _ansible_vault,
    **{
        n: _ansible_misc
        for n in _names(
            "ansible-inventory ansible-doc ansible-config ansible-lint "
            "ansible-galaxy ansible-pull ansible-console"
        )
    },
    "cdk": _verb_tool(
        _CDK,
        "cdk",
        _names("--profile -c --context --app -a --require-approval"),
        _names("--profile"),
    ),
    "serverless": _verb_tool(
        _SERVERLESS,
        "serverless stage",
        _names("--stage -s --region -r --aws-profile -f --function"),
        _names("--stage -s --aws-profile"),
    ),
    "sls": _verb_tool(
        _SERVERLESS,
        "serverless stage",
        _names("--stage -s --region -r --aws-profile -f --function"),
        _names("--stage -s --aws-profile"),
    ),
    "packer": _verb_tool(
        _PACKER, "packer", _names("-var -var-file -only -except"), _names("-var-file")
    ),
    "vagrant": _vagrant,
}
