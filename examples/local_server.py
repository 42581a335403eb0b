"""The local server in process: scoped, expiring keys; faults on purpose."""

from __future__ import annotations

import anyio

from momento_http import MomentoClient, PermissionDeniedError, ServerError
from momento_http.local import (
    CachePermission,
    CacheRole,
    Fault,
    LocalServer,
    Settings,
)

MAINTENANCE = Fault(503, message="maintenance", method="GET", count=1)


async def main() -> None:
    """Start a server; use a read-only key, faults, and a subscriber."""
    settings = Settings(max_ttl_seconds=600)  # every limit is a setting
    async with LocalServer(caches=["menu"], settings=settings) as server:
        print(f"serving at {server.base_url}")

        reader_key = server.mint_api_key(
            [CachePermission(CacheRole.READ_ONLY, cache="menu")], expires_in=60
        )
        url = server.base_url
        async with MomentoClient(reader_key, base_url=url) as reader:
            print(await reader.get("menu", "soup"))  # None: a miss, allowed
            try:
                await reader.set("menu", "soup", "tomato", ttl=60)
            except PermissionDeniedError as error:
                print(f"read-only key: {error.status_code} {error.message}")

        async with MomentoClient(server.api_key, base_url=url) as client:
            server.inject_fault(MAINTENANCE)
            print(await client.get("menu", "soup"))  # the 503 is retried: None
            server.inject_fault(MAINTENANCE)
            try:
                await client.get("menu", "soup", retry=None)
            except ServerError as error:
                print(f"without retries: {error.status_code} {error.message}")
        print(f"faults served: {server.fault_hits}")

        # Entering a subscription sends its first poll; once the server holds
        # it, what is published next is heard: a test's deterministic start.
        async with (
            MomentoClient(server.api_key, base_url=server.base_url) as client,
            client.subscribe("menu", "specials") as subscription,
        ):
            await server.wait_for_subscribers("menu", "specials")
            await client.publish("menu", "specials", "soup of the day")
            event = await anext(subscription)
            print(f"the subscriber heard: {event}")


if __name__ == "__main__":
    anyio.run(main)
