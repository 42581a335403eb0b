"""The two families of httpx's API: httpx, and httpx2, its maintained continuation.

httpx2 (Pydantic's fork, on httpcore2) has httpx's API under another module name, with
classes of its own: an `httpx2.AsyncClient` sends `httpx2.Request`s, wants
`httpx2.AsyncByteStream` bodies and answers, and its callers catch `httpx2`'s exceptions.
Both may be installed, and used, in one process. httpx is always here; httpx2 is imported
when it is installed, so that the SDK's streams and transport can be of both families.
Under `httpx2.alias_httpx()`, `httpx` is httpx2 and there is one family.

The SDK's code is written, and type-checked, against httpx's classes: a `Family` holds one
family's classes under httpx's types, which httpx2's share member for member.

Who may import it: anything in the SDK, the transport included; it imports nothing of the
SDK.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Final

import httpx

__all__ = [
    "ASYNC_BYTE_STREAMS",
    "FAILURES",
    "HTTPX",
    "HTTPX2",
    "TIMEOUTS",
    "AsyncBaseTransport2",
    "AsyncByteStream2",
    "Family",
    "client_family",
    "httpx_kind",
    "request_family",
]


def _is_exception(kind: object) -> bool:
    return isinstance(kind, type) and issubclass(kind, Exception)


_EXCEPTION_NAMES: Final = tuple(
    name for name in httpx.__all__ if _is_exception(getattr(httpx, name))
)


def _exceptions(module: ModuleType) -> dict[str, type[Exception]]:
    """The module's public exception classes, by their httpx names."""
    return {name: getattr(module, name) for name in _EXCEPTION_NAMES}


@dataclass(frozen=True, eq=False)
class Family:
    """One family of httpx's API: the classes the SDK makes, recognises or raises.

    Attributes:
        name: The module's name, `httpx` or `httpx2`.
        AsyncClient: The family's client class.
        Request: Its request class.
        Response: Its response class.
        URL: Its URL class.
        Headers: Its headers class.
    """

    name: str
    AsyncClient: type[httpx.AsyncClient]
    Request: type[httpx.Request]
    Response: type[httpx.Response]
    URL: type[httpx.URL]
    Headers: type[httpx.Headers]
    _from_httpx: Mapping[type[Exception], type[Exception]] = field(repr=False)

    @classmethod
    def of(cls, module: ModuleType) -> Family:
        """The family whose classes are the module's.

        Args:
            module: `httpx`, or `httpx2`.

        Returns:
            The family.
        """
        theirs = _exceptions(module)
        return cls(
            name=module.__name__,
            AsyncClient=module.AsyncClient,
            Request=module.Request,
            Response=module.Response,
            URL=module.URL,
            Headers=module.Headers,
            _from_httpx={kind: theirs[name] for name, kind in _exceptions(httpx).items()},
        )

    def failure(self, failure: httpx.HTTPError) -> Exception:
        """The same failure as this family's exception, with the same message.

        Args:
            failure: An httpx exception.

        Returns:
            The exception of this family's class of the same name (the failure itself in
            httpx's family); raise it from `failure`, which keeps the chain of causes.
        """
        kind = self._from_httpx.get(type(failure))
        if kind is None or kind is type(failure):
            return failure
        return kind(str(failure))


def _load_httpx2() -> ModuleType | None:
    try:
        module = importlib.import_module("httpx2")
    except ImportError:
        return None
    return None if module is httpx else module  # under alias_httpx(), httpx is httpx2


_HTTPX2_MODULE: Final = _load_httpx2()
_MODULES: Final = (httpx,) if _HTTPX2_MODULE is None else (httpx, _HTTPX2_MODULE)

HTTPX: Final = Family.of(httpx)
"""httpx's family: the SDK's own client is of it."""
HTTPX2: Final = None if _HTTPX2_MODULE is None else Family.of(_HTTPX2_MODULE)
"""httpx2's family, when httpx2 is installed (and not aliased as httpx)."""

_FAMILIES: Final = (HTTPX,) if HTTPX2 is None else (HTTPX, HTTPX2)
_TO_HTTPX: Final[dict[type[BaseException], type[BaseException]]] = (
    {}
    if _HTTPX2_MODULE is None
    else {_exceptions(_HTTPX2_MODULE)[name]: kind for name, kind in _exceptions(httpx).items()}
)

FAILURES: Final[tuple[type[Exception], ...]] = tuple(
    kind
    for module in _MODULES
    for kind in (module.HTTPError, module.StreamError, module.InvalidURL)
)
"""What either family's clients and transports raise: its HTTP, stream and URL errors."""

ASYNC_BYTE_STREAMS: Final[tuple[type[httpx.AsyncByteStream], ...]] = tuple(
    module.AsyncByteStream for module in _MODULES
)
"""Either family's async body stream class."""

TIMEOUTS: Final[tuple[type[httpx.Timeout], ...]] = tuple(module.Timeout for module in _MODULES)
"""Either family's `Timeout` class."""


if TYPE_CHECKING:
    from httpx2 import AsyncBaseTransport as AsyncBaseTransport2
    from httpx2 import AsyncByteStream as AsyncByteStream2
else:  # a second base where httpx2 is installed, else a base that adds nothing
    AsyncBaseTransport2 = object if _HTTPX2_MODULE is None else _HTTPX2_MODULE.AsyncBaseTransport
    AsyncByteStream2 = object if _HTTPX2_MODULE is None else _HTTPX2_MODULE.AsyncByteStream


def client_family(client: object) -> Family | None:
    """The family of an `AsyncClient`, or None when it is neither family's.

    Args:
        client: What a caller passed as `http_client`.

    Returns:
        Its family.
    """
    for family in _FAMILIES:
        if isinstance(client, family.AsyncClient):
            return family
    return None


def request_family(request: httpx.Request) -> Family:
    """The family of a request a transport was given.

    Args:
        request: Either family's request.

    Returns:
        Its family (httpx's for a request of neither).
    """
    if HTTPX2 is not None and isinstance(request, HTTPX2.Request):
        return HTTPX2
    return HTTPX


def httpx_kind(failure: BaseException) -> type[BaseException]:
    """The httpx class of a failure of either family, to judge it by one set of classes.

    Args:
        failure: Any exception.

    Returns:
        httpx's class of the same name for an httpx2 exception (its nearest public one for a
        subclass of its own); the failure's own class otherwise.
    """
    for kind in type(failure).__mro__:
        ours = _TO_HTTPX.get(kind)
        if ours is not None:
            return ours
    return type(failure)
