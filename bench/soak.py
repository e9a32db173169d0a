"""Soak: the real server (``credo serve --workers 2``) on PostgreSQL under a mixed load, on loopback.

    .venv/bin/python bench/soak.py [--minutes 10] [--clients 8] [--consumers 300] [--kill-one]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Builds a fresh PostgreSQL schema (dropped at the end): a simulated population (20 months ending today),
ingested through the CLI; a trained scorecard, registered and published through the gate; a credit
partner with a perk programme at 600 and consents to read 128 consumers; a utility partner that may report
bills for them; 16 consumer accounts with a band credential each. Then ``credo serve --workers 2`` with
deployment settings (a real ledger secret, an absolute key directory; probing limits lifted, since the
load re-checks the same consumers on purpose) and N client threads, each a keep-alive ``httpx.Client``,
looping over a weighted mix:

* ``ingest``   ``POST /v1/events``: 20 bills, 15 new and 5 replayed from the acknowledged ones (duplicates);
* ``eligibility`` ``POST /v1/eligibility`` at the 600 programme;
* ``score``    ``GET /v1/partners/consumers/{id}/score`` (consented, with reasons);
* ``verify``   ``POST /v1/credentials/verify``: a fresh presentation (new nonce, new KB-JWT) of a band credential;
* ``login``    ``POST /v1/sessions`` with the right password.

Prints p50/p99 per operation, the error count (any answer other than the expected success), the RSS of
each worker over time, and checks that every acknowledged event is stored exactly once. ``--kill-one``
sends SIGKILL to one worker at mid-run (uvicorn's supervisor starts a replacement): requests it cut off
are counted apart (the client saw the connection drop; an ingest batch is then resent) and are not errors.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
from rich.console import Console
from rich.table import Table

console = Console(width=150)
PASSWORD = "soak password 123"
#: Operations a client sends on one connection before it opens a new one.
REQUESTS_PER_CONNECTION = 50
MIX = {"ingest": 2, "eligibility": 4, "score": 3, "verify": 2, "login": 1}
AUDIENCE = "https://soak-verifier.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def admin(base: str, sql: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


def cli(*args: str) -> None:
    r = subprocess.run([sys.executable, "-m", "credo", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"credo {args[0]} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")


def build(work: Path, url: str, consumers: int, env: dict[str, str]) -> dict[str, Any]:
    from sqlalchemy import select

    from credo.credentials import HolderKey
    from credo.governance import gate, registry
    from credo.registry import grant_report_consent, issue_api_key, register_partner
    from credo.registry.clock import utcnow
    from credo.service import Service, access, accounts
    from credo.settings import Settings
    from credo.service.perks import register_programme
    from credo.store import consumers as consumers_table
    from credo.store import create_store_engine

    cli("simulate", "--consumers", str(consumers), "--months", "20", "--seed", "0", "--end", date.today().isoformat(),
        "--out", str(work / "world"), "--into-store", "--db", url)
    cli("train", "--db", url, "--models", str(work / "models"), "--no-challenger")
    engine = create_store_engine(url)
    now = utcnow()
    with engine.connect() as conn:
        version = registry.listing(conn)[0].version
    decision = gate.publish(engine, version, model="champion", operator="soak", reason="soak run", at=now,
                            justification="a load test on a synthetic population: the model's fairness is not "
                                          "what is measured, and it never scores a real person")
    if not decision.published:
        raise SystemExit(f"the gate refused the soak model: {[r.summary for r in decision.report.results if not r.passed]}")
    with engine.begin() as conn:
        register_partner(conn, "soak-lender", "Soak Lender", "credit", [])
        register_partner(conn, "soak-power", "Soak Power", "utility", ["bill.paid"])
        keys = {p: issue_api_key(conn, p) for p in ("soak-lender", "soak-power")}
        register_programme(conn, "soak-lender", "perk-600", "Perk", "credit_application", 600, now)
        ids = [r[0] for r in conn.execute(select(consumers_table.c.id).where(consumers_table.c.status == "active")
                                          .order_by(consumers_table.c.id).limit(128))]
        for cid in ids:
            access.grant(conn, cid, "soak-lender", "credit_application", "score_with_reasons",
                         now + timedelta(days=30), now)
            grant_report_consent(conn, cid, "soak-power", ["bill.paid"])
    svc = Service(engine, Settings(database_url=url, ledger_secret=env["ledger_secret"], key_dir=work / "keys"))
    for cid in ids[:48]:  # accounts of simulated consumers (the API's sign-up enrols a new consumer)
        accounts.register(svc, f"soak-{cid}", PASSWORD, consumer_id=cid, now=now)
    engine.dispose()
    holders = []
    with httpx.Client(base_url=env["base"], timeout=60) as http:
        for cid in ids[:48]:
            username = f"soak-{cid}"
            token = http.post("/v1/sessions", json={"username": username, "password": PASSWORD}).json()["token"]
            holder = HolderKey()
            r = http.post("/v1/me/credentials", headers={"Authorization": f"Bearer {token}"},
                          json={"holder_jwk": holder.public_jwk(), "ttl_minutes": 1440})
            if r.status_code == 422:  # a thin file has no band to share
                continue
            r.raise_for_status()
            holders.append((username, holder, r.json()["credential"]))
            if len(holders) == 16:
                break
    return {"keys": keys, "ids": ids, "holders": holders}


def worker_pids(server: subprocess.Popen[bytes]) -> list[int]:
    """uvicorn's worker processes: children of ``credo serve`` running multiprocessing's spawn main."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == server.pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Load:
    def __init__(self, base: str, world: dict[str, Any], seconds: float) -> None:
        self.base, self.world, self.stop_at = base, world, time.monotonic() + seconds
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.cut_off: dict[str, int] = defaultdict(int)
        self.acked: dict[str, str] = {}  # event_id -> amount acknowledged (accepted or duplicate)
        self.next_id = 0

    def _bill(self, event_id: str, i: int) -> dict[str, Any]:
        ids = self.world["ids"]
        return {"type": "bill.paid", "event_id": event_id, "consumer_id": ids[i % len(ids)],
                "occurred_at": (date.today() - timedelta(days=1)).isoformat() + "T10:00:00+00:00",
                "bill_ref": f"soak-{event_id}", "bill_kind": "utility", "amount": f"{i % 90 + 10}.00",
                "currency": "CNY", "paid_date": (date.today() - timedelta(days=1)).isoformat()}

    def _ingest(self, http: httpx.Client, rng: random.Random) -> tuple[str, bool]:
        with self.lock:
            fresh = list(range(self.next_id, self.next_id + 15))
            self.next_id += 15
            replay = rng.sample(sorted(self.acked), min(5, len(self.acked)))
        batch = [self._bill(f"s{i:09d}", i) for i in fresh] + [self._bill(e, int(e[1:])) for e in replay]
        while True:  # a batch cut off by a killed worker is unacknowledged: resend it
            try:
                r = http.post("/v1/events", json={"events": batch}, headers={"X-API-Key": self.world["keys"]["soak-power"]})
            except httpx.TransportError:
                with self.lock:
                    self.cut_off["ingest"] += 1
                if time.monotonic() > self.stop_at + 60:
                    return "", False
                continue
            break
        ok = r.status_code == 200 and all(x["status"] in ("accepted", "duplicate") for x in r.json()["results"])
        if ok:
            with self.lock:
                for x, record in zip(r.json()["results"], batch, strict=True):
                    self.acked[x["event_id"]] = record["amount"]
        return r.text[:300], ok

    def _one(self, op: str, http: httpx.Client, rng: random.Random) -> tuple[str, bool]:
        w = self.world
        cid = rng.choice(w["ids"])
        if op == "eligibility":
            r = http.post("/v1/eligibility", headers={"X-API-Key": w["keys"]["soak-lender"]},
                          json={"consumer_id": cid, "programme_id": "perk-600"})
            return r.text[:300], r.status_code == 200
        if op == "score":
            r = http.get(f"/v1/partners/consumers/{cid}/score", params={"purpose": "credit_application"}, headers={"X-API-Key": w["keys"]["soak-lender"]})
            return r.text[:300], r.status_code == 200
        username, holder, credential = rng.choice(w["holders"])
        if op == "login":
            r = http.post("/v1/sessions", json={"username": username, "password": PASSWORD})
            return r.text[:300], r.status_code == 201
        from credo.credentials import present

        nonce = secrets.token_urlsafe(12)
        token = present(credential, disclose=["band"], holder_key=holder, audience=AUDIENCE, nonce=nonce,
                        now=int(time.time()))
        r = http.post("/v1/credentials/verify", json={"token": token, "audience": AUDIENCE, "nonce": nonce})
        return r.text[:300], r.status_code == 200 and r.json()["valid"] is True

    def client(self, n: int) -> None:
        rng = random.Random(n)
        ops = [op for op, weight in MIX.items() for _ in range(weight)]
        while time.monotonic() < self.stop_at:
            with httpx.Client(base_url=self.base, timeout=30) as http:
                self._session(http, rng, ops)

    def _session(self, http: httpx.Client, rng: random.Random, ops: list[str]) -> None:
        """Up to :data:`REQUESTS_PER_CONNECTION` operations on one keep-alive connection: clients come and go,
        so a replacement worker gets its share of new connections instead of none."""
        for _ in range(REQUESTS_PER_CONNECTION):
            if time.monotonic() >= self.stop_at:
                return
            op = rng.choice(ops)
            t0 = time.perf_counter()
            try:
                text, ok = self._ingest(http, rng) if op == "ingest" else self._one(op, http, rng)
            except httpx.TransportError:  # cut off by a killed worker: the client saw the connection drop
                with self.lock:
                    self.cut_off[op] += 1
                continue
            elapsed = time.perf_counter() - t0
            with self.lock:
                self.latencies[op].append(elapsed)
                if not ok:
                    self.errors[op].append(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--consumers", type=int, default=300)
    parser.add_argument("--kill-one", action="store_true", help="SIGKILL one worker at mid-run.")
    parser.add_argument("--postgres", default=os.environ.get("CREDO_TEST_POSTGRES_URL",
                                                           "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    seconds = args.minutes * 60
    schema = f"soak_{uuid.uuid4().hex[:10]}"
    admin(args.postgres, f'CREATE SCHEMA "{schema}"')
    url = schema_url(args.postgres, schema)
    work = Path(tempfile.mkdtemp(prefix="credo-soak-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CREDO_DATABASE_URL": url, "CREDO_LEDGER_SECRET": secrets.token_urlsafe(32),
           "CREDO_KEY_DIR": str(work / "keys"), "CREDO_PROBE_MAX_CHECKS": "100000000",
           "CREDO_PROBE_MAX_THRESHOLDS": "1000", "CREDO_PROBE_MAX_THRESHOLDS_ALL_PARTNERS": "1000",
           "CREDO_LOG_LEVEL": "WARNING"}
    server: subprocess.Popen[bytes] | None = None
    try:
        console.print(f"[bold]building[/] schema {schema}: {args.consumers} consumers, train, publish")
        t0 = time.perf_counter()
        from credo.store import create_store_engine, upgrade_schema

        engine = create_store_engine(url)
        upgrade_schema(engine)
        engine.dispose()
        # the store must exist (with a published model) before the server starts: build, then serve
        server = subprocess.Popen([sys.executable, "-m", "credo", "serve", "--port", str(port), "--workers", "2"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server did not start: {server.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            time.sleep(0.2)
        world = build(work, url, args.consumers, {"base": base, "ledger_secret": env["CREDO_LEDGER_SECRET"]})
        console.print(f"built and serving in {time.perf_counter() - t0:.0f} s; "
                      f"workers {worker_pids(server)}; load for {args.minutes:g} min, {args.clients} clients")

        load = Load(base, world, seconds)
        threads = [threading.Thread(target=load.client, args=(n,), daemon=True) for n in range(args.clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        samples: list[tuple[float, dict[int, float | None]]] = []
        killed: int | None = None
        step = max(5.0, seconds / 20)
        while any(t.is_alive() for t in threads):
            elapsed = time.monotonic() - started
            samples.append((elapsed, {pid: rss_mib(pid) for pid in worker_pids(server)}))
            if args.kill_one and killed is None and elapsed >= seconds / 2:
                killed = worker_pids(server)[0]
                os.kill(killed, signal.SIGKILL)
                console.print(f"[yellow]SIGKILL worker {killed} at {elapsed:.0f} s[/]")
            for t in threads:
                t.join(step / len(threads))
        total = time.monotonic() - started
        report(load, samples, total, killed)
        verify_stored(url, load)
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
        admin(args.postgres, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def report(load: Load, samples: list[tuple[float, dict[int, float | None]]], total: float, killed: int | None) -> None:
    table = Table(title=f"soak: {total:.0f} s, {platform.python_version()}, {os.cpu_count()} cores, "
                        f"load average {os.getloadavg()[0]:.2f}")
    for col in ("operation", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "cut off by kill"):
        table.add_column(col, justify="right")
    for op in MIX:
        lat = np.array(load.latencies[op]) * 1000
        table.add_row(op, str(len(lat)), f"{len(lat) / total:.1f}",
                      f"{np.percentile(lat, 50):.1f}" if len(lat) else "-",
                      f"{np.percentile(lat, 99):.1f}" if len(lat) else "-",
                      f"{lat.max():.1f}" if len(lat) else "-", str(len(load.errors[op])), str(load.cut_off[op]))
    console.print(table)
    for op, errs in load.errors.items():
        for text in errs[:3]:
            console.print(f"[red]{op} error:[/] {text}")
    rss = Table(title="worker RSS (MiB) over time")
    rss.add_column("t (s)", justify="right")
    rss.add_column("workers: pid=RSS")
    for at, by_pid in samples:
        rss.add_row(f"{at:.0f}", "  ".join(f"{p}={v:.0f}" for p, v in by_pid.items() if v is not None))
    console.print(rss)
    series: dict[int, list[float]] = defaultdict(list)
    first = set(samples[0][1]) if samples else set()  # a replacement worker's start-up is not a trend
    for _, by_pid in samples:
        for pid, v in by_pid.items():
            if v is not None and pid != killed and pid in first:
                series[pid].append(v)
    for pid, values in series.items():
        if len(values) >= 8:
            q = len(values) // 4
            early, late = float(np.median(values[q:2 * q])), float(np.median(values[-q:]))
            console.print(f"worker {pid}: RSS median {early:.0f} MiB in the second quarter, {late:.0f} MiB in the last "
                          f"({(late - early) / early * 100:+.1f} %)")
    console.print(f"errors: {sum(len(e) for e in load.errors.values())}; killed worker: {killed or 'none'}")


def verify_stored(url: str, load: Load) -> None:
    from sqlalchemy import select

    from credo.store import create_store_engine, events

    engine = create_store_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(events.c.event_id, events.c.payload).where(events.c.partner_id == "soak-power")).all()
    engine.dispose()
    counts = Counter(e for e, _ in rows)
    stored = {e: (counts[e], orjson.loads(p)["amount"]) for e, p in rows}
    missing = [e for e in load.acked if e not in stored]
    twice = [e for e, (n, _) in stored.items() if n != 1]
    changed = [e for e, amount in load.acked.items() if e in stored and stored[e][1] != amount]
    console.print(f"acknowledged events {len(load.acked)}, stored {len(stored)}: missing {len(missing)}, "
                  f"stored more than once {len(twice)}, content differs {len(changed)}")
    if missing or twice or changed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
