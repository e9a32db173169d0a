"""Which columns of a user's own table may feed a score (``credo train --data``).

This module is the single source of truth for the rules that leave a column
out of a model's inputs. Each rule has a stable id (recorded in the bundle
manifest and shown in the model card) and a one-sentence text saying why.
A column left out by a rule can still be used when the person training says
so explicitly (``--allow-column COL --because "…"``); the exception and its
reason are recorded beside the model.

Rules:

* ``identifier``: a value unique to each row (a row number, a customer id).
  It describes no behaviour and lets a model memorise rows.
* ``text-levels``: text with more than :data:`MAX_TEXT_LEVELS` distinct
  values (free text, employer names, ...): too many groups to bin honestly.
* ``constant``: one value (or none): no information.
* ``excluded``: left out with ``--exclude`` (not a policy rule; named so the
  model card can list every column that is not an input with its reason).
* ``audit-only``: named with ``--audit``: a protected attribute kept apart in the
  audit store (:mod:`credo.fairness.attributes`) to test the model's fairness,
  never an input.
* ``geography``: where someone lives (zip or postcode, state, region, city,
  address, ...). Location is a classic proxy for race and national origin.
* ``age``: the person's age or date of birth (a protected trait under ECOA).
* ``forbidden-fcNN``: any category of :mod:`credo.policy.protection`
  (religion, race, national origin, sex, marital status, health, ...).

Names are matched as whole words after splitting on anything that is not a
letter or digit and on camelCase boundaries (``ZipCode`` → ``zip_code``), so
``essex_branch`` or ``mortgage_amount`` trip nothing. Values are matched on the
raw text: US zip codes (``02134``, ``123xx``, ``12345-6789``), two-letter US
state codes, ``male``/``female`` and other words that name a forbidden
category.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from credo.policy.protection import FORBIDDEN_CATEGORIES, category_in_text, category_of_name

#: Text columns with more distinct values than this are left out.
MAX_TEXT_LEVELS: int = 50
#: Share of a column's non-empty values that must match a value pattern.
VALUE_PATTERN_SHARE: float = 0.9
#: Share of rows that must hold a distinct value for a column to be an identifier.
IDENTIFIER_UNIQUE_SHARE: float = 0.98
#: Tables with fewer rows than this never have identifiers (everything is unique in 5 rows).
IDENTIFIER_MIN_ROWS: int = 20


@dataclass(frozen=True)
class ColumnRule:
    """A reason a column is left out of a model's inputs."""

    id: str
    text: str


IDENTIFIER = ColumnRule(
    "identifier", "Unique to each row (an id or row number): it describes no behaviour and lets a model memorise rows.")
TEXT_LEVELS = ColumnRule(
    "text-levels", f"Text with more than {MAX_TEXT_LEVELS} distinct values: too many groups to bin and explain.")
CONSTANT = ColumnRule("constant", "Holds a single value (or none): it carries no information.")
EXCLUDED = ColumnRule("excluded", "Left out by the person training the model (--exclude).")
AUDIT_ONLY = ColumnRule(
    "audit-only", "A protected attribute kept apart in the audit store to test fairness (--audit): never an input.")
GEOGRAPHY = ColumnRule(
    "geography", "Where someone lives (zip or postcode, state, region, city, address) is a proxy for race and "
                 "national origin.")
AGE = ColumnRule("age", "Age and date of birth are protected characteristics under ECOA and equality law.")
FORBIDDEN: dict[str, ColumnRule] = {
    c.code: ColumnRule(f"forbidden-{c.code.lower()}", f"{c.name[0].upper()}{c.name[1:]}: {c.rationale}")
    for c in FORBIDDEN_CATEGORIES
}

RULES: tuple[ColumnRule, ...] = (
    EXCLUDED, AUDIT_ONLY, IDENTIFIER, TEXT_LEVELS, CONSTANT, GEOGRAPHY, AGE, *FORBIDDEN.values())
RULES_BY_ID: dict[str, ColumnRule] = {r.id: r for r in RULES}

_GEOGRAPHY_TERMS = (
    "zip", "zipcode", "zip_code", "zip5", "postcode", "post_code", "postal", "postalcode", "postal_code",
    "state", "addr_state", "province", "region", "address", "addr", "street", "city", "town", "county",
    "country", "district", "municipality", "neighbourhood", "neighborhood", "latitude", "longitude", "lat",
    "lon", "lng", "geohash", "geo", "location", "census_tract", "tract", "msa", "cbsa", "fips",
)
_BIRTH_TERMS = ("dob", "birth", "birthday", "birthdate", "birth_date", "date_of_birth", "birth_year",
                "year_of_birth", "yob")
#: ``age`` only as the person's age: ``account_age`` or ``credit_age`` are history lengths, not the person.
_PERSON_AGE = re.compile(
    r"^(?:(?:applicant|customer|client|borrower|person|consumer|member|owner|primary|main|debtor)_)?"
    r"age(?:_(?:years?|yrs|in_years|at_application|group|band|bucket))?$")

