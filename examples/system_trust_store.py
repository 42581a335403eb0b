"""Trust what the operating system trusts, through the truststore package.

Python's ssl reads OpenSSL's authorities, not the ones your operating system
(or your company's device management) installed. A truststore context asks
the system instead: Windows' and macOS's own stores; on Linux, the bundle
OpenSSL would read (SSL_CERT_FILE can name another).

    pip install truststore
    MOMENTO_API_KEY=... python system_trust_store.py
"""

from __future__ import annotations

import os
import ssl

import anyio
import httpx

from momento_http import MomentoClient, MomentoTransport

try:
    import truststore
except ImportError:
    raise SystemExit("this needs truststore: pip install truststore") from None

CACHE = os.environ.get("MOMENTO_CACHE_NAME", "default-cache")


async def main() -> None:
    """Connect over TLS verified by the system's trust store; set and get."""
    tls = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    transport = MomentoTransport(ssl_context=tls)
    async with (
        httpx.AsyncClient(transport=transport) as http,
        MomentoClient.from_env(http_client=http) as client,
    ):
        print("base URL:", client.base_url)
        await client.set(CACHE, "greeting", "hello, system", ttl=60)
        print("get ->", await client.get(CACHE, "greeting"))


if __name__ == "__main__":
    anyio.run(main)
