"""Credential parsing and base-URL resolution (no requests are sent)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest

from momento_http import REGION_ENDPOINTS, InvalidArgumentError, MomentoClient
from momento_http._credentials._keys import parse_api_key

CELL = "cell-9-test-region-1.prod.a.momentohq.com"
CELL_EU_WEST_1 = "cell-1-eu-west-1-1.prod.a.momentohq.com"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_jwt(claims: dict[str, object]) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    return f"{header}.{_b64url(json.dumps(claims).encode())}.{_b64url(b'not-a-real-signature')}"


def make_v1_key(inner: str, endpoint: str, *, padded: bool = True) -> str:
    encoded = base64.b64encode(json.dumps({"api_key": inner, "endpoint": endpoint}).encode())
    return (encoded if padded else encoded.rstrip(b"=")).decode()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MOMENTO_API_KEY", "MOMENTO_AUTH_TOKEN", "MOMENTO_ENDPOINT", "MOMENTO_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("padded", [True, False])
def test_v1_key_gives_inner_token_and_endpoint(padded: bool) -> None:
    inner = make_jwt({"sub": "someone"})
    credentials = parse_api_key(make_v1_key(inner, CELL, padded=padded))
    assert credentials.token == inner
    assert credentials.endpoint == CELL
    client = MomentoClient(make_v1_key(inner, CELL, padded=padded))
    assert client.base_url == httpx.URL(f"https://api.cache.{CELL}")


@pytest.mark.parametrize(
    ("envelope", "missing"),
    [({"endpoint": CELL}, "api_key"), ({"api_key": "abc"}, "endpoint")],
)
def test_v1_key_missing_field_is_named_without_the_key(
    envelope: dict[str, str], missing: str
) -> None:
    key = base64.b64encode(json.dumps(envelope).encode()).decode()
    with pytest.raises(InvalidArgumentError, match=missing) as caught:
        parse_api_key(key)
    assert key not in str(caught.value)


def test_legacy_jwt_endpoint_comes_from_claim_c() -> None:
    token = make_jwt({"c": f"cache.{CELL}", "cp": f"control.{CELL}"})
    credentials = parse_api_key(token)
    assert credentials.token == token
    assert credentials.endpoint == CELL
    assert MomentoClient(token).base_url == httpx.URL(f"https://api.cache.{CELL}")


def test_v2_key_needs_an_endpoint_from_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    token = make_jwt({"t": "g", "id": "abc"})
    assert parse_api_key(token).endpoint is None
    with pytest.raises(InvalidArgumentError, match="MOMENTO_ENDPOINT"):
        MomentoClient(token)
    monkeypatch.setenv("MOMENTO_ENDPOINT", CELL)
    assert MomentoClient(token).base_url == httpx.URL(f"https://api.cache.{CELL}")


def test_opaque_token_is_sent_as_is_with_a_base_url() -> None:
    assert parse_api_key("plain-local-token").token == "plain-local-token"
    client = MomentoClient("plain-local-token", base_url="http://127.0.0.1:9")
    assert client.base_url == httpx.URL("http://127.0.0.1:9")


# The region table, copied by hand from the reference pages.
REFERENCE_REGIONS = {
    "us-west-2": "https://api.cache.cell-4-us-west-2-1.prod.a.momentohq.com",
    "us-east-1": "https://api.cache.cell-us-east-1-1.prod.a.momentohq.com",
    "us-east-2": "https://api.cache.cell-1-us-east-2-1.prod.a.momentohq.com",
    "ap-northeast-1": "https://api.cache.cell-ap-northeast-1-1.prod.a.momentohq.com",
    "ap-southeast-1": "https://api.cache.cell-1-ap-southeast-1-1.prod.a.momentohq.com",
    "eu-west-1": "https://api.cache.cell-1-eu-west-1-1.prod.a.momentohq.com",
    "eu-central-1": "https://api.cache.cell-1-eu-central-1-1.prod.a.momentohq.com",
    "ap-south-1": "https://api.cache.cell-1-ap-south-1-1.prod.a.momentohq.com",
}


# Momento's current published list, https://docs.momentohq.com/platform/regions (source:
# momentohq/public-dev-docs docs/platform/regions/index.md at 6d688996, 2026-08-17), copied by
# hand: each cell name composed as https://api.cache.<cell>.prod.a.momentohq.com, as it says.
PUBLISHED_REGIONS = {
    "us-east-1": "https://api.cache.cell-us-east-1-1.prod.a.momentohq.com",
    "us-east-2": "https://api.cache.cell-1-us-east-2-1.prod.a.momentohq.com",
    "us-west-2": "https://api.cache.cell-4-us-west-2-1.prod.a.momentohq.com",
    "eu-west-1": "https://api.cache.cell-1-eu-west-1-1.prod.a.momentohq.com",
    "eu-west-2": "https://api.cache.cell-1-eu-west-2-1.prod.a.momentohq.com",
    "eu-central-1": "https://api.cache.cell-1-eu-central-1-1.prod.a.momentohq.com",
    "eu-north-1": "https://api.cache.cell-1-eu-north-1-1.prod.a.momentohq.com",
    "ap-south-1": "https://api.cache.cell-1-ap-south-1-1.prod.a.momentohq.com",
    "ap-northeast-1": "https://api.cache.cell-ap-northeast-1-1.prod.a.momentohq.com",
    "ap-southeast-1": "https://api.cache.cell-1-ap-southeast-1-1.prod.a.momentohq.com",
    "ap-southeast-2": "https://api.cache.cell-1-ap-southeast-2-1.prod.a.momentohq.com",
}


@pytest.mark.parametrize(("region", "url"), REFERENCE_REGIONS.items())
def test_region_resolves_to_the_reference_endpoint(region: str, url: str) -> None:
    client = MomentoClient(make_jwt({"t": "g"}), region=region)
    assert client.base_url == httpx.URL(url)


@pytest.mark.parametrize(("region", "url"), PUBLISHED_REGIONS.items())
def test_region_resolves_to_the_published_endpoint(region: str, url: str) -> None:
    client = MomentoClient(make_jwt({"t": "g"}), region=region)
    assert client.base_url == httpx.URL(url)


def test_region_table_has_exactly_the_published_regions() -> None:
    assert set(REGION_ENDPOINTS) == set(PUBLISHED_REGIONS)
    # The newer list keeps every region of the reference pages, at the same address.
    assert REFERENCE_REGIONS.items() <= PUBLISHED_REGIONS.items()
    assert {"eu-west-2", "ap-southeast-2"} <= set(REGION_ENDPOINTS)


def test_unknown_region_lists_the_known_ones() -> None:
    with pytest.raises(InvalidArgumentError, match="eu-west-1"):
        MomentoClient(make_jwt({"t": "g"}), region="mars-north-1")


@pytest.mark.parametrize("spelling", [CELL, f"cache.{CELL}", f"api.cache.{CELL}", f"{CELL}/"])
def test_endpoint_spellings_agree(spelling: str) -> None:
    client = MomentoClient(make_jwt({"t": "g"}), endpoint=spelling)
    assert client.base_url == httpx.URL(f"https://api.cache.{CELL}")


@pytest.mark.parametrize("endpoint", ["https://example.com", "a/b", "", "   "])
def test_malformed_endpoint_is_rejected(endpoint: str) -> None:
    with pytest.raises(InvalidArgumentError):
        MomentoClient(make_jwt({"t": "g"}), endpoint=endpoint)


@pytest.mark.parametrize(
    "base_url",
    ["ftp://example.com", "http://", "http://h?x=1", "http://h#frag", "nonsense", "http://u:p@h"],
)
def test_malformed_base_url_is_rejected(base_url: str) -> None:
    with pytest.raises(InvalidArgumentError):
        MomentoClient("t", base_url=base_url)


def test_base_url_keeps_a_path_prefix() -> None:
    client = MomentoClient("t", base_url="http://127.0.0.1:9/prefix/")
    assert client.base_url == httpx.URL("http://127.0.0.1:9/prefix")


def test_base_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOMENTO_ENDPOINT", "cell-env.example")
    key = make_v1_key(make_jwt({}), "cell-key.example")
    base_url, endpoint, region = "http://127.0.0.1:9", "cell-endpoint.example", "eu-west-1"
    chosen = MomentoClient(key, base_url=base_url, endpoint=endpoint, region=region).base_url
    assert chosen.host == "127.0.0.1"
    chosen = MomentoClient(key, endpoint=endpoint, region=region).base_url
    assert chosen.host == "api.cache.cell-endpoint.example"
    assert MomentoClient(key, region=region).base_url.host == "api.cache." + CELL_EU_WEST_1
    assert MomentoClient(key).base_url.host == "api.cache.cell-key.example"
    assert MomentoClient(make_jwt({"t": "g"})).base_url.host == "api.cache.cell-env.example"


def test_momento_base_url_comes_after_the_keys_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOMENTO_ENDPOINT", "cell-env.example")
    monkeypatch.setenv("MOMENTO_BASE_URL", "http://127.0.0.1:8080")
    assert MomentoClient(make_jwt({"t": "g"})).base_url == httpx.URL("http://127.0.0.1:8080")
    monkeypatch.setenv("MOMENTO_API_KEY", make_jwt({"t": "g"}))
    assert MomentoClient.from_env().base_url == httpx.URL("http://127.0.0.1:8080")
    assert MomentoClient.from_env(region="eu-west-1").base_url.host == "api.cache." + CELL_EU_WEST_1
    key = make_v1_key(make_jwt({}), "cell-key.example")
    assert MomentoClient(key).base_url.host == "api.cache.cell-key.example"
    monkeypatch.setenv("MOMENTO_BASE_URL", "not a url")
    with pytest.raises(InvalidArgumentError, match="MOMENTO_BASE_URL"):
        MomentoClient(make_jwt({"t": "g"}))


@pytest.mark.parametrize(
    "api_key",
    [
        "",
        "has space",
        "line\nbreak",
        "tab\t",
        "tökén-not-ascii",
        "eyJhbGciOiJIUzI1NiJ9.é.abc",
        make_v1_key("inner-tökén", "cell.example"),
        make_v1_key("inner token", "cell.example"),
    ],
)
def test_unusable_api_key_is_rejected_without_echoing_it(api_key: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        MomentoClient(api_key, base_url="http://127.0.0.1:9")
    if api_key:
        assert api_key not in str(caught.value)


def test_api_key_of_wrong_type_is_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match="str"):
        MomentoClient(b"bytes-token", base_url="http://127.0.0.1:9")  # type: ignore[arg-type]


def test_from_env_reads_api_key_then_legacy_name(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidArgumentError, match="MOMENTO_API_KEY"):
        MomentoClient.from_env()
    monkeypatch.setenv("MOMENTO_AUTH_TOKEN", make_jwt({"c": "cache.cell-legacy.example"}))
    assert MomentoClient.from_env().base_url.host == "api.cache.cell-legacy.example"
    monkeypatch.setenv("MOMENTO_API_KEY", make_v1_key(make_jwt({}), CELL))
    assert MomentoClient.from_env().base_url.host == f"api.cache.{CELL}"
    assert MomentoClient().base_url.host == f"api.cache.{CELL}"


def test_from_env_takes_the_constructors_keywords_and_only_those(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The ignores are checked too (mypy's warn_unused_ignores): were from_env typed loosely,
    # they would be unused, and the typecheck would fail.
    monkeypatch.setenv("MOMENTO_API_KEY", make_v1_key(make_jwt({}), CELL))
    with pytest.raises(InvalidArgumentError, match="timeout"):
        MomentoClient.from_env(timeout="soon")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="nope"):
        MomentoClient.from_env(nope=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        MomentoClient.from_env(make_v1_key(make_jwt({}), CELL))  # type: ignore[call-arg]
    client = MomentoClient.from_env(default_ttl=7, base_url="http://127.0.0.1:9")
    assert client.base_url == httpx.URL("http://127.0.0.1:9")


def test_token_is_in_no_repr() -> None:
    inner = make_jwt({"secret": "s3cr3t"})
    key = make_v1_key(inner, CELL)
    client = MomentoClient(key)
    credentials = parse_api_key(key)
    for shown in (repr(client), str(client), repr(credentials)):
        assert inner not in shown
        assert key not in shown


def test_the_docs_list_every_region_with_its_cell() -> None:
    root = Path(__file__).parent.parent
    table = (root / "docs" / "credentials.md").read_text(encoding="utf-8")
    readme = (root / "README.md").read_text(encoding="utf-8")
    listed = readme[readme.index("Regions, as [Momento lists them]") :].split(".\n", 1)[0]
    for region, cell in REGION_ENDPOINTS.items():
        assert f"| `{region}` | `{cell}` |" in table
        assert f"`{region}`" in listed
