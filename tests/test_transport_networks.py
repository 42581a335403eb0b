"""MomentoTransport on networks: origins kept apart, schemes, names, addresses and TLS."""

from __future__ import annotations

import errno
import socket
import ssl
import sys
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import trustme
from conftest import UVLOOP, Sleeps, ipv6_loopback
from raw_http import raw_server

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

from momento_http import (
    CertificateError,
    MomentoClient,
    MomentoConnectionError,
    MomentoTransport,
    RetryPolicy,
)
from momento_http._transport._exceptions import plain_reason


@pytest.fixture(scope="module", params=["asyncio", "trio", UVLOOP])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """Connections are opened differently on each event loop: each is held to the same."""
    return request.param


async def test_a_kept_connection_serves_only_its_own_origin() -> None:
    async with (
        raw_server() as (first, on_first),
        raw_server() as (second, on_second),
        httpx.AsyncClient(transport=MomentoTransport()) as http,
    ):
        for _ in range(2):
            await http.get(f"{first}/first")
            await http.get(f"{second}/second")
    assert on_first.requests == [b"/first"] * 2
    assert on_second.requests == [b"/second"] * 2
    assert (on_first.connections, on_second.connections) == (1, 1)


async def test_a_scheme_other_than_http_or_https_is_refused_before_connecting() -> None:
    async with raw_server() as (url, observed), httpx.AsyncClient() as http:
        port = httpx.URL(url).port
        request = http.build_request("GET", f"ftp://127.0.0.1:{port}/file")
        async with MomentoTransport() as transport:
            with pytest.raises(httpx.UnsupportedProtocol, match="'ftp', not http or https"):
                await transport.handle_async_request(request)
    assert observed.connections == 0


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback on this machine")
async def test_an_ipv6_peer_is_named_in_brackets() -> None:
    with socket.socket(socket.AF_INET6) as closed:  # a port nothing listens on
        closed.bind(("::1", 0))
        port = closed.getsockname()[1]
    async with httpx.AsyncClient(transport=MomentoTransport()) as http:
        with pytest.raises(httpx.ConnectError, match=rf"connecting to \[::1\]:{port} failed"):
            await http.get(f"http://[::1]:{port}/k")


def test_a_name_that_does_not_resolve_says_so() -> None:
    failure = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert plain_reason(failure) == "the name could not be resolved (Name or service not known)"


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def server_context(
    authority: trustme.CA, host: str, alpn: list[str] | None = None
) -> ssl.SSLContext:
    """A server's context with a certificate for `host` ("expired": 127.0.0.1's, expired)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if host == "expired":
        past = datetime.now(timezone.utc) - timedelta(days=2)
        before = past - timedelta(days=1)
        certificate = authority.issue_cert("127.0.0.1", not_before=before, not_after=past)
    else:
        certificate = authority.issue_cert(host)
    certificate.configure_cert(context)
    if alpn is not None:
        context.set_alpn_protocols(alpn)
    return context


def trusting(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


@pytest.mark.parametrize(
    ("certificate_for", "client_trusts", "why"),
    [
        ("localhost", True, "IP address mismatch"),
        ("127.0.0.1", False, "unable to get local issuer certificate"),
        ("expired", True, "certificate has expired"),
    ],
)
async def test_a_certificate_refused_says_why(
    authority: trustme.CA, certificate_for: str, client_trusts: bool, why: str
) -> None:
    client_context = trusting(authority) if client_trusts else ssl.create_default_context()
    async with (
        raw_server(tls=server_context(authority, certificate_for)) as (url, observed),
        httpx.AsyncClient(transport=MomentoTransport(ssl_context=client_context)) as http,
    ):
        with pytest.raises(httpx.ConnectError, match=f"certificate verify failed: {why}"):
            await http.get(f"{url}/k")
    assert observed.requests == []


async def test_a_context_offering_h2_to_a_server_that_takes_it_is_refused_before_sending(
    authority: trustme.CA,
) -> None:
    offering_h2 = trusting(authority)
    offering_h2.set_alpn_protocols(["h2", "http/1.1"])  # as httpx(http2=True) leaves a context
    context = server_context(authority, "127.0.0.1", alpn=["h2", "http/1.1"])
    async with (
        raw_server(tls=context) as (url, observed),
        httpx.AsyncClient(transport=MomentoTransport(ssl_context=offering_h2)) as http,
        MomentoClient("token", base_url=url, retry=None, http_client=http) as client,
    ):
        with pytest.raises(MomentoConnectionError, match="chose 'h2'") as caught:
            await client.get("cache", "k")
    assert caught.value.request_sent is False
    assert observed.requests == []


@pytest.mark.parametrize("transport", ["MomentoTransport", "httpx's own"])
async def test_a_refused_certificate_is_a_certificate_error_tried_once(
    authority: trustme.CA, transport: str
) -> None:
    sleeps = Sleeps()
    untrusting = ssl.create_default_context()
    carrier = MomentoTransport(ssl_context=untrusting) if transport == "MomentoTransport" else None
    policy = RetryPolicy(sleep=sleeps)
    async with (
        raw_server(tls=server_context(authority, "127.0.0.1")) as (url, _),
        httpx.AsyncClient(transport=carrier, verify=untrusting) as http,
        MomentoClient("token", base_url=url, retry=policy, http_client=http) as client,
    ):
        with pytest.raises(CertificateError) as caught:
            await client.get("cache", "k")
    assert caught.value.request_sent is False
    if transport == "MomentoTransport":  # httpcore on trio says only "BrokenResourceError"
        assert "unable to get local issuer certificate" in caught.value.message
    assert sleeps.delays == []  # not retried: the same certificate would be refused again


def test_every_address_that_failed_is_said_when_anyio_groups_them() -> None:
    """anyio's connect_tcp (the trio path) raises one OSError from a group, one per address."""
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    unreachable = OSError(errno.ENETUNREACH, "Network is unreachable")
    group = ExceptionGroup("multiple connection attempts failed", [refused, unreachable, refused])
    failure = OSError("All connection attempts failed")
    failure.__cause__ = group  # as `raise ... from group` leaves it
    assert plain_reason(failure) == "connection refused; network is unreachable"
