"""A running server switches to a newly published model without a restart, and atomically: every request
is answered wholly by one model (its version, score and factor weights), never half by each."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from credo.api import create_app
from credo.features import compute_features, events_from_store
from credo.governance import registry
from credo.service import Service
from credo.service import scores as scoring
from tests.governance.support import candidate, derived, publish, register_programme
from tests.service.support import NOW, World

SHIFT = 25  # the second model scores everyone 25 points higher, and publishes other factor weights


def _answer(body: dict[str, Any]) -> tuple[str, int, tuple]:
    return body["model_version"], body["score"], tuple((g["group"], g["weight"]) for g in body["factor_groups"])


@pytest.fixture
def two_models(world: World) -> dict[str, Any]:
    """A server following the registry (no bundle given), the first model published, a second one registered;
    what each would answer for one consumer."""
    register_programme(world)
    first = candidate(world)
    assert publish(world, first, at=NOW).published

    def shift(champion: dict) -> None:
        champion["base_points"] += SHIFT

    def weights(manifest: dict) -> None:
        manifest["published"]["champion"]["weights"]["groups"] = {g: 20.0 for g in
                                                                  manifest["published"]["champion"]["weights"]["groups"]}

    second = derived(world.engine, first, "shifted", shift, weights)
    svc = Service(world.engine, world.svc.settings, clock=lambda: world.clock[0], keyring=world.svc.keyring)
    client = TestClient(create_app(world.svc.settings, world.engine, svc))
    cid = world.high(10)
    headers = world.consumer_token(cid)
    features = compute_features(events_from_store(world.engine, cid), scoring.online_as_of(NOW), consumers=[cid])
    expected = {}
    with world.engine.connect() as conn:
        for version in (first, second):
            bundle = registry.load_bundle(conn, version)
            score = int(bundle.champion.score(features[list(bundle.champion.features_)]).iloc[0])
            expected[version] = (version, score, tuple(sorted(bundle.factor_weights().items())))
    assert expected[second][1] == expected[first][1] + SHIFT
    return {"world": world, "svc": svc, "client": client, "headers": headers, "first": first, "second": second,
            "expected": expected}


def _publish_second(ctx: dict[str, Any]) -> None:
    decision = publish(ctx["world"], ctx["second"], at=NOW + timedelta(minutes=1),
                       rescaling="every score 25 points up: band tables republished")
    assert decision.published, [r.record() for r in decision.report.failed]


def _normalised(answer: tuple[str, int, tuple]) -> tuple[str, int, tuple]:
    version, score, weights = answer
    return version, score, tuple(sorted(weights))


def test_a_publish_landing_mid_request_leaves_that_request_on_one_model(two_models, monkeypatch) -> None:  # noqa: ANN001
    ctx, original = two_models, scoring.factor_groups
    switched = []

    def switch_then_group(svc: Service, features: Any) -> list[dict[str, Any]]:
        if not switched:  # the score is computed; the factor groups are next: publish and switch now
            _publish_second(ctx)
            switched.append(ctx["svc"].refresh_model())
        return original(svc, features)

    monkeypatch.setattr(scoring, "factor_groups", switch_then_group)
    during = ctx["client"].get("/v1/me/score", headers=ctx["headers"])
    assert switched == [True] and during.status_code == 200, during.text
    assert _normalised(_answer(during.json())) == ctx["expected"][ctx["first"]]
    after = ctx["client"].get("/v1/me/score", headers=ctx["headers"])
    assert _normalised(_answer(after.json())) == ctx["expected"][ctx["second"]]


def test_concurrent_requests_during_a_switch_each_get_one_models_answer(two_models) -> None:  # noqa: ANN001
    ctx = two_models
    answers: list[tuple[bool, tuple[str, int, tuple]]] = []
    lock, started, done = threading.Lock(), threading.Event(), threading.Event()
    enough_before, after_each = 8, 6

    def worker() -> None:
        seen_after = 0
        while seen_after < after_each:
            late = done.is_set()  # the switch had completed before this request began
            r = ctx["client"].get("/v1/me/score", headers=ctx["headers"])
            assert r.status_code == 200, r.text
            with lock:
                answers.append((late, _normalised(_answer(r.json()))))
                if len(answers) >= enough_before:
                    started.set()
            seen_after += late

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    assert started.wait(60)
    _publish_second(ctx)
    assert ctx["svc"].refresh_model()
    done.set()
    for t in threads:
        t.join(120)
    first, second = ctx["expected"][ctx["first"]], ctx["expected"][ctx["second"]]
    assert all(answer in (first, second) for _, answer in answers), "an answer mixed two models"
    assert all(answer == second for late, answer in answers if late)
    assert {answer for _, answer in answers} == {first, second}


def test_the_server_follows_a_publish_without_a_restart(two_models) -> None:  # noqa: ANN001
    ctx = two_models
    ctx["svc"].settings = ctx["svc"].settings.model_copy(update={"model_refresh_seconds": 0.02})
    app = create_app(ctx["svc"].settings, ctx["world"].engine, ctx["svc"])
    with TestClient(app) as client:  # the lifespan runs: it follows the registry's pointer
        before = client.get("/v1/me/score", headers=ctx["headers"]).json()["model_version"]
        _publish_second(ctx)
        deadline = time.monotonic() + 20
        while client.get("/v1/me/score", headers=ctx["headers"]).json()["model_version"] != ctx["second"]:
            assert time.monotonic() < deadline, "the server never switched"
            time.sleep(0.02)
    assert before == ctx["first"]
