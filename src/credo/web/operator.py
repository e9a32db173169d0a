"""The operator pages (read-only): model card and validation, score distribution and band bad
rates, the latest batch run, the access ledger's verification status, the model registry with the
gate's last decision, the operator log with its verification, the newest drift report.

Operators are platform staff (``credo operator add``). Every page reads through
:mod:`credo.service.operations`; none writes to the store (signing in and out writes the session).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from credo.api.problems import status_for
from credo.errors import CredoError
from credo.ledger import head
from credo.policy.bands import BANDS, SCORE_MAX, SCORE_MIN, band_index
from credo.scoring import ModelBundle
from credo.service import console, governance, operations
from credo.service.console import ConsolePrincipal
from credo.service.runtime import Service
from credo.web.charts import BAND_COLOURS
from credo.web.security import (
    CONSOLE_COOKIE, NowPage, OperatorPage, ServicePage, SignInRequired, clean_input, clear_session_cookie,
    client_of, message_of, safe_next, same_site, set_session_cookie, signed_in_operator,
)
from credo.web.templating import page

router = APIRouter(prefix="/operator", dependencies=[Depends(same_site), Depends(clean_input)], include_in_schema=False)

#: How many past batch runs the runs page lists.
RECENT_RUNS = 10


def _page(request: Request, svc: Service, me: ConsolePrincipal, name: str, nav: str, **context: Any) -> Response:
    with svc.engine.connect() as conn:
        operator = console.operator_name(conn, me.subject)
    return page(request, f"operator/{name}", nav=nav, operator=operator, **context)


def _bundle(svc: Service) -> tuple[ModelBundle | None, str | None]:
    """The serving bundle, or why there is none (no model trained yet)."""
    try:
        return svc.model_bundle(), None
    except CredoError as exc:
        return None, message_of(exc)


def _model(svc: Service) -> tuple[operations.ModelRecord | None, str | None]:
    """The serving model's record, or why there is none (no bundle trained yet)."""
    try:
        return operations.model_record(svc), None
    except CredoError as exc:
        return None, message_of(exc)


