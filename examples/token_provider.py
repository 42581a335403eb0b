"""Short-lived tokens: give the client a function that fetches one, not a key.

The client asks the function for a token before its first request, again
shortly before each token expires, and again (once) when a request is refused
with 401, which it then repeats. Run it as it is: it starts a local Momento
server whose tokens expire in 2 s.
"""

from __future__ import annotations

import anyio

from momento_http import MomentoClient
from momento_http.local import CachePermission, CacheRole, LocalServer


async def main() -> None:
    """Read and write across several token lifetimes, with no 401 in between."""
    async with LocalServer(caches=["orders"]) as server:
        fetched = 0

        async def fetch_token() -> str:
            # In a real service: an HTTP call to your token vending endpoint.
            nonlocal fetched
            fetched += 1
            scope = [CachePermission(CacheRole.READ_WRITE, cache="orders")]
            return server.mint_api_key(scope, expires_in=2)

        async with MomentoClient(
            fetch_token, base_url=server.base_url, default_ttl=60
        ) as client:
            for second in range(5):
                await client.set("orders", "latest", f"order {second}")
                print(second, await client.get("orders", "latest"))
                await anyio.sleep(1)
        print(f"tokens fetched: {fetched}")


if __name__ == "__main__":
    anyio.run(main)
