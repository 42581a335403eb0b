"""Cache-aside: read through the cache; a missing value is loaded once for all.

Run it as it is: it starts a local Momento server in process.
"""

from __future__ import annotations

import anyio

from momento_http import MomentoClient
from momento_http.local import LocalServer

CACHE = "default-cache"


class Database:
    """Stands in for a slow source of truth, and counts the queries it gets."""

    def __init__(self) -> None:
        self.queries = 0

    async def todays_menu(self) -> str:
        """The menu, after a slow query."""
        self.queries += 1
        await anyio.sleep(0.1)
        return "soup, bread, cheese"


def specials() -> str:
    """A plain function works as a load too; this one fails."""
    raise LookupError("the kitchen is closed")


async def serve(client: MomentoClient, db: Database) -> None:
    """Answer ten requests at once on a cold cache, then a few more."""
    menus: list[bytes] = []

    async def handle_request() -> None:
        menu = await client.get_or_set(CACHE, "menu", db.todays_menu, ttl=60)
        menus.append(menu)

    # Ten concurrent misses: one query, its value for every caller.
    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(handle_request)
    print(f"{len(menus)} requests, {db.queries} query: {menus[0]!r}")

    # From now on, a hit: no query.
    await handle_request()
    print(f"a hit: {menus[-1]!r}; queries: {db.queries}")

    # A failing load reaches every caller, and nothing is stored.
    try:
        await client.get_or_set(CACHE, "specials", specials, ttl=60)
    except LookupError as error:
        cached = await client.get(CACHE, "specials")
        print(f"specials: {error}; cached: {cached!r}")


async def main() -> None:
    """Start a local Momento server, and use a client of it."""
    # On Momento: `async with MomentoClient.from_env() as client:`
    async with (
        LocalServer(caches=[CACHE]) as server,
        MomentoClient(server.api_key, base_url=server.base_url) as client,
    ):
        await serve(client, Database())


if __name__ == "__main__":
    anyio.run(main)
