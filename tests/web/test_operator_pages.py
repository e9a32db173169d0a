"""The operator pages: what they show is what the serving bundle and the store hold, only an operator
opens them, and opening them writes nothing. Also ``credo operator add``."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner, Result

from credo.cli.main import app as cli
from credo.ledger import head, verify_chain
from credo.policy.bands import BANDS
from credo.policy.reasons import factor_group
from credo.reporting import build_card
from credo.scoring import score_population
from credo.service import console
from credo.store import metadata
from credo.store.tables import access_ledger, operators, scores
from credo.web.templating import when
from tests.service.support import PASSWORD, World, make_world

OPERATOR, OPERATOR_PASSWORD = "ops-ada", "a long operator passphrase"
PAGES = ("/operator", "/operator/model", "/operator/scores", "/operator/runs", "/operator/ledger")
OBSERVED = "/operator/scores?observed=1"
#: The world's out-of-time validation date (its training observations run 2023-08-01..2023-09-01).
VALIDATION_DATE = datetime(2023, 9, 1, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path, tmp_path_factory) -> Iterator[World]:  # noqa: ANN001
    w = make_world(tmp_path, tmp_path_factory.getbasetemp() / "service-world", backend=request.param)
    yield w
    w.close()


def _client(world: World) -> TestClient:
    return TestClient(world.client.app)


def _operator(world: World) -> TestClient:
    """A browser signed in as an operator."""
    with world.engine.begin() as conn:
        console.add_operator(conn, OPERATOR, OPERATOR_PASSWORD, world.clock[0])
    client = _client(world)
    r = client.post("/operator/login", data={"username": OPERATOR, "password": OPERATOR_PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/operator"
    return client


def _batch(world: World, as_of: datetime) -> str:
    bundle = world.svc.model_bundle()
    run_id, _ = score_population(world.engine, bundle.model(world.svc.settings.serving_model), bundle.version, as_of)
    return run_id


def _text(page: str) -> str:
    """The page's text with tags dropped and entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _cell(page: str, row_attr: str, cls: str) -> str:
    match = re.search(rf'<tr {row_attr}>.*?<td class="{cls}">(.*?)</td>', page, re.S)
    assert match, f"no {cls} cell in row {row_attr}"
    return _text(match.group(1))


def _counts(world: World) -> dict[str, int]:
    with world.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in metadata.sorted_tables}


def test_overview_shows_the_serving_model_latest_run_and_ledger_head(world: World) -> None:
    run_id = _batch(world, world.clock[0])
    client = _operator(world)
    page = client.get("/operator").text
    bundle = world.svc.model_bundle()
    assert f'data-testid="model-version">{bundle.version}<' in page
    assert when(bundle.manifest["trained_at"]) in _text(page)
    assert f'data-testid="run-id">{run_id}<' in page
    with world.engine.connect() as conn:
        seq, digest = head(conn)
    assert f'data-testid="ledger-head-hash">{digest}<' in page
    assert f'data-testid="ledger-head-seq">{seq:,}<' in page
    for href in PAGES[1:]:
        assert f'href="{href}"' in page  # the nav and the links


def test_model_page_shows_the_bundle_card_and_validation(world: World) -> None:
    client = _operator(world)
    page = client.get("/operator/model").text
    text = _text(page)
    manifest = world.svc.model_bundle().manifest
    published = manifest["published"]["champion"]
    scaling = published["scaling"]
    assert _cell(page, 'data-scaling="champion"', "base-score") == f"{scaling['base_score']:.0f}" == "600"
    assert _cell(page, 'data-scaling="champion"', "base-odds") == f"{scaling['base_odds_good_bad']:.4f}"
    assert _cell(page, 'data-scaling="champion"', "pdo") == f"{scaling['pdo']:.2f}"
    model_section = page.split('id="pub-champion"', 1)[1]
    for band in published["bands"]:
        assert _cell(model_section, f'data-band="{band["band"]}"', "expected") == \
            f"{100 * band['expected_bad_rate']:.2f} %"
    for code, weight in published["weights"]["groups"].items():
        assert _cell(page, f'data-group="{factor_group(code).name}"', "weight") == f"{weight:.1f} %"
    metrics = manifest["validation"]["champion"]
    for key in ("auc", "gini", "ks"):
        assert _cell(page, 'data-model="champion"', f"score-{key}") == f"{metrics['score'][key]:.4f}"
    calibration = page.split('id="cal-champion"', 1)[1]
    for band in metrics["bands"]:
        assert _cell(calibration, f'data-band="{band["band"]}"', "n") == str(band["n"])
    # the card's own lines: outcome, every limitation, every input, what was never an input
    card = build_card(manifest, name="x", description="")
    for line in [card.outcome, *card.limitations, *card.never_inputs, *(i.name for i in card.inputs)]:
        assert " ".join(line.split()) in text
    assert "out-of-time validation" in text  # the run's description, saved beside the bundle


