"""The publication gate: a candidate breaking any one rule is refused, naming the rule, and the refusal is
in the operator log; a good one is published and served; a rollback returns to the previous model. Every
candidate here is the world's registered model, broken one way, judged on the same registered rows."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pandas as pd
from sqlalchemy import select
from typer.testing import CliRunner

from credo.cli.main import app as cli
from credo.fairness import attributes
from credo.fairness.search import refit
from credo.governance import gate, oplog, registry
from credo.policy import governance as rules
from credo.scoring.training import fit_bundle
from credo.features.definitions import model_settings
from tests.governance.support import (
    OPERATOR, candidate, derived, failed, publish, register_fitted, register_programme,
)
from tests.service.support import NOW, World

runner = CliRunner()


def _serving(world: World) -> str | None:
    with world.engine.connect() as conn:
        return registry.serving_version(conn)


def _published(world: World) -> str:
    """The world's candidate, published (the first publish: nothing to compare with)."""
    register_programme(world)
    version = candidate(world)
    decision = publish(world, version, at=NOW)
    assert decision.published, [r.record() for r in decision.report.failed]
    return version


def _refused_and_recorded(world: World, decision: gate.Decision, rule: str, serving: str | None) -> None:
    assert not decision.published and rule in failed(decision)
    assert _serving(world) == serving  # nothing moved
    with world.engine.connect() as conn:
        entry = oplog.entries(conn, action=oplog.Action.REFUSE)[-1]
    assert entry.model_version == decision.report.version and entry.operator == OPERATOR
    assert rule in entry.detail["failed_rules"]
    assert {r["rule"] for r in entry.detail["rules"]} == {r.id for r in rules.GATE_RULES}


def test_the_first_publish_runs_every_rule_and_records_it(world: World) -> None:
    version = _published(world)
    assert _serving(world) == version
    with world.engine.connect() as conn:
        entry = oplog.entries(conn, action=oplog.Action.PUBLISH)[-1]
        reads = oplog.entries(conn, action=oplog.Action.AUDIT_READ)
    assert entry.model_version == version and entry.operator == OPERATOR and entry.reason == "test publish"
    results = {r["rule"]: r for r in entry.detail["rules"]}
    assert list(results) == [r.id for r in rules.GATE_RULES] and all(r["passed"] for r in results.values())
    assert "no serving model" in results[rules.AUC.id]["summary"]
    assert entry.detail["thresholds"] == [600] and entry.detail["thresholds_from"] == "registered perk programmes"
    assert reads and reads[-1].reason == f"publication gate of {version}"  # the audit store read, attributed


def test_a_feature_against_its_declared_direction_is_refused(world: World) -> None:
    version = _published(world)
    with world.engine.connect() as conn:
        card = registry.load_bundle(conn, version).champion
    feature = max((f for f in card.features_ if len(card.binnings_[f].splits) >= 2),
                  key=lambda f: card.point_ranges()[f])

    def reverse(champion: dict) -> None:
        entry = next(e for e in champion["features"] if e["name"] == feature)
        regular = len(entry["binning"]["splits"]) + 1
        entry["points"][:regular] = entry["points"][:regular][::-1]

    decision = publish(world, derived(world.engine, version, "reversed", reverse))
    _refused_and_recorded(world, decision, rules.MONOTONE.id, version)
    monotone = next(r for r in decision.report.results if r.rule == rules.MONOTONE.id)
    assert feature in monotone.summary and list(monotone.detail["violations"]) == [feature]


def test_a_reason_that_is_not_true_for_the_consumer_is_refused(world: World) -> None:
    version = _published(world)
    with world.engine.connect() as conn:
        card = registry.load_bundle(conn, version).champion
    feature = max(card.features_, key=lambda f: card.point_ranges()[f])

    def mislabel(champion: dict) -> None:  # R09 ("few accounts") is declared by no feature: never true
        champion["params"]["reason_rules"][feature] = {"rules": [["any", None, "R09"]], "missing": "R09"}

    decision = publish(world, derived(world.engine, version, "mislabelled", mislabel))
    _refused_and_recorded(world, decision, rules.REASONS.id, version)
    result = next(r for r in decision.report.results if r.rule == rules.REASONS.id)
    assert result.detail["false"] > 0 and all(code == "R09" for _, code in result.detail["examples"]["false"])
    assert [r.rule for r in decision.report.failed] == [rules.REASONS.id]  # nothing else changed


