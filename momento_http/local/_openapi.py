"""The OpenAPI document of the API the local server implements, served at /openapi.json."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["OPENAPI_PATH", "openapi_document", "openapi_json"]

OPENAPI_PATH = "/openapi.json"

_TEXT = {"text/plain": {"schema": {"type": "string"}}}
_BINARY = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "The request is malformed, or both the header and the query carry a token.",
        401: "The token is missing, invalid or expired.",
        403: "The token does not grant this operation.",
        404: "`Cache Not Found`, or for a cache read `Key Not Found`.",
        405: "The path does not take this method.",
        408: "The request's body took too long to arrive.",
        413: "The item or message is over the size limit, or the server's memory budget.",
        429: "An account limit was exceeded.",
        500: "The server failed.",
    }
    return {str(status): {"description": reasons[status], "content": _TEXT} for status in statuses}


_TOPIC_NAME = {
    "name": "topicName",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1},
}
_KEY = {"name": "key", "in": "query", "schema": {"type": "string", "minLength": 1}}
_KEY_BASE64 = {
    "name": "key_base64",
    "in": "query",
    "description": "URL-safe base64 of the key bytes; padding optional. Exactly one of key "
    "and key_base64.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+=*$"},
}
_SEQUENCE = {"type": "integer", "minimum": 0, "maximum": 999_999_999_999_999_999}
_SECURITY: list[dict[str, list[str]]] = [{"header": []}, {"query": []}]

_ITEM = {
    "type": "object",
    "properties": {
        "topic_sequence_number": {"type": "integer"},
        "sequence_page": {"type": "integer"},
        "publisher_id": {"type": "string"},
        "value": {
            "type": "object",
            "properties": {"text": {"type": "string"}, "binary": {"type": "string"}},
        },
    },
    "required": ["topic_sequence_number", "value"],
}
_DISCONTINUITY = {
    "type": "object",
    "properties": {
        "last_topic_sequence": {"type": "integer"},
        "new_topic_sequence": {"type": "integer"},
        "new_sequence_page": {"type": "integer"},
    },
    "required": ["last_topic_sequence", "new_topic_sequence"],
}
_POLL_ANSWER = {
    "type": "object",
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "item": _ITEM,
                    "discontinuity": _DISCONTINUITY,
                    "heartbeat": {"type": "object"},
                },
            },
        }
    },
    "required": ["items"],
}


def openapi_document(caches: list[str]) -> dict[str, Any]:
    """The OpenAPI 3.0 description of the Momento HTTP API as a local server serves it.

    Args:
        caches: The server's caches, listed so that generated requests can reach them.
    """
    cache_name = {
        "name": "cacheName",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": caches},
    }
    cache_key = [cache_name, _KEY, _KEY_BASE64]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Momento HTTP API (momento_http local server)",
            "version": "1",
            "description": "Cache get/set/delete and topic publish/subscribe.",
        },
        "components": {
            "securitySchemes": {
                "header": {"type": "apiKey", "in": "header", "name": "Authorization"},
                "query": {"type": "apiKey", "in": "query", "name": "token"},
            }
        },
        "security": _SECURITY,
        "paths": {
            "/cache/{cacheName}": {
                "get": {
                    "summary": "Get a value",
                    "parameters": cache_key,
                    "responses": {
                        "200": {"description": "The value.", "content": _BINARY},
                        **_errors(400, 401, 403, 404, 429, 500),
                    },
                },
                "put": {
                    "summary": "Set a value",
                    "parameters": [
                        *cache_key,
                        {
                            "name": "ttl_seconds",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 86_400},
                        },
                    ],
                    "requestBody": {"required": False, "content": _BINARY},
                    "responses": {
                        "204": {"description": "Stored."},
                        **_errors(400, 401, 403, 404, 408, 413, 429, 500),
                    },
                },
                "delete": {
                    "summary": "Delete a value",
                    "parameters": cache_key,
                    "responses": {
                        "204": {"description": "Deleted, or was not there."},
                        **_errors(400, 401, 403, 404, 429, 500),
                    },
                },
            },
            "/topics/{cacheName}/{topicName}": {
                "post": {
                    "summary": "Publish a message",
                    "parameters": [cache_name, _TOPIC_NAME],
                    "requestBody": {"required": False, "content": {**_TEXT, **_BINARY}},
                    "responses": {
                        "204": {"description": "Published."},
                        **_errors(400, 401, 403, 404, 408, 413, 429, 500),
                    },
                },
                "get": {
                    "summary": "Long-poll for messages",
                    "parameters": [
                        cache_name,
                        _TOPIC_NAME,
                        {"name": "sequence_number", "in": "query", "schema": _SEQUENCE},
                        {"name": "sequence_page", "in": "query", "schema": _SEQUENCE},
                    ],
                    "responses": {
                        "200": {
                            "description": "Messages, a discontinuity, or nothing yet.",
                            "content": {"application/json": {"schema": _POLL_ANSWER}},
                        },
                        **_errors(400, 401, 403, 404, 429, 500),
                    },
                },
            },
        },
    }


def openapi_json(caches: list[str]) -> bytes:
    """The document as JSON bytes."""
    return json.dumps(openapi_document(caches), separators=(",", ":")).encode()