#: Names that say "identifier": with unique integer values such a column is an id, not an amount.
_IDENTIFIER_TERMS = ("id", "uuid", "guid", "key", "index", "idx", "row", "rownum", "row_number", "record",
                     "unnamed")

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalise_name(name: str) -> str:
    """``ZipCode`` / ``zip-code`` / ``Zip Code`` → ``zip_code``."""
    return _NON_WORD.sub("_", _CAMEL.sub("_", str(name)).lower()).strip("_")


def _word_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(map(re.escape, sorted(terms, key=len, reverse=True)))
    return re.compile(r"(?:^|_)(?:" + alternatives + r")(?=_|$)")


_GEOGRAPHY_NAME = _word_pattern(_GEOGRAPHY_TERMS)
_BIRTH_NAME = _word_pattern(_BIRTH_TERMS)
_IDENTIFIER_NAME = _word_pattern(_IDENTIFIER_TERMS)


def names_an_identifier(name: str) -> bool:
    """True for names such as ``id``, ``customer_id``, ``RowNumber`` or pandas' ``Unnamed: 0``."""
    return bool(_IDENTIFIER_NAME.search(normalise_name(name)))


@lru_cache(maxsize=4096)
def rule_for_name(name: str) -> ColumnRule | None:
    """The rule a column's name falls under, if any (protected traits first, then geography)."""
    word = normalise_name(name)
    if _PERSON_AGE.match(word) or _BIRTH_NAME.search(word):
        return AGE
    category = category_of_name(word)
    if category is not None:
        return FORBIDDEN[category.code]
    if _GEOGRAPHY_NAME.search(word):
        return GEOGRAPHY
    return None


#: US zip codes written so that they cannot be ordinary amounts: a leading zero, a
#: masked tail (``123xx``) or ZIP+4. Plain five-digit numbers alone are not enough
#: (an income column is full of them); such a column is caught by its name.
_ZIP_ANY = re.compile(r"^\d{3}(?:\d{2}|[xX*]{2})(?:-\d{4})?$")
_ZIP_TELLING = re.compile(r"^(?:0\d{4}|\d{3}[xX*]{2}|\d{5}-\d{4})$")
US_STATE_CODES = frozenset(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK "
    "OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR GU VI AS MP".split())
#: A column of state codes has several of them (``OK`` or ``IN`` alone may be a flag).
_MIN_STATE_LEVELS = 5
_SEX_LETTERS = frozenset({"m", "f"})


def rule_for_values(level_counts: Mapping[str, int], total: int | None = None) -> ColumnRule | None:
    """The rule a column's raw text values fall under, if any.

    ``level_counts`` maps each distinct non-empty value (stripped text) to the
    number of rows holding it; ``total`` is the number of non-empty rows when
    ``level_counts`` holds only the most common values.
    """
    total = sum(level_counts.values()) if total is None else total
    if total == 0:
        return None

    def share(test) -> float:  # noqa: ANN001
        return sum(n for value, n in level_counts.items() if test(value)) / total

    if share(_ZIP_ANY.match) >= VALUE_PATTERN_SHARE and any(_ZIP_TELLING.match(v) for v in level_counts):
        return GEOGRAPHY
    states = [v for v in level_counts if v.upper() in US_STATE_CODES and len(v) == 2]
    if len(states) >= _MIN_STATE_LEVELS and share(lambda v: len(v) == 2 and v.upper() in US_STATE_CODES) \
            >= VALUE_PATTERN_SHARE:
        return GEOGRAPHY
    if {v.lower() for v in level_counts} == _SEX_LETTERS:
        return FORBIDDEN["FC06"]
    named: dict[str, int] = {}
    for value, n in level_counts.items():
        category = category_in_text(value)
        if category is not None:
            named[category.code] = named.get(category.code, 0) + n
    if named:
        code, n = max(named.items(), key=lambda item: item[1])
        if n / total >= 0.5:
            return FORBIDDEN[code]
    return None


def rule(rule_id: str) -> ColumnRule:
    """Look a rule up by its id (KeyError for an unknown id)."""
    return RULES_BY_ID[rule_id]


__all__ = [
    "AGE", "AUDIT_ONLY", "CONSTANT", "EXCLUDED", "ColumnRule", "FORBIDDEN", "GEOGRAPHY", "IDENTIFIER", "IDENTIFIER_MIN_ROWS",
    "IDENTIFIER_UNIQUE_SHARE", "MAX_TEXT_LEVELS", "RULES", "RULES_BY_ID", "TEXT_LEVELS", "US_STATE_CODES",
    "VALUE_PATTERN_SHARE", "names_an_identifier", "normalise_name", "rule", "rule_for_name", "rule_for_values",
]
