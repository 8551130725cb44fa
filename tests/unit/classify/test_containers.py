"""docker/podman/compose/crictl: the developer's own engine vs a remote one."""

from __future__ import annotations

import pytest

from helpers import MemoryContext, make_command
from opsgate.classify.families.containers import HANDLERS
from opsgate.models import Effect, Environment, Finding, Impact

R, L, W, U, S = Effect.READ, Effect.LOCAL, Effect.WRITE, Effect.UNKNOWN, Effect.SECRET

CASES = [
    ("ps", "docker ps -a", {}, R),
    ("inspect-health", "docker inspect --format '{{.State.Health.Status}}' api", {}, R),
    ("inspect-env", "docker inspect --format '{{range .Config.Env}}{{.}}{{end}}' api", {}, S),
    ("inspect-plain-container", "docker inspect api", {}, S),
    ("inspect-image-ref", "docker inspect postgres:16", {}, R),
    ("compose-config-secret", "docker compose config", {}, S),
    ("compose-config-services", "docker compose config --services", {}, R),
    ("build", "docker build -t api:prod .", {}, L),
    ("pull", "docker pull postgres:16", {}, L),
    ("compose-restart-local", "docker compose restart api", {}, L),
    ("compose-run-tests", "docker compose run --rm api pytest -q", {}, L),
    ("rm-local", "docker rm -f old-api", {}, L),
    ("builder-prune", "docker builder prune -f", {}, L),
    ("run-dev-db", "docker run -d --name pg-dev -p 5432:5432 postgres:16", {}, L),
    ("remote-ps", "docker -H ssh://deploy@app-prod-2 ps", {}, R),
    ("remote-stop", "docker -H ssh://deploy@app-prod-2 stop api", {}, W),
    ("docker-host-rm", "docker rm -f worker", {"DOCKER_HOST": "tcp://10.0.4.20:2376"}, W),
    ("local-socket-host", "docker stop api", {"DOCKER_HOST": "unix:///var/run/docker.sock"}, L),
    ("context-compose-down", "docker --context prod-vm compose -f compose.prod.yml down", {}, W),
    ("prod-compose-file", "docker compose -f docker-compose.prod.yml restart api", {}, W),
    ("prod-container-name", "docker restart api-production", {}, W),
    ("podman-remote", "podman --remote --connection prod-box rm -af", {}, W),
    ("nerdctl-k8s-namespace", "nerdctl -n k8s.io rmi -f abc", {}, W),
    ("crictl-rmp", "crictl rmp -af", {}, W),
    ("crictl-ps", "crictl ps", {}, R),
    ("push", "docker push registry.acme.io/api:latest", {}, W),
    ("buildx-push", "docker buildx build -t r.io/api:1 --push .", {}, W),
    ("service-scale", "docker service scale web=0", {}, W),
    ("secret-ls", "docker secret ls", {}, R),
    ("volume-rm", "docker volume rm pg_data", {}, W),
    ("system-prune", "docker system prune -af", {}, W),
    ("compose-down-volumes", "docker compose down -v", {}, W),
    ("rm-every-container", "docker rm -f $(docker ps -aq)", {}, W),
    ("privileged-run", "docker run --rm -it --privileged alpine sh", {}, W),
    ("root-mount", "docker run --rm -v /:/host alpine ls /host", {}, W),
    ("socket-mount", "docker run -v /var/run/docker.sock:/var/run/docker.sock img", {}, W),
    ("credential-mount", "docker run -v ~/.aws:/root/.aws acme/tools:1 sync", {}, U),
    # A known entrypoint: the container's command is judged as the aws command it is.
    ("credential-mount-known", "docker run -v ~/.aws:/root/.aws amazon/aws-cli s3 ls", {}, L),
    ("credential-mount-named", "docker run -v ~/.aws:/a alpine cat /a/credentials", {}, U),
    ("skopeo-delete", "skopeo delete docker://registry.acme.io/api:1.2.0", {}, W),
    ("unknown-verb", "docker frobnicate", {}, U),
]


