"""Request and response bodies: Pydantic at the edge only (untrusted input), with
converters from the service's frozen values.  Nothing here can carry a password
hash, a token secret (except ``TokenCreated``, once) or a session secret."""

from __future__ import annotations

from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from opsgate.approvals.model import Card, Grant, Role, Settings, User
from opsgate.approvals.service import TokenInfo
from opsgate.environments import InventoryTarget
from opsgate.models import Action, FileRead
from opsgate.policy.model import MAX_TTL_SECONDS, MIN_TTL_SECONDS

__all__ = [
    "ActionIn",
    "CardOut",
    "GrantOut",
    "SettingsOut",
    "TargetOut",
    "TokenOut",
    "UserOut",
    "card_out",
    "grant_out",
    "settings_out",
    "target_out",
    "token_out",
    "user_out",
]

_Name = Field(min_length=1, max_length=200)
RoleName = Literal["viewer", "member", "admin", "owner", "agent"]
PersonRole = Literal["viewer", "member", "admin", "owner"]
EnvName = Literal["production", "staging", "development", "local"]
Access = Literal["full", "read_only", "no_access"]
ImpactName = Literal["safe", "caution", "destructive"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


MAX_INPUT_DEPTH = 64  # no tool's input nests deeper; deeper is an attack on the parsers


def input_problem(value: Any) -> str | None:
    """Why a tool input cannot be decided on, or None.  Too deep: the classifier
    and the audit encoder recurse.  A lone surrogate (JSON's "\\ud800" escape): no
    program receives such a string, and it cannot be stored as UTF-8."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and any("\ud800" <= c <= "\udfff" for c in item):
                return "a string holds a lone UTF-16 surrogate"
        elif isinstance(item, dict | list):
            if depth >= MAX_INPUT_DEPTH:
                return f"the input nests deeper than {MAX_INPUT_DEPTH} levels"
            children = list(item.keys()) + list(item.values()) if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


# Bounds of what a proposal may carry (the connected hook reads within the same).
MAX_FILES = 32
MAX_FILE_CHARS = 64 * 1024
MAX_FILES_CHARS = 256 * 1024


class FileIn(Strict):
    """A file the hook read on the agent's machine for this action's classification.
    The control plane classifies with ``text`` (checked against ``sha256``) and binds
    a grant to ``sha256``; it never stores or shows the text."""

    path: str = Field(min_length=1, max_length=4096)
    sha256: str = Field(
        default="",
        pattern=r"^([0-9a-f]{64})?$",
        description="of the file's bytes; empty when missing or too large",
    )
    text: str | None = Field(
        default=None, max_length=MAX_FILE_CHARS, description="the file as UTF-8 text, or null"
    )

    @model_validator(mode="after")
    def _hash_matches(self) -> FileIn:
        if self.text is not None:
            import hashlib

            if hashlib.sha256(self.text.encode("utf-8")).hexdigest() != self.sha256:
                raise ValueError(f"the sha256 of {self.path} does not match its text")
        return self


class ActionIn(Strict):
    tool: str = Field(min_length=1, max_length=200, description="the agent's tool: Bash, Read…")
    input: dict[str, Any] = Field(description="the tool's input, e.g. {'command': 'ls'}")
    cwd: str | None = Field(default=None, max_length=4096)
    project_dir: str | None = Field(default=None, max_length=4096)
    session: str | None = Field(default=None, max_length=200)
    files: list[FileIn] = Field(
        default_factory=list,
        max_length=MAX_FILES,
        description="files the action reads, as the hook read them on the agent's machine; "
        "the control plane never reads its own disk",
    )
    context: dict[str, str] = Field(
        default_factory=dict,
        max_length=512,  # facts include what is at each path a command would run
        description="the resolved context where the agent runs (git.branch, kube.context, "
        "aws.profile, …; values that select a target only as sha256:…); a grant binds to it",
    )

    # Field validators, not model validators: they do not run when the field is left
    # out (most requests), so the hot routes pay nothing for them.
    @field_validator("files")
    @classmethod
    def _bounded_files(cls, files: list[FileIn]) -> list[FileIn]:
        if sum(len(f.text or "") for f in files) > MAX_FILES_CHARS:
            raise ValueError(f"files carry more than {MAX_FILES_CHARS} characters of text")
        return files

    @field_validator("context")
    @classmethod
    def _bounded_context(cls, context: dict[str, str]) -> dict[str, str]:
        for key, value in context.items():
            if len(key) > 4200 or len(value) > 1000:
                raise ValueError(f"context entry {key[:40]!r} is too long")
        return context

    @field_validator("input", "tool", "cwd", "project_dir", "session", mode="before")
    @classmethod
    def _decidable(cls, value: Any) -> Any:
        problem = input_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    def action(self, agent: str, *, context_complete: bool = True) -> Action:
        return Action(
            "",
            self.tool,
            dict(self.input),
            cwd=self.cwd,
            project_dir=self.project_dir or self.cwd,
            agent=agent,
            session=self.session,
            files=tuple(FileRead(f.path, f.sha256, f.text) for f in self.files),
            context=tuple(sorted(self.context.items())),
            context_complete=context_complete,
        )


class ProposeIn(ActionIn):
    reasoning: str = Field(default="", max_length=20_000)
    rollback: str = Field(default="", max_length=20_000)
    context_on_demand: bool = Field(
        default=False,
        description="the ambient context was left out: answer context_required instead of "
        "creating a card, and the caller proposes again with it",
    )

    def action(self, agent: str, *, context_complete: bool = True) -> Action:
        return super().action(agent, context_complete=not self.context_on_demand)


class LoginIn(Strict):
    name: str = _Name
    password: str = Field(min_length=1, max_length=1024)


class ApproveIn(Strict):
    confirmation: str | None = Field(default=None, max_length=1000)


class DenyIn(Strict):
    # Optional: the agent reads it on the card (and in its answer); without one the
    # card says who denied it.
    reason: str = Field(default="", max_length=2000)


class UserIn(Strict):
    name: str = _Name
    password: str = Field(min_length=8, max_length=1024)
    role: PersonRole = "viewer"


class RoleIn(Strict):
    role: PersonRole


class PasswordIn(Strict):
    password: str = Field(min_length=8, max_length=1024)
    current: str | None = Field(default=None, max_length=1024)  # your own: your password now


class TokenIn(Strict):
    name: str = _Name
    role: RoleName = "agent"


class TargetIn(Strict):
    kind: Literal["server", "site", "database", "backup", "cluster"]
    environment: EnvName
    access: Access = "full"
    match: list[str] = Field(default_factory=list, max_length=100)
    # How the executor reaches the target; credentials only as ``secret:NAME``.
    connection: dict[str, str] = Field(default_factory=dict, max_length=32)


class SettingsPatch(Strict):
    production_protection: bool | None = None
    write_actions: bool | None = None
    approval_ttl_seconds: int | None = Field(default=None, ge=MIN_TTL_SECONDS, le=MAX_TTL_SECONDS)
    two_approvers_for_destructive_production: bool | None = None


class UserOut(BaseModel):
    id: str
    name: str
    role: RoleName
    disabled: bool


class SessionOut(BaseModel):
    user: UserOut | None
    principal: PrincipalOut


class PrincipalOut(BaseModel):
    id: str
    name: str
    role: RoleName
    kind: str


class TokenOut(BaseModel):
    id: str
    name: str
    role: RoleName
    created_by: str
    created_at: float
    last_used_at: float | None
    revoked: bool
    prefix: str


class TokenCreated(BaseModel):
    token: TokenOut
    secret: str = Field(description="shown once; store it now")


class ApprovalOut(BaseModel):
    id: str
    name: str
    at: float


class UsedOut(BaseModel):
    at: float
    by: str = Field(description="the agent (token) whose identical retry used the approval")
    grant: str
    audit_seq: int | None = Field(default=None, description="the retry's grant.used audit entry")


class CardOut(BaseModel):
    id: str
    state: str
    created_at: float
    expires_at: float
    description: str
    target: str
    environment: EnvName
    impact: ImpactName
    action_kind: str
    action: dict[str, Any]
    requested_by: str
    requested_by_name: str
    reasoning: str
    rollback: str = Field(description="the rollback plan given with the request")
    undo: str = Field(
        default="",
        description="the rollback plan opsgate knows for the action; empty: none known",
    )
    confirm: str | None
    approvers_needed: int
    approvals: list[str]
    decided_by: str | None
    decided_at: float | None
    reason: str | None
    link: str
    binding: dict[str, Any] = Field(
        default_factory=dict,
        description="what the approval also covers: cwd, the files read (path, sha256) "
        "and the resolved context; a retry after any of it changed needs a new card",
    )
    approved_by: list[ApprovalOut] = Field(
        default_factory=list, description="who approved, in order (both, where two are needed)"
    )
    used: UsedOut | None = Field(
        default=None, description="state used: which retry used the approval, and when"
    )
    irreversible: bool = Field(
        default=False,
        description="destructive, and no rollback plan known or given: it cannot be undone",
    )


class CardPage(BaseModel):
    items: list[CardOut]
    next_cursor: str | None
    total: int | None


class GrantOut(BaseModel):
    id: str
    card_id: str
    created_at: float
    expires_at: float
    uses_left: int


class GrantAnswer(BaseModel):
    matched: bool
    grant: GrantOut | None


class ProposeOut(BaseModel):
    decision: dict[str, Any]
    card: CardOut | None
    grant: GrantOut | None
    link: str | None
    context_required: bool = Field(
        default=False,
        description="a card is due but context_on_demand left the context out: "
        "propose again with it (no card was created)",
    )


class TargetOut(BaseModel):
    name: str
    kind: str
    environment: EnvName
    access: Access
    match: list[str]
    connection: dict[str, str] = Field(default_factory=dict)


class SettingsOut(BaseModel):
    production_protection: bool
    write_actions: bool
    approval_ttl_seconds: int
    two_approvers_for_destructive_production: bool


class AuditPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


class VerifyOut(BaseModel):
    ok: bool
    entries: int
    head_seq: int
    summary: str
    problems: list[dict[str, Any]]
    warnings: list[str]


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class Ready(BaseModel):
    status: Literal["ready", "unavailable"]
    version: str
    checks: dict[str, Literal["ok", "unavailable", "timeout"]] = Field(
        description="each check: the control-plane database (store) and the audit log (audit)"
    )


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, name=user.name, role=Role(user.role).value, disabled=user.disabled)


def token_out(info: TokenInfo) -> TokenOut:
    return TokenOut(
        id=info.id,
        name=info.name,
        role=Role(info.role).value,
        created_by=info.created_by,
        created_at=info.created_at,
        last_used_at=info.last_used_at,
        revoked=info.revoked,
        prefix=info.prefix,
    )


def card_out(card: Card, base_url: str) -> CardOut:
    from opsgate.approvals._describe import shown

    card = shown(card)  # agent-controlled text, redacted on its way out
    return CardOut(
        id=card.id,
        state=card.state.value,
        created_at=card.created_at,
        expires_at=card.expires_at,
        description=card.description,
        target=card.target,
        environment=cast(EnvName, card.environment.label),
        impact=cast(ImpactName, card.impact.label),
        action_kind=card.action_kind,
        action=dict(card.action),
        requested_by=card.requested_by,
        requested_by_name=card.requested_by_name,
        reasoning=card.reasoning,
        rollback=card.rollback,
        undo=card.undo,
        confirm=card.confirm,
        approvers_needed=card.approvers_needed,
        approvals=list(card.approvals),
        decided_by=card.decided_by,
        decided_at=card.decided_at,
        reason=card.reason,
        link=card_link(base_url, card.id),
        binding=dict(card.binding),
        **_lifecycle_out(card),
    )


def _lifecycle_out(card: Card) -> dict[str, Any]:
    """Who approved, which retry used it, whether it can be undone (approvals._lifecycle)."""
    from opsgate.approvals._lifecycle import used_by

    used = used_by(card)
    return {
        "approved_by": [ApprovalOut(id=a.id, name=a.name, at=a.at) for a in card.approved_by],
        "used": UsedOut(at=float(used.get("at") or 0), by=str(used.get("by") or ""),
                        grant=str(used.get("grant") or ""), audit_seq=used.get("audit_seq"))
        if used else None,
        "irreversible": card.irreversible,
    }  # fmt: skip


def card_link(base_url: str, card_id: str) -> str:
    return f"{base_url.rstrip('/')}/cards/{card_id}"


def grant_out(grant: Grant) -> GrantOut:
    # The action hash is not secret, but it is an internal binding; clients need none.
    return GrantOut(
        id=grant.id,
        card_id=grant.card_id,
        created_at=grant.created_at,
        expires_at=grant.expires_at,
        uses_left=grant.uses_left,
    )


def settings_out(s: Settings) -> SettingsOut:
    return SettingsOut(
        production_protection=s.production_protection,
        write_actions=s.write_actions,
        approval_ttl_seconds=s.approval_ttl_seconds,
        two_approvers_for_destructive_production=s.two_approvers_for_destructive_production,
    )


def target_out(t: InventoryTarget) -> TargetOut:
    return TargetOut(
        name=t.name,
        kind=t.kind,
        environment=cast(EnvName, t.environment.label),
        access=cast(Access, t.access),
        match=list(t.match),
        connection=dict(t.connection),
    )


SessionOut.model_rebuild()
