"""The local server's OpenAPI document, and schemathesis run against the server with it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from momento_http.local import LocalServer, Settings

# The noxfile installs schemathesis in a venv of its own and names its command here;
# in a venv with every dependency group it sits beside pytest.
SCHEMATHESIS = os.environ.get("SCHEMATHESIS") or str(Path(sys.executable).with_name("schemathesis"))
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


def test_the_document_is_served_without_a_token() -> None:
    with LocalServer(["alpha", "beta/ü"]) as server:
        response = httpx.get(f"{server.base_url}/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {"/cache/{cacheName}", "/topics/{cacheName}/{topicName}"}
    cache_name = document["paths"]["/cache/{cacheName}"]["get"]["parameters"][0]
    assert cache_name["schema"]["enum"] == ["alpha", "beta/ü"]


def test_schemathesis_finds_no_server_error_and_no_mismatch() -> None:
    settings = Settings(poll_hold_seconds=0.02)  # schemathesis waits out every quiet poll
    with LocalServer(["cache-a", "odd/ü"], token="schemathesis-token", settings=settings) as s:
        result = subprocess.run(
            [
                SCHEMATHESIS,
                "run",
                f"{s.base_url}/openapi.json",
                "--header",
                "Authorization: schemathesis-token",
                "--checks",
                CHECKS,
                "--max-examples",
                "30",
                "--seed",
                "2026",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        alive = httpx.get(
            f"{s.base_url}/cache/cache-a",
            params={"key": "still-here"},
            headers={"authorization": "schemathesis-token"},
        )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert alive.status_code == 404  # a miss: the server survived the run
