"""MomentoTransport through a forward proxy on loopback: tunnels, absolute form, credentials."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
import trustme
from conftest import UVLOOP, unique
from http_proxy import http_proxy
from raw_http import raw_server

from momento_http import MomentoClient, MomentoConnectionError, MomentoTransport, TopicItem
from momento_http._transport._proxy import bypassed
from momento_http.local import LocalServer

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(scope="module", params=["asyncio", "trio", UVLOOP])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """A tunnel turns a plain connection into TLS: each event loop does it its own way."""
    return request.param


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def contexts(authority: trustme.CA) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """The origin server's context (a certificate for 127.0.0.1), and a client's trusting it."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    authority.configure_trust(client)
    return server, client


async def test_an_https_origin_is_reached_through_a_tunnel_kept_for_reuse(
    authority: trustme.CA,
) -> None:
    server, client = contexts(authority)
    async with (
        raw_server(tls=server) as (url, observed),
        http_proxy() as (proxy, log),
        httpx.AsyncClient(transport=MomentoTransport(proxy=proxy, ssl_context=client)) as http,
    ):
        for _ in range(2):
            assert (await http.get(f"{url}/k")).content == b"ok"
    port = httpx.URL(url).port
    assert log.request_lines == [f"CONNECT 127.0.0.1:{port} HTTP/1.1".encode()]
    assert observed.requests == [b"/k", b"/k"]  # origin-form inside the tunnel


async def test_the_origins_certificate_is_verified_inside_the_tunnel(
    authority: trustme.CA,
) -> None:
    server, _ = contexts(authority)
    untrusting = ssl.create_default_context()
    async with (
        raw_server(tls=server) as (url, observed),
        http_proxy() as (proxy, _),
        httpx.AsyncClient(transport=MomentoTransport(proxy=proxy, ssl_context=untrusting)) as http,
    ):
        with pytest.raises(httpx.ConnectError, match=r"through the proxy .*certificate verify"):
            await http.get(f"{url}/k")
    assert observed.requests == []


async def test_an_http_origin_is_asked_for_in_absolute_form_with_the_credentials() -> None:
    async with (
        raw_server() as (url, observed),
        http_proxy(user="me", password="p@ss") as (proxy, log),
    ):
        with_credentials = proxy.replace("http://", "http://me:p%40ss@")
        transport = MomentoTransport(proxy=with_credentials)
        async with httpx.AsyncClient(transport=transport) as http:
            assert (await http.get(f"{url}/k")).content == b"ok"
    assert log.request_lines == [f"GET {url}/k HTTP/1.1".encode()]
    assert log.credentials == [b"Basic bWU6cEBzcw=="]  # me:p@ss
    assert observed.requests == [b"/k"]


@pytest.mark.parametrize(
    ("proxy_options", "why"),
    [
        ({"user": "me"}, "refused a tunnel to 127.0.0.1:[0-9]+: 407 Proxy Authentication"),
        ({"refuse": b"502 Bad Gateway"}, "refused a tunnel to .*: 502 Bad Gateway"),
        ({"hang_up": True}, "gave no tunnel to .*closed the connection before answering"),
    ],
)
async def test_a_proxy_that_refuses_the_tunnel_is_a_proxy_error_said_plainly(
    authority: trustme.CA, proxy_options: dict[str, object], why: str
) -> None:
    server, client = contexts(authority)
    async with (
        raw_server(tls=server) as (url, observed),
        http_proxy(**proxy_options) as (proxy, _),  # type: ignore[arg-type]
        httpx.AsyncClient(transport=MomentoTransport(proxy=proxy, ssl_context=client)) as http,
    ):
        with pytest.raises(httpx.ProxyError, match=why):
            await http.get(f"{url}/k")
    assert observed.connections == 0


