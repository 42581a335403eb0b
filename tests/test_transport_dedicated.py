"""A subscription's dedicated connection: one per transport that carries its requests."""

from __future__ import annotations

import httpx
import pytest
from conftest import UVLOOP
from raw_http import raw_server

from momento_http import MomentoTransport
from momento_http._transport import REQUEST_STATE, DedicatedConnection, RequestState


@pytest.fixture(scope="module", params=["asyncio", "trio", UVLOOP])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    return request.param


async def get(transport: MomentoTransport, url: str, dedicated: DedicatedConnection) -> None:
    extensions = {REQUEST_STATE: RequestState(dedicated), "timeout": httpx.Timeout(5).as_dict()}
    response = await transport.handle_async_request(
        httpx.Request("GET", url, extensions=extensions)
    )
    await response.aread()


async def test_a_dedicated_connection_is_reused_by_its_transport_and_no_other() -> None:
    dedicated = DedicatedConnection()
    async with raw_server() as (url, observed):
        async with MomentoTransport() as first, MomentoTransport() as second:
            await get(first, url, dedicated)
            await get(first, url, dedicated)
            assert observed.connections == 1
            await get(second, url, dedicated)  # not over the first transport's connection
            await get(second, url, dedicated)
            assert observed.connections == 2
        await dedicated.aclose()
