"""Request and response models of the API: one module, shared by every router (and by the web pages).

Class names are the OpenAPI component names: renaming one changes the published contract. Every
request body derives :class:`credo.api.text.ApiModel` (no control characters, at any depth).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from credo.api.text import ApiModel
from credo.events import EVENT_TYPES
from credo.policy.circles import (
    BADGE_CODES,
    BAND_NAMES,
    CIRCLE_NAME_MAX,
    DEFAULT_INVITATION_HOURS,
    MAX_INVITATION_HOURS,
    MAX_USES,
    MIN_INVITATION_HOURS,
    NAME_MAX,
    Sharing,
)
from credo.service import access

Text = Field(min_length=1, max_length=128)


class Registration(ApiModel):
    username: str = Field(min_length=3, max_length=128, pattern=r"^[A-Za-z0-9._@+-]+$")
    password: str = Field(min_length=1, max_length=1024)


class Account(BaseModel):
    account_id: str
    consumer_id: str


class Login(ApiModel):
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class Session(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime


class Me(BaseModel):
    account_id: str
    consumer_id: str
    username: str
    created_at: datetime
    enrolled_at: datetime


class FactorGroupOut(BaseModel):
    group: str
    name: str
    weight: float | None = Field(None, description=(
        "The group's weight in percent, computed from the serving model (share of its point range, or of "
        "its mean contribution for the challenger)."))
    points: int
    max_points: int
    grade: Literal["A", "B", "C", "D", "E"]


class ReasonOut(BaseModel):
    code: str
    text: str
    action: str
    group: str


class ScoreOut(BaseModel):
    status: Literal["scored", "not_enough_data"]
    score: int | None
    band: str | None
    score_range: list[int]
    as_of: datetime
    model_version: str
    factor_groups: list[FactorGroupOut]
    reasons: list[ReasonOut] = Field(max_length=5)
    dispute_adjusted: bool
    how_to_become_scorable: str | None = None


class HistoryPoint(BaseModel):
    as_of: datetime
    scored_at: datetime
    score: int | None
    band: str | None
    status: str
    model_version: str
    kind: Literal["online", "batch"]


class WhatIf(ApiModel):
    changes: dict[str, Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)] | None] = Field(
        min_length=1, max_length=30, description=(
            "Input name → hypothetical value, in the unit GET /v1/me/score/what-if lists for it: percentages "
            "0-100 for ratios (80 = 80 %), money in major units of the currency shown (1234.5 = 1,234.50), "
            "whole counts, days and months, levels by number; null empties an input that may be empty. "
            "Raising an input that means debt, credit or applications is refused (WHATIF_ADDS_DEBT)."))


class CurrentBrief(BaseModel):
    status: str
    score: int | None
    band: str | None


class WhatIfOut(BaseModel):
    estimate: Literal[True]
    label: str
    units: str
    current: CurrentBrief
    estimated: ScoreOut
    changes: dict[str, float | None] = Field(description="The changes as given, in the units listed.")


class LevelOut(BaseModel):
    value: int
    label: str


class WhatIfInputBase(BaseModel):
    name: str
    description: str
    group: str
    group_name: str
    in_model: bool = Field(description="False: the serving model does not use it; changing it moves nothing.")
    unit: Literal["count", "days", "months", "percent", "money", "level"]
    currency: str | None = Field(description="ISO 4217 currency of a money input (null: none reported, or several).")
    value: float | None = Field(description="The current value as the model reads it (shares 0-1, money in minor "
                                            "units); null: no data.")
    current: float | None = Field(description="The current value in the unit above (percent, major units).")
    display: str = Field(description="The current value as text, e.g. '83.4 %', '1,234.50 CNY', '3'.")


class WhatIfInputOut(WhatIfInputBase):
    min: float
    max: float | None = Field(description="Largest value accepted (null: no upper bound).")
    whole_numbers: bool
    can_be_empty: bool
    lower_only: bool = Field(description="Raising it means debt, credit or applications: only lower values.")
    levels: list[LevelOut] | None


class WhatIfRefusedOut(WhatIfInputBase):
    rule: str


class WhatIfInputsOut(BaseModel):
    estimate: Literal[True]
    label: str
    units: str
    as_of: datetime
    current: CurrentBrief
    inputs: list[WhatIfInputOut]
    refused: list[WhatIfRefusedOut]


class AccessConsentIn(ApiModel):
    partner_id: str = Text
    purpose: access.Purpose
    scope: access.Scope
    expires_at: AwareDatetime


class AccessConsentOut(BaseModel):
    id: int
    partner_id: str
    purpose: str
    scope: str
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class ReportConsentIn(ApiModel):
    partner_id: str = Text
    event_types: list[Literal[EVENT_TYPES]] = Field(min_length=1)  # type: ignore[valid-type]


class ReportConsentOut(BaseModel):
    partner_id: str
    event_type: str
    granted_at: datetime
    withdrawn_at: datetime | None


class RecordOut(BaseModel):
    partner_id: str
    partner_name: str
    event_id: str
    type: str
    occurred_at: datetime
    received_at: datetime
    target_event_id: str | None
    payload: dict[str, Any]
    disputed: bool
    suppressed: str | None


class DisputeIn(ApiModel):
    partner_id: str = Text
    event_id: str = Text
    reason: str = Field(min_length=1, max_length=2000)


class DisputeInformationIn(ApiModel):
    information: str = Field(min_length=1, max_length=5000, description=(
        "Relevant information you add to your open dispute (once, within its first 30 days): forwarded to "
        "the reporting partner, and the deadline is extended by 15 days."))


class DisputeNoticeOut(BaseModel):
    id: int
    dispute_id: int
    partner_id: str
    recipient: Literal["furnisher", "consumer"]
    kind: Literal["opened", "information", "result"]
    notified_at: datetime
    due_by: datetime = Field(description="Latest time the notice was due: 5 business days (Mon-Fri).")
    body: dict[str, Any]


class DisputeBase(BaseModel):
    id: int
    partner_id: str
    event_id: str
    event_type: str
    reason: str
    status: Literal["open", "verified", "corrected", "retracted", "suppressed"]
    opened_at: datetime
    due_at: datetime = Field(description="Deadline in force: 30 days from opening, 45 if extended.")
    resolved_at: datetime | None
    resolution_note: str | None
    information: str | None
    information_at: datetime | None
    extended: bool


class DisputeOut(DisputeBase):
    notices: list[DisputeNoticeOut]
    result: DisputeNoticeOut | None = Field(description="The results notice sent when the dispute was resolved.")


class CredentialIn(ApiModel):
    holder_jwk: dict[str, str] = Field(description="The holder's public Ed25519 JWK (kty OKP, crv Ed25519, x).")
    ttl_minutes: int | None = Field(None, ge=1, le=1440)


class CredentialOut(BaseModel):
    id: str
    credential: str
    kid: str
    band: str
    expires_at: datetime
    disclosable_claims: list[str]


class IssuedCredentialOut(BaseModel):
    id: str
    band: str | None
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None


class LedgerEntryOut(BaseModel):
    seq: int
    at: datetime
    actor_kind: str
    actor: str
    purpose: str
    consent_id: str | None
    disclosed: str
    outcome: Literal["allowed", "denied"]
    reason_code: str | None
    hash: str


class LedgerCheckpointOut(BaseModel):
    seq: int
    hash: str
    signed_at: datetime
    signature: str = Field(description="Compact JWS (typ credo-ledger-checkpoint+jwt) by an issuer key over "
                                       "{seq, hash, iat}; keys at /v1/.well-known/jwks.json. Check it later with "
                                       "`credo ledger verify --anchor FILE`.")


class NoticeOut(BaseModel):
    reference: str
    kind: Literal["adverse_action", "dispute_result"]
    partner_id: str
    issued_at: datetime
    title: str
    body: dict[str, Any] = Field(description=(
        "adverse_action: the partner and programme, the decision, score_used, score_range, key_factors, "
        "inquiries_were_a_key_factor, score_date, score_source, cra, cra_did_not_decide, free_report, "
        "right_to_dispute (FCRA §615(a)); dispute_result: the results notice of the dispute (dispute_id, outcome, "
        "record, note, your_rights)."))


class Export(BaseModel):
    model_config = ConfigDict(extra="allow")
    consumer_id: str
    exported_at: datetime
    events: list[RecordOut]
    features: dict[str, Any] | None
    scores: list[HistoryPoint]
    report_consents: list[ReportConsentOut]
    access_consents: list[AccessConsentOut]
    disputes: list[DisputeOut]
    credentials: list[dict[str, Any]]
    notices: list[NoticeOut]
    ledger: list[LedgerEntryOut]
    circles: dict[str, Any] = Field(default_factory=dict, description=(
        "What friends circles hold about you: memberships and what each shows, the guesses you made, how many "
        "guesses there are about you per circle (never who guessed what), your invitations, requests and blocks."))
    ledger_checkpoint: LedgerCheckpointOut | None = Field(description=(
        "A signed checkpoint covering every entry above: keep it, and a later cut or rewrite of your entries "
        "fails `credo ledger verify --anchor`."))


class Closure(ApiModel):
    password: str = Field(min_length=1, max_length=1024)


class ClosureOut(BaseModel):
    closed_at: datetime
    events_deleted: int
    credentials_revoked: int
    ledger_entries_pseudonymised: int


# ---------------------------------------------------------------- friends circles and the game (issue 14)

PublicId = Field(pattern=r"^[0-9a-f]{16}$", description="A random id (circle, member, invitation, request, block).")
BandName = Literal[BAND_NAMES]  # type: ignore[valid-type]
BadgeCode = Literal[BADGE_CODES]  # type: ignore[valid-type]
DisplayName = Field(min_length=1, max_length=NAME_MAX, description="How the circle knows you there (never your "
                                                                    "username or Credo id).")
SHARING_HELP = ("What the circle sees of your band: `nothing`, `guess` (others may guess it once a month and "
                "learn how close they were) or `band` (never the number).")


class CircleIn(ApiModel):
    name: str = Field(min_length=1, max_length=CIRCLE_NAME_MAX)
    display_name: str = DisplayName


class MembershipOut(BaseModel):
    member_id: str
    display_name: str
    sharing: Sharing = Field(description=SHARING_HELP)
    badges: list[str] = Field(description="The badges you chose to show in this circle (shown while earned).")
    joined_at: datetime


class CircleOut(BaseModel):
    id: str
    name: str
    members: int
    me: MembershipOut


class CircleMemberOut(BaseModel):
    member_id: str
    display_name: str
    joined_at: datetime
    you: bool
    sharing: Sharing = Field(description="What this member shows you (`nothing` also when there is a block).")
    band: str | None = Field(description="Their band if they show it (`not_enough_data` if they cannot be scored "
                                         "yet); never the number. Every band shown is in their access ledger.")
    badges: list[str] = Field(description="Badges they earned and chose to show (yours: the ones you chose).")


class CircleViewOut(BaseModel):
    id: str
    name: str
    me: MembershipOut
    members: list[CircleMemberOut]


class MembershipIn(ApiModel):
    sharing: Sharing | None = Field(None, description=SHARING_HELP + " `nothing` deletes the guesses about you.")
    badges: list[BadgeCode] | None = Field(None, max_length=len(BADGE_CODES),
                                           description="Badges to show in this circle (only ones you earned).")
    display_name: str | None = Field(None, min_length=1, max_length=NAME_MAX)


class BlockIn(ApiModel):
    member_id: str = PublicId


class BlockOut(BaseModel):
    id: str
    label: str = Field(description="The name they had in the circle where you blocked them.")
    blocked_at: datetime


class InvitationIn(ApiModel):
    circle_id: str = PublicId
    max_uses: int = Field(1, ge=1, le=MAX_USES, description="How many people it can bring in.")
    hours: int = Field(DEFAULT_INVITATION_HOURS, ge=MIN_INVITATION_HOURS, le=MAX_INVITATION_HOURS,
                       description="How long it stays open.")


class JoinRequestWaiting(BaseModel):
    id: str
    display_name: str
    requested_at: datetime
    blocked: bool = Field(description="There is a block between you and them: unblock before saying yes.")


class InvitationOut(BaseModel):
    id: str
    circle_id: str
    circle_name: str
    max_uses: int
    uses: int
    created_at: datetime
    expires_at: datetime
    live: bool
    requests: list[JoinRequestWaiting] = Field(description="People who said yes, waiting for yours.")


class NewInvitationOut(InvitationOut):
    code: str = Field(description="Shown once: only its hash is kept.")
    link: str = Field(description="The join page with the code in its fragment (never sent to a server).")


class JoinRequestOut(BaseModel):
    id: str
    circle_name: str
    display_name: str
    requested_at: datetime


class InvitationsOut(BaseModel):
    sent: list[InvitationOut]
    asked: list[JoinRequestOut] = Field(description="Your requests to join, waiting for the inviter's yes.")


class CodeIn(ApiModel):
    code: str = Field(min_length=1, max_length=40)


class AcceptIn(CodeIn):
    display_name: str = DisplayName


class InvitationPreviewOut(BaseModel):
    circle_name: str
    invited_by: str = Field(description="The inviter's name in that circle.")
    members: int
    expires_at: datetime


class NewMemberOut(BaseModel):
    member_id: str
    circle_id: str
    display_name: str
    joined_at: datetime


class GuessIn(ApiModel):
    circle_id: str = PublicId
    member_id: str = PublicId
    band: BandName


class GuessOut(BaseModel):
    member_id: str
    display_name: str
    guessed_band: str
    feedback: Literal["exact", "one_off", "miss", "no_band"]
    points: int
    period: str


class GameTargetOut(BaseModel):
    member_id: str
    display_name: str
    guessed: bool = Field(description="You already guessed them this period.")


class MyGuessOut(BaseModel):
    member_id: str
    display_name: str
    guessed_band: str
    feedback: str
    points: int
    guessed_at: datetime


class AboutMeOut(BaseModel):
    guesses: int = Field(description="How many members guessed your band this period.")
    by_band: dict[str, int] | None = Field(description="How many guessed each band, once there are at least "
                                                       "`shown_from` guesses; never who guessed what.")
    shown_from: int


class GameOut(BaseModel):
    circle_id: str
    period: str
    sharing: Sharing
    points: int
    targets: list[GameTargetOut]
    guesses: list[MyGuessOut]
    about_me: AboutMeOut


class LeaderboardEntry(BaseModel):
    rank: int
    member_id: str
    display_name: str
    points: int = Field(description="Game points: never a score, never a band.")
    you: bool


class LeaderboardOut(BaseModel):
    circle_id: str
    entries: list[LeaderboardEntry]


class BadgeOut(BaseModel):
    code: str
    name: str
    description: str
    earned: bool


class UtilisationMonth(BaseModel):
    month: str
    percent: float


class UtilisationOut(BaseModel):
    latest: UtilisationMonth | None
    before: UtilisationMonth | None


class HabitsOut(BaseModel):
    bills_on_time_months: int = Field(description="Complete months in a row with every bill paid by its due date.")
    utilisation: UtilisationOut
    badges: list[BadgeOut]
