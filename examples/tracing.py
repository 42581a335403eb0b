"""Tracing: a span per request the SDK sends, from OpenTelemetry's httpx instrumentation.

Needs `pip install opentelemetry-sdk opentelemetry-instrumentation-httpx`. Run it as it
is: it starts a local Momento server in process and prints the spans it recorded.
"""

from __future__ import annotations

import anyio
import httpx
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from momento_http import MomentoClient, MomentoTransport
from momento_http.local import LocalServer


async def main() -> None:
    """Instrument your own httpx client, hand it to the SDK, and look at the spans."""
    exporter = InMemorySpanExporter()  # in a service: an OTLP exporter, say
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with (
        LocalServer(caches=["default-cache"]) as server,
        httpx.AsyncClient(transport=MomentoTransport()) as http,
    ):
        HTTPXClientInstrumentor.instrument_client(http, tracer_provider=provider)
        async with MomentoClient(
            server.api_key, base_url=server.base_url, default_ttl=60, http_client=http
        ) as client:
            await client.set("default-cache", "greeting", "hello")
            await client.get("default-cache", "greeting")
    for span in exporter.get_finished_spans():
        attributes = span.attributes or {}
        print(span.name, attributes.get("http.url"), attributes.get("http.status_code"))


if __name__ == "__main__":
    anyio.run(main)