def test_scores_page_counts_equal_the_store_and_say_outcomes_are_pending(world: World) -> None:
    _batch(world, VALIDATION_DATE)  # an older run: the page shows the latest one only
    run_id = _batch(world, world.clock[0])
    client = _operator(world)
    page = client.get(OBSERVED).text
    assert f'data-testid="run-id">{run_id}<' in page
    with world.engine.connect() as conn:
        by_band = dict(conn.execute(select(scores.c.band, func.count()).where(scores.c.run_id == run_id)
                                    .group_by(scores.c.band)).all())
        scored = conn.execute(select(func.count()).where(scores.c.run_id == run_id,
                                                         scores.c.status == "scored")).scalar_one()
        thin = conn.execute(select(func.count()).where(scores.c.run_id == run_id,
                                                       scores.c.status == "not_enough_data")).scalar_one()
    assert thin > 0 and scored > 0
    for band in BANDS:
        assert _cell(page, f'data-band="{band.name}"', "count") == str(by_band.get(band.name, 0))
    assert f'data-testid="count-not-enough-data">{thin}<' in page
    assert f'data-testid="not-scorable-share">{100 * thin / (thin + scored):.1f} %<' in page
    # the histogram's bars hold every scored consumer once
    bars = [int(n) for n in re.findall(r"<rect [^>]*><title>\d+–\d+: (\d+)</title>", page)]
    assert sum(bars) == scored
    assert 'role="img"' in page and "<title id=\"hist-t\">" in page
    # expected rates are the serving model's published ones; no outcomes are known yet for today's run
    published = world.svc.model_bundle().published("champion")["bands"]
    for band in published:
        assert _cell(page, f'data-band="{band["band"]}"', "expected") == f"{100 * band['expected_bad_rate']:.2f} %"
        assert _cell(page, f'data-band="{band["band"]}"', "observed") == "—"
    assert "Observed bad rates need outcomes" in _text(page)


def test_observed_band_bad_rates_of_a_run_match_the_training_validation(world: World) -> None:
    """A batch run as of the validation date, labelled by the page from the outcome definition,
    counts the same consumers and bads per band as training's out-of-time validation did."""
    _batch(world, VALIDATION_DATE)
    client = _operator(world)
    page = client.get("/operator/scores").text  # observed rates read every event: only when asked
    assert f'href="{OBSERVED}"' in page
    assert all(_cell(page, f'data-band="{b.name}"', "observed") == "—" for b in BANDS)
    page = client.get(OBSERVED).text
    validation = world.svc.model_bundle().manifest["validation"]["champion"]["bands"]
    assert sum(b["bad"] for b in validation) > 0
    for band in validation:
        observed = _cell(page, f'data-band="{band["band"]}"', "observed")
        if band["n"]:
            assert observed == f"{100 * band['observed_bad_rate']:.2f} % ({band['bad']} of {band['n']})"
        else:
            assert observed == "—"
    assert "Observed:" in _text(page)


def test_runs_page_lists_runs_newest_first_with_store_counts(world: World) -> None:
    first = _batch(world, VALIDATION_DATE)
    second = _batch(world, world.clock[0])
    page = _operator(world).get("/operator/runs").text
    assert page.index(f'data-run="{second}"') < page.index(f'data-run="{first}"')
    assert f'data-testid="run-id">{second}<' in page  # the latest run's summary
    with world.engine.connect() as conn:
        for run_id in (first, second):
            for status, cls in (("scored", "run-scored"), ("not_enough_data", "run-ned")):
                n = conn.execute(select(func.count()).where(scores.c.run_id == run_id,
                                                            scores.c.status == status)).scalar_one()
                assert _cell(page, f'data-run="{run_id}"', cls) == f"{n:,}"


def test_online_scores_are_not_runs(world: World) -> None:
    headers = world.consumer_token(world.high())
    assert world.client.get("/v1/me/score", headers=headers).status_code == 200
    page = _operator(world).get("/operator/runs").text
    assert "No batch run yet" in page and "online-" not in page


