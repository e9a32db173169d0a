"""The data-protection policy: the one list of forbidden data categories.

PRODUCT.md §3 lists data Credo never scores and has no place for. This module
is the single source of truth for that list. The event schemas, the ingestion
path, the feature layer and their tests all read it; nothing else may keep its
own copy.

Each category has a stable code (used in rejections), a name, a one-sentence
rationale, and the terms that identify it when a partner tries to smuggle it
in as an extra field or inside a free-text value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class ForbiddenCategory:
    """One category of data Credo never collects, stores or scores."""

    code: str
    name: str
    rationale: str
    terms: tuple[str, ...]


FORBIDDEN_CATEGORIES: tuple[ForbiddenCategory, ...] = (
    ForbiddenCategory(
        "FC01", "political opinions",
        "Political views say nothing about repayment and scoring them chills lawful expression.",
        ("political", "politics", "party_affiliation", "party_membership", "vote", "voting", "voter"),
    ),
    ForbiddenCategory(
        "FC02", "speech or social-media content",
        "What people say or post is expression, not financial behaviour.",
        ("social_media", "socialmedia", "tweet", "tweets", "post_content", "posts", "speech", "followers",
         "facebook", "twitter", "weibo", "wechat_moments", "instagram", "tiktok"),
    ),
    ForbiddenCategory(
        "FC03", "religion",
        "Religion is a protected characteristic under ECOA, GDPR Art. 9 and PIPL.",
        ("religion", "religious", "faith", "church", "mosque", "temple", "synagogue", "muslim",
         "christian", "jewish", "hindu", "buddhist", "atheist"),
    ),
    ForbiddenCategory(
        "FC04", "ethnicity or race",
        "Race and ethnicity are protected characteristics; using them is unlawful discrimination.",
        ("race", "racial", "ethnicity", "ethnic", "ethnic_group", "skin_colour", "skin_color", "caste"),
    ),
    ForbiddenCategory(
        "FC05", "national origin",
        "National origin is a protected characteristic under ECOA and equality law.",
        ("national_origin", "nationality", "citizenship", "country_of_birth", "birthplace",
         "place_of_birth", "immigration_status", "hukou"),
    ),
    ForbiddenCategory(
        "FC06", "sex or gender",
        "Sex and gender are protected characteristics and must not influence credit.",
        ("sex", "gender", "male", "female", "pronoun", "pronouns"),
    ),
    ForbiddenCategory(
        "FC07", "sexual orientation",
        "Sexual orientation is special-category data and irrelevant to repayment.",
        ("sexual_orientation", "orientation", "lgbt", "lgbtq", "gay", "lesbian", "bisexual", "heterosexual"),
    ),
    ForbiddenCategory(
        "FC08", "marital status",
        "Marital status is protected under ECOA; household structure is not a credit signal Credo uses.",
        ("marital_status", "marital", "marriage", "married", "spouse", "divorced", "widowed", "single_parent"),
    ),
    ForbiddenCategory(
        "FC09", "health",
        "Health data is special-category data; illness must never cost anyone credit.",
        ("health", "medical", "diagnosis", "disease", "illness", "disability", "pregnancy", "pregnant",
         "prescription", "hospital", "mental_health"),
    ),
    ForbiddenCategory(
        "FC10", "biometrics",
        "Biometric data is special-category data; Credo keeps only a verification level.",
        ("biometric", "biometrics", "fingerprint", "face_image", "faceprint", "face_scan", "iris",
         "voiceprint", "selfie", "dna"),
    ),
    ForbiddenCategory(
        "FC11", "union membership",
        "Trade-union membership is special-category data and protected association.",
        ("union_membership", "trade_union", "labor_union", "labour_union", "union_member"),
    ),
    ForbiddenCategory(
        "FC12", "receipt of public assistance",
        "ECOA forbids discounting income because it comes from public assistance.",
        ("public_assistance", "welfare", "benefits_recipient", "food_stamps", "snap", "medicaid",
         "unemployment_benefit", "dibao", "social_assistance"),
    ),
    ForbiddenCategory(
        "FC13", "friends' scores or social connections",
        "A person is scored on their own conduct, never on who they know.",
        ("friends", "friend_score", "friends_score", "contacts", "social_graph", "connections",
         "social_connections", "followers_score", "network_score"),
    ),
    ForbiddenCategory(
        "FC14", "driving records or professional ratings",
        "Driving records and gig ratings measure other things and import their biases.",
        ("driving_record", "traffic_violation", "speeding", "driver_rating", "rating", "star_rating",
         "professional_rating", "review_score"),
    ),
    ForbiddenCategory(
        "FC15", "what kind of goods someone buys",
        "What someone buys is private; merchant category is kept for the consumer's insights only.",
        ("product_name", "product_category", "goods", "goods_category", "basket", "items", "sku",
         "purchased_items", "shopping_category"),
    ),
    ForbiddenCategory(
        "FC16", "exercise of rights",
        "Disputing or asking for one's data must never cost points.",
        ("dispute_count", "disputes", "data_request", "complaint", "complaints", "erasure_request",
         "access_request"),
    ),
    ForbiddenCategory(
        "FC17", "engagement with the platform",
        "Logins, app time and game points are not creditworthiness.",
        ("engagement", "app_usage", "login_count", "logins", "time_in_app", "game_points", "badges",
         "streak", "referrals", "clicks", "session_time"),
    ),
)

FORBIDDEN_BY_CODE: dict[str, ForbiddenCategory] = {c.code: c for c in FORBIDDEN_CATEGORIES}

#: Field categories that a schema field may declare. Each event-schema field
#: names exactly one of these in its ``json_schema_extra["data_category"]``.
#: ``score_use`` says whether the feature layer may read it.
ALLOWED_DATA_CATEGORIES: dict[str, bool] = {
    "envelope": False,          # identifiers, partner, times, references
    "payment_behaviour": True,  # amounts, due and paid dates, days past due
    "credit_capacity": True,    # limits, balances, income band
    "account_history": True,    # opened/closed dates, product kinds
    "rental_behaviour": True,   # rentals returned on time, unpaid fees
    "bureau_record": True,      # traditional bureau tradelines
    "identity_level": True,     # verification level only, never the evidence
    "spending_insight": False,  # merchant category: consumer insight only, never scored
}


@lru_cache(maxsize=1)
def _term_index() -> dict[str, ForbiddenCategory]:
    return {term: cat for cat in FORBIDDEN_CATEGORIES for term in cat.terms}


@lru_cache(maxsize=1)
def _term_pattern() -> re.Pattern[str]:
    terms = sorted(_term_index(), key=len, reverse=True)
    return re.compile(r"(?:^|_)(" + "|".join(map(re.escape, terms)) + r")(?=_|$)")


_SEPARATORS = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=65536)
def category_of_name(field_name: str) -> ForbiddenCategory | None:
    """The forbidden category a field name refers to, if any.

    Matches whole words (``customer_religion`` → religion, ``social-media`` →
    speech) so that ordinary names such as ``essex_branch`` do not trip the
    ``sex`` term. Words are split on anything that is not a letter or digit.
    """
    normalised = _SEPARATORS.sub("_", field_name.lower())
    match = _term_pattern().search(normalised)
    return _term_index()[match.group(1)] if match else None


def category_in_text(text: str) -> ForbiddenCategory | None:
    """The forbidden category a free-text value names, if any (word match)."""
    return category_of_name(text)


@lru_cache(maxsize=1)
def term_scan_pattern() -> str:
    """:func:`category_in_text`'s word match as one portable regular expression.

    For column-wise scans (RE2 syntax, as Arrow's ``match_substring_regex``
    takes it) over raw, un-normalised text: case-insensitive, and any run of
    characters other than letters and digits separates words, exactly as the
    normalisation above does. It flags every text ``category_in_text`` flags;
    a hit only means "check this value one by one".
    """
    words = [r"[^a-z0-9]+".join(re.escape(part) for part in _SEPARATORS.split(term) if part)
             for term in sorted(_term_index(), key=len, reverse=True)]
    return r"(?i)(?:^|[^a-z0-9])(?:" + "|".join(words) + r")(?:[^a-z0-9]|$)"
