"""One retention setting (CREDO_RETENTION_MONTHS, policy/retention.py) moves the feature cut-off and the purge
together, in calendar months, to the microsecond."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from credo.cli.main import app as cli
from credo.features import compute_features, events_from_store, feature_query
from credo.ingest import ingest_records
from credo.policy.retention import DEFAULT_RETENTION_MONTHS, ENV_VAR, retention_cut, retention_months
from credo.registry import enrol_consumer, grant_report_consent, register_partner
from credo.service import Service
from credo.service.retention import run as purge
from credo.settings import Settings
from credo.store.tables import events, suppressions
from tests.features.helpers import ev

UTC = timezone.utc
NOW = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)  # in the past: event times may not be later than their ingestion
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_retention_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv("CREDO_RETENTION_YEARS", raising=False)


def _store_with_charge_offs(engine: Engine, months: int) -> None:
    """One consumer with a charge-off just older than ``months`` before NOW (1 µs) and one exactly at the cut."""
    cut = retention_cut(NOW, months)
    with engine.begin() as conn:
        register_partner(conn, "p-all", "Lender", "credit", ["credit.charged_off"])
        enrol_consumer(conn, "c-1")
        grant_report_consent(conn, "c-1", "p-all", ["credit.charged_off"])
    records = [
        ev("credit.charged_off", event_id, occurred, account_ref=f"a-{event_id}",
           charged_off_date=occurred.date().isoformat())
        for event_id, occurred in (("co-older", cut - timedelta(microseconds=1)), ("co-at-cut", cut))
    ]
    outcomes = ingest_records(engine, records, partner_id="p-all", trusted_received_at=True)
    assert [o.status for o in outcomes] == ["accepted", "accepted"], outcomes


def _derogatory(engine: Engine) -> int:
    return int(compute_features(events_from_store(engine, "c-1"), NOW, consumers=["c-1"]).loc["c-1",
                                                                                             "derogatory_records"])


def _stored_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(events.c.event_id).where(events.c.consumer_id == "c-1")).scalars())


def test_one_setting_moves_the_feature_cut_off_and_the_purge(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    _store_with_charge_offs(engine, months=24)
    svc = Service(engine, Settings(database_url=engine.url.render_as_string(hide_password=False)),
                  clock=lambda: NOW)
    # the default period (60 months) keeps both records, in features and in the store
    assert retention_months() == DEFAULT_RETENTION_MONTHS
    assert _derogatory(engine) == 2
    assert purge(svc, NOW) == {"excluded": 0, "purged": 0}
    # 24 months: the record 1 µs older than the cut stops counting and is purged; the one at the cut stays in both
    monkeypatch.setenv(ENV_VAR, "24")
    assert _derogatory(engine) == 1
    assert purge(svc, NOW) == {"excluded": 1, "purged": 1}
    assert _stored_ids(engine) == {"co-at-cut"}
    with engine.connect() as conn:
        tomb = conn.execute(select(suppressions.c.reason).where(suppressions.c.event_id == "co-older")).scalar()
    assert tomb == "retention"
    assert _derogatory(engine) == 1  # purging what the features had stopped counting changes no feature


def test_the_cli_purge_reads_the_setting_and_names_a_bad_one(engine: Engine,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _store_with_charge_offs(engine, months=36)
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv(ENV_VAR, "36")
    r = runner.invoke(cli, ["retention", "run", "--db", url, "--at", NOW.isoformat()])
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert said.startswith("retention: 1 excluded, 1 purged") and "36 months: before 2022-03-31 12:00 UTC" in said
    assert _stored_ids(engine) == {"co-at-cut"}
    monkeypatch.setenv(ENV_VAR, "0")
    r = runner.invoke(cli, ["retention", "run", "--db", url, "--at", NOW.isoformat()])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert " ".join(r.output.split()) == f"error: {ENV_VAR}='0': Input should be greater than or equal to 1"


def test_the_replaced_years_setting_is_refused_not_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDO_RETENTION_YEARS", "7")
    with pytest.raises(ValueError, match=f"CREDO_RETENTION_YEARS is no longer read: set {ENV_VAR}"):
        retention_months()
    with pytest.raises(ValueError, match=ENV_VAR):
        feature_query(NOW)  # the features refuse to run on a guess as well as the purge


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)),
       st.integers(min_value=1, max_value=240))
def test_the_cut_is_calendar_months_back_with_the_day_clamped(instant: datetime, months: int) -> None:
    cut = retention_cut(instant, months)
    assert (instant.year * 12 + instant.month) - (cut.year * 12 + cut.month) == months
    assert cut.day == min(instant.day, calendar.monthrange(cut.year, cut.month)[1])
    assert cut.timetz() == instant.timetz() and cut < instant