def histogram(bars: list[operations.Bar], width: int = 640, height: int = 220) -> dict[str, Any]:
    """The bars of a score histogram as SVG rectangles, on the fixed 350–950 axis, coloured by band."""
    pad_l, pad_r, pad_t, pad_b = 44, 12, 12, 28
    top = max((b.count for b in bars), default=0) or 1
    span = SCORE_MAX + 1 - SCORE_MIN
    inner_w, inner_h = width - pad_l - pad_r, height - pad_t - pad_b

    def x(score: float) -> float:
        return round(pad_l + inner_w * (score - SCORE_MIN) / span, 1)

    def y(count: float) -> float:
        return round(pad_t + inner_h * (1 - count / top), 1)

    rects = [{"x": x(b.lower), "w": round(x(b.upper + 1) - x(b.lower) - 1, 1), "y": y(b.count),
              "h": round(y(0) - y(b.count), 1), "bar": b, "colour": BAND_COLOURS[int(band_index(b.lower))]}
             for b in bars]
    ticks = sorted({0, top // 2, top})
    return {"width": width, "height": height, "left": pad_l, "right": width - pad_r, "base": y(0),
            "rects": rects, "yticks": [{"count": t, "y": y(t)} for t in ticks],
            "xticks": [{"score": s, "x": x(s)} for s in (*(b.lower for b in BANDS), SCORE_MAX)]}


@router.get("/login")
def login_form(request: Request) -> Response:
    return page(request, "operator/login.html", next=safe_next(request.query_params.get("next"), "/operator"))


@router.post("/login")
def login(request: Request, svc: ServicePage, now: NowPage, username: Annotated[str, Form()],
          password: Annotated[str, Form()], next: Annotated[str, Form()] = "/operator") -> Response:  # noqa: A002
    try:
        token, expires_at = console.operator_login(svc, username, password, now, client_of(request))
    except CredoError as exc:
        return page(request, "operator/login.html", status_code=status_for(exc.code), error=message_of(exc),
                    next=safe_next(next, "/operator"), username=username)
    response = RedirectResponse(safe_next(next, "/operator"), status_code=303)
    set_session_cookie(request, response, CONSOLE_COOKIE, token, expires_at)
    return response


@router.post("/logout")
def logout(request: Request, svc: ServicePage, now: NowPage) -> Response:
    response = RedirectResponse("/operator/login", status_code=303)
    try:
        console.logout(svc, signed_in_operator(request), now)
    except SignInRequired:
        pass  # already signed out
    clear_session_cookie(response, CONSOLE_COOKIE)
    return response


@router.get("")
def overview(request: Request, me: OperatorPage, svc: ServicePage) -> Response:
    bundle, missing = _bundle(svc)
    with svc.engine.connect() as conn:
        run = operations.latest_batch_run(conn)
        ledger_seq, ledger_hash = head(conn)
    return _page(request, svc, me, "overview.html", "overview", missing=missing, run=run,
                 version=bundle.version if bundle else None,
                 trained_at=bundle.manifest.get("trained_at") if bundle else None,
                 serving=svc.settings.serving_model, ledger_seq=ledger_seq, ledger_hash=ledger_hash)


@router.get("/model")
def model_page(request: Request, me: OperatorPage, svc: ServicePage) -> Response:
    model, missing = _model(svc)
    return _page(request, svc, me, "model.html", "model", model=model, missing=missing)


@router.get("/scores")
def scores_page(request: Request, me: OperatorPage, svc: ServicePage, now: NowPage, observed: bool = False) -> Response:
    """The latest batch run's spread over the bands. Observed bad rates read every event, so they are
    computed only when asked (``?observed=1``) and only once the run's outcome horizon has passed."""
    bundle, missing = _bundle(svc)
    with svc.engine.connect() as conn:
        run = operations.latest_batch_run(conn)
        spread = operations.distribution(conn, run) if run else None
        window = operations.outcome_window(conn, run, now) if run else None
    # the published expected rates are the serving model's: they describe the run only if it scored it
    same_model = bundle is not None and run is not None and run.model_version == bundle.version
    expected = bundle.published(svc.settings.serving_model).get("bands", []) if same_model and bundle else []
    if observed and run and expected and window and window.known:
        window = operations.observed_outcomes(svc.engine, run, expected, now)
    return _page(request, svc, me, "scores.html", "scores", missing=missing, run=run,
                 version=bundle.version if bundle else None, same_model=same_model, spread=spread,
                 chart=histogram(spread.bars) if spread else None,
                 expected={b["band"]: b["expected_bad_rate"] for b in expected},
                 observed={b["band"]: b for b in window.bands} if window and window.bands else {},
                 outcomes=window)


@router.get("/runs")
def runs_page(request: Request, me: OperatorPage, svc: ServicePage) -> Response:
    with svc.engine.connect() as conn:
        runs = operations.batch_runs(conn, limit=RECENT_RUNS)
    return _page(request, svc, me, "runs.html", "runs", runs=runs, recent=RECENT_RUNS)


@router.get("/ledger")
def ledger_page(request: Request, me: OperatorPage, svc: ServicePage, now: NowPage) -> Response:
    return _page(request, svc, me, "ledger.html", "ledger", check=operations.verify_ledger(svc, now))


@router.get("/models")
def models_page(request: Request, me: OperatorPage, svc: ServicePage) -> Response:
    return _page(request, svc, me, "models.html", "models", registry=governance.registry_view(svc))


@router.get("/log")
def log_page(request: Request, me: OperatorPage, svc: ServicePage) -> Response:
    return _page(request, svc, me, "log.html", "log", log=governance.operator_log(svc))


@router.get("/monitor")
def monitor_page(request: Request, me: OperatorPage, svc: ServicePage) -> Response:
    return _page(request, svc, me, "monitor.html", "monitor", report=governance.latest_drift(svc))
