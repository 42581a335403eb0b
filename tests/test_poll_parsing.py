"""Reading poll answers: every plausible form accepted, anything else refused clearly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from momento_http import Discontinuity, Heartbeat, TopicItem
from momento_http._topics._poll_parsing import MAX_POLL_ENTRIES, MalformedPollError, parse_poll


def answer(*items: Any, **top_level: Any) -> bytes:
    return json.dumps({"items": list(items), **top_level}).encode()


def test_the_reference_pages_examples() -> None:
    first = answer({"item": {"topic_sequence_number": 0, "value": {"text": "hello world"}}})
    assert parse_poll(first) == [TopicItem("hello world", 0)]
    second = answer(
        {"discontinuity": {"last_topic_sequence": 100, "new_topic_sequence": 104}},
        {"item": {"topic_sequence_number": 104, "value": {"text": "hello world"}}},
    )
    assert parse_poll(second) == [Discontinuity(100, 104), TopicItem("hello world", 104)]


def test_pages_and_publisher_ids() -> None:
    body = answer(
        {
            "discontinuity": {
                "last_topic_sequence": 1,
                "new_topic_sequence": 4,
                "new_sequence_page": 77,
            }
        },
        {
            "item": {
                "topic_sequence_number": 4,
                "sequence_page": 77,
                "publisher_id": "token-1",
                "value": {"text": "x"},
            }
        },
    )
    assert parse_poll(body) == [Discontinuity(1, 4, 77), TopicItem("x", 4, 77, "token-1")]


@pytest.mark.parametrize(
    "encoded",
    ["AP/+", "AP_-", "AP_-=", "AP_-==", "AP/+=="],
)
def test_binary_in_either_alphabet_padded_or_not(encoded: str) -> None:
    body = answer({"item": {"topic_sequence_number": 1, "value": {"binary": encoded}}})
    assert parse_poll(body) == [TopicItem(b"\x00\xff\xfe", 1)]


def test_numbers_as_strings_and_omitted_zeros() -> None:
    body = answer(
        {"item": {"topic_sequence_number": "18446744073709551615", "value": {"text": "big"}}},
        {"item": {"value": {"text": "zero"}}},
        {"discontinuity": {"new_topic_sequence": "3"}},
    )
    assert parse_poll(body) == [
        TopicItem("big", 18446744073709551615),
        TopicItem("zero", 0),
        Discontinuity(0, 3),
    ]


def test_heartbeats_unknown_kinds_and_unknown_fields() -> None:
    body = answer(
        {"heartbeat": {}},
        {"future_kind": {"x": 1}},
        {"item": {"topic_sequence_number": 2, "value": {"text": "t"}, "new_field": [1]}},
        extra={"ignored": True},
    )
    assert parse_poll(body) == [Heartbeat(), TopicItem("t", 2)]


@pytest.mark.parametrize("body", [b"{}", b'{"items": []}'])
def test_empty_answers(body: bytes) -> None:
    assert parse_poll(body) == []


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"", "not JSON"),
        (b"<html>502 Bad Gateway</html>", "not JSON"),
        (b'{"items": [', "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "items list"),
        (b'{"items": {}}', "items list"),
        (b'{"items": [1]}', "not an object"),
        (b'{"items": [{"item": []}]}', "not an object"),
        (b'{"items": [{"item": {"topic_sequence_number": 1}}]}', "no value"),
        (b'{"items": [{"item": {"value": {"json": 1}}}]}', "neither text nor binary"),
        (b'{"items": [{"item": {"value": {"text": 5}}}]}', "text value"),
        (b'{"items": [{"item": {"value": {"binary": "!!"}}}]}', "not base64"),
        (b'{"items": [{"item": {"value": {"binary": 5}}}]}', "binary value"),
        (
            b'{"items": [{"item": {"topic_sequence_number": -1, "value": {"text": ""}}}]}',
            "topic_sequence_number",
        ),
        (
            b'{"items": [{"item": {"topic_sequence_number": true, "value": {"text": ""}}}]}',
            "topic_sequence_number",
        ),
        (
            b'{"items": [{"item": {"topic_sequence_number": 1.5, "value": {"text": ""}}}]}',
            "topic_sequence_number",
        ),
        (b'{"items": [{"discontinuity": {"new_topic_sequence": "x"}}]}', "new_topic_sequence"),
    ],
)
def test_malformed_answers_are_refused_clearly(body: bytes, complaint: str) -> None:
    with pytest.raises(MalformedPollError, match=complaint):
        parse_poll(body)


def test_an_answer_of_as_many_entries_as_allowed_is_read() -> None:
    # Every field an item may have, and one this SDK does not know.
    full = {"topic_sequence_number": 1, "sequence_page": 2, "publisher_id": "p", "new": [0]}
    body = answer(*[{"item": {**full, "value": {"text": "x"}}}] * MAX_POLL_ENTRIES)
    assert parse_poll(body) == [TopicItem("x", 1, 2, "p")] * MAX_POLL_ENTRIES


@pytest.fixture
def forty_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("momento_http._topics._poll_parsing._MAX_TOKENS", 40)


@pytest.mark.usefixtures("forty_tokens")
@pytest.mark.parametrize(
    "text", ['{"a": [1, 2, {"b": "c"}]}' * 20, '\\"{[,' * 50, "\\" * 101 + '",{[' * 30]
)
def test_json_inside_a_text_counts_as_one_value(text: str) -> None:
    # Counted inside the string, its braces, brackets, commas and quotes would be hundreds.
    body = answer({"item": {"topic_sequence_number": 1, "value": {"text": text}}})
    assert parse_poll(body) == [TopicItem(text, 1)]


@pytest.mark.usefixtures("forty_tokens")
@pytest.mark.parametrize(
    "body",
    [
        answer(*[{}] * 40),
        answer(unknown=[[]] * 40),
        answer(unknown=["a,{["] * 40),
        answer({"item": {"topic_sequence_number": 1, "value": {"text": "x"}}}, *[1] * 38),
    ],
    ids=["objects", "arrays", "strings", "numbers"],
)
def test_more_json_than_allowed_is_refused_before_it_is_parsed(body: bytes) -> None:
    with pytest.raises(MalformedPollError, match="over 40 JSON values"):
        parse_poll(body)
