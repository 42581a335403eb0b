"""Errors, retries and timeouts: what to catch, and how to tune retries.

Run it as it is: it starts a local Momento server in process.
"""

from __future__ import annotations

import anyio

from momento_http import (
    CacheNotFoundError,
    InvalidArgumentError,
    LimitExceededError,
    MomentoClient,
    MomentoError,
    RetryPolicy,
)
from momento_http.local import LocalServer

CACHE = "default-cache"
PATIENT = RetryPolicy(max_attempts=5, base_delay=0.1, max_delay=2.0)


async def provoke(client: MomentoClient) -> None:
    """Provoke a few errors and show what each carries."""
    try:
        await client.set(CACHE, "k", "v", ttl=-1)  # refused before it is sent
    except InvalidArgumentError as error:
        print(f"bad input: {error.message}")

    try:
        await client.get("no-such-cache", "k")
    except CacheNotFoundError as error:
        print(f"{error.status_code}: {error.message} ({error.method})")

    try:
        # This call only: five tries with backoff, and two seconds for each.
        await client.set(CACHE, "k", "v", ttl=60, retry=PATIENT, timeout=2.0)
    except LimitExceededError as error:
        print(
            f"still throttled; the server asked to wait {error.retry_after} s"
        )
    except MomentoError as error:  # every error this SDK raises
        print(f"failed: {error}")
    else:
        print("set k with a patient retry policy")


async def main() -> None:
    """Start a local Momento server, and use a client of it."""
    # On Momento: `async with MomentoClient.from_env() as client:`
    async with (
        LocalServer(caches=[CACHE]) as server,
        MomentoClient(server.api_key, base_url=server.base_url) as client,
    ):
        await provoke(client)


if __name__ == "__main__":
    anyio.run(main)
