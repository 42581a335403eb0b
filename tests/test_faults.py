"""The local server's fault rules: drops, stalls, odds, and rules set by header or CLI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from conftest import CACHE, local_cli, local_cli_refusal, unique

from momento_http import MomentoClient, MomentoConnectionError, RetryPolicy, TopicItem
from momento_http.local import Fault, LocalServer


@pytest.fixture
async def http(server: LocalServer) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"authorization": server.api_key}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as raw:
        yield raw


@pytest.mark.parametrize("disconnect", ["before_response", "mid_body"])
async def test_a_dropped_connection_is_a_connection_error_and_retried(
    faulty: LocalServer, client: MomentoClient, disconnect: str
) -> None:
    key = unique("dropped")
    await client.set(CACHE, key, b"x" * 10_000)
    faulty.inject_fault(Fault(disconnect=disconnect, method="GET"))  # type: ignore[arg-type]
    with pytest.raises(MomentoConnectionError) as caught:
        await client.get(CACHE, key)
    assert caught.value.request_sent is True
    faulty.inject_fault(Fault(disconnect=disconnect, method="GET"))  # type: ignore[arg-type]
    retrying = RetryPolicy(sleep=_no_sleep)
    assert await client.get(CACHE, key, retry=retrying) == b"x" * 10_000
    assert faulty.fault_hits == {f"disconnect {disconnect}": 2}


async def _no_sleep(seconds: float) -> None:
    del seconds


async def test_a_poll_cut_mid_body_is_ridden_out(
    faulty: LocalServer, client: MomentoClient
) -> None:
    topic = unique("cut")
    await client.publish(CACHE, topic, "whole")
    faulty.inject_fault(Fault(disconnect="mid_body", method="GET", topic=topic, count=2))
    async with (
        MomentoClient(
            faulty.api_key, base_url=faulty.base_url, retry=RetryPolicy(sleep=_no_sleep)
        ) as retrying,
        retrying.subscribe(CACHE, topic, sequence_number=1) as subscription,
    ):
        event = await subscription.__anext__()
    assert isinstance(event, TopicItem)
    assert event.value == "whole"


async def test_the_work_is_done_before_a_drop(faulty: LocalServer, client: MomentoClient) -> None:
    key = unique("landed")
    faulty.inject_fault(Fault(disconnect="before_response", method="PUT"))
    with pytest.raises(MomentoConnectionError):
        await client.set(CACHE, key, b"stored anyway")
    assert await client.get(CACHE, key) == b"stored anyway"


async def test_unlimited_rules_hit_until_cleared(
    faulty: LocalServer, http: httpx.AsyncClient
) -> None:
    faulty.inject_fault(Fault(503, method="GET", count=None))
    statuses = [
        (await http.get(f"/cache/{CACHE}", params={"key": "k"})).status_code for _ in range(5)
    ]
    assert statuses == [503] * 5
    faulty.clear_faults()
    assert (await http.get(f"/cache/{CACHE}", params={"key": "k"})).status_code == 404


async def test_a_rule_with_odds_hits_about_that_share() -> None:
    async with LocalServer([CACHE], fault_seed=7) as seeded:
        seeded.inject_fault(Fault(503, count=None, probability=0.25))
        headers = {"authorization": seeded.api_key}
        async with httpx.AsyncClient(base_url=seeded.base_url, headers=headers) as raw:
            statuses = [
                (await raw.get(f"/cache/{CACHE}", params={"key": "k"})).status_code
                for _ in range(400)
            ]
    hits = statuses.count(503)
    assert 60 <= hits <= 140  # 100 expected; the seed makes the run repeatable
    assert seeded.fault_hits == {"status 503": hits}


async def test_a_header_arms_a_rule_that_can_hit_its_own_request(
    faulty: LocalServer, http: httpx.AsyncClient
) -> None:
    rule = json.dumps({"status": 429, "retry_after": 2, "method": "GET", "count": 2})
    first = await http.get(
        f"/cache/{CACHE}", params={"key": "k"}, headers={"x-momento-local-fault": rule}
    )
    second = await http.get(f"/cache/{CACHE}", params={"key": "k"})
    third = await http.get(f"/cache/{CACHE}", params={"key": "k"})
    assert (first.status_code, first.headers["retry-after"]) == (429, "2")
    assert second.status_code == 429
    assert third.status_code == 404


@pytest.mark.parametrize(
    ("rule", "complaint"),
    [
        ("not json", "JSON object"),
        ("[1]", "JSON object"),
        ('{"status": 503, "colour": "red"}', "unknown fault attributes: colour"),
        ('{"status": 99}', "from 200 to 599"),
        ('{"status": 503, "disconnect": "before_response"}', "not both"),
        ('{"disconnect": "sideways"}', "disconnect must be"),
        ('{"delay": -1}', "non-negative"),
        ('{"status": 503, "count": 0}', "at least 1"),
        ('{"status": 503, "probability": 0}', "probability"),
        ('{"status": 503, "method": "PATCH"}', "method"),
        ('{"status": 503, "method": 5}', "malformed fault rule"),
        ("{}", "needs a status"),
        ('{"status": 503, "retry_after": -1}', "retry_after"),
        ('{"status": 200, "content_type": "text/\\u00fc"}', "printable ASCII"),
        ('{"status": 200, "content_type": "a\\nb"}', "printable ASCII"),
    ],
)
async def test_a_malformed_rule_in_a_header_is_a_400(
    faulty: LocalServer, http: httpx.AsyncClient, rule: str, complaint: str
) -> None:
    response = await http.get(
        f"/cache/{CACHE}", params={"key": "k"}, headers={"x-momento-local-fault": rule}
    )
    assert response.status_code == 400
    assert complaint in response.text


def test_rules_from_the_command_line() -> None:
    rule = json.dumps({"status": 418, "message": "teapot", "method": "GET", "count": None})
    with local_cli("--token", "t", "--fault", rule) as (base_url, _):
        response = httpx.get(
            f"{base_url}/cache/default-cache", params={"key": "k"}, headers={"authorization": "t"}
        )
    assert (response.status_code, response.text) == (418, "teapot")


def test_a_malformed_rule_on_the_command_line_is_refused() -> None:
    assert "from 200 to 599" in local_cli_refusal("--fault", '{"status": 5}')


def test_rules_are_plain_values() -> None:
    spec: dict[str, Any] = {"status": 503, "method": "get", "count": None}
    assert Fault.from_json(json.dumps(spec)) == Fault(503, method="GET", count=None)
