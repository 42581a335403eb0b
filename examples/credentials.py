"""Credentials, regions and endpoints: where a client sends its requests."""

from __future__ import annotations

from momento_http import MomentoClient

API_KEY = "your-api-key"  # any text builds a client; nothing is sent here
ENDPOINT = "cell-4-us-west-2-1.prod.a.momentohq.com"


def main() -> None:
    """Build clients each way and print their base URLs (nothing is sent)."""
    by_region = MomentoClient(API_KEY, region="eu-west-1")
    by_endpoint = MomentoClient(API_KEY, endpoint=ENDPOINT)
    by_url = MomentoClient(API_KEY, base_url="http://127.0.0.1:8080")  # local
    for client in (by_region, by_endpoint, by_url):
        print(client.base_url)
    # MomentoClient.from_env() reads MOMENTO_API_KEY, and MOMENTO_ENDPOINT
    # when the key names no endpoint of its own (v2 keys).


if __name__ == "__main__":
    main()
