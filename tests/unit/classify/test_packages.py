"""Packages family: system managers, global tools, project installs, publishing."""

from __future__ import annotations

import pytest

from helpers import MemoryContext, make_command
from opsgate.classify.families.packages import HANDLERS
from opsgate.models import Effect, Finding, Impact

R, L, W, S = Effect.READ, Effect.LOCAL, Effect.WRITE, Effect.SECRET
SAFE, CAUTION, DESTRUCTIVE = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE

CASES = [
    # system package managers
    ("apt-purge-ssh", "apt-get remove --purge -y openssh-server", W, DESTRUCTIVE),
    ("apt-remove-sudo", "apt-get remove -y sudo", W, DESTRUCTIVE),
    ("apt-remove-plain", "apt-get remove -y nano", W, CAUTION),
    ("apt-install", "apt-get install -y jq", W, CAUTION),
    ("apt-update-index", "apt update", L, SAFE),
    ("apt-search", "apt search jq", R, SAFE),
    ("apt-simulate", "apt-get -s install jq", R, SAFE),
    ("dnf-install", "dnf install -y htop", W, CAUTION),
    ("dpkg-install", "dpkg -i foo.deb", W, CAUTION),
    ("dpkg-purge", "dpkg -P nginx", W, DESTRUCTIVE),
    ("dpkg-list", "dpkg -l", R, SAFE),
    ("pacman-upgrade", "pacman -Syu", W, CAUTION),
    ("pacman-search", "pacman -Ss vim", R, SAFE),
    ("pacman-remove-config", "pacman -Rns vim", W, DESTRUCTIVE),
    ("snap-install", "snap install code --classic", W, CAUTION),
    ("brew-install-global", "brew install jq", W, CAUTION),
    ("brew-list", "brew list", R, SAFE),
    # global tool installs
    ("npm-install-global", "npm install -g typescript", W, CAUTION),
    ("yarn-global-add", "yarn global add serve", W, CAUTION),
    ("pnpm-add-global", "pnpm add -g pnpm", W, CAUTION),
    ("pipx-install", "pipx install ruff", W, CAUTION),
    ("cargo-install", "cargo install ripgrep", W, CAUTION),
    ("go-install-remote", "go install golang.org/x/tools/gopls@latest", W, CAUTION),
    ("gem-install", "gem install bundler", W, CAUTION),
    ("pip-break-system", "pip install --break-system-packages requests", W, CAUTION),
    ("npm-config-set-registry", "npm config set registry http://203.0.113.7:4873/", W, CAUTION),
    # project work
    ("npm-install", "npm install", L, SAFE),
    ("npm-ci", "npm ci --prefer-offline", L, SAFE),
    ("pnpm-add-dev", "pnpm add -D vitest", L, SAFE),
    ("yarn-frozen", "yarn install --frozen-lockfile", L, SAFE),
    ("pip-requirements", "pip install -r requirements.txt", L, SAFE),
    ("pip-editable", "pip install -e '.[dev]'", L, SAFE),
    ("pip-user", "pip install --user httpie", L, SAFE),
    ("pip-list", "pip list --outdated", R, SAFE),
    ("uv-sync", "uv sync", L, SAFE),
    ("poetry-install", "poetry install --with dev", L, SAFE),
    ("go-install-local", "go install ./cmd/server", L, SAFE),
    ("gradle-maven-local", "gradle publishToMavenLocal", L, SAFE),
    ("npm-pack-dry", "npm pack --dry-run", L, SAFE),
    ("npm-publish-dry", "npm publish --dry-run", R, SAFE),
    ("npm-dist-tag-ls", "npm dist-tag ls @acme/sdk", R, SAFE),
    # publishing
    ("npm-publish", "npm publish --access public", W, CAUTION),
    ("npm-unpublish", "npm unpublish @acme/sdk@1.4.0 --force", W, DESTRUCTIVE),
    ("npm-deprecate", "npm deprecate @acme/sdk@<2 'use v2'", W, CAUTION),
    ("npm-dist-tag-add", "npm dist-tag add @acme/sdk@2.0.0 latest", W, CAUTION),
    ("yarn-berry-publish", "yarn npm publish", W, CAUTION),
    ("twine-upload", "twine upload dist/*", W, CAUTION),
    ("poetry-publish-no-interaction", "poetry publish -n", W, CAUTION),
    ("uv-publish", "uv publish", W, CAUTION),
    ("cargo-publish", "cargo publish", W, CAUTION),
    ("cargo-yank", "cargo yank --version 1.0.0", W, CAUTION),
    ("gem-push", "gem push acme-sdk-1.4.0.gem", W, CAUTION),
    ("gem-yank", "gem yank acme-sdk -v 1.4.0", W, DESTRUCTIVE),
    ("mvn-deploy", "mvn -q deploy", W, CAUTION),
    ("gradle-publish", "gradle :lib:publish", W, CAUTION),
    ("dotnet-nuget-push", "dotnet nuget push x.nupkg", W, CAUTION),
    ("npm-token-get", "npm config get //registry.npmjs.org/:_authToken", S, CAUTION),
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
    ("line", "target"),
    [
        ("npm publish", "registry.npmjs.org"),
        ("twine upload -r testpypi dist/*", "testpypi"),
        ("cargo publish", "crates.io"),
        ("gem push x.gem", "rubygems.org"),
    ],
    ids=["npm", "twine-named-repo", "cargo", "gem"],
)
def test_publish_targets_the_registry(line: str, target: str) -> None:
    (finding,) = _classify(line)
    assert finding.category == "package.publish"
    assert finding.target == target


def test_publish_to_a_local_registry_is_local() -> None:
    (finding,) = _classify("npm publish --registry http://localhost:4873")
    assert finding.effect is L


@pytest.mark.parametrize("line", ["npm run build", "npm test", "yarn build", "bun x vitest"])
def test_script_runners_are_left_to_the_walker(line: str) -> None:
    assert _classify(line) == []


@pytest.mark.parametrize(
    ("line", "inner", "via"),
    [
        ("pipx run black .", "black .", "pipx run"),
        ("uvx ruff check", "ruff check", "uvx"),
        ("uv tool run ruff check", "ruff check", "uv tool run"),
    ],
    ids=["pipx-run", "uvx", "uv-tool-run"],
)
def test_tool_runners_classify_the_inner_command(line: str, inner: str, via: str) -> None:
    ctx = MemoryContext()
    assert _classify(line, ctx) == []
    assert ctx.nested == [(inner, via, None)]
