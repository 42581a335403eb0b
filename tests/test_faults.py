"""The local server's fault rules: drops, stalls, odds, and rules set by header or CLI."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import anyio
import httpx
import pytest
from conftest import (
    CACHE,
    EVERY_LOOP,
    FakeClock,
    local_cli,
    local_cli_refusal,
    raw_connection,
    unique,
)

from momento_http import (
    MomentoClient,
    MomentoConnectionError,
    RetryPolicy,
    ServerError,
    TopicItem,
)
from momento_http.local import Fault, LocalServer, Settings


@pytest.fixture
async def http(server: LocalServer) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"authorization": server.api_key}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as raw:
        yield raw


def auth(server: LocalServer) -> dict[str, str]:
    return {"authorization": server.api_key}


@EVERY_LOOP
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


@EVERY_LOOP
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


@EVERY_LOOP
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


MALFORMED_RULES = [
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
    ('{"status": 503, "method": 5}', "method must be one of"),
    ('{"status": 503, "method": []}', "method must be one of"),
    ("{}", "needs a status"),
    ('{"status": 503, "retry_after": -1}', "retry_after"),
    ('{"status": 503, "retry_after": Infinity}', "retry_after must be a finite"),
    ('{"status": 503, "retry_after": 1e9}', "retry_after"),
    ('{"status": 200, "content_type": "text/\\u00fc"}', "printable ASCII"),
    ('{"status": 200, "content_type": "a\\nb"}', "printable ASCII"),
    ('{"status": 200, "content_type": 5}', "printable ASCII"),
    # The rules: each made the server hang, loop for ever, or fail.
    ('{"delay": Infinity}', "delay must be a finite"),
    ('{"delay": NaN}', "delay must be a finite"),
    ('{"delay": 301}', "up to 300"),
    ('{"delay": "1"}', "delay must be"),
    ('{"status": 503, "count": 1.5}', "count must be a whole number"),
    ('{"status": 503, "count": 2.0}', "count must be a whole number"),
    ('{"status": 503, "count": true}', "count must be a whole number"),
    ('{"status": 503, "message": 5}', "message must be a string"),
    ('{"status": 200.5}', "status must be a whole number"),
    ('{"status": "503"}', "status must be a whole number"),
    ('{"status": true}', "status must be a whole number"),
    ('{"status": 503, "probability": 1.5}', "probability must be"),
    ('{"status": 503, "probability": NaN}', "probability must be"),
    ('{"status": 503, "probability": "0.5"}', "probability must be"),
    ('{"status": 503, "cache": 5}', "cache must be"),
    ('{"status": 503, "cache": ""}', "cache must be"),
    ('{"status": 503, "topic": ["t"]}', "topic must be"),
    ('{"disconnect": 5}', "disconnect must be"),
    ('{"status": 503, "count": 1' + "0" * 5000 + "}", "JSON object"),
    # Rules the server took, then failed to carry out: a 500 with a traceback each time.
    ('{"status": 503, "message": "\\ud800"}', "message must be valid Unicode"),
    ('{"status": 503, "message": "ok \\udfff"}', "message must be valid Unicode"),
    ('{"status": 200, "content_type": " text/plain"}', "no space at either end"),
    ('{"status": 200, "content_type": "text/plain "}', "no space at either end"),
    ('{"status": 503, "cache": "\\ud800"}', "cache must be a non-empty string of valid"),
    ('{"status": 503, "topic": "t\\udc80"}', "topic must be a non-empty string of valid"),
    # Matching on a key and on a kind of request.
    ('{"status": 503, "key": ""}', "key must be"),
    ('{"status": 503, "key": 5}', "key must be"),
    ('{"status": 503, "key": "\\ud800"}', "key must be"),
    ('{"status": 503, "request": "items"}', "request must be 'item', 'poll', 'publish'"),
    ('{"status": 503, "request": ["item"]}', "request must be 'item'"),
    ('{"status": 503, "key": "k", "topic": "t"}', "one or the other"),
    ('{"status": 503, "key": "k", "request": "poll"}', "key names an item"),
    ('{"status": 503, "topic": "t", "request": "item"}', "never matches an item request"),
    ('{"status": 503, "method": "POST", "request": "poll"}', "POST never matches a poll"),
    ('{"status": 503, "method": "GET", "request": "publish"}', "GET never matches a publish"),
    ('{"status": 503, "method": "post", "key": "k"}', "POST never matches an item request"),
    ("[" * 5000 + "]" * 5000, "JSON object"),  # deeper than the parser recurses
]


@pytest.mark.parametrize(("rule", "complaint"), MALFORMED_RULES)
def test_a_malformed_rule_is_refused_naming_the_field(rule: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        Fault.from_json(rule)


# The header reaches the same Fault.from_json: these show how its refusal is answered, for
# each kind of failure (not JSON, an unknown field, a field's check, a parser limit).
HEADER_RULES = [
    (rule, complaint)
    for rule, complaint in MALFORMED_RULES
    if rule
    in (
        "not json",
        '{"status": 503, "colour": "red"}',
        '{"delay": Infinity}',
        '{"status": 503, "message": "\\ud800"}',  # taken, then a 500 for every match
    )
    or len(rule) > 5000  # headers as long as the parser's limits
]


@pytest.mark.parametrize(("rule", "complaint"), HEADER_RULES)
async def test_a_malformed_rule_in_a_header_is_a_400_naming_the_field(
    faulty: LocalServer, http: httpx.AsyncClient, rule: str, complaint: str
) -> None:
    response = await http.get(
        f"/cache/{CACHE}", params={"key": "k"}, headers={"x-momento-local-fault": rule}
    )
    assert response.status_code == 400
    assert complaint in response.text
    assert response.text.startswith("x-momento-local-fault: ")
    # Nothing was armed: the next request is served.
    assert (await http.get(f"/cache/{CACHE}", params={"key": "k"})).status_code == 404
    assert faulty.fault_hits == {}


@pytest.mark.parametrize(
    ("rule", "complaint"),
    [
        ({"delay": float("inf")}, "delay must be a finite"),
        ({"status": 503, "count": 1.5}, "count must be a whole number"),
        ({"status": 503, "message": 5}, "message must be a string"),
        ({"status": 503.0}, "status must be a whole number"),
        ({"status": 503, "probability": 0}, "probability must be"),
        ({"status": 503, "message": "\ud800"}, "message must be valid Unicode"),
        ({"status": 503, "key": b""}, "key must be"),
        ({"status": 503, "key": "k", "request": "publish"}, "key names an item"),
    ],
)
def test_rules_made_in_process_are_checked_the_same(rule: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        Fault(**rule)


@pytest.mark.parametrize("token", ["", "not-a-token", "forged"])
async def test_a_header_rule_without_a_valid_token_arms_nothing(
    faulty: LocalServer, http: httpx.AsyncClient, token: str
) -> None:
    if token == "forged":  # the server's own header, a payload that is not even ASCII
        token = faulty.api_key.split(".")[0] + ".\u00e9.abc"
    rule = json.dumps({"status": 418, "count": None})
    query = f"key=k&token={quote(token)}" if token else "key=k"
    status = await raw_status(faulty, f"/cache/{CACHE}?{query}", {"x-momento-local-fault": rule})
    assert status == 401
    assert (await http.get(f"/cache/{CACHE}", params={"key": "k"})).status_code == 404
    assert faulty.fault_hits == {}


async def raw_status(server: LocalServer, target: str, headers: dict[str, str]) -> int:
    """A GET over a plain socket, so no client library logs the token in its URL."""
    lines = [f"GET {target} HTTP/1.1", "host: x", "connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    async with raw_connection(server) as stream:
        await stream.send(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        with anyio.fail_after(5):
            while b"\r\n" not in answer:
                answer += await stream.receive()
    return int(answer.split(b" ", 2)[1])


async def test_a_header_rule_with_an_expired_token_arms_nothing(
    clocked_server: LocalServer, clock: FakeClock
) -> None:
    expired = clocked_server.mint_api_key(expires_in=10)
    clock.advance(10)
    rule = json.dumps({"status": 418, "count": None})
    async with httpx.AsyncClient(base_url=clocked_server.base_url) as raw:
        refused = await raw.get(
            f"/cache/{CACHE}",
            params={"key": "k"},
            headers={"authorization": expired, "x-momento-local-fault": rule},
        )
        served = await raw.get(
            f"/cache/{CACHE}",
            params={"key": "k"},
            headers={"authorization": clocked_server.api_key},
        )
    assert (refused.status_code, served.status_code) == (401, 404)


async def test_a_header_rule_with_a_token_in_the_query_is_armed(faulty: LocalServer) -> None:
    rule = json.dumps({"status": 418, "method": "GET", "cache": CACHE, "count": 1})
    target = f"/cache/{CACHE}?key=k&token={quote(faulty.api_key)}"
    assert await raw_status(faulty, target, {"x-momento-local-fault": rule}) == 418


async def test_header_rules_can_be_turned_off() -> None:
    settings = Settings(header_faults=False)
    async with (
        LocalServer([CACHE], settings=settings) as server,
        httpx.AsyncClient(base_url=server.base_url, headers=auth(server)) as raw,
    ):
        rule = json.dumps({"status": 418, "count": None})
        refused = await raw.get(
            f"/cache/{CACHE}", params={"key": "k"}, headers={"x-momento-local-fault": rule}
        )
        served = await raw.get(f"/cache/{CACHE}", params={"key": "k"})
        server.inject_fault(Fault(503))  # rules in process still work
        injected = await raw.get(f"/cache/{CACHE}", params={"key": "k"})
    assert refused.status_code == 400
    assert "x-momento-local-fault" in refused.text
    assert (served.status_code, injected.status_code) == (404, 503)


def test_header_rules_can_be_turned_off_on_the_command_line() -> None:
    rule = json.dumps({"status": 418})
    with local_cli("--token", "t", "--no-header-faults") as (base_url, _):
        response = httpx.get(
            f"{base_url}/cache/default-cache",
            params={"key": "k"},
            headers={"authorization": "t", "x-momento-local-fault": rule},
        )
    assert response.status_code == 400


async def test_armed_rules_are_capped() -> None:
    async with (
        LocalServer([CACHE], settings=Settings(max_fault_rules=3)) as server,
        httpx.AsyncClient(base_url=server.base_url, headers=auth(server)) as raw,
    ):

        async def arm(index: int) -> httpx.Response:
            rule = json.dumps({"status": 418, "cache": f"elsewhere-{index}", "count": None})
            return await raw.get(
                f"/cache/{CACHE}", params={"key": "k"}, headers={"x-momento-local-fault": rule}
            )

        statuses = [(await arm(index)).status_code for index in range(3)]
        over = await arm(3)
        with pytest.raises(ValueError, match="3 fault rules are armed"):
            server.inject_fault(Fault(503))
        server.clear_faults()
        again = await arm(4)
    assert statuses == [404, 404, 404]  # armed; they match other caches only
    assert over.status_code == 429
    assert "3 fault rules are armed, the most this server keeps" in over.text
    assert again.status_code == 404


async def test_rules_apply_in_the_order_they_were_added_whatever_they_match(
    faulty: LocalServer, http: httpx.AsyncClient
) -> None:
    key = unique("ordered")
    faulty.inject_fault(Fault(501, cache=CACHE, method="GET", count=1))
    faulty.inject_fault(Fault(502, count=1))  # matches everything
    faulty.inject_fault(Fault(503, method="GET", count=1))
    for index in range(300):  # rules that never match, all looked past
        faulty.inject_fault(Fault(418, cache=f"elsewhere-{index}", count=None))
    statuses = [
        (await http.get(f"/cache/{CACHE}", params={"key": key})).status_code for _ in range(4)
    ]
    assert statuses == [501, 502, 503, 404]


async def test_a_rule_that_misses_its_draw_lets_a_later_rule_hit() -> None:
    async with LocalServer([CACHE], fault_seed=1) as seeded:
        seeded.inject_fault(Fault(500, count=None, probability=0.5, method="GET"))
        seeded.inject_fault(Fault(503, count=None, cache=CACHE))
        headers = {"authorization": seeded.api_key}
        async with httpx.AsyncClient(base_url=seeded.base_url, headers=headers) as raw:
            statuses = {
                (await raw.get(f"/cache/{CACHE}", params={"key": "k"})).status_code
                for _ in range(40)
            }
    assert statuses == {500, 503}


@pytest.mark.parametrize("status", [204, 304])
async def test_a_fault_status_that_takes_no_body_is_answered_cleanly(
    faulty: LocalServer, http: httpx.AsyncClient, status: int
) -> None:
    rule = json.dumps({"status": status, "message": "a body it cannot carry"})
    response = await http.get(
        f"/cache/{CACHE}", params={"key": "k"}, headers={"x-momento-local-fault": rule}
    )
    assert (response.status_code, response.content) == (status, b"")
    # The connection is still good for the next request.
    assert (await http.get(f"/cache/{CACHE}", params={"key": "k"})).status_code == 404


async def test_retry_after_is_plain_seconds(faulty: LocalServer, http: httpx.AsyncClient) -> None:
    for seconds, shown in ((2, "2"), (0.5, "0.5"), (1e-7, "0")):
        faulty.inject_fault(Fault(429, retry_after=seconds))
        response = await http.get(f"/cache/{CACHE}", params={"key": "k"})
        assert response.headers["retry-after"] == shown


def test_rules_from_the_command_line() -> None:
    rule = json.dumps({"status": 418, "message": "teapot", "method": "GET", "count": None})
    with local_cli("--token", "t", "--fault", rule) as (base_url, _):
        response = httpx.get(
            f"{base_url}/cache/default-cache", params={"key": "k"}, headers={"authorization": "t"}
        )
    assert (response.status_code, response.text) == (418, "teapot")


def test_a_malformed_rule_on_the_command_line_is_refused() -> None:
    assert "from 200 to 599" in local_cli_refusal("--fault", '{"status": 5}')
    assert "delay must be a finite" in local_cli_refusal("--fault", '{"delay": Infinity}')


def test_rules_are_plain_values() -> None:
    spec: dict[str, Any] = {"status": 503, "method": "get", "count": None}
    assert Fault.from_json(json.dumps(spec)) == Fault(503, method="GET", count=None)


async def test_a_rule_naming_a_key_hits_that_items_requests_only(
    faulty: LocalServer, http: httpx.AsyncClient
) -> None:
    key, other, topic = unique("hit"), unique("spared"), unique("topic")
    faulty.inject_fault(Fault(503, key=key, count=None))
    spared = [
        await http.put(f"/cache/{CACHE}", params={"key": other, "ttl_seconds": 60}, content=b"v"),
        await http.get(f"/cache/{CACHE}", params={"key": other}),
        await http.post(f"/topics/{CACHE}/{topic}", content="m"),
        await http.get(f"/topics/{CACHE}/{topic}", params={"sequence_number": 1}),
    ]
    encoded = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
    hit = [
        await http.put(f"/cache/{CACHE}", params={"key": key, "ttl_seconds": 60}, content=b"v"),
        await http.get(f"/cache/{CACHE}", params={"key": key}),
        await http.delete(f"/cache/{CACHE}", params={"key": key}),
        await http.get(f"/cache/{CACHE}", params={"key_base64": encoded}),  # the same key
    ]
    assert [r.status_code for r in spared] == [204, 200, 204, 200]
    assert [r.status_code for r in hit] == [503] * 4
    assert faulty.fault_hits == {"status 503": 4}


async def test_a_rule_naming_a_binary_key_hits_it_by_key_base64(
    faulty: LocalServer, http: httpx.AsyncClient
) -> None:
    faulty.inject_fault(Fault(418, key=b"\xff\x00k", method="GET", count=None))
    statuses = [
        (await http.get(f"/cache/{CACHE}", params={"key_base64": value})).status_code
        for value in ("_wBr", "/wBr", "/wBrAA", "not-it")  # either alphabet, or another key
    ]
    assert statuses == [418, 418, 404, 404]


@pytest.mark.parametrize(
    ("kind", "hit"),
    [("item", {"get", "set", "delete"}), ("poll", {"poll"}), ("publish", {"publish"})],
)
async def test_a_rule_for_a_kind_of_request_spares_the_others(
    faulty: LocalServer, http: httpx.AsyncClient, kind: str, hit: set[str]
) -> None:
    key, topic = unique("kind"), unique("kind")
    assert (await http.post(f"/topics/{CACHE}/{topic}", content="m")).status_code == 204
    faulty.inject_fault(Fault(503, cache=CACHE, request=kind, count=None))  # type: ignore[arg-type]
    item = {"key": key, "ttl_seconds": "60"}
    answers = {
        "set": await http.put(f"/cache/{CACHE}", params=item, content=b"v"),
        "get": await http.get(f"/cache/{CACHE}", params=item),
        "delete": await http.delete(f"/cache/{CACHE}", params=item),
        # Not held: the message published above answers it at once.
        "poll": await http.get(f"/topics/{CACHE}/{topic}", params={"sequence_number": 1}),
        "publish": await http.post(f"/topics/{CACHE}/{topic}", content="m"),
    }
    assert {name for name, answer in answers.items() if answer.status_code == 503} == hit
    assert all(answer.status_code < 500 for name, answer in answers.items() if name not in hit)


async def test_a_subscriber_is_spared_a_rule_for_item_reads(
    faulty: LocalServer, client: MomentoClient
) -> None:
    """The issue's rule, `method="GET", cache=C`, hit the subscriber's polls as well."""
    topic = unique("spared")
    faulty.inject_fault(Fault(503, method="GET", cache=CACHE, request="item", count=None))
    async with client.subscribe(CACHE, topic) as subscription:
        await faulty.wait_for_subscribers(CACHE, topic)
        await client.publish(CACHE, topic, "still heard")
        event = await subscription.__anext__()
        with pytest.raises(ServerError):
            await client.get(CACHE, unique("read"))
    assert isinstance(event, TopicItem)
    assert event.value == "still heard"


async def test_a_header_rule_may_name_a_key_and_a_kind(
    faulty: LocalServer, http: httpx.AsyncClient
) -> None:
    key = unique("clé")
    rule = json.dumps({"status": 418, "key": key, "request": "item", "count": None})
    arming = await http.get(
        f"/cache/{CACHE}", params={"key": "other"}, headers={"x-momento-local-fault": rule}
    )
    hit = await http.get(f"/cache/{CACHE}", params={"key": key})
    assert (arming.status_code, hit.status_code) == (404, 418)


def test_a_rule_matches_what_it_names() -> None:
    rule = Fault(503, key="k", method="GET")
    assert rule.matches("GET", CACHE, None, b"k")
    assert not rule.matches("GET", CACHE, None, b"other")
    assert not rule.matches("GET", CACHE, "k")  # a poll carries no key
    polls = Fault(503, request="poll")
    assert polls.matches("GET", CACHE, "t")
    assert not polls.matches("POST", CACHE, "t")
    assert not polls.matches("GET", CACHE, None, b"k")
    spec = '{"status": 503, "key": "k", "request": "item"}'
    assert Fault.from_json(spec) == Fault(503, key="k", request="item")
