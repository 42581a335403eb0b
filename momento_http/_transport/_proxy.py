"""Proxies: which one an origin goes through, and what it is sent.

As httpx's `trust_env` does, the proxy variables are read from the environment, upper or
lower case: `HTTP_PROXY` for http origins, `HTTPS_PROXY` for https ones, `ALL_PROXY` for
both, and `NO_PROXY` for the hosts that go direct (`bypassed` says how it is read). An
explicit proxy serves every origin. Proxies are `http://` URLs, with credentials in them if
the proxy wants some.
"""

from __future__ import annotations

import base64
import ipaddress
import urllib.request
from typing import TYPE_CHECKING, TypeAlias

import httpx

if TYPE_CHECKING:
    import httpx2

__all__ = ["Origin", "Proxy", "ProxyChoice", "bypassed"]

Origin: TypeAlias = tuple[bytes, bytes, int]
"""Where a connection goes: the scheme, the host (as on the wire: IDNA, no brackets), the port."""


class Proxy:
    """A forward proxy: where it is, and the credentials it is sent.

    Args:
        url: Its URL, `http://` (`host:port` alone is taken as one).

    Attributes:
        origin: Where the proxy is: scheme, host and port.
        authorization: The `Proxy-Authorization` header's value, from the URL's credentials.

    Raises:
        httpx.UnsupportedProtocol: The URL is not `http://`.
    """

    __slots__ = ("authorization", "origin")

    def __init__(self, url: str | httpx.URL | httpx2.URL) -> None:
        text = str(url)
        parsed = httpx.URL(text if "://" in text else f"http://{text}")
        if parsed.scheme != "http":
            raise httpx.UnsupportedProtocol(
                f"a proxy must be an http:// URL, not {parsed.scheme}://"
            )
        self.origin: Origin = (b"http", parsed.raw_host, parsed.port or 80)
        self.authorization: bytes | None = None
        if parsed.username or parsed.password:
            pair = f"{parsed.username}:{parsed.password}".encode()
            self.authorization = b"Basic " + base64.b64encode(pair)

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        """The headers every request to the proxy carries."""
        if self.authorization is None:
            return []
        return [(b"proxy-authorization", self.authorization)]

    def __repr__(self) -> str:
        host = self.origin[1].decode("ascii")
        return f"Proxy(http://{host}:{self.origin[2]})"  # never the credentials


class ProxyChoice:
    """Which proxy, if any, each origin goes through.

    Args:
        proxy: One proxy for every origin; None to choose by the environment, or go direct.
        trust_env: Read the proxy variables (when `proxy` is None).
    """

    __slots__ = ("_chosen", "_environment", "_proxy")

    def __init__(self, proxy: str | httpx.URL | httpx2.URL | None, *, trust_env: bool) -> None:
        self._proxy = Proxy(proxy) if proxy is not None else None
        self._environment = urllib.request.getproxies_environment() if trust_env else {}
        self._chosen: dict[Origin, Proxy | None] = {}

    def for_origin(self, origin: Origin) -> Proxy | None:
        """The proxy for an origin; None to connect directly.

        Raises:
            httpx.UnsupportedProtocol: The environment names a proxy that is not `http://`.
        """
        if self._proxy is not None or not self._environment:
            return self._proxy
        if origin in self._chosen:
            return self._chosen[origin]
        scheme, raw_host, port = origin
        url = self._environment.get(scheme.decode()) or self._environment.get("all")
        chosen = None
        if url and not bypassed(raw_host.decode("ascii"), port, self._environment.get("no", "")):
            chosen = Proxy(url)
        self._chosen[origin] = chosen
        return chosen


def bypassed(host: str, port: int, no_proxy: str) -> bool:
    """Whether `NO_PROXY` sends a host straight to it, as curl and httpx read it.

    Entries are separated by commas: `*` for every host; a name, which covers its
    subdomains too (`example.com`, `.example.com` and `*.example.com` alike); an IP
    address or network (`10.0.0.0/8`, `::1`); any of them with `:port` to match one port.

    Args:
        host: The origin's host, as on the wire (IPv6 without brackets).
        port: The origin's port.
        no_proxy: The variable's value.

    Returns:
        True when the host is to be reached directly.
    """
    host = host.lower().rstrip(".")
    for raw_entry in no_proxy.lower().split(","):
        entry = raw_entry.strip().split("://")[-1]
        if entry == "*":
            return True
        name, entry_port = entry, None
        if entry.startswith("["):  # [::1]:8080
            name, _, rest = entry[1:].partition("]")
            entry_port = rest[1:] or None
        elif entry.count(":") == 1:
            name, entry_port = entry.split(":")
        if not name or (entry_port is not None and entry_port != str(port)):
            continue
        if _matches(host, name.lstrip("*").lstrip(".").rstrip(".")):
            return True
    return False


def _matches(host: str, name: str) -> bool:
    if "/" in name or _is_address(name):
        try:
            return ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False)
        except ValueError:
            return False
    return host == name or host.endswith("." + name)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