async def test_the_default_client_follows_the_proxy_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with raw_server() as (url, _), http_proxy() as (proxy, log):
        monkeypatch.setenv("http_proxy", proxy)  # lower case, as curl writes it
        async with MomentoClient("token", base_url=url) as client:
            assert await client.get("cache", "k") == b"ok"
        assert log.request_lines == [f"GET {url}/cache/cache?key=k HTTP/1.1".encode()]
        monkeypatch.setenv("NO_PROXY", "localhost, 127.0.0.0/8")
        async with MomentoClient("token", base_url=url) as client:
            assert await client.get("cache", "k") == b"ok"
        assert len(log.request_lines) == 1  # no longer through the proxy


async def test_trust_env_false_reads_no_proxy_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    async with raw_server() as (url, observed), http_proxy() as (proxy, log):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        async with httpx.AsyncClient(transport=MomentoTransport(trust_env=False)) as http:
            assert (await http.get(f"{url}/k")).content == b"ok"
    assert log.request_lines == []
    assert observed.requests == [b"/k"]


async def test_a_refused_tunnel_is_a_connection_error_never_sent(
    authority: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = contexts(authority)
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    async with (
        raw_server(tls=server) as (url, _),
        http_proxy(refuse=b"403 Forbidden") as (proxy, _),
    ):
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        async with MomentoClient("token", base_url=url, retry=None) as client:
            with pytest.raises(MomentoConnectionError, match="403 Forbidden") as caught:
                await client.publish("cache", "topic", "once")
    assert caught.value.request_sent is False


async def test_a_subscription_keeps_a_connection_of_its_own_through_the_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    topic = unique("proxied")
    async with LocalServer(caches=["cache"]) as server, http_proxy() as (proxy, log):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        async with (
            MomentoClient(server.api_key, base_url=server.base_url) as client,
            client.subscribe("cache", topic) as subscription,
        ):
            await server.wait_for_subscribers("cache", topic)
            await client.publish("cache", topic, "through")
            event = await anext(aiter(subscription))
    assert isinstance(event, TopicItem)
    assert event.value == "through"
    polls = [line for line in log.request_lines if line.startswith(b"GET")]
    publishes = [line for line in log.request_lines if line.startswith(b"POST")]
    assert polls
    assert publishes
    assert len(log.request_lines) == 2  # one proxy connection each: the poll's, the pool's


@pytest.mark.parametrize(
    ("host", "port", "no_proxy", "direct"),
    [
        ("api.example.com", 443, "example.com", True),
        ("api.example.com", 443, ".example.com", True),
        ("api.example.com", 443, "*.example.com", True),
        ("example.com", 443, "example.com", True),
        ("notexample.com", 443, "example.com", False),
        ("api.example.com", 443, "example.com:8443", False),
        ("api.example.com", 8443, "example.com:8443", True),
        ("10.1.2.3", 80, "10.0.0.0/8", True),
        ("11.1.2.3", 80, "10.0.0.0/8", False),
        ("::1", 80, "::1", True),
        ("::1", 8080, "[::1]:8080", True),
        ("anything", 1, "*", True),
        ("anything", 1, "", False),
        ("API.EXAMPLE.COM", 1, "http://example.com", True),
    ],
)
def test_no_proxy_is_read_as_curl_and_httpx_read_it(
    host: str, port: int, no_proxy: str, direct: bool
) -> None:
    assert bypassed(host, port, no_proxy) is direct


async def test_an_async_clients_proxy_bypasses_the_transport_given_beside_it() -> None:
    """What http-client.md warns of: httpx's proxy transport serves, not the one given."""
    async with raw_server() as (url, _), http_proxy() as (proxy, log):
        direct = MomentoTransport(trust_env=False)  # alone, it would go straight to the origin
        async with (
            httpx.AsyncClient(transport=direct, proxy=proxy) as http,
            MomentoClient("token", base_url=url, http_client=http) as client,
        ):
            assert await client.get("cache", "k") == b"ok"
    assert log.request_lines == [f"GET {url}/cache/cache?key=k HTTP/1.1".encode()]
