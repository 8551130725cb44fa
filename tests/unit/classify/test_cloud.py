"""aws, gcloud, gsutil, az, doctl, oci, eksctl: verb-prefix tables, secrets, accounts."""

from __future__ import annotations

import pytest

from helpers import MemoryContext, make_command
from opsgate.classify.families.cloud import HANDLERS
from opsgate.models import Effect, Environment, Impact

R, L, W, U, S = Effect.READ, Effect.LOCAL, Effect.WRITE, Effect.UNKNOWN, Effect.SECRET
C, D = Impact.CAUTION, Impact.DESTRUCTIVE

CASES = [
    ("aws-describe", "aws ecs describe-services --cluster main --services api", R, None),
    ("aws-list", "aws s3api list-objects-v2 --bucket acme-logs", R, None),
    ("aws-identity", "aws sts get-caller-identity", R, None),
    ("aws-lookup", "aws cloudtrail lookup-events --max-results 5", R, None),
    ("aws-s3-ls", "aws s3 ls s3://acme-logs/", R, None),
    ("aws-s3-download", "aws s3 sync s3://acme-reports/2024/ ./reports/", L, None),
    ("aws-dry-run", "aws ec2 terminate-instances --dry-run --instance-ids i-1", R, None),
    ("aws-help-positional", "aws s3 rm help", R, None),
    ("aws-op-help-positional", "aws rds delete-db-cluster help", R, None),
    ("aws-help-as-value", "aws s3 rm s3://acme/help", W, D),
    ("aws-ssm-describe", "aws ssm describe-parameters", R, None),
    ("aws-ssm-get-plain", "aws ssm get-parameter --name /app/flag", R, None),
    ("aws-ssm-decrypt", "aws ssm get-parameter --name /prod/db --with-decryption", S, None),
    ("aws-secret-value", "aws secretsmanager get-secret-value --secret-id db", S, None),
    ("aws-kms-decrypt", "aws kms decrypt --ciphertext-blob fileb://x", S, None),
    ("aws-ecr-login", "aws ecr get-login-password --region eu-west-1", S, None),
    ("aws-configure-secret", "aws configure get aws_secret_access_key", S, None),
    ("aws-configure-region", "aws configure get region", R, None),
    ("aws-stop", "aws ec2 stop-instances --instance-ids i-1", W, C),
    (
        "aws-update",
        "aws ecs update-service --cluster main --service api --force-new-deployment",
        W,
        C,
    ),
    ("aws-invoke", "aws lambda invoke --function-name f out.json", W, C),
    ("aws-send-command", "aws ssm send-command --document-name AWS-RunShellScript", W, C),
    ("aws-delete", "aws ec2 delete-snapshot --snapshot-id snap-1", W, D),
    ("aws-purge", "aws sqs purge-queue --queue-url https://sqs/jobs", W, D),
    ("aws-s3-upload", "aws s3 cp ./build s3://www.acme.example/ --recursive", W, C),
    ("aws-s3-sync-delete", "aws s3 sync ./site s3://www --delete", W, D),
    ("aws-s3-rm", "aws s3 rm s3://bucket/x --recursive", W, D),
    ("aws-s3-rb", "aws s3 rb s3://bucket --force", W, D),
    ("aws-unknown-verb", "aws ec2 frobnicate-things", U, None),
    ("gcloud-list", "gcloud run services list --region europe-west1", R, None),
    ("gcloud-logging", "gcloud logging read 'severity>=ERROR' --limit 50", R, None),
    ("gcloud-config-set", "gcloud config set project acme-dev", L, None),
    ("gcloud-get-credentials", "gcloud container clusters get-credentials main", L, None),
    ("gcloud-secret-access", "gcloud secrets versions access latest --secret=stripe", S, None),
    ("gcloud-token", "gcloud auth print-access-token", S, None),
    ("gcloud-secrets-list", "gcloud secrets list", R, None),
    ("gcloud-deploy", "gcloud run deploy api --image x --region europe-west1", W, C),
    ("gcloud-stop", "gcloud compute instances stop web-2 --zone z", W, C),
    ("gcloud-delete", "gcloud sql databases delete orders --instance=main-pg", W, D),
    ("gcloud-storage-rm", "gcloud storage rm --recursive gs://acme/2023/", W, D),
    ("gcloud-ssh-interactive", "gcloud compute ssh web-1 --zone z", U, None),
    ("gsutil-ls", "gsutil ls gs://acme", R, None),
    ("gsutil-rm", "gsutil -m rm -r gs://acme/x", W, D),
    ("gsutil-upload", "gsutil cp ./a gs://acme/a", W, C),
    ("az-show", "az webapp show -g rg -n api", R, None),
    ("az-list", "az monitor activity-log list --resource-group rg-web", R, None),
    ("az-kv-list", "az keyvault secret list --vault-name kv", R, None),
    ("az-kv-show", "az keyvault secret show --vault-name kv --name db", S, None),
    ("az-token", "az account get-access-token", S, None),
    ("az-storage-keys", "az storage account keys list -n acct", S, None),
    ("az-account-set", "az account set --subscription acme-dev", L, None),
    ("az-restart", "az webapp restart --name api --resource-group rg", W, C),
    ("az-settings", "az webapp config appsettings set -g rg -n api --settings A=1", W, C),
    ("az-delete", "az sql db delete -g rg --server s --name orders --yes", W, D),
    ("doctl-list", "doctl compute droplet list", R, None),
    ("doctl-delete", "doctl compute droplet delete web-01 --force", W, D),
    ("eksctl-get", "eksctl get clusters", R, None),
    ("eksctl-delete", "eksctl delete cluster --name main", W, D),
    ("oci-terminate", "oci compute instance terminate --instance-id x", W, D),
    # Reads whose output includes environment variable values.
    (
        "aws-lambda-env",
        "aws lambda get-function-configuration --function-name api --query Environment.Variables",
        S,
        None,
    ),
    ("aws-lambda-config", "aws lambda get-function-configuration --function-name api", S, None),
    (
        "aws-lambda-runtime-only",
        "aws lambda get-function-configuration --function-name api --query Runtime",
        R,
        None,
    ),
    # ECS keeps secrets as valueFrom references: the definition is a read, as
    # ``kubectl get deploy -o yaml``; a --query that picks out the environment is not.
    ("aws-ecs-task-def", "aws ecs describe-task-definition --task-definition api", R, None),
    (
        "aws-ecs-task-def-env",
        "aws ecs describe-task-definition --task-definition api "
        "--query 'taskDefinition.containerDefinitions[].environment'",
        S,
        None,
    ),
    (
        "aws-ecs-task-def-images",
        "aws ecs describe-task-definition --task-definition api "
        "--query 'taskDefinition.containerDefinitions[].image'",
        R,
        None,
    ),
    ("gcloud-functions-describe", "gcloud functions describe fn --region r", R, None),
    (
        "gcloud-functions-describe-runtime",
        "gcloud functions describe fn --format='value(runtime)'",
        R,
        None,
    ),
    ("gcloud-run-describe", "gcloud run services describe api --region europe-west1", R, None),
    ("gcloud-run-describe-export", "gcloud run services describe api --format export", R, None),
    (
        "gcloud-run-describe-env",
        "gcloud run services describe api --format='value(spec.template.spec.containers[0].env)'",
        S,
        None,
    ),
    ("az-appsettings-list", "az webapp config appsettings list -g rg -n api", S, None),
    ("az-connection-strings", "az webapp config connection-string list -g rg -n api", S, None),
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
    assert all(f.target for f in findings)  # an unknown account is still a target


def test_create_access_key_is_a_write_and_a_disclosure() -> None:
    cmd = make_command("aws iam create-access-key --user-name deploy-bot")
    effects = {f.effect for f in HANDLERS["aws"](cmd, MemoryContext())}
    assert effects == {Effect.WRITE, Effect.SECRET}


ENVIRONMENTS = [
    (
        "aws-profile",
        "aws --profile prod ecs update-service --cluster main",
        {},
        Environment.PRODUCTION,
    ),
    (
        "aws-profile-env",
        "aws ecs update-service --cluster main",
        {"AWS_PROFILE": "staging"},
        Environment.STAGING,
    ),
    ("aws-bucket-name", "aws s3 rm s3://acme-prod-exports/x", {}, Environment.PRODUCTION),
    (
        "aws-region-is-not-env",
        "aws --region eu-west-1 ec2 stop-instances --instance-ids i",
        {},
        None,
    ),
    (
        "gcloud-project",
        "gcloud --project acme-dev run services update api",
        {},
        Environment.DEVELOPMENT,
    ),
    (
        "az-subscription",
        "az webapp restart --subscription acme-prod -g rg -n api",
        {},
        Environment.PRODUCTION,
    ),
    ("az-resource-group", "az webapp restart -g rg-staging -n api", {}, Environment.STAGING),
]


@pytest.mark.parametrize(
    ("line", "env", "expected"), [c[1:] for c in ENVIRONMENTS], ids=[c[0] for c in ENVIRONMENTS]
)
def test_environment(line: str, env: dict[str, str], expected: Environment | None) -> None:
    cmd = make_command(line, env=env)
    (finding,) = HANDLERS[cmd.name](cmd, MemoryContext())
    assert finding.environment is expected


def test_gcloud_ssh_command_is_classified_on_the_instance() -> None:
    ctx = MemoryContext()
    cmd = make_command("gcloud compute ssh web-1 --zone z --command 'sudo systemctl restart nginx'")
    HANDLERS["gcloud"](cmd, ctx)
    assert ctx.nested == [("sudo systemctl restart nginx", "gcloud ssh", "web-1")]


def test_az_run_command_scripts_are_classified_on_the_vm() -> None:
    ctx = MemoryContext()
    cmd = make_command(
        "az vm run-command invoke -g rg -n vm1 --command-id RunShellScript --scripts 'rm -rf /data'"
    )
    HANDLERS["az"](cmd, ctx)
    assert ctx.nested == [("rm -rf /data", "az invoke", "vm1")]
