"""The momento_http logger: a DEBUG record per try, INFO per retry or resume, no token."""

from __future__ import annotations

import logging
import re
from types import ModuleType

import anyio
import httpx
import pytest
from conftest import CACHE, no_wait, unique

from momento_http import (
    CacheNotFoundError,
    MomentoClient,
    MomentoConnectionError,
    MomentoTimeoutError,
    RetryPolicy,
    TopicItem,
)
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
    assert re.fullmatch(
        rf"GET {url}\w+ -> 503 Service Unavailable in \d+\.\d ms \(try 1 of 3\)", first
    )
    assert re.fullmatch(rf"GET {url}\w+ -> 404 \(a miss\) in \d+\.\d ms \(try 2 of 3\)", second)
    assert re.fullmatch(
        rf"GET {url}\w+: try 1 of 3 failed \(ServerError: busy\); trying again in \d\.\d\d s",
        retry,
    )


async def test_a_tries_duration_leaves_out_the_wait_before_it(
    faulty: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="momento_http")
    waited: list[float] = []

    async def wait(seconds: float) -> None:
        del seconds
        began = anyio.current_time()
        await anyio.sleep(0.05)  # the retry's wait itself is what the durations must leave out
        waited.append(anyio.current_time() - began)

    faulty.inject_fault(Fault(503, message="busy", method="GET"))
    policy = RetryPolicy(max_attempts=2, sleep=wait)
    async with MomentoClient(faulty.api_key, base_url=faulty.base_url, retry=policy) as client:
        began = anyio.current_time()
        assert await client.get(CACHE, unique("timed")) is None
        elapsed = anyio.current_time() - began
    first, _, second = (record.getMessage() for record in records(caplog, "momento_http"))
    took = [float(ms) for ms in re.findall(r" in (\d+\.\d) ms ", f"{first}\n{second}")]
    assert len(took) == 2
    # Two tries and the wait between them, one after the other, all within the call: with
    # 0.05 ms of rounding per logged duration.
    assert (sum(took) - 0.1) / 1000 + waited[0] <= elapsed


async def test_a_404_that_is_no_miss_is_logged_as_what_it_is(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="momento_http")
    async with MomentoClient(server.api_key, base_url=server.base_url, retry=None) as client:
        with pytest.raises(CacheNotFoundError):
            await client.get("no-such-cache", "k")
    (line,) = [record.getMessage() for record in records(caplog, "momento_http")]
    url = re.escape(f"{server.base_url}/cache/no-such-cache?key=k")
    assert re.fullmatch(rf"GET {url} -> 404 Not Found in \d+\.\d ms \(try 1 of 1\)", line)


async def test_a_try_that_times_out_is_logged_with_its_deadline(
    faulty: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="momento_http")
    key = unique("slow")
    faulty.inject_fault(Fault(delay=300, key=key))
    async with MomentoClient(faulty.api_key, base_url=faulty.base_url, retry=None) as client:
        with pytest.raises(MomentoTimeoutError):
            await client.get(CACHE, key, timeout=0.5)
    (line,) = [record.getMessage() for record in records(caplog, "momento_http")]
    url = re.escape(f"{faulty.base_url}/cache/{CACHE}?key={key}")
    assert re.fullmatch(rf"GET {url} timed out: no answer within 0\.5 s \(try 1 of 1\)", line)


async def test_a_failed_try_is_logged_with_the_error_it_raises(
    faulty: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="momento_http")
    key = unique("cut")
    faulty.inject_fault(Fault(disconnect="before_response", key=key))
    async with MomentoClient(faulty.api_key, base_url=faulty.base_url, retry=None) as client:
        with pytest.raises(MomentoConnectionError) as raised:
            await client.get(CACHE, key)
    (line,) = [record.getMessage() for record in records(caplog, "momento_http")]
    url = re.escape(f"{faulty.base_url}/cache/{CACHE}?key={key}")
    said = re.escape(f"MomentoConnectionError: {raised.value.message}")
    assert re.fullmatch(rf"GET {url} failed after \d+\.\d ms: {said} \(try 1 of 1\)", line)


async def test_a_long_poll_with_no_answer_in_time_is_logged_as_quiet(
    faulty: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="momento_http")
    topic = unique("quiet-poll")
    # A poll's answer may take poll_timeout, and a connect's time, to begin: 1.5 s here.
    timeout = httpx.Timeout(5.0, connect=1.0)
    async with MomentoClient(
        faulty.api_key, base_url=faulty.base_url, timeout=timeout, poll_timeout=0.5
    ) as client:
        await client.publish(CACHE, topic, "m1")
        faulty.inject_fault(Fault(delay=300, request="poll", topic=topic))  # the first poll
        async with client.subscribe(CACHE, topic, sequence_number=1) as subscription:
            event = await anext(aiter(subscription))
    assert isinstance(event, TopicItem)
    lines = [record.getMessage() for record in records(caplog, "momento_http")]
    publish, quiet, answered = [line for line in lines if f"/topics/{CACHE}/{topic}" in line]
    assert publish.startswith("POST ")
    assert quiet.endswith(" -> nothing within 1.5 s, as a long poll may (try 1)")
    assert re.search(r" -> 200 OK in \d+\.\d ms \(try 1\)$", answered)


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