def test_ledger_page_reports_the_verification_and_a_broken_chain(world: World) -> None:
    headers = world.consumer_token(world.high())
    for _ in range(3):
        assert world.client.get("/v1/me/score", headers=headers).status_code == 200
    client = _operator(world)
    with world.engine.connect() as conn:
        report = verify_chain(conn)
    assert report.ok and report.entries_checked >= 3
    page = client.get("/operator/ledger").text
    assert "Intact:" in page and f'data-testid="ledger-checked">{report.entries_checked}<' in page
    assert f'data-testid="ledger-hash">{report.head_hash}<' in page
    assert re.search(r'data-testid="ledger-seconds">\d+\.\d{3} s<', page)
    with world.engine.begin() as conn:
        conn.execute(update(access_ledger).where(access_ledger.c.seq == 2).values(purpose="tampered"))
    page = client.get("/operator/ledger").text
    verdict = _text(re.search(r'data-testid="ledger-verdict">(.*?)</p>', page, re.S).group(1))
    assert verdict.startswith("Broken at entry 2 [LEDGER_ENTRY_EDITED]")


def test_no_operator_page_writes_anything(world: World) -> None:
    _batch(world, VALIDATION_DATE)  # outcomes known: the scores page computes observed rates too
    world.consumer_token(world.high())
    client = _operator(world)
    before = _counts(world)
    with world.engine.connect() as conn:
        ledger_head = head(conn)
    for path in (*PAGES, OBSERVED):
        assert client.get(path).status_code == 200, path
    assert _counts(world) == before
    with world.engine.connect() as conn:
        assert head(conn) == ledger_head


@pytest.mark.parametrize("who", ["nobody", "consumer", "partner"])
def test_only_an_operator_opens_the_operator_pages(world: World, who: str) -> None:
    client = _client(world)
    if who == "consumer":
        world.consumer_token(world.high(), username="web-consumer")
        r = client.post("/login", data={"username": "web-consumer", "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 303 and client.get("/me", follow_redirects=False).status_code == 200
    elif who == "partner":
        r = client.post("/partner/login", data={"api_key": world.keys["bikes"]}, follow_redirects=False)
        assert r.status_code == 303 and client.get("/partner", follow_redirects=False).status_code == 200
    for path in PAGES:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/operator/login?next=" + path), path


def test_a_signed_out_operator_is_sent_back_to_sign_in(world: World) -> None:
    client = _operator(world)
    assert client.get("/operator").status_code == 200
    assert client.post("/operator/logout", follow_redirects=False).status_code == 303
    assert client.get("/operator", follow_redirects=False).headers["location"].startswith("/operator/login")


def test_pages_are_labelled_for_screen_readers(world: World) -> None:
    _batch(world, world.clock[0])
    client = _operator(world)
    for path in PAGES:
        page = client.get(path).text
        assert page.count("<h1>") == 1, path
        assert '<nav aria-label="Operator pages">' in page and 'aria-current="page"' in page, path
        for table in re.findall(r"<table>.*?</table>", page, re.S):
            assert "<caption" in table and 'scope="col"' in table, path
        for svg in re.findall(r"<svg[^>]*>", page):
            assert 'role="img"' in svg and "aria-labelledby" in svg, path


# --- credo operator add ---------------------------------------------------------------------------------------


def _cli_add(world: World, *args: str, stdin: str) -> Result:
    url = world.engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(cli, ["operator", "add", *args, "--db", url], input=stdin)


@pytest.mark.parametrize("how", ["prompt", "stdin"])
def test_cli_adds_an_operator_who_can_sign_in(world: World, how: str) -> None:
    password = "another long passphrase"
    if how == "prompt":
        r = _cli_add(world, "grace", stdin=f"{password}\n{password}\n")
    else:
        r = _cli_add(world, "grace", "--password-stdin", stdin=f"{password}\n")
    assert r.exit_code == 0, r.output
    assert password not in r.output
    client = _client(world)
    r = client.post("/operator/login", data={"username": "grace", "password": password}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/operator").status_code == 200


def test_cli_prompts_again_when_the_two_passwords_differ(world: World) -> None:
    good = "another long passphrase"
    r = _cli_add(world, "grace", stdin=f"{good}\nsomething else entirely\n{good}\n{good}\n")
    assert r.exit_code == 0, r.output
    assert "do not match" in r.output


@pytest.mark.parametrize(("username", "password", "code"), [
    ("grace", "short", "PASSWORD_TOO_WEAK"),
    (OPERATOR, "yet another long passphrase", "ACCOUNT_EXISTS"),
])
def test_cli_refusals_name_the_rule(world: World, username: str, password: str, code: str) -> None:
    with world.engine.begin() as conn:
        console.add_operator(conn, OPERATOR, OPERATOR_PASSWORD, world.clock[0])
    r = _cli_add(world, username, "--password-stdin", stdin=f"{password}\n")
    assert r.exit_code == 1
    assert code in r.output
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(operators)).scalar_one() == 1
