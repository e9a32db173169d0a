"""The report says what ships: the shipped score's metrics for both models, calibration per band against
the published rates, and a model card generated from the run (not fixed text)."""

from __future__ import annotations

import math
import re
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from credo.cli import reports as cli_reports
from credo.model.metrics import auc_score
from credo.policy.outcome import OUTCOME_DEFINITION, outcome_summary
from credo.policy.protection import FORBIDDEN_CATEGORIES
from credo.policy.reasons import reason
from credo.reporting import build_card
from credo.reporting.calibration import band_verdicts
from credo.reporting.points import points_with_reasons
from credo.scoring import ModelBundle, TrainingRun, train_from_table
from credo.scoring.reports import report_html, save_validation

BECAUSE = "state pricing rules are reviewed by the regulator"


def _table(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """A lender-like CSV as read (text cells): percent, thousands separators, a text target, an id, a zip
    code (left out) and a state column (allowed with a reason)."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    util = np.clip(0.4 + 0.2 * risk + rng.normal(scale=0.2, size=n), 0, 1.2)
    late = rng.poisson(np.exp(0.3 * risk))
    income = np.round(np.exp(10.5 - 0.3 * risk + rng.normal(scale=0.4, size=n)))
    bad = rng.random(n) < 1 / (1 + np.exp(-(-2 + 1.2 * risk)))
    util_text = np.array([f"{u * 100:.2f}%" for u in util], dtype=object)
    util_text[rng.random(n) < 0.05] = ""
    return pd.DataFrame({
        "id": np.arange(n).astype(str),
        "utilisation": util_text,
        "late_payments": late.astype(str),
        "income": [f"{int(i):,}" for i in income],
        "home": rng.choice(["RENT", "OWN", "MORTGAGE"], n),
        "zip_code": [f"0{z}" for z in rng.integers(1000, 9999, n)],
        "addr_state": rng.choice(["CA", "NY", "TX", "FL", "WA", "OR"], n),
        "loan_status": np.where(bad, "Charged Off", "Fully Paid"),
    })


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainingRun, ModelBundle, str]:
    run = train_from_table(_table(), "loan_status", bad_value="Charged Off", allowed={"addr_state": BECAUSE})
    directory = tmp_path_factory.mktemp("bundle")
    run.bundle.save(directory)
    save_validation(run, directory)
    bundle = ModelBundle.load(directory)
    return run, bundle, report_html(bundle, directory)


def _cell(html: str, model: str, cls: str) -> str:
    row = re.search(rf'<tr data-model="{model}">(.*?)</tr>', html, re.S)
    assert row, f"no metrics row for {model}"
    return re.search(rf'<td class="{cls}">([^<]*)</td>', row.group(1)).group(1)


def _section(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"(.*?)</(?:table|ul|p)>', html, re.S)
    assert match, f"no element {element_id}"
    return match.group(1)


def test_both_models_show_the_shipped_score_auc(trained) -> None:
    run, bundle, html = trained
    for name in ("champion", "challenger"):
        model = bundle.model(name)
        expected = auc_score(run.y_valid.to_numpy(), model.score(run.X_valid).to_numpy())
        assert float(_cell(html, name, "score-auc")) == pytest.approx(expected, abs=5e-5)
        probability = bundle.manifest["validation"][name]["auc"]
        assert float(_cell(html, name, "probability-auc")) == pytest.approx(probability, abs=5e-5)


def test_both_models_have_a_finite_score_psi(trained) -> None:
    _, _, html = trained
    for name in ("champion", "challenger"):
        assert math.isfinite(float(_cell(html, name, "psi-score")))


def test_calibration_names_every_band_that_misses(trained) -> None:
    _, bundle, html = trained
    for name in ("champion", "challenger"):
        bands = bundle.manifest["validation"][name]["bands"]
        verdicts = [unescape(v) for v in re.findall(rf'<p class="verdict \w+" data-model="{name}">([^<]*)</p>', html)]
        misses = [b for b in bands if not b["holds"]]
        for b in misses:
            assert any(f"Band “{b['band']}”" in v and f"{100 * abs(b['miss']):.1f} percentage points" in v
                       for v in verdicts), (b, verdicts)
        assert any(v.startswith("All ") for v in verdicts) == (not misses)


def test_card_names_the_tables_outcome_and_no_fixed_dpd_text(trained) -> None:
    _, _, html = trained
    outcome = unescape(_section(html, "outcome"))
    assert "“Charged Off”" in outcome and "“loan_status”" in outcome
    text = unescape(re.sub(r'src="data:[^"]*"', "", html))  # the figures' base64 may hold any letters
    assert "90+" not in text and "DPD" not in text and "days past due" not in text
    assert OUTCOME_DEFINITION not in text


def test_card_states_each_models_scaling_and_bands(trained) -> None:
    _, bundle, html = trained
    text = unescape(html)
    for name in ("champion", "challenger"):
        scaling = bundle.model(name).scaling_
        assert f"{scaling.describe()}." in text
        table = _section(html, f"scaling-{name}")
        assert f'<td class="base-odds">{scaling.base_odds:.4f}</td>' in table
        assert f'<td class="pdo">{scaling.pdo:.2f}</td>' in table
        shown = re.findall(r'<td class="expected">([0-9.]+) %</td>', _section(html, f"bands-{name}"))
        published = [100 * b["expected_bad_rate"] for b in bundle.published(name)["bands"]]
        assert [float(v) for v in shown] == pytest.approx(published, abs=0.005)


def test_card_weights_are_the_manifests(trained) -> None:
    _, bundle, html = trained
    for name in ("champion", "challenger"):
        rows = re.findall(r'<tr data-feature="([^"]+)"><td class="text">[^<]*</td>\s*<td class="weight">([0-9.]+)</td>',
                          _section(html, f"weights-{name}"))
        assert {f: float(w) for f, w in rows} == bundle.published(name)["weights"]["features"]
    assert "computed from each model" in html.lower()


def test_card_lists_exclusions_exceptions_and_never_inputs(trained) -> None:
    _, _, html = trained
    left_out = unescape(_section(html, "left-out"))
    assert re.search(r"zip_code</td>.*?left out: rule geography", left_out, re.S)
    assert re.search(r"\bid</td>.*?left out: rule identifier", left_out, re.S)
    exceptions = unescape(_section(html, "allowed-exceptions"))
    assert "addr_state" in exceptions and BECAUSE in exceptions
    never = unescape(_section(html, "never-inputs"))
    assert all(c.name in never for c in FORBIDDEN_CATEGORIES)


def test_report_is_self_contained(trained) -> None:
    _, _, html = trained
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
    assert html.count('src="data:image/png;base64,') == 3


def test_points_table_reason_is_true_for_the_bins_training_rows(trained) -> None:
    """Every bin that costs points lists the code stated for each training value in it."""
    run, bundle, html = trained
    model = bundle.champion
    table = points_with_reasons(model)
    stated = model.reasons(run.X_train, k=len(model.features_))
    given_codes = {c for row in stated.to_numpy().tolist() for c in row if c}
    listed = {c for cell in table["reason_codes"] for c in cell.split(", ") if c}
    assert given_codes <= listed
    for f in model.features_:
        assert unescape(reason(f"RX:{f}").text) in unescape(html)
    assert (table.loc[table["cost"] == 0, "reason_codes"] == "").all()


def test_store_card_uses_the_published_outcome_definition(trained) -> None:
    _, bundle, _ = trained
    store = {k: v for k, v in bundle.manifest.items() if k not in ("inputs", "allowed_exceptions")}
    store["source"] = f"store events, monthly observations 2024-01-01..2024-06-01, {outcome_summary(12)}"
    assert build_card(store, name="t", description="").outcome == OUTCOME_DEFINITION
    store["source"] = f"store events, monthly observations 2024-01-01..2024-06-01, {outcome_summary(6)}"
    assert "6-month horizon" in build_card(store, name="t", description="").outcome
    store["source"] = "store events as of 2024-06-01 with external labels"
    labelled = build_card(store, name="t", description="")
    assert "external label" in labelled.outcome and OUTCOME_DEFINITION not in labelled.outcome
    assert not any("90+" in line for line in labelled.limitations)
    store["zeroed_features"] = ["late_payments_12m"]
    card = build_card(store, name="t", description="")
    assert card.zeroed_payment_history == ["late_payments_12m"]
    assert any("Merchant categories" in line for line in card.never_inputs)


def test_forbidden_category_allowed_is_named_among_never_inputs(trained) -> None:
    _, bundle, _ = trained
    manifest = {**bundle.manifest,
                "allowed_exceptions": [{"column": "gender", "rule": "forbidden-fc06", "because": "audit study"}]}
    card = build_card(manifest, name="t", description="")
    line = next(x for x in card.never_inputs if x.startswith("FC06"))
    assert "WARNING" in line and "gender" in line and "audit study" in line


def test_cli_prints_the_shipped_score_beside_the_probability(trained) -> None:
    _, bundle, _ = trained
    with cli_reports.console.capture() as captured:
        cli_reports.print_validation(bundle.manifest, "synthetic")
    rows = {cells[0]: cells[1:] for cells in
            ([c.strip() for c in line.strip("│ ").split("│")] for line in captured.get().splitlines() if "│" in line)}
    v = [bundle.manifest["validation"][name] for name in ("champion", "challenger")]
    expected = {
        "AUC, probability": [f"{m['auc']:.4f}" for m in v],
        "AUC, 350–950 score": [f"{m['score']['auc']:.4f}" for m in v],
        "Gini, 350–950 score": [f"{m['score']['gini']:.4f}" for m in v],
        "KS, 350–950 score": [f"{m['score']['ks']:.4f}" for m in v],
        "share at 350": [f"{m['at_floor']:.1%}" for m in v],
        "share at 950": [f"{m['at_cap']:.1%}" for m in v],
        "score PSI, validation vs training": [f"{m['psi_score']:.3f}" for m in v],
    }
    for label, values in expected.items():
        assert rows[label] == values, (label, rows.get(label))


_band = st.builds(
    lambda name, n, expected, observed: dict(
        band=name, lower=350, upper=549, n=n, observed_bad_rate=observed, expected_bad_rate=expected,
        interval_low=max(expected - 0.05, 0.0), interval_high=min(expected + 0.05, 1.0),
        holds=n == 0 or abs(observed - expected) <= 0.05,
        miss=0.0 if n == 0 or abs(observed - expected) <= 0.05
        else observed - (expected + 0.05 if observed > expected else expected - 0.05)),
    st.sampled_from(["poor", "fair", "good", "very good", "excellent"]), st.integers(0, 500),
    st.floats(0.0, 1.0), st.floats(0.0, 1.0))


@given(st.lists(_band, min_size=1, max_size=5, unique_by=lambda b: b["band"]))
def test_band_verdicts_name_exactly_the_bands_that_miss(bands: list[dict]) -> None:
    lines = band_verdicts(bands)
    misses = [b for b in bands if not b["holds"]]
    assert len([x for x in lines if " misses: " in x]) == len(misses)
    for b in misses:
        assert any(x.startswith(f"Band “{b['band']}”") and ("above" if b["observed_bad_rate"] > b["interval_high"] else "below") in x
                   for x in lines)
    assert any(x.startswith("All ") for x in lines) == (not misses)
    empty = [b["band"] for b in bands if b["n"] == 0]
    assert all(any(f"“{name}”" in x and "untested" in x for x in lines) for name in empty)


def test_report_refuses_a_bundle_without_published_scaling(trained, tmp_path: Path) -> None:
    _, bundle, _ = trained
    old = ModelBundle(bundle.champion, bundle.challenger,
                      {k: v for k, v in bundle.manifest.items() if k != "published"})
    with pytest.raises(ValueError, match="retrain"):
        report_html(old, tmp_path)


def test_report_on_a_directory_without_a_bundle_is_a_one_line_error(tmp_path) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from credo.cli.main import app

    result = CliRunner().invoke(app, ["report", "--models", str(tmp_path / "nothing"), "--out",
                                      str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "cannot report on" in result.output and not (tmp_path / "r.html").exists()
