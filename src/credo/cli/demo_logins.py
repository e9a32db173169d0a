"""The demo's ready logins: a consumer with a good score, one with a poor score and its reasons,
a thin-file consumer, a car-rental partner with a deposit-free rental perk at 650, and an operator.

Passwords and the API key are random for each demo run and printed once: a throwaway store
still gets no built-in secret anyone could read in the source.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import select

from credo.registry import issue_api_key, register_partner
from credo.service import Service, access, accounts, console, perks
from credo.store.tables import partners

RENTAL_PARTNER = "swift-car-rental"
RENTAL_PROGRAMME = "deposit-free-650"
RENTAL_THRESHOLD = 650


@dataclass(frozen=True)
class DemoLogins:
    consumers: list[tuple[str, str, str, str]]  # (who, username, password, consumer id)
    partner_key: str
    operator: tuple[str, str]


def _password() -> str:
    return secrets.token_urlsafe(9)


def _picks(result: pd.DataFrame) -> list[tuple[str, str]]:
    """(who, consumer id): the best score with no reasons, the lowest score, and a thin file."""
    scored = result[result["status"] == "scored"].sort_values("score")
    clean = scored[scored["reasons"].map(len) == 0]
    good = (clean if len(clean) else scored).index[-1]
    picks = [("good score", str(good)), ("poor score", str(scored.index[0]))]
    thin = result[result["status"] != "scored"]
    if len(thin):
        picks.append(("thin file", str(thin.index[0])))
    return picks


def create_demo_logins(svc: Service, result: pd.DataFrame, now: datetime) -> DemoLogins:
    """Accounts for three population consumers, the rental partner with its perk and consents, an operator."""
    logins = []
    with svc.engine.begin() as conn:
        if conn.execute(select(partners.c.id).where(partners.c.id == RENTAL_PARTNER)).first() is None:
            register_partner(conn, RENTAL_PARTNER, "Swift Car Rental", "rental", ["rental.started", "rental.returned"])
        perks.register_programme(conn, RENTAL_PARTNER, RENTAL_PROGRAMME, "Deposit-free car rental", "deposit_waiver",
                                 RENTAL_THRESHOLD, now)
        key = issue_api_key(conn, RENTAL_PARTNER)
    for who, consumer_id in _picks(result):
        username, password = who.replace(" ", "-"), _password()
        accounts.register(svc, username, password, consumer_id=consumer_id, now=now)
        with svc.engine.begin() as conn:
            access.grant(conn, consumer_id, RENTAL_PARTNER, "deposit_waiver", "eligibility", now + timedelta(days=90),
                         now)
        logins.append((who, username, password, consumer_id))
    operator_password = secrets.token_urlsafe(12)
    with svc.engine.begin() as conn:
        console.add_operator(conn, "operator", operator_password, now)
    return DemoLogins(logins, key, ("operator", operator_password))
