"""Credentials: what a key says, which base URL it leads to, and where tokens come from.

It owns reading API keys and tokens of every format, regions and endpoints, and choosing
the base URL (`_keys`), and the client's tokens, fixed or from a provider asked again as
they expire (`_tokens`). Hiding tokens in text is `_redaction`'s, below it.

Who may import it: the package root and the client's settings (`_client`, `_config`),
through the names below only.
"""

from momento_http._credentials._keys import REGION_ENDPOINTS, parse_api_key, resolve_base_url
from momento_http._credentials._tokens import TokenProvider, Tokens

__all__ = ["REGION_ENDPOINTS", "TokenProvider", "Tokens", "parse_api_key", "resolve_base_url"]