def test_an_input_that_proxies_an_audit_group_is_refused(world: World) -> None:
    version = _published(world)
    with world.engine.connect() as conn:
        rows = registry.evaluation_samples(conn, version)
        groups = dict(conn.execute(select(attributes.audit_attributes.c.subject_id, attributes.audit_attributes.c.value)
                                   .where(attributes.audit_attributes.c.attribute == "group")).all())
    noise = np.random.default_rng(0).normal(0, 0.1, len(rows))
    rows["segment_score"] = (rows["subject_id"].map(groups) == "B").astype(float) + noise
    train = rows[rows["sample"] == "train"]
    names = [*model_settings()["directions"], "segment_score"]
    bundle = fit_bundle(train[names], train["bad"], features=names, source="a candidate with a proxy input",
                        with_challenger=False, **model_settings())
    decision = publish(world, register_fitted(world.engine, bundle, rows))
    _refused_and_recorded(world, decision, rules.INPUTS.id, version)
    result = next(r for r in decision.report.results if r.rule == rules.INPUTS.id)
    assert set(result.detail["refused"]) == {"segment_score"}
    assert "proxy of group=" in result.detail["refused"]["segment_score"]


def test_a_candidate_ranking_worse_than_the_serving_model_is_refused(world: World) -> None:
    version = _published(world)
    with world.engine.connect() as conn:
        rows = registry.evaluation_samples(conn, version)
    train = rows[rows["sample"] == "train"].copy()
    train["bad"] = np.random.default_rng(1).permutation(train["bad"].to_numpy())  # labels that mean nothing
    names = list(model_settings()["directions"])
    bundle = fit_bundle(train[names], train["bad"], features=names, source="shuffled labels", with_challenger=False,
                        **model_settings())
    decision = publish(world, register_fitted(world.engine, bundle, rows))
    _refused_and_recorded(world, decision, rules.AUC.id, version)
    result = next(r for r in decision.report.results if r.rule == rules.AUC.id)
    assert result.detail["candidate_auc"] < result.detail["serving_auc"] - rules.AUC_MARGIN


def test_adverse_impact_below_four_fifths_is_refused_unless_justified(world: World) -> None:
    """An audit group made of most consumers under a registered threshold of 700 and a few above it: its
    approval rate there is far below four fifths of the other group's, while no single input separates it."""
    register_programme(world, 700)
    version = candidate(world)
    with world.engine.connect() as conn:
        bundle = registry.load_bundle(conn, version)
        rows = registry.evaluation(conn, version).drop_duplicates("subject_id")
    scores = bundle.champion.score(rows[list(bundle.champion.features_)]).to_numpy()
    draw = np.random.default_rng(2).random(len(rows))
    cohort = pd.DataFrame({"subject_id": rows["subject_id"],
                           "group": np.where(draw < np.where(scores < 700, 0.8, 0.2), "x", "y")})
    attributes.load(world.engine, cohort, source="test cohort", now=NOW, subject="subject_id")

    decision = publish(world, version, at=NOW)
    _refused_and_recorded(world, decision, rules.ADVERSE_IMPACT.id, None)
    result = next(r for r in decision.report.results if r.rule == rules.ADVERSE_IMPACT.id)
    assert {(a["attribute"], a["group"], a["threshold"]) for a in result.detail["adverse"]} >= {("group", "x", 700)}
    assert all(a["air"] < rules.AIR_MIN for a in result.detail["adverse"])

    why = "the gap follows repayment history; the search found no alternative within the AUC margin"
    decision = publish(world, version, at=NOW + timedelta(minutes=2), justification=why)
    assert decision.published and _serving(world) == version
    result = next(r for r in decision.report.results if r.rule == rules.ADVERSE_IMPACT.id)
    assert result.passed and result.override == why
    with world.engine.connect() as conn:
        entry = oplog.entries(conn, action=oplog.Action.PUBLISH)[-1]
    assert entry.detail["fairness_justification"] == why


def test_a_score_shift_against_the_serving_model_needs_a_rescaling_decision(world: World) -> None:
    version = _published(world)

    def shift(champion: dict) -> None:
        champion["base_points"] += 40

    shifted = derived(world.engine, version, "shifted", shift)
    decision = publish(world, shifted)
    _refused_and_recorded(world, decision, rules.SCORE_STABILITY.id, version)
    result = next(r for r in decision.report.results if r.rule == rules.SCORE_STABILITY.id)
    assert result.detail["psi"] > rules.SCORE_PSI_LIMIT

    decided = "every score moves up 40 points: band tables republished, partners told"
    decision = publish(world, shifted, rescaling=decided)
    stability = next(r for r in decision.report.results if r.rule == rules.SCORE_STABILITY.id)
    assert stability.passed and stability.override == decided


