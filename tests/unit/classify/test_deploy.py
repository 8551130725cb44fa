"""Deploy family: hosting CLIs and the forge CLIs."""

from __future__ import annotations

import pytest

from helpers import MemoryContext, make_command
from opsgate.classify.families.deploy import HANDLERS
from opsgate.models import Effect, Environment, Finding, Impact

R, L, W, U, S = Effect.READ, Effect.LOCAL, Effect.WRITE, Effect.UNKNOWN, Effect.SECRET
SAFE, CAUTION, DESTRUCTIVE = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE

CASES = [
    ("vercel-prod", "vercel deploy --prod", W, CAUTION),
    ("vercel-ls", "vercel ls", R, SAFE),
    ("vercel-env-pull", "vercel env pull .env.local", S, CAUTION),
    ("vercel-pull", "vercel pull --environment=production", S, CAUTION),
    ("vercel-env-ls", "vercel env ls", R, SAFE),
    ("vercel-rm", "vercel rm my-app --yes", W, DESTRUCTIVE),
    ("vercel-dev", "vercel dev", L, SAFE),
    ("netlify-env-list", "netlify env:list", S, CAUTION),
    ("netlify-sites-delete", "netlify sites:delete abc", W, DESTRUCTIVE),
    ("fly-apps-destroy", "flyctl apps destroy acme-api --yes", W, DESTRUCTIVE),
    ("fly-status", "flyctl status --app acme-api", R, SAFE),
    ("fly-deploy", "fly deploy", W, CAUTION),
    ("fly-scale", "fly scale count 3", W, CAUTION),
    ("fly-secrets-set", "fly secrets set FOO=bar", W, CAUTION),
    ("fly-secrets-list", "fly secrets list", R, SAFE),
    ("fly-volume-destroy", "fly volumes destroy vol_1", W, DESTRUCTIVE),
    ("fly-machine-destroy", "fly machine destroy 123", W, DESTRUCTIVE),
    ("fly-ssh-interactive", "fly ssh console", U, CAUTION),
    (
        "heroku-pg-reset",
        "heroku pg:reset DATABASE_URL --app acme-api --confirm acme-api",
        W,
        DESTRUCTIVE,
    ),
    ("heroku-scale-zero", "heroku ps:scale web=0 --app acme-api", W, CAUTION),
    ("heroku-logs", "heroku logs --num 200 --app acme-api", R, SAFE),
    ("heroku-config", "heroku config --app acme-api", S, CAUTION),
    ("heroku-config-get", "heroku config:get DATABASE_URL -a acme-api", S, CAUTION),
    ("heroku-config-set", "heroku config:set FOO=bar -a acme-api", W, CAUTION),
    ("heroku-rollback", "heroku releases:rollback v12 -a acme-api", W, CAUTION),
    ("heroku-restart", "heroku restart -a acme-api", W, CAUTION),
    ("heroku-auth-token", "heroku auth:token", S, CAUTION),
    ("firebase-deploy", "firebase deploy", W, CAUTION),
    ("firestore-delete", "firebase firestore:delete --all-collections", W, DESTRUCTIVE),
    ("firebase-emulators", "firebase emulators:start", L, SAFE),
    ("wrangler-deploy", "wrangler deploy", W, CAUTION),
    ("wrangler-secret-put", "wrangler secret put API_KEY", W, CAUTION),
    ("wrangler-secret-list", "wrangler secret list", R, SAFE),
    ("wrangler-d1-drop", "wrangler d1 execute db --command 'DROP TABLE users'", W, DESTRUCTIVE),
    ("wrangler-d1-select", "wrangler d1 execute db --command 'SELECT 1'", R, SAFE),
    ("wrangler-d1-local", "wrangler d1 execute db --local --command 'DROP TABLE t'", L, SAFE),
    ("wrangler-d1-unseen", "wrangler d1 execute db", U, CAUTION),
    ("railway-up", "railway up", W, CAUTION),
    ("railway-variables", "railway variables", S, CAUTION),
    ("gh-repo-delete", "gh repo delete acme/payments-api --yes", W, DESTRUCTIVE),
    ("gh-api-delete", "gh api -X DELETE repos/acme/api/git/refs/heads/release-1.4", W, DESTRUCTIVE),
    ("gh-api-get", "gh api repos/acme/api/pulls", R, SAFE),
    ("gh-api-field-posts", "gh api repos/acme/api/issues -f title=x", W, CAUTION),
    ("gh-graphql-query", "gh api graphql -f query='query { viewer { login } }'", R, SAFE),
    ("gh-graphql-mutation", "gh api graphql -f query='mutation { x }'", W, CAUTION),
    ("gh-pr-merge", "gh pr merge 412 --admin --squash", W, CAUTION),
    ("gh-pr-approve", "gh pr review 12 --approve", W, CAUTION),
    ("gh-release-delete", "gh release delete v2.3.0 --cleanup-tag --yes", W, DESTRUCTIVE),
    ("gh-release-create", "gh release create v1.0.0", W, CAUTION),
    ("gh-pr-create", "gh pr create --fill --base main", L, SAFE),
    ("gh-pr-view", "gh pr view 412 --comments", L, SAFE),
    ("gh-run-list", "gh run list --branch main --limit 10", L, SAFE),
    ("gh-issue-search", "gh issue list --search 'terraform destroy' --state all", L, SAFE),
    ("gh-secret-set", "gh secret set FOO", W, CAUTION),
    ("gh-workflow-run", "gh workflow run deploy.yml", W, CAUTION),
    ("gh-repo-edit", "gh repo edit --visibility public", W, CAUTION),
    ("gh-auth-token", "gh auth token", S, CAUTION),
    ("gh-auth-status", "gh auth status", L, SAFE),
    ("gh-auth-status-token", "gh auth status -t", S, CAUTION),
    ("gh-gist-env", "gh gist create .env", S, CAUTION),
    ("gh-extension-unknown", "gh copilot suggest", U, CAUTION),
    ("glab-mr-merge", "glab mr merge 12", W, CAUTION),
    ("glab-variable-get", "glab variable get FOO", S, CAUTION),
]


