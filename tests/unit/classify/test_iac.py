"""terraform/tofu/terragrunt, pulumi, ansible, cdk, serverless, packer, vagrant."""

from __future__ import annotations

import pytest

from helpers import MemoryContext, make_command
from opsgate.classify.families.iac import HANDLERS
from opsgate.models import Effect, Environment, Impact

R, L, W, U, S = Effect.READ, Effect.LOCAL, Effect.WRITE, Effect.UNKNOWN, Effect.SECRET
C, D = Impact.CAUTION, Impact.DESTRUCTIVE

CASES = [
    ("tf-plan", "terraform plan -var-file=prod.tfvars", R, None),
    ("tf-plan-destroy", "terraform plan -destroy", R, None),
    ("tf-init", "terraform init -backend=false", L, None),
    ("tf-fmt", "terraform fmt -recursive", L, None),
    ("tf-output-masked", "terraform output", R, None),
    ("tf-output-named-masked", "terraform output db_password", R, None),
    ("tf-output-json", "terraform output -json", S, None),
    ("tf-output-raw", "terraform output -raw db_password", S, None),
    ("tf-show-json", "terraform show -json", S, None),
    ("tf-state-show", "terraform state show aws_instance.web", R, None),
    ("tf-state-pull", "terraform state pull", S, None),
    ("tf-console", "terraform console", S, None),
    ("tf-workspace-select", "terraform workspace select prod", L, None),
    ("tf-apply", "terraform apply -auto-approve", W, C),
    ("tf-import", "terraform import aws_s3_bucket.logs acme-logs", W, C),
    ("tf-apply-destroy", "terraform apply -destroy -auto-approve", W, D),
    ("tf-destroy", "tofu destroy", W, D),
    ("tf-state-rm", "terraform state rm module.db", W, D),
    ("tf-state-push", "terraform state push -force terraform.tfstate", W, D),
    ("tf-workspace-new", "terraform workspace new feature-x", W, C),
    ("tf-workspace-delete", "terraform workspace delete old", W, D),
    ("tf-migrate-state", "terraform init -migrate-state", W, C),
    ("tf-unknown", "terraform frobnicate", U, C),
    ("terragrunt-run-all", "terragrunt run-all apply --terragrunt-non-interactive", W, C),
    ("pulumi-preview", "pulumi preview --stack prod", R, None),
    # config get decrypts a secret value: with no stack file to say, judged by its name
    ("pulumi-config-get", "pulumi config get region", R, None),
    ("pulumi-config-get-secret-name", "pulumi config get dbPassword", S, None),
    ("pulumi-config-secrets", "pulumi config get dbPassword --show-secrets", S, None),
    ("pulumi-output-secrets", "pulumi stack output --show-secrets", S, None),
    ("pulumi-up", "pulumi up --yes -s prod", W, C),
    ("pulumi-destroy", "pulumi destroy --yes", W, D),
    ("pulumi-stack-rm", "pulumi stack rm dev --force", W, D),
    ("pulumi-state-delete", "pulumi state delete urn:x", W, D),
    ("ansible-ping", "ansible all -i inv/prod -m ping", R, None),
    ("ansible-check", "ansible-playbook site.yml -i inv/prod --check --diff", R, None),
    ("ansible-list-hosts", "ansible-playbook site.yml --list-hosts", R, None),
    ("ansible-playbook", "ansible-playbook site.yml -i inv/prod -l web", W, C),
    ("ansible-apt", "ansible web -m apt -a 'name=nginx state=latest'", W, C),
    ("ansible-absent", "ansible web -m file -a 'path=/srv/x state=absent'", W, D),
    ("vault-view", "ansible-vault view secrets.yml", S, None),
    ("vault-encrypt", "ansible-vault encrypt secrets.yml", L, None),
    ("cdk-synth", "cdk synth", R, None),
    ("cdk-deploy", "cdk deploy --all", W, C),
    ("cdk-destroy", "cdk destroy ApiStack --force", W, D),
    ("sls-deploy", "serverless deploy --stage prod", W, C),
    ("sls-remove", "sls remove --stage prod", W, D),
    ("sls-invoke-local", "sls invoke local -f hello", L, None),
    ("packer-build", "packer build image.pkr.hcl", W, C),
    ("packer-validate", "packer validate image.pkr.hcl", R, None),
    ("vagrant-up", "vagrant up", L, None),
    ("vagrant-destroy-local", "vagrant destroy -f", L, None),
]


@pytest.mark.parametrize(
    ("line", "effect", "impact"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_effect(line: str, effect: Effect, impact: Impact | None) -> None:
    cmd = make_command(line)
    findings = HANDLERS[cmd.name](cmd, MemoryContext())
    worst = max(findings, key=lambda f: (f.effect, f.impact))
    assert worst.effect is effect
    if impact is not None:
        assert worst.impact is impact
    assert worst.target


ENVIRONMENTS = [
    (
        "var-file",
        "tofu apply -var-file=prod.tfvars",
        {},
        "/home/dev/project",
        Environment.PRODUCTION,
    ),
    ("chdir", "terraform -chdir=envs/staging apply", {}, "/home/dev/project", Environment.STAGING),
    (
        "tf-workspace-env",
        "terraform apply",
        {"TF_WORKSPACE": "prod"},
        "/home/dev/project",
        Environment.PRODUCTION,
    ),
    (
        "cwd-in-project",
        "terraform apply",
        {},
        "/home/dev/project/envs/prod",
        Environment.PRODUCTION,
    ),
    # /home/dev is the user's home, not a "dev" environment.
    ("home-is-not-dev", "terraform apply", {}, "/home/dev/project", None),
    ("pulumi-stack", "pulumi up -s acme/prod", {}, "/home/dev/project", Environment.PRODUCTION),
    (
        "ansible-inventory",
        "ansible-playbook site.yml -i inventories/staging/hosts",
        {},
        "/home/dev/project",
        Environment.STAGING,
    ),
    (
        "sls-stage",
        "serverless deploy --stage dev",
        {},
        "/home/dev/project",
        Environment.DEVELOPMENT,
    ),
]


@pytest.mark.parametrize(
    ("line", "env", "cwd", "expected"),
    [c[1:] for c in ENVIRONMENTS],
    ids=[c[0] for c in ENVIRONMENTS],
)
def test_environment(
    line: str, env: dict[str, str], cwd: str, expected: Environment | None
) -> None:
    cmd = make_command(line, env=env, cwd=cwd)
    (finding,) = HANDLERS[cmd.name](cmd, MemoryContext())
    assert finding.environment is expected


def test_ansible_shell_module_is_classified_on_the_hosts() -> None:
    ctx = MemoryContext()
    cmd = make_command("ansible web-prod -i inv -m shell -a 'systemctl restart nginx'")
    HANDLERS["ansible"](cmd, ctx)
    assert ctx.nested == [("systemctl restart nginx", "ansible", "web-prod")]


def test_ansible_default_module_is_command() -> None:
    ctx = MemoryContext()
    HANDLERS["ansible"](make_command("ansible all -a 'rm -rf /tmp/x'"), ctx)
    assert ctx.nested == [("rm -rf /tmp/x", "ansible", "all")]
