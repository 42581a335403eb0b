"""The local server's command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import fields
from shlex import quote

from momento_http.local._faults import Fault
from momento_http.local._server import LocalServer
from momento_http.local._settings import DEFAULT_CACHE, Settings

__all__ = ["main"]

_MIB = 1024 * 1024
_HOST = "127.0.0.1"
_PORT = 8080
_DEFAULTS = Settings()
# One line each for --help; Settings' docstring says the rest.
_SETTING_HELP = {
    "max_item_bytes": "the largest item, key and value together",
    "max_ttl_seconds": "the longest TTL a set may ask for",
    "max_publish_bytes": "the largest message a publish may carry",
    "max_memory_bytes": "what everything stored may take; past it the server evicts",
    "topic_ring_size": "how many recent messages each topic keeps for polls",
    "topic_idle_seconds": "drop a topic with no publish and no poll for this long",
    "poll_hold_seconds": "how long a poll with nothing to return is held",
    "poll_batch_size": "the most messages one poll answer carries",
    "heartbeat_seconds": "answer a poll that waited this long with a heartbeat",
    "extra_fields": "add fields and item kinds clients do not know to poll answers",
    "header_faults": "obey fault rules in the x-momento-local-fault request header",
    "max_fault_rules": "the most fault rules armed at once",
    "max_connections": "the most connections served at once; past it, 503",
    "request_timeout_seconds": "how long a request's head, then its body, may take to come",
}
_UNSET = {  # what None means
    "heartbeat_seconds": "none",
    "max_connections": "as many as the open-file limit allows",
}
_EXPORTS = """\
# in another shell, for momento-http and MomentoClient.from_env():
export MOMENTO_API_KEY={key}
export MOMENTO_BASE_URL={url}"""


def _fault_rule(text: str) -> Fault:
    try:
        return Fault.from_json(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _shown(name: str, default: float | None) -> str:
    """A numeric setting's default, as --help shows it."""
    if default is None:
        return _UNSET[name]
    if isinstance(default, float):
        return f"{default:g}"
    if name.endswith("_bytes") and default % _MIB == 0:
        return f"{default}, {default // _MIB} MiB"
    return str(default)


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve the Momento HTTP API (cache and topics) from memory.",
    )
    parser.add_argument(
        "--host", default=_HOST, help=f"the address to listen on (default: {_HOST})"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=_PORT,
        help=f"the port to listen on; 0 picks a free one (default: {_PORT})",
    )
    parser.add_argument(
        "--cache",
        action="append",
        dest="caches",
        metavar="NAME",
        help=f"a cache to create; repeat for more (default: {DEFAULT_CACHE})",
    )
    parser.add_argument(
        "--token", help="a fixed token with every permission (default: mint one and print it)"
    )
    parser.add_argument(
        "--fault",
        action="append",
        dest="faults",
        type=_fault_rule,
        default=[],
        metavar="JSON",
        help='a fault rule, e.g. \'{"status": 503, "method": "GET", "count": 2}\'; repeatable',
    )
    settings = parser.add_argument_group("settings (see momento_http.local.Settings)")
    for field in fields(Settings):
        default = getattr(_DEFAULTS, field.name)
        flag = "--" + field.name.replace("_", "-")
        about = _SETTING_HELP[field.name]
        if field.type == "bool":  # --extra-fields / --no-extra-fields
            shown = "on" if default else "off"
            settings.add_argument(
                flag, action=argparse.BooleanOptionalAction, help=f"{about} (default: {shown})"
            )
            # Set once the action is made: Python 3.10 adds a "(default: False)" of its own
            # to the help of one made with a default.
            parser.set_defaults(**{field.name: default})
        else:
            kind = int if field.type.startswith("int") else float
            shown = _shown(field.name, default)
            unit = field.name.rsplit("_", 1)[1]
            settings.add_argument(
                flag,
                type=kind,
                default=default,
                metavar=unit.upper() if unit in {"bytes", "seconds"} else "N",
                help=f"{about} (default: {shown})",
            )
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m momento_http.local") -> int:
    """Run the local server until interrupted.

    Args:
        argv: The arguments, without the program name; None reads `sys.argv`.
        prog: The program name its messages give.

    Returns:
        The exit status.
    """
    parser = _parser(prog)
    args = parser.parse_args(argv)
    try:
        settings = Settings(**{field.name: getattr(args, field.name) for field in fields(Settings)})
        server = LocalServer(
            args.caches or [DEFAULT_CACHE],
            host=args.host,
            port=args.port,
            token=args.token,
            settings=settings,
            faults=args.faults,
        )

        def announce() -> None:
            print(f"Momento local server at {server.base_url}", flush=True)
            print(f"caches: {', '.join(server.caches)}", flush=True)
            print(f"MOMENTO_API_KEY={server.api_key}", flush=True)
            print(
                _EXPORTS.format(key=quote(server.api_key), url=quote(server.base_url)), flush=True
            )

        server.serve_forever(announce)
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C once it has shut down cleanly
        return 0
    except (ValueError, TypeError, OSError) as error:
        parser.exit(2, f"{prog}: {error}\n")
    return 0
