"""The NATS fixture is real: a message published with a Nats-Msg-Id is stored once."""

from __future__ import annotations

import pytest
from nats.js import JetStreamContext

from contracts.streams import MSG_ID_HEADER, SIGNALS_STREAM

pytestmark = pytest.mark.integration


async def test_duplicate_msg_id_is_dropped_by_jetstream(jetstream: JetStreamContext) -> None:
    first = await jetstream.publish("signals.app_opened", b"{}", headers={MSG_ID_HEADER: "e-1"})
    again = await jetstream.publish("signals.app_opened", b"{}", headers={MSG_ID_HEADER: "e-1"})
    info = await jetstream.stream_info(SIGNALS_STREAM)
    assert not first.duplicate
    assert again.duplicate
    assert info.state.messages == 1
