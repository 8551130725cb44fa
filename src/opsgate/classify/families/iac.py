"""Infrastructure as code: terraform/tofu/terragrunt, pulumi, ansible, cdk,
serverless, packer, vagrant.

Planning, rendering and linting read; anything that touches real resources or
the shared state (apply, import, state edits, deploys) is a write in every
environment; commands that print state or outputs in clear disclose secrets.
"""

from __future__ import annotations

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.families._iac_terraform import (
    _UNKNOWN,
    Rule,
    _destroy,
    _finding,
    _local,
    _names,
    _pulumi,
    _read,
    _secret,
    _table,
    _terraform,
    _write,
)
from opsgate.models import Effect, Finding, Impact

__all__ = ["HANDLERS"]


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
    listing = cmd.has("--list-hosts", "--syntax-check", "--list-tasks", "--list-tags")
    if cmd.name == "ansible-playbook" and not listing and cmd.has("--check", "-C"):
        from opsgate.classify._run_ansible import runs_for_real

        real = runs_for_real(cmd, ctx, positional)
        if real is not None:
            rule = _write(f"runs a playbook against hosts: {real} has tasks with check_mode "
                          "false, which run for real under --check")  # fmt: skip
            return [_finding(ctx, rule, evidence, target, names)]
    if listing or cmd.has("--check", "-C"):
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


def _cdk(cmd: Command, ctx: Context) -> list[Finding]:
    """The verb's own rule, and the app command the verb runs to synthesise."""
    from opsgate.classify._run_pulumi import cdk_app

    words = [a.value for a in cmd.positionals(_CDK_VALUED)]
    return [*_cdk_verb(cmd, ctx), *cdk_app(cmd, ctx, words[0] if words else "")]


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
_CDK_VALUED = _names("--profile -c --context --app -a --require-approval")
_cdk_verb = _verb_tool(_CDK, "cdk", _CDK_VALUED, _names("--profile"))
_SERVERLESS = _table(
    (
        "info logs metrics package print plugin config create doctor",
        _read("reads or packages locally"),
    ),
    ("offline", _local("runs the service locally")),
    ("deploy rollback invoke", _write("deploys or invokes the service")),
    ("remove", _destroy("deletes the deployed service")),
    # ``print`` resolves ${ssm:…}/${secretsmanager:…} variables.
    ("print", _secret("prints the resolved configuration, secrets included")),
)
# Two words: a row of ``_table`` is a list of one-word verbs (``invoke local`` there
# made ``invoke`` itself local: the deployed function run in production passed).
_SERVERLESS["invoke local"] = _local("invokes a function locally")
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
    "cdk": _cdk,
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