def _classify(line: str, ctx: MemoryContext | None = None) -> list[Finding]:
    cmd = make_command(line)
    return HANDLERS[cmd.name](cmd, ctx or MemoryContext())


@pytest.mark.parametrize(
    ("line", "effect", "impact"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_effect_and_impact(line: str, effect: Effect, impact: Impact) -> None:
    findings = _classify(line)
    assert findings
    assert max(f.effect for f in findings) is effect
    assert max(f.impact for f in findings) is impact


@pytest.mark.parametrize(
    ("line", "environment"),
    [
        ("vercel --prod", Environment.PRODUCTION),
        ("vercel", Environment.DEVELOPMENT),
        ("netlify deploy --prod", Environment.PRODUCTION),
        ("netlify deploy", Environment.DEVELOPMENT),
        ("firebase deploy -P staging", Environment.STAGING),
    ],
    ids=["vercel-prod", "vercel-preview", "netlify-prod", "netlify-draft", "firebase-project"],
)
def test_deploy_environment(line: str, environment: Environment) -> None:
    (finding,) = _classify(line)
    assert finding.effect is W
    assert finding.environment is environment


def test_app_name_is_the_target() -> None:
    (finding,) = _classify("heroku ps:scale web=0 --app acme-prod")
    assert finding.target == "acme-prod"
    assert finding.environment is Environment.PRODUCTION


@pytest.mark.parametrize(
    ("line", "script", "remote"),
    [
        ("heroku run rails db:migrate -a acme-api", "rails db:migrate", "acme-api"),
        ("fly ssh console -a api -C 'rm -rf /data'", "rm -rf /data", "api"),
    ],
    ids=["heroku-run", "fly-ssh-command"],
)
def test_remote_commands_are_classified_on_the_app(line: str, script: str, remote: str) -> None:
    ctx = MemoryContext()
    _classify(line, ctx)
    assert [(s, r) for s, _, r in ctx.nested] == [(script, remote)]
