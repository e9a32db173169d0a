"""A live Credo server (uvicorn in a thread, on a free port) over the simulated, trained world,
and Debian's Chromium driven by Playwright (no browser is downloaded)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.service.support import World, make_world

CHROMIUM = os.environ.get("CREDO_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


class LiveServer:
    def __init__(self, world: World) -> None:
        config = uvicorn.Config(world.client.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        started = threading.Event()
        while not self.server.started:
            started.wait(0.02)  # uvicorn flags readiness with a bool; poll it briefly
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, LiveServer]]:
    world = make_world(tmp_path_factory.mktemp("web"), tmp_path_factory.getbasetemp() / "service-world")
    server = LiveServer(world)
    yield world, server
    server.stop()
    world.close()


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()
