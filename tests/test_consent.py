"""Consent to report is explicit, per partner and per event type, and withdrawable."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from credo.errors import CredoError, ErrorCode
from credo.ingest import ingest_records
from credo.registry import enrol_consumer, grant_report_consent, report_consent_states, withdraw_report_consent
from credo.registry.consents import ConsentState
from credo.store import events, report_consents
from tests.factories import example, populate


def _events(engine) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(events)).scalar_one()


def _ingest(engine, record, partner="p-all"):  # noqa: ANN001, ANN202
    (outcome,) = ingest_records(engine, [record], partner_id=partner)
    return outcome


def test_enrolment_grants_nothing(engine) -> None:  # noqa: ANN001
    populate(engine)
    with engine.connect() as conn:
        assert report_consent_states(conn, "p-all", ["c-2"]) == {"c-2": {}}
        assert conn.execute(
            select(func.count()).select_from(report_consents).where(report_consents.c.consumer_id == "c-2")
        ).scalar_one() == 0


def test_missing_consent_is_rejected_and_nothing_stored(engine) -> None:  # noqa: ANN001
    populate(engine)
    outcome = _ingest(engine, example("bill.paid", consumer_id="c-2"))
    assert (outcome.status, outcome.code) == ("rejected", ErrorCode.CONSENT_NOT_GIVEN)
    assert outcome.problems[0].field == "consumer_id"
    assert _events(engine) == 0


def test_consent_for_another_event_type_does_not_cover(engine) -> None:  # noqa: ANN001
    populate(engine)
    with engine.begin() as conn:
        grant_report_consent(conn, "c-2", "p-all", ["bill.issued"])
    assert _ingest(engine, example("bill.issued", consumer_id="c-2")).status == "accepted"
    outcome = _ingest(engine, example("bill.paid", consumer_id="c-2"))
    assert (outcome.status, outcome.code) == ("rejected", ErrorCode.CONSENT_NOT_GIVEN)
    assert _events(engine) == 1


def test_consent_to_one_partner_does_not_cover_another(engine) -> None:  # noqa: ANN001
    populate(engine)
    outcome = _ingest(engine, example("bill.paid"), partner="p-bills")
    assert (outcome.status, outcome.code) == ("rejected", ErrorCode.CONSENT_NOT_GIVEN)
    assert _events(engine) == 0


def test_withdrawal_stops_further_ingestion(engine) -> None:  # noqa: ANN001
    populate(engine)
    assert _ingest(engine, example("bill.paid", event_id="before")).status == "accepted"
    with engine.begin() as conn:
        assert withdraw_report_consent(conn, "c-1", "p-all") > 0
    outcome = _ingest(engine, example("bill.paid", event_id="after"))
    assert (outcome.status, outcome.code) == ("rejected", ErrorCode.CONSENT_WITHDRAWN)
    assert _events(engine) == 1
    with engine.begin() as conn:
        grant_report_consent(conn, "c-1", "p-all", ["bill.paid"])
    assert _ingest(engine, example("bill.paid", event_id="after")).status == "accepted"


def test_unknown_consumer_is_rejected(engine) -> None:  # noqa: ANN001
    populate(engine)
    outcome = _ingest(engine, example("bill.paid", consumer_id="nobody"))
    assert (outcome.status, outcome.code) == ("rejected", ErrorCode.CONSUMER_NOT_ENROLLED)
    assert _events(engine) == 0


def test_partner_may_only_report_its_registered_types(engine) -> None:  # noqa: ANN001
    populate(engine)
    with engine.begin() as conn, pytest.raises(CredoError) as err:
        grant_report_consent(conn, "c-1", "p-bills", ["credit.status"])
    assert err.value.code is ErrorCode.EVENT_TYPE_NOT_PERMITTED
    outcome = _ingest(engine, example("credit.status"), partner="p-bills")
    assert (outcome.status, outcome.code) == ("rejected", ErrorCode.EVENT_TYPE_NOT_PERMITTED)


def test_retraction_needs_no_consent_but_an_enrolled_consumer(engine) -> None:  # noqa: ANN001
    populate(engine)
    assert _ingest(engine, example("bill.paid", event_id="b")).status == "accepted"
    with engine.begin() as conn:
        withdraw_report_consent(conn, "c-1", "p-all")
        enrol_consumer(conn, "c-3")
    retraction = example("event.retraction", event_id="r", retracts_event_id="b")
    assert _ingest(engine, retraction).status == "accepted"


def test_consent_cache_given_pairs_agree_however_they_are_read(engine) -> None:  # noqa: ANN001
    """A bulk load reads a partner's given pairs in one query; that must equal the per-consumer answer
    (withdrawn, closed, unknown and never-consented consumers excluded) and follow later changes."""
    from sqlalchemy import update

    from credo.registry.consents import ConsentCache, given_pairs
    from credo.store import consumers

    populate(engine, consumers=("c-1", "c-2", "c-3", "c-4"))
    with engine.begin() as conn:
        grant_report_consent(conn, "c-2", "p-bills", ["bill.paid", "bill.issued"])
        grant_report_consent(conn, "c-3", "p-bills", ["bill.paid"])
        withdraw_report_consent(conn, "c-3", "p-bills", ["bill.paid"])
        grant_report_consent(conn, "c-4", "p-bills", ["bill.issued"])
        conn.execute(update(consumers).where(consumers.c.id == "c-4").values(status="closed"))
    ids = ["c-1", "c-2", "c-3", "c-4", "c-unknown"]
    whole, by_id, overflowing = ConsentCache(whole_partner_from=1), ConsentCache(), ConsentCache(1, 1)
    with engine.connect() as conn:
        expected = given_pairs(report_consent_states(conn, "p-bills", ids))
        assert expected == {("c-2", "bill.paid"), ("c-2", "bill.issued")}
        assert whole.given_for(conn, "p-bills", ids) == expected
        assert by_id.given_for(conn, "p-bills", ids) == expected
        assert overflowing.given_for(conn, "p-bills", ids) == expected  # too many to read whole: by id
        assert whole.states(conn, "p-bills", ["c-3", "c-unknown"])["c-3"] == {"bill.paid": ConsentState.WITHDRAWN}
    with engine.begin() as conn:
        withdraw_report_consent(conn, "c-2", "p-bills", ["bill.paid"])
    with engine.connect() as conn:
        assert whole.given_for(conn, "p-bills", ids) == {("c-2", "bill.issued")}
