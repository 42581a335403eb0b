"""The local server reads requests as RFC 9112 says: framing, and every form of target."""

from __future__ import annotations

import anyio
import anyio.abc
import httpx
import pytest
from conftest import CACHE, raw_connection, unique

from momento_http.local import LocalServer


async def read_answer(stream: anyio.abc.SocketStream) -> tuple[bytes, bytes]:
    """One answer framed by Content-Length: its head and its body."""
    data = b""
    with anyio.fail_after(5):
        while b"\r\n\r\n" not in data:
            data += await stream.receive()
        head, _, body = data.partition(b"\r\n\r\n")
        fields = dict(line.lower().split(b": ", 1) for line in head.split(b"\r\n")[1:])
        length = int(fields.get(b"content-length", b"0"))  # none on a 204
        while len(body) < length:
            body += await stream.receive()
    return head, body


async def closed_after(stream: anyio.abc.SocketStream) -> bool:
    """Whether the server closes the connection, rather than wait for another request."""
    with anyio.move_on_after(5):
        try:
            extra = await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return True
        raise AssertionError(f"more came after the answer: {extra[:100]!r}")
    return False


def status(head: bytes) -> int:
    return int(head.split(b" ", 2)[1])


async def stored(server: LocalServer, key: str) -> bytes | None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.get(
            f"/cache/{CACHE}", params={"key": key}, headers={"authorization": server.api_key}
        )
    return response.content if response.status_code == 200 else None


@pytest.mark.parametrize("order", ["content-length first", "transfer-encoding first"])
async def test_a_request_framed_twice_is_refused_and_its_connection_closed(
    server: LocalServer, order: str
) -> None:
    key = unique("smuggled")
    framing = ["content-length: 5", "transfer-encoding: chunked"]
    if order != "content-length first":
        framing.reverse()
    head = [
        f"PUT /cache/{CACHE}?key={key}&ttl_seconds=60 HTTP/1.1",
        "host: x",
        f"authorization: {server.api_key}",
        *framing,
    ]
    # Read by Content-Length, the body is "0\r\n\r\n"; read as chunks, it is empty and a
    # second request follows: which one is meant cannot be told.
    smuggled = f"GET /cache/{CACHE}?key={key} HTTP/1.1\r\nhost: x\r\n\r\n"
    request = "\r\n".join(head) + "\r\n\r\n0\r\n\r\n" + smuggled
    async with raw_connection(server) as stream:
        await stream.send(request.encode())
        answer, body = await read_answer(stream)
        assert status(answer) == 400, answer
        assert b"Content-Length and Transfer-Encoding" in body
        assert b"connection: close" in answer.lower()
        assert await closed_after(stream)
    assert await stored(server, key) is None


async def test_one_framing_header_alone_is_served_on_a_kept_connection(
    server: LocalServer,
) -> None:
    key = unique("framed")
    head = f"PUT /cache/{CACHE}?key={key}&ttl_seconds=60 HTTP/1.1\r\nhost: x\r\n"
    head += f"authorization: {server.api_key}\r\n"
    async with raw_connection(server) as stream:
        await stream.send(
            f"{head}transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".encode()
        )
        assert status((await read_answer(stream))[0]) == 204
        await stream.send(f"{head}content-length: 5\r\n\r\nworld".encode())
        assert status((await read_answer(stream))[0]) == 204
    assert await stored(server, key) == b"world"


@pytest.mark.parametrize(
    "origin",
    ["http://127.0.0.1:1", "HTTP://momento.example", "https://cache.example:443", "http://x"],
)
async def test_an_absolute_form_target_is_served_as_its_path(
    server: LocalServer, origin: str
) -> None:
    key = unique("absolute")
    auth = f"host: x\r\nauthorization: {server.api_key}\r\n"
    async with raw_connection(server) as stream:
        put = f"PUT {origin}/cache/{CACHE}?key={key}&ttl_seconds=60 HTTP/1.1\r\n{auth}"
        await stream.send(f"{put}content-length: 5\r\n\r\nvalue".encode())
        assert status((await read_answer(stream))[0]) == 204
        await stream.send(f"GET {origin}/cache/{CACHE}?key={key} HTTP/1.1\r\n{auth}\r\n".encode())
        answer, body = await read_answer(stream)
        assert (status(answer), body) == (200, b"value")
        await stream.send(f"GET {origin}/openapi.json HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        answer, body = await read_answer(stream)
        assert status(answer) == 200
        assert body.startswith(b"{")
        await stream.send(f"GET {origin}?key={key} HTTP/1.1\r\n{auth}\r\n".encode())
        assert status((await read_answer(stream))[0]) == 404  # no path: "/", not a route


async def test_a_client_speaking_to_the_server_as_its_proxy_is_served(server: LocalServer) -> None:
    key = unique("proxied")
    headers = {"authorization": server.api_key}
    # For an http URL, httpx sends the proxy the absolute form: GET http://…/cache/… .
    async with httpx.AsyncClient(proxy=server.base_url, headers=headers) as http:
        url = f"http://cache.momento.invalid/cache/{CACHE}"
        put = await http.put(url, params={"key": key, "ttl_seconds": 60}, content=b"via proxy")
        got = await http.get(url, params={"key": key})
    assert (put.status_code, got.status_code, got.content) == (204, 200, b"via proxy")


async def test_a_path_that_merely_holds_a_url_is_not_taken_for_absolute_form(
    server: LocalServer,
) -> None:
    async with raw_connection(server) as stream:
        target = f"/http://x/cache/{CACHE}?key=k"
        await stream.send(f"GET {target} HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        assert status((await read_answer(stream))[0]) == 404
