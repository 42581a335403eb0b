"""Any mix of the two families in one process: httpx alone, or httpx2 aliased as httpx.

(Both installed and used side by side is how the rest of the suite runs.) Each case is a
fresh interpreter, since what is imported first decides it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import CACHE

from momento_http.local import LocalServer

SCRIPT = """
import asyncio, logging, os, sys
{prelude}
import httpx
from momento_http import MomentoClient, MomentoTransport

logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

async def main():
    key, url, cache = os.environ["KEY"], os.environ["URL"], os.environ["CACHE"]
    async with MomentoClient(key, base_url=url, token_in_query=True) as client:
        await client.set(cache, "family", b"v", ttl=60)
        print("own client:", await client.get(cache, "family"))
    async with (
        httpx.AsyncClient(transport=MomentoTransport()) as http,
        MomentoClient(key, base_url=url, token_in_query=True, http_client=http) as client,
    ):
        print("caller's client:", await client.get(cache, "family"))
    print("httpx is", httpx.__name__)

asyncio.run(main())
"""

CASES = {
    # A module set to None in sys.modules cannot be imported: as if it were not installed.
    "httpx alone": ('sys.modules["httpx2"] = None', "httpx"),
    "httpx2 aliased as httpx": ("import httpx2; httpx2.alias_httpx()", "httpx2"),
}


@pytest.mark.parametrize("case", CASES)
def test_the_sdk_works_whichever_family_is_there(server: LocalServer, case: str) -> None:
    prelude, httpx_is = CASES[case]
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(prelude=prelude)],
        env={**os.environ, "KEY": server.api_key, "URL": server.base_url, "CACHE": CACHE},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "own client: b'v'",
        "caller's client: b'v'",
        f"httpx is {httpx_is}",
    ]
    # The client's own INFO lines, under the name of whichever module is `httpx` here.
    lines = [line for line in result.stderr.splitlines() if line.startswith(f"{httpx_is}: ")]
    assert len(lines) == 3
    assert all("token=[REDACTED]" in line for line in lines)
    assert server.api_key not in result.stderr
