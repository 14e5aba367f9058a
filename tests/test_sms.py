"""SMS through the provider adapter, against a real HTTP receiver on loopback that records what
it got: the JSON and the bearer token as sent; a 429 then a 500 retried with backoff and the
message delivered once; a 400 failed for good."""

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.settings import Settings
from tests.support.notices import a_meeting, apply, confirmed, deliveries_of, drain
from tests.support.waiting import eventually


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.answers: dict[str, list[int]] = {}  # per number, the statuses to give in turn

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append((request.headers.get("Authorization", ""), body))
        queued = self.answers.get(body["to"], [])
        status = queued.pop(0) if queued else 202
        return web.json_response({"status": status}, status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    recorder = Receiver()
    app = web.Application()
    app.router.add_post("/messages", recorder.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield recorder, str(server.make_url("/messages"))
    await server.close()


async def test_sms_goes_to_the_provider_and_is_retried_on_429_and_500(
    pools: dict[str, asyncpg.Pool], settings: Settings, receiver: tuple[Receiver, str]
) -> None:
    pool, (recorder, url) = pools["notifications"], receiver
    sms_settings = settings.model_copy(
        update={
            "sms_url": url,
            "sms_token": "provider-token",
            "notice_retry_s": [0.05, 0.05, 0.05],
            "public_url": "http://civic.test",
        }
    )
    meeting = a_meeting()
    phones = [f"+1555{uuid.uuid4().int % 10**7:07d}" for _ in range(3)]
    recorder.answers = {phones[0]: [429, 500], phones[2]: [400]}
    for phone in phones:
        await apply(pool, confirmed(meeting, None, phone=phone, language="es"))

    async def settled() -> list[asyncpg.Record]:
        await drain(pool, sms_settings, "sms")
        return await deliveries_of(pool, f"meeting:{meeting.meeting_id}")

    rows = await eventually(settled, lambda rows: all(r["state"] != "pending" for r in rows))
    assert {r["address"]: r["state"] for r in rows} == {
        phones[0]: "sent",
        phones[1]: "sent",
        phones[2]: "failed",
    }
    assert Counter(body["to"] for _, body in recorder.received) == {phones[0]: 3, phones[1]: 1, phones[2]: 1}
    token, body = next(item for item in recorder.received if item[1]["to"] == phones[1])
    assert token == "Bearer provider-token"
    assert body["text"].startswith("Tiene un lugar en Indicadores de equidad")
    assert "http://civic.test/meetings/r/" in body["text"] and body["reference"].startswith("delivery-")
    assert next(r["reason"] for r in rows if r["state"] == "failed").startswith("550 HTTP 400")
