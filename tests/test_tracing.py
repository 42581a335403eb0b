"""OpenTelemetry's httpx instrumentation sees every SDK request, and never the token.

The same package instruments httpx (`HTTPXClientInstrumentor`) and httpx2
(`HTTPX2ClientInstrumentor`): each test runs with both families.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest
from conftest import CACHE, unique
from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor, HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from momento_http import MomentoClient, MomentoTransport, TopicItem
from momento_http.local import LocalServer


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


async def every_operation(client: MomentoClient) -> None:
    topic = unique("traced")
    await client.set(CACHE, "traced", b"v", ttl=60)
    assert await client.get(CACHE, "traced") == b"v"
    await client.delete(CACHE, "traced")
    await client.publish(CACHE, topic, "m")
    async with client.subscribe(CACHE, topic, sequence_number=1) as subscription:
        assert isinstance(await anext(aiter(subscription)), TopicItem)


def instrumentor(family: ModuleType) -> type[HTTPXClientInstrumentor]:
    return HTTPXClientInstrumentor if family.__name__ == "httpx" else HTTPX2ClientInstrumentor


def assert_one_span_per_request(exporter: InMemorySpanExporter, token: str) -> None:
    finished = exporter.get_finished_spans()
    assert [span.name for span in finished] == ["PUT", "GET", "DELETE", "POST", "GET"]
    assert [span.attributes.get("http.status_code") for span in finished if span.attributes] == [
        204,
        200,
        204,
        204,
        200,
    ]
    for span in finished:
        assert token not in span.to_json()  # attributes, events, links, resource: all of it


async def test_the_global_instrumentation_traces_a_callers_client(
    server: LocalServer, spans: tuple[TracerProvider, InMemorySpanExporter], family: ModuleType
) -> None:
    provider, exporter = spans
    instrumentor(family)().instrument(tracer_provider=provider)
    try:
        async with (
            family.AsyncClient() as http,
            MomentoClient(server.api_key, base_url=server.base_url, http_client=http) as client,
        ):
            await every_operation(client)
    finally:
        instrumentor(family)().uninstrument()
    assert_one_span_per_request(exporter, server.api_key)


async def test_an_instrumented_client_on_momento_transport_traces_every_request(
    server: LocalServer, spans: tuple[TracerProvider, InMemorySpanExporter], family: ModuleType
) -> None:
    provider, exporter = spans
    async with family.AsyncClient(transport=MomentoTransport()) as http:
        instrumentor(family).instrument_client(http, tracer_provider=provider)
        async with MomentoClient(
            server.api_key, base_url=server.base_url, http_client=http
        ) as client:
            await every_operation(client)
        instrumentor(family).uninstrument_client(http)
    assert_one_span_per_request(exporter, server.api_key)
