"""The reference pages' curl examples, run as printed (host and token swapped) with curl."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import anyio
import httpx
import pytest

from momento_http.local import LocalServer

# Copied verbatim from ../shared/reference; test_examples_match_the_reference_pages keeps
# this list honest whenever the pages are beside the repository.
PUT_QUERY_TOKEN = """curl -X PUT -d 'example value' "https://api.cache.cell-1-ap-south-1-1.prod.a.momentohq.com/cache/default-cache?key=example_key&ttl_seconds=300&token=<token>\""""
PUT_HEADER_BASE64 = """curl -X PUT -H "Authorization: <token>" -d 'example value' "https://api.cache.cell-1-ap-south-1-1.prod.a.momentohq.com/cache/default-cache?key_base64=ZXhhbXBsZV9rZXk&ttl_seconds=300\""""
GET_QUERY_TOKEN = """curl "https://api.cache.cell-1-eu-west-1-1.prod.a.momentohq.com/cache/default-cache?key=example_key&token=<token>\""""
GET_HEADER_BASE64 = """curl -H "Authorization: <token>" "https://api.cache.cell-1-eu-west-1-1.prod.a.momentohq.com/cache/default-cache?key_base64=ZXhhbXBsZV9rZXk\""""
DELETE_QUERY_TOKEN = """curl -X DELETE "https://api.cache.cell-4-us-west-2-1.prod.a.momentohq.com/cache/default-cache?key=example_key&token=<token>\""""
DELETE_HEADER_BASE64 = """curl -X DELETE -H "Authorization: <token>" "https://api.cache.cell-4-us-west-2-1.prod.a.momentohq.com/cache/default-cache?key_base64=ZXhhbXBsZV9rZXk\""""
PUBLISH_QUERY_TOKEN = """curl -X POST -d 'hello world!' "https://api.cache.cell-us-east-1-1.prod.a.momentohq.com/topics/my-cache/example?token=<token>\""""
PUBLISH_HEADER = """curl -X POST -H "Authorization: <token>" -d 'hello world!' "https://api.cache.cell-us-east-1-1.prod.a.momentohq.com/topics/my-cache/example\""""
SUBSCRIBE_HEADER = """curl -X GET -H "Authorization: <token>" "https://api.cache.cell-us-east-1-1.prod.a.momentohq.com/topics/my-cache/my-topic\""""
SUBSCRIBE_SEQUENCE = """curl -X GET "https://api.cache.cell-us-east-1-1.prod.a.momentohq.com/topics/my-cache/my-topic?token=<token>&sequence_number=100\""""

EXAMPLES = [
    PUT_QUERY_TOKEN,
    PUT_HEADER_BASE64,
    GET_QUERY_TOKEN,
    GET_HEADER_BASE64,
    DELETE_QUERY_TOKEN,
    DELETE_HEADER_BASE64,
    PUBLISH_QUERY_TOKEN,
    PUBLISH_HEADER,
    SUBSCRIBE_HEADER,
    SUBSCRIBE_SEQUENCE,
]

_HOST = re.compile(r"https://api\.cache\.[a-z0-9.-]+\.momentohq\.com")
_CURL = re.compile(r'curl (?:[^"`\n]|"[^"\n]*")*?"https://[^"\n]+"')
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


def test_examples_match_the_reference_pages() -> None:
    if not REFERENCE.is_dir():
        pytest.skip(f"the reference pages are not at {REFERENCE}")
    found = [
        command
        for page in sorted(REFERENCE.iterdir())
        for command in _CURL.findall(page.read_text(encoding="utf-8"))
    ]
    assert sorted(found) == sorted(EXAMPLES)


async def curl(command: str, server: LocalServer) -> tuple[int, str]:
    """Run a reference example against the server; return its status and body."""
    if shutil.which("curl") is None:
        pytest.fail("curl is needed to run the reference pages' examples")
    local = _HOST.sub(server.base_url, command).replace("<token>", server.api_key)
    arguments = shlex.split(local)
    result = await anyio.run_process(
        [*arguments, "--silent", "--show-error", "--write-out", "\n%{http_code}"]
    )
    body, _, status = result.stdout.decode().rpartition("\n")
    return int(status), body


async def test_cache_examples(server: LocalServer) -> None:
    assert await curl(PUT_QUERY_TOKEN, server) == (204, "")
    assert await curl(GET_QUERY_TOKEN, server) == (200, "example value")
    assert await curl(GET_HEADER_BASE64, server) == (200, "example value")
    assert await curl(DELETE_QUERY_TOKEN, server) == (204, "")
    assert await curl(GET_HEADER_BASE64, server) == (404, "Key Not Found")
    assert await curl(PUT_HEADER_BASE64, server) == (204, "")
    assert await curl(GET_QUERY_TOKEN, server) == (200, "example value")
    assert await curl(DELETE_HEADER_BASE64, server) == (204, "")
    assert await curl(GET_QUERY_TOKEN, server) == (404, "Key Not Found")


async def test_publish_examples(server: LocalServer) -> None:
    assert await curl(PUBLISH_QUERY_TOKEN, server) == (204, "")
    assert await curl(PUBLISH_HEADER, server) == (204, "")


async def test_subscribe_examples(server: LocalServer) -> None:
    answer: list[tuple[int, str]] = []

    async def subscribe() -> None:
        answer.append(await curl(SUBSCRIBE_HEADER, server))

    async with (
        anyio.create_task_group() as group,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        group.start_soon(subscribe)
        await server.wait_for_subscribers("my-cache", "my-topic")  # held: publish once
        await http.post(
            "/topics/my-cache/my-topic",
            headers={"authorization": server.api_key, "content-type": "text/plain"},
            content=b"hello world",
        )
    status, body = answer[0]
    assert status == 200
    item = json.loads(body)["items"][0]["item"]
    assert item["value"] == {"text": "hello world"}
    assert item["topic_sequence_number"] >= 1

    status, body = await curl(SUBSCRIBE_SEQUENCE, server)
    assert status == 200
    entries = json.loads(body)["items"]
    assert entries
    assert all(set(entry) <= {"item", "discontinuity"} for entry in entries)
