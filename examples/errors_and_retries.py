"""Errors, retries and timeouts: what to catch, and how to tune the retry policy."""

from __future__ import annotations

from connect import run

from momento_http import (
    CacheNotFoundError,
    InvalidArgumentError,
    LimitExceededError,
    MomentoClient,
    MomentoError,
    RetryPolicy,
)

PATIENT = RetryPolicy(max_attempts=5, base_delay=0.1, max_delay=2.0)


async def main(client: MomentoClient, cache: str) -> None:
    """Provoke a few errors and show what each carries."""
    try:
        await client.set(cache, "k", "v", ttl=-1)  # refused before any request is sent
    except InvalidArgumentError as error:
        print(f"bad input: {error.message}")

    try:
        await client.get("no-such-cache", "k")
    except CacheNotFoundError as error:
        print(f"{error.status_code}: {error.message} ({error.method})")

    try:
        # This call only: five tries with backoff, and two seconds for each.
        await client.set(cache, "k", "v", retry=PATIENT, timeout=2.0)
    except LimitExceededError as error:
        print(f"still throttled after retries; server asked to wait {error.retry_after} s")
    except MomentoError as error:  # every error this SDK raises
        print(f"failed: {error}")
    else:
        print("set k with a patient retry policy")


if __name__ == "__main__":
    run(main)
