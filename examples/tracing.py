"""Tracing: a span per request, from OpenTelemetry's httpx instrumentation.

Needs `pip install opentelemetry-sdk opentelemetry-instrumentation-httpx`.
Run it as it is: it starts a local Momento server in process and prints the
spans it recorded.
"""

from __future__ import annotations

import anyio
import httpx
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from momento_http import MomentoClient, MomentoTransport
from momento_http.local import LocalServer


async def main() -> None:
    """Instrument your own httpx client, give it to the SDK, show the spans."""
    exporter = InMemorySpanExporter()  # in a service: an OTLP exporter, say
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with (
        LocalServer(caches=["default-cache"]) as server,
        httpx.AsyncClient(transport=MomentoTransport()) as http,
    ):
        HTTPXClientInstrumentor.instrument_client(
            http, tracer_provider=provider
        )
        # On Momento: `MomentoClient.from_env(http_client=http)`
        async with MomentoClient(
            server.api_key, base_url=server.base_url, http_client=http
        ) as client:
            await client.set("default-cache", "greeting", "hello", ttl=60)
            await client.get("default-cache", "greeting")
    for span in exporter.get_finished_spans():
        found = span.attributes or {}
        print(span.name, found.get("http.url"), found.get("http.status_code"))


if __name__ == "__main__":
    anyio.run(main)
