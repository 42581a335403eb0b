"""The default client trusts the authorities that SSL_CERT_FILE names.

As httpx's default client does, a MomentoClient's own reads SSL_CERT_FILE
(a PEM bundle) or SSL_CERT_DIR: no code to change, only the environment.
The bundle replaces the default authorities, so put the public ones in it
too if the process also reaches servers they sign for.

    export MOMENTO_API_KEY=... MOMENTO_BASE_URL=https://momento.corp.example
    SSL_CERT_FILE=corp-ca.pem python ssl_cert_file.py
"""

from __future__ import annotations

import os

import anyio

from momento_http import CertificateError, MomentoClient

CACHE = os.environ.get("MOMENTO_CACHE_NAME", "default-cache")


async def main() -> None:
    """Set and get; if the certificate is refused, say why."""
    async with MomentoClient.from_env() as client:
        print("base URL:", client.base_url)
        try:
            await client.set(CACHE, "greeting", "hello, trusted", ttl=60)
        except CertificateError as refused:  # never retried: it would be again
            print("refused:", refused.message)
            print("is SSL_CERT_FILE the authority's certificate (PEM)?")
            raise SystemExit(1) from None
        print("get ->", await client.get(CACHE, "greeting"))


if __name__ == "__main__":
    anyio.run(main)