def test_a_good_candidate_is_published_and_a_rollback_returns_to_the_previous_model(any_world: World) -> None:
    world = any_world
    first = _published(world)
    with world.engine.connect() as conn:
        bundle = registry.load_bundle(conn, first)
        rows = registry.evaluation_samples(conn, first)
    retrained = refit(bundle, "champion", rows[rows["sample"] == "train"], "baseline-refit")
    retrained.manifest["version"] = f"{first}-retrained"
    second = register_fitted(world.engine, retrained, rows)
    decision = publish(world, second, at=NOW + timedelta(minutes=5))
    assert decision.published, [r.record() for r in decision.report.failed]
    assert decision.report.serving_version == first and _serving(world) == second

    entry = gate.rollback(world.engine, operator=OPERATOR, reason="complaints after the switch",
                          at=NOW + timedelta(minutes=9))
    assert entry.action == oplog.Action.ROLLBACK and entry.model_version == first and _serving(world) == first
    assert entry.detail["serving_before"] == second
    with world.engine.connect() as conn:
        actions = [(e.action, e.model_version) for e in oplog.entries(conn)
                   if e.action in (oplog.Action.PUBLISH, oplog.Action.ROLLBACK)]
        check = oplog.verify(conn)
    assert actions == [("publish", first), ("publish", second), ("rollback", first)]
    assert check.ok and check.entries_checked == check.head_seq

    url = world.engine.url.render_as_string(hide_password=False)
    verified = runner.invoke(cli, ["model", "log", "--verify", "--db", url])
    assert verified.exit_code == 0, verified.output
    assert f"head {check.head_seq}:{check.head_hash}" in verified.output.replace("\n", "")


def test_the_command_names_each_failed_rule_and_has_no_force(world: World) -> None:
    register_programme(world)
    version = candidate(world)
    url = world.engine.url.render_as_string(hide_password=False)
    forced = runner.invoke(cli, ["model", "publish", version, "--reason", "r", "--force", "--db", url])
    assert forced.exit_code == 2 and "No such option" in forced.output
    no_reason = runner.invoke(cli, ["model", "publish", version, "--reason", " ", "--db", url])
    assert no_reason.exit_code == 1 and "MODEL_REASON_REQUIRED" in no_reason.output

    def mislabel(champion: dict) -> None:
        feature = max(champion["features"], key=lambda e: max(e["points"]) - min(e["points"]))["name"]
        champion["params"]["reason_rules"][feature] = {"rules": [["any", None, "R09"]], "missing": "R09"}

    bad = derived(world.engine, version, "mislabelled", mislabel)
    refused = runner.invoke(cli, ["model", "publish", bad, "--reason", "try it", "--db", url, "--operator", "ops-x"])
    assert refused.exit_code == 1
    assert f"refused {bad}: failed {rules.REASONS.id}" in refused.output.replace("\n", "")
    published = runner.invoke(cli, ["model", "publish", version, "--reason", "first model", "--db", url])
    assert published.exit_code == 0, published.output
    again = runner.invoke(cli, ["model", "publish", version, "--reason", "again", "--db", url])
    assert again.exit_code == 1 and "MODEL_ALREADY_SERVING" in again.output


def test_the_alternative_search_records_the_operators_choice_as_a_candidate(world: World, tmp_path) -> None:  # noqa: ANN001
    """The world's own audit groups (its synthetic group and age band): the search refits the documented
    alternatives, and the chosen one is registered for the gate, the choice and its reason logged."""
    version = _published(world)
    url = world.engine.url.render_as_string(hide_password=False)
    out = tmp_path / "search.json"
    searched = runner.invoke(cli, ["fairness", "search", "--db", url, "--out", str(out), "--operator", OPERATOR])
    assert searched.exit_code == 0, searched.output
    result = json.loads(out.read_text())
    names = [a["name"] for a in result["alternatives"]]
    assert names[:2] == ["as-registered", "baseline-refit"] and any(n.startswith("drop:") for n in names)
    assert "coarse-bins" in names and any(n.startswith("scale:+") for n in names)
    assert all(0.5 < a["auc"] < 1 for a in result["alternatives"])
    chosen = next(n for n in names if n.startswith("drop:"))
    unexplained = runner.invoke(cli, ["fairness", "search", "--db", url, "--choose", chosen])
    assert unexplained.exit_code == 1 and "MODEL_REASON_REQUIRED" in unexplained.output
    picked = runner.invoke(cli, ["fairness", "search", "--db", url, "--choose", chosen, "--reason",
                                 "closes most of the gap for 0.005 AUC", "--operator", OPERATOR])
    assert picked.exit_code == 0, picked.output
    with world.engine.connect() as conn:
        entry = oplog.entries(conn, action=oplog.Action.CHOOSE)[-1]
        searched_entry = oplog.entries(conn, action=oplog.Action.SEARCH)[-1]
        record = registry.get(conn, entry.model_version)
        rows = registry.evaluation(conn, record.version)
    assert entry.reason == "closes most of the gap for 0.005 AUC" and entry.detail["chosen"]["name"] == chosen
    assert entry.detail["search_entry"] == searched_entry.seq and searched_entry.operator == OPERATOR
    assert record.manifest["alternative_of"] == {"version": version, "alternative": chosen}
    dropped = chosen.split(":", 1)[1].split(",")
    with world.engine.connect() as conn:
        features = registry.load_bundle(conn, record.version).champion.features_
    assert not set(dropped) & set(features) and len(rows) > 0
    refused = runner.invoke(cli, ["fairness", "search", "--db", url, "--choose", "scale:+25", "--reason", "r"])
    assert refused.exit_code == 1 and "INVALID_VALUE" in refused.output  # a scaling shift is not registered
