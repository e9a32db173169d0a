"""The rules of friends circles and the band-guessing game (PRODUCT.md §1 "Play, if they want to"; §3).

Circles, invitations, guesses, points and badges live in their own tables. No feature, model or
score reads them (friends' scores and social connections are never score inputs), and nothing in
the game writes an event, a feature or a score: game points and invitations never change a score.

What a circle sees of a member's band is the member's choice, per circle, changeable at any time:

* ``nothing`` (the default): no band, no guess feedback, nothing derived from the band;
* ``guess`` ("guess my band"): the band is not listed; each other member may guess it once per
  :func:`period_of`, and learns only how close the guess was;
* ``band``: the band is listed for the other members (never the number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from credo.policy.bands import BANDS

Sharing = Literal["nothing", "guess", "band"]
SHARING: tuple[str, ...] = get_args(Sharing)
DEFAULT_SHARING: Sharing = "nothing"

#: The bands a guess may name, lowest first (a guess one place away is "one band off").
BAND_NAMES: tuple[str, ...] = tuple(b.name for b in BANDS)

Feedback = Literal["exact", "one_off", "miss", "no_band"]
#: Points a guess earns, by how close it was (``no_band``: the member has not enough data to be scored).
POINTS: dict[str, int] = {"exact": 3, "one_off": 1, "miss": 0, "no_band": 0}
#: Points an inviter holds for each member they invited who is still in the circle.
POINTS_PER_INVITED_MEMBER = 2
#: The guesses about a member are shown to them by band only when at least this many were made
#: in the period (fewer: only how many), so no single guesser's guess can be picked out.
MIN_AGGREGATE = 3


def feedback(guessed: str, actual: str | None) -> Feedback:
    """How close a guess was: the actual band, one band away, further, or no band to guess."""
    if actual is None:
        return "no_band"
    distance = abs(BAND_NAMES.index(guessed) - BAND_NAMES.index(actual))
    return "exact" if distance == 0 else "one_off" if distance == 1 else "miss"


def period_of(now: datetime) -> str:
    """The guessing period a moment falls in: its calendar month in UTC (``2024-09``)."""
    return f"{now.year:04d}-{now.month:02d}"


@dataclass(frozen=True)
class Limit:
    """At most ``count`` actions of ``kind`` per consumer in any ``window``."""

    kind: str
    count: int
    window: timedelta

    @property
    def rule(self) -> str:
        hours = int(self.window.total_seconds() // 3600)
        return f"at most {self.count} per {hours} hours"


INVITATION_LIMIT = Limit("invitation", 10, timedelta(hours=24))
GUESS_LIMIT = Limit("guess", 30, timedelta(hours=24))
#: Invitation codes that did not open an invitation (a wrong, expired, used or revoked code alike).
CODE_FAILURE_LIMIT = Limit("code_failure", 10, timedelta(hours=1))
LIMITS: tuple[Limit, ...] = (INVITATION_LIMIT, GUESS_LIMIT, CODE_FAILURE_LIMIT)

MAX_CIRCLES_PER_CONSUMER = 10
MAX_MEMBERS = 30
MAX_OPEN_INVITATIONS_PER_CIRCLE = 10
MAX_USES = 10
MIN_INVITATION_HOURS, MAX_INVITATION_HOURS, DEFAULT_INVITATION_HOURS = 1, 168, 72

#: Invitation codes: 12 characters of Crockford's base32 (60 random bits), shown as ``XXXX-XXXX-XXXX``.
#: Random, never derived from who invited: a code names no one, and guessing one is hopeless.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12
_CODE_READS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CODE_SEPARATORS = re.compile(r"[\s\-]+")


def normalise_code(text: str) -> str:
    """The code as typed (any case, spaces or dashes, O for 0, I or L for 1) in its canonical form."""
    return _CODE_SEPARATORS.sub("", text).upper().translate(_CODE_READS)


def format_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


NAME_MAX = 40
CIRCLE_NAME_MAX = 60
#: Names people give themselves or a circle: printable, no control or formatting characters.
_PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]+$")


def valid_name(text: str, limit: int) -> bool:
    stripped = text.strip()
    return 0 < len(stripped) <= limit and bool(_PRINTABLE.match(stripped))


@dataclass(frozen=True)
class Badge:
    """A good habit read from the member's own records (never from features or scores)."""

    code: str
    name: str
    description: str


#: Months in a row with every bill paid by its due date, for each bills badge.
ON_TIME_STREAKS: tuple[int, ...] = (3, 6, 12)
#: Utilisation of revolving credit, latest month against this many months before it.
UTILISATION_LOOKBACK_MONTHS = 3
#: ... and by how many percentage points it must have fallen.
UTILISATION_DROP_POINTS = 1.0

BADGES: tuple[Badge, ...] = (
    *(Badge(f"bills_on_time_{n}", f"{n} months of bills on time",
            f"Every bill due in each of the last {n} complete months was paid by its due date.")
      for n in ON_TIME_STREAKS),
    Badge("utilisation_down", "Using less of my credit",
          f"The share of your credit limits in use fell by at least {UTILISATION_DROP_POINTS:g} percentage point "
          f"over {UTILISATION_LOOKBACK_MONTHS} months."),
)
BADGE_CODES: tuple[str, ...] = tuple(b.code for b in BADGES)
