"""The momento_http logger: a DEBUG record per try, INFO per retry or resume, no token."""

from __future__ import annotations

import logging
import re
from types import ModuleType

import pytest
from conftest import CACHE, no_wait, unique

from momento_http import MomentoClient, RetryPolicy
from momento_http.local import Fault, LocalServer

PATIENT = RetryPolicy(max_attempts=3, sleep=no_wait)


def records(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == name]


async def test_each_try_is_logged_at_debug_and_each_retry_at_info(
    faulty: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="momento_http")
    faulty.inject_fault(Fault(503, message="busy", method="GET"))
    async with MomentoClient(faulty.api_key, base_url=faulty.base_url, retry=PATIENT) as client:
        assert await client.get(CACHE, unique("logged")) is None
    logged = records(caplog, "momento_http")
    assert [record.levelno for record in logged] == [logging.DEBUG, logging.INFO, logging.DEBUG]
    first, retry, second = (record.getMessage() for record in logged)
    url = re.escape(f"{faulty.base_url}/cache/{CACHE}?key=logged-")
    assert re.fullmatch(rf"GET {url}\w+ -> 503 in \d+\.\d ms \(try 1\)", first)
    assert re.fullmatch(rf"GET {url}\w+ -> 404 in \d+\.\d ms \(try 2\)", second)
    assert "try 1 failed (ServerError: busy); trying again in" in retry


async def test_normal_operation_logs_nothing_at_warning(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    topic = unique("quiet")
    async with MomentoClient(server.api_key, base_url=server.base_url, default_ttl=60) as client:
        await client.set(CACHE, "k", b"v")
        await client.get(CACHE, "k")
        await client.delete(CACHE, "k")
        await client.publish(CACHE, topic, "m")
        async with client.subscribe(CACHE, topic, sequence_number=1) as subscription:
            await anext(aiter(subscription))
    assert records(caplog, "momento_http")
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_subscription_resume_is_logged_with_its_reason_and_position(
    faulty: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="momento_http")
    topic = unique("resume-log")
    async with MomentoClient(faulty.api_key, base_url=faulty.base_url, retry=PATIENT) as client:
        await client.publish(CACHE, topic, "m1")
        faulty.inject_fault(Fault(disconnect="before_response", method="GET", topic=topic))
        async with client.subscribe(CACHE, topic, sequence_number=1) as subscription:
            await anext(aiter(subscription))
    (resume,) = [r.getMessage() for r in records(caplog, "momento_http")]
    assert resume.startswith(
        f"subscription to '{CACHE}'/'{topic}' resumes from sequence_number 1: try 1 failed "
        "(MomentoConnectionError: the server closed the connection before answering)"
    )


async def test_a_token_in_the_query_is_hidden_in_every_log_line(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with MomentoClient(
        server.api_key, base_url=server.base_url, token_in_query=True
    ) as client:
        await client.get(CACHE, unique("query-token"))
    lines = [record.getMessage() for record in caplog.records]
    ours = [line for line in lines if "token=[REDACTED]" in line]
    assert len(ours) >= 2  # our DEBUG line and httpx's INFO line
    assert all(server.api_key not in line for line in lines)


async def test_a_short_token_of_another_client_leaves_httpx_lines_whole(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with (
        MomentoClient("t", base_url=server.base_url),  # its tokens are no secret to hide
        MomentoClient(server.api_key, base_url=server.base_url, token_in_query=True) as client,
    ):
        await client.get(CACHE, unique("whole"))
    (line,) = [record.getMessage() for record in records(caplog, "httpx")]
    assert line.startswith(f"HTTP Request: GET {server.base_url}/cache/{CACHE}?key=whole-")
    assert line.endswith('&token=[REDACTED] "HTTP/1.1 404 Not Found"')


async def test_a_callers_clients_own_lines_hide_a_token_in_the_query(
    server: LocalServer, caplog: pytest.LogCaptureFixture, family: ModuleType
) -> None:
    caplog.set_level(logging.DEBUG)
    async with (
        family.AsyncClient() as http,
        MomentoClient(
            server.api_key, base_url=server.base_url, token_in_query=True, http_client=http
        ) as client,
    ):
        await client.get(CACHE, unique("family"))
    (line,) = [record.getMessage() for record in records(caplog, family.__name__)]
    assert line.endswith('&token=[REDACTED] "HTTP/1.1 404 Not Found"')
    assert all(server.api_key not in record.getMessage() for record in caplog.records)
