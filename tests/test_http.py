"""The HTTP side of a service, served for real on loopback: problems, request ids, ops, pages."""

import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import BaseModel

from deploy.stack import SERVICES
from services.engagement.app import SPEC as ENGAGEMENT
from services.engagement.people import PersonRegistration
from services.surveys.app import SPEC as SURVEYS
from shared.bus import Bus
from shared.runtime import build_app
from shared.settings import Settings


@pytest.fixture
async def engagement(
    settings: Settings, pools: dict[str, asyncpg.Pool], bus: Bus
) -> AsyncIterator[TestClient]:
    # Every request here comes from one address: the registration rate limit is tested on its own.
    unlimited = settings.model_copy(update={"registrations_per_client": 0})
    client = TestClient(TestServer(build_app(ENGAGEMENT, unlimited, pools["engagement"], bus)))
    await client.start_server()
    yield client
    await client.close()


async def counts(pool: asyncpg.Pool) -> tuple[int, int]:
    row = await pool.fetchrow("SELECT (SELECT count(*) FROM people) AS p, (SELECT count(*) FROM outbox) AS o")
    assert row is not None
    return row["p"], row["o"]


async def test_registering_a_person_writes_the_row_and_its_event_together(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    email = f"lucia-{uuid.uuid4().hex[:6]}@example.org"
    response = await engagement.post(
        "/api/v1/people",
        json={"display_name": "Lucía", "email": email, "language": "es", "consent_to_contact": True},
        headers={"X-Request-Id": "req-from-the-proxy-1"},
    )
    assert response.status == 202
    assert response.headers["X-Request-Id"] == "req-from-the-proxy-1"
    pool = pools["engagement"]
    person_id = str(await pool.fetchval("SELECT id FROM people WHERE email = $1", email))
    envelope = await pool.fetchval(
        "SELECT payload FROM outbox WHERE payload->'data'->>'person_id' = $1 AND routing_key = $2",
        person_id,
        "person.registered",
    )
    assert envelope["type"] == "person.registered"
    assert envelope["correlation_id"] == "req-from-the-proxy-1"
    assert envelope["data"]["language"] == "es"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        (b"{not json", "application/json", 400, None),
        (b"[]", "application/json", 400, None),
        # Parser limits: too deep for Python's recursion, too long for its int conversion.
        (b"[" * 100_000, "application/json", 400, None),
        (b'{"display_name": "Ana", "postal_code": ' + b"9" * 5000 + b"}", "application/json", 400, None),
        (b'{"display_name": "\xff"}', "application/json", 400, None),
        # A lone surrogate is valid JSON text for Python but not for UTF-8 (nor PostgreSQL).
        (b'{"display_name": "\\ud800"}', "application/json", 400, None),
        (b"display_name=Ana", "application/x-www-form-urlencoded", 415, None),
        (json.dumps({"display_name": ""}).encode(), "application/json", 422, "display_name"),
        (json.dumps({"display_name": "Ana", "email": "nope"}).encode(), "application/json", 422, "email"),
        # Found by the fuzzer: a NUL reached PostgreSQL, which cannot store it (a 500).
        (
            json.dumps({"display_name": "Ana", "email": "a\u0000b@example.org"}).encode(),
            "application/json",
            422,
            "email",
        ),
        (
            json.dumps({"display_name": "Ana", "consent_to_contact": True}).encode(),
            "application/json",
            422,
            "consent_to_contact",
        ),
        (json.dumps({"display_name": "Ana", "role": "admin"}).encode(), "application/json", 422, "role"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field_and_writes_nothing(
    engagement: TestClient,
    pools: dict[str, asyncpg.Pool],
    body: bytes,
    content_type: str,
    status: int,
    field: str | None,
) -> None:
    before = await counts(pools["engagement"])
    response = await engagement.post("/api/v1/people", data=body, headers={"Content-Type": content_type})
    assert response.status == status
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["status"] == status and problem["title"]
    if field:
        assert field in [e["field"] for e in problem["errors"]]
    assert await counts(pools["engagement"]) == before


async def test_an_e_mail_address_registers_once(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    body = {"display_name": "Ana", "email": f"ana-{uuid.uuid4().hex[:6]}@example.org"}
    assert (await engagement.post("/api/v1/people", json=body)).status == 202
    before = await counts(pools["engagement"])
    response = await engagement.post("/api/v1/people", json={**body, "display_name": "Ana again"})
    assert response.status == 202  # the same answer as for a new address: membership stays private
    assert await counts(pools["engagement"]) == before


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(
        st.sampled_from(["display_name", "email", "phone", "language", "postal_code", "consent_to_contact"]),
        st.one_of(
            st.none(), st.booleans(), st.integers(), st.text(max_size=30), st.lists(st.integers(), max_size=2)
        ),
    )
)
async def test_any_json_object_gets_an_answer_never_a_crash(
    engagement: TestClient, body: dict[str, object]
) -> None:
    response = await engagement.post("/api/v1/people", json=body)
    assert response.status in (202, 422)
    if response.status != 202:
        assert response.content_type == "application/problem+json"


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.tuples(st.sampled_from([b"[", b'{"a":']), st.integers(1, 50_000)).map(lambda t: t[0] * t[1]),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
            ),
            max_leaves=12,
        ).map(lambda value: json.dumps(value).encode()),
    )
)
async def test_any_body_gets_a_client_error_or_acceptance_never_a_server_error(
    engagement: TestClient, body: bytes
) -> None:
    response = await engagement.post(
        "/api/v1/people", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status < 500, await response.text()
    if response.status >= 400:
        assert response.content_type == "application/problem+json"


async def test_unknown_api_paths_are_problems(engagement: TestClient) -> None:
    response = await engagement.get("/api/v1/nothing-here")
    assert response.status == 404
    assert response.content_type == "application/problem+json"


async def test_operations_endpoints(engagement: TestClient) -> None:
    assert (await (await engagement.get("/healthz")).json())["status"] == "ok"
    ready = await engagement.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["checks"] == {"postgresql": "ok", "rabbitmq": "ok"}
    await engagement.get("/")
    metrics = await (await engagement.get("/metrics")).text()
    assert 'civic_http_requests_total{route="/",service="engagement",status="200"}' in metrics


async def test_readiness_fails_when_the_broker_is_gone(
    settings: Settings, pools: dict[str, asyncpg.Pool]
) -> None:
    bus = Bus(settings)
    await bus.connect()
    client = TestClient(TestServer(build_app(SURVEYS, settings, pools["surveys"], bus)))
    await client.start_server()
    try:
        await bus.close()
        response = await client.get("/readyz")
        assert response.status == 503
        assert (await response.json())["checks"]["rabbitmq"] == "unavailable"
    finally:
        await client.close()


async def test_pages_speak_english_and_spanish(engagement: TestClient) -> None:
    home = await (await engagement.get("/")).text()
    assert '<html lang="en">' in home
    for link in ('href="/engagement/"', 'href="/surveys/"', 'href="/notifications/"'):
        assert link in home
    spanish = await engagement.get("/engagement/?lang=es")
    text = await spanish.text()
    assert '<html lang="es">' in text and "Personas registradas" in text
    assert spanish.cookies["lang"].value == "es"
    negotiated = await (await engagement.get("/", headers={"Accept-Language": "es-MX,es;q=0.9"})).text()
    assert "Plataforma de participación cívica" in negotiated


async def test_the_openapi_document_describes_the_api_from_the_same_models(engagement: TestClient) -> None:
    document = await (await engagement.get("/engagement/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    operation = document["paths"]["/api/v1/people"]["post"]
    request_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request_schema = document["components"]["schemas"][request_ref.rsplit("/", 1)[1]]
    assert set(request_schema["properties"]) == set(PersonRegistration.model_fields)
    # Any operation reading a body may also answer 400, 413, 415 or 422, without listing them.
    assert set(operation["responses"]) == {"202", "400", "413", "415", "422", "429"}
    for status, response in operation["responses"].items():
        assert response["headers"]["X-Request-Id"]["required"] is True
        if status >= "400":
            assert set(response["content"]) == {"application/problem+json"}

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(document):  # every reference resolves
        assert ref.rsplit("/", 1)[1] in document["components"]["schemas"]


def test_no_two_models_of_a_service_share_a_name_in_its_openapi_document() -> None:
    """Components are named by their model's class: two classes of one name would leave one
    schema describing both operations (a meeting's registration answered as a person's)."""
    for spec in SERVICES:
        named: dict[str, type[BaseModel]] = {}
        for operation in spec.operations:
            for model in (operation.request, operation.response):
                if model is None:
                    continue
                seen = named.setdefault(model.__name__, model)
                assert seen is model, (
                    f"{spec.name}: {seen.__module__} and {model.__module__} both name {model.__name__}"
                )


async def test_a_streamed_answer_carries_the_request_id_and_the_security_headers(
    engagement: TestClient,
) -> None:
    exported = await engagement.get("/api/v1/ledger/export", headers={"X-Request-Id": "streamed-1234"})
    assert exported.status == 200
    assert exported.headers["X-Request-Id"] == "streamed-1234"
    assert exported.headers["X-Content-Type-Options"] == "nosniff"
