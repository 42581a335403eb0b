"""Trust a private certificate authority: give the transport your own context.

For Momento reached through an egress that inspects TLS, or a test server
whose certificate your company signed. Run it with the authority's
certificate (PEM), your key and the endpoint:

    export MOMENTO_API_KEY=... MOMENTO_BASE_URL=https://momento.corp.example
    CA_FILE=corp-ca.pem python private_ca.py
"""

from __future__ import annotations

import os
import ssl

import anyio
import httpx

from momento_http import MomentoClient, MomentoTransport

CACHE = os.environ.get("MOMENTO_CACHE_NAME", "default-cache")


async def main() -> None:
    """Connect over TLS verified against the private authority; set and get."""
    # This authority only; tls.load_default_certs() adds the system's too.
    tls = ssl.create_default_context(cafile=os.environ["CA_FILE"])
    transport = MomentoTransport(ssl_context=tls)
    async with (
        httpx.AsyncClient(transport=transport) as http,
        MomentoClient.from_env(http_client=http) as client,
    ):
        print("base URL:", client.base_url)
        await client.set(CACHE, "greeting", "hello over TLS", ttl=60)
        print("get ->", await client.get(CACHE, "greeting"))


if __name__ == "__main__":
    anyio.run(main)
