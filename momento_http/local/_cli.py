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

_DEFAULTS = Settings()
_UNSET = {"max_connections": "as many as the open-file limit allows"}  # what None means
_EXPORTS = """\
# in another shell, for momento-http and MomentoClient.from_env():
export MOMENTO_API_KEY={key}
export MOMENTO_BASE_URL={url}"""


def _fault_rule(text: str) -> Fault:
    try:
        return Fault.from_json(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve the Momento HTTP API (cache and topics) from memory.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (0: any)")
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
        if field.type == "bool":  # --extra-fields / --no-extra-fields
            settings.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            kind = int if field.type.startswith("int") else float
            shown = _UNSET.get(field.name, "unset") if default is None else default
            settings.add_argument(flag, type=kind, default=default, help=f"(default {shown})")
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
