"""An httpx2 client, traced, serving Momento as it serves the rest of a service.

Needs `pip install 'momento-http[httpx2]' opentelemetry-sdk
opentelemetry-instrumentation-httpx` (httpx2's instrumentor is in the same
package). Run it as it is: it starts a local Momento server in process.
"""

from __future__ import annotations

import anyio
import httpx2
from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from momento_http import MomentoClient, MomentoError, MomentoTransport
from momento_http.local import LocalServer


async def main() -> None:
    """One httpx2 client, on the SDK's transport, for Momento and the rest."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with (
        LocalServer(caches=["default-cache"]) as server,
        httpx2.AsyncClient(transport=MomentoTransport()) as http,
    ):
        HTTPX2ClientInstrumentor.instrument_client(
            http, tracer_provider=provider
        )
        async with MomentoClient(
            server.api_key, base_url=server.base_url, http_client=http
        ) as client:
            await client.set("default-cache", "greeting", "hello", ttl=60)
            print("get ->", await client.get("default-cache", "greeting"))
            try:
                await client.get("no-such-cache", "greeting")
            except MomentoError as error:  # never an httpx2 exception
                print(type(error).__name__, error.status_code)
        # The same client and transport, used directly, speak httpx2.
        response = await http.get(f"{server.base_url}/openapi.json")
        print(type(response).__module__, response.status_code)
    print("spans:", [span.name for span in exporter.get_finished_spans()])


if __name__ == "__main__":
    anyio.run(main)