@pytest.mark.parametrize(
    ("line", "env", "effect"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_effect(line: str, env: dict[str, str], effect: Effect) -> None:
    cmd = make_command(line, env=env)
    findings = HANDLERS[cmd.name](cmd, MemoryContext())
    assert max(f.effect for f in findings) is effect


def test_ssh_remote_context_makes_local_verbs_writes() -> None:
    ctx = MemoryContext(remote="app-prod-1")
    (finding,) = HANDLERS["docker"](make_command("docker restart api"), ctx)
    assert finding.effect is Effect.WRITE
    assert finding.target == "app-prod-1"


def test_remote_rm_is_destructive_and_names_the_host() -> None:
    cmd = make_command("docker -H ssh://ops@db-prod-1 rm -f postgres")
    (finding,) = HANDLERS["docker"](cmd, MemoryContext())
    assert finding.impact is Impact.DESTRUCTIVE
    assert finding.target == "ssh://ops@db-prod-1"
    assert finding.environment is Environment.PRODUCTION


def test_local_compose_restart_is_caution_but_local() -> None:
    (finding,) = HANDLERS["docker"](make_command("docker compose restart api"), MemoryContext())
    assert (finding.effect, finding.impact) == (Effect.LOCAL, Impact.CAUTION)
    assert finding.environment is Environment.LOCAL


@pytest.mark.parametrize(
    ("line", "script", "remote"),
    [
        (
            "docker exec pg psql -U postgres -c 'DROP DATABASE app'",
            "psql -U postgres -c 'DROP DATABASE app'",
            "pg",
        ),
        ("docker compose exec -T api python manage.py flush", "python manage.py flush", "api"),
        ("docker -H ssh://d@app-prod-2 exec api ls", "ls", "ssh://d@app-prod-2/api"),
        (
            "crictl exec -it abc123 cat /etc/hosts",
            "cat /etc/hosts",
            "Kubernetes node runtime/abc123",
        ),
    ],
    ids=["docker-exec", "compose-exec", "remote-exec", "crictl-exec"],
)
def test_exec_classifies_inner_command_as_remote(line: str, script: str, remote: str) -> None:
    ctx = MemoryContext()
    cmd = make_command(line)
    HANDLERS[cmd.name](cmd, ctx)
    assert ctx.nested[0][0] == script
    assert ctx.nested[0][2] == remote


def test_exec_option_in_inner_command_is_not_a_docker_option() -> None:
    # psql's -c is not docker's -c/--context.
    ctx = MemoryContext()
    findings = HANDLERS["docker"](make_command("docker exec pg psql -c 'SELECT 1'"), ctx)
    assert findings[0].target == "pg"


def test_exec_interactive_shell_is_unknown() -> None:
    ctx = MemoryContext()
    findings = HANDLERS["docker"](make_command("docker exec -it api bash"), ctx)
    assert any(f.effect is Effect.UNKNOWN for f in findings)
    assert ctx.nested == []


def test_run_with_project_mount_judges_its_command() -> None:
    ctx = MemoryContext()
    HANDLERS["docker"](make_command('docker run --rm -v "$PWD":/src -w /src node:20 npm ci'), ctx)
    assert ctx.nested == [("npm ci", "docker run", None)]


class _SecretShell(MemoryContext):
    """A context whose nested classifier reports ``env``/``printenv`` as secret reads
    and everything else as a write, like the real shell classifier would."""

    def classify_shell(
        self, script: str, *, via: str, remote: str | None = None, cwd: str | None = None
    ) -> list[Finding]:
        self.nested.append((script, via, remote))
        effect = Effect.SECRET if script.split()[0] in ("env", "printenv") else Effect.WRITE
        return [Finding("nested", Impact.CAUTION, effect, script, "nested")]


@pytest.mark.parametrize(
    ("line", "script"),
    [
        pytest.param("docker run --rm --env-file .env alpine env", "env", id="docker-run-env"),
        pytest.param(
            "docker compose run --rm web printenv DATABASE_URL",
            "printenv DATABASE_URL",
            id="compose-run-printenv",
        ),
        pytest.param(
            "docker compose run --rm -e A=1 --name x web env", "env", id="compose-run-options"
        ),
    ],
)
def test_local_container_printing_env_is_secret(line: str, script: str) -> None:
    ctx = _SecretShell()
    cmd = make_command(line)
    found = HANDLERS[cmd.name](cmd, ctx)
    assert [s for s, _via, _remote in ctx.nested] == [script]
    assert any(f.effect is Effect.SECRET for f in found)


def test_local_container_command_writes_stay_in_the_container() -> None:
    ctx = _SecretShell()
    found = HANDLERS["docker"](make_command("docker compose run --rm web rm -rf /tmp/x"), ctx)
    assert all(f.effect is not Effect.WRITE for f in found)
