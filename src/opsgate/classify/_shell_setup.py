"""Programs whose output is their own shell set-up code: ``eval "$(ssh-agent -s)"``.

``eval "$(pyenv init -)"``, ``source <(kubectl completion bash)``: the text a shell
then runs is variable assignments, completion functions and hooks that the tool
writes about itself, the same on every machine.  Judging it as code nobody can see
(``unknown``) stops everyday set-up; the generator itself is still judged as the
command it is.  Only the exact forms below count: ``ssh-agent bash`` runs a shell,
``pyenv exec …`` runs a program, and they are judged as such.
"""

from __future__ import annotations

from opsgate.classify._command import Command

__all__ = ["prints_shell_setup"]

_SHELLS = frozenset({"bash", "zsh", "fish", "sh", "ksh", "powershell", "pwsh", "elvish",
                     "nushell", "nu", "tcsh", "xonsh"})  # fmt: skip
# ``TOOL completion SHELL`` (and ``completions``): cobra, clap and click tools.
_COMPLETERS = frozenset({
    "kubectl", "helm", "gh", "glab", "docker", "podman", "npm", "pnpm", "kind", "minikube",
    "flux", "argocd", "k9s", "eksctl", "doctl", "kubeadm", "oc", "istioctl", "velero",
    "cilium", "hugo", "deno", "rustup", "poetry", "pip", "pip3", "uv", "ruff", "just",
    "task", "kustomize", "skaffold", "tilt", "k3d", "kops", "linkerd", "stern", "yq",
    "gitleaks", "trivy", "golangci-lint", "buf", "dagger", "pulumi", "fly", "flyctl",
    "vercel", "wrangler", "supabase", "railway", "hcloud", "op", "vault", "consul",
    "nomad", "terraform-docs", "starship", "rclone", "restic", "cosign", "crane", "ko",
})  # fmt: skip
# Version managers and shell hooks: program -> the word lists that print set-up code.
_SETUP: dict[str, tuple[tuple[str, ...], ...]] = {
    "ssh-agent": ((), ("-s",), ("-c",)),
    "pyenv": (("init", "-"), ("init", "--path"), ("virtualenv-init", "-"), ("init",)),
    "rbenv": (("init", "-"), ("init",)), "nodenv": (("init", "-"),), "goenv": (("init", "-"),),
    "jenv": (("init", "-"),), "plenv": (("init", "-"),), "phpenv": (("init", "-"),),
    "fnm": (("env",), ("env", "--use-on-cd")), "brew": (("shellenv",),), "opam": (("env",),),
    "dircolors": ((), ("-b",), ("-c",)), "luarocks": (("path",),),
    "thefuck": (("--alias",),), "minikube": (("docker-env",), ("podman-env",)),
    "keychain": (("--eval",),),
}  # fmt: skip
# ``TOOL init SHELL`` / ``TOOL hook SHELL`` / ``TOOL activate SHELL``.
_SHELL_VERB: dict[str, str] = {
    "direnv": "hook", "zoxide": "init", "starship": "init", "mise": "activate",
    "rtx": "activate", "atuin": "init", "mcfly": "init", "navi": "widget",
}  # fmt: skip


def prints_shell_setup(cmd: Command) -> bool:
    """Whether ``cmd`` (all its words known) only prints its own shell set-up code."""
    if not all(a.static for a in cmd.args):
        return False
    words = tuple(cmd.words)
    name = cmd.name
    if name in _COMPLETERS and len(words) >= 1 and words[0] in ("completion", "completions"):
        return len(words) == 1 or (words[1] in _SHELLS and len(words) == 2)
    if name in _SETUP:
        return words in _SETUP[name]
    verb = _SHELL_VERB.get(name)
    if verb is not None:
        return len(words) == 2 and words[0] == verb and words[1] in _SHELLS
    if name == "conda":
        return len(words) == 2 and words[1] == "hook" and words[0].startswith("shell.")
    if name == "fzf":
        return words in (("--bash",), ("--zsh",), ("--fish",))
    return False
