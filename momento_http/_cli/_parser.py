"""The `momento-http` argument parser."""

from __future__ import annotations

import argparse

from momento_http import __version__

__all__ = ["PROG", "build_parser"]

PROG = "momento-http"

_EPILOG = """\
The API key comes from --api-key, else MOMENTO_API_KEY; the base URL from the first of
--base-url, --endpoint, --region, the key itself, MOMENTO_BASE_URL and MOMENTO_ENDPOINT.
`momento-http local` prints two `export` lines that point later commands at it.

exit statuses: 0 done, 1 miss (get), 2 bad input, 3 key refused (401/403),
4 no such cache, 5 server error or limit (5xx/429), 6 unreachable or timed out,
130 interrupted.
"""


def _non_negative(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return number


def _positive(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        number = 0.0
    if not number > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return number


def _add_connection_options(parser: argparse.ArgumentParser, default: object) -> None:
    """The options every command that talks to Momento takes, before or after the command.

    The top-level parser gives them a default of None; each command's parser suppresses
    its defaults, so one given before the command is not overwritten by the command's.
    """
    group = parser.add_argument_group("connection (before or after the command)")
    group.add_argument(
        "--api-key",
        metavar="KEY",
        default=default,
        help="the API key (default: $MOMENTO_API_KEY; prefer it, arguments show in process lists)",
    )
    group.add_argument(
        "--endpoint",
        default=default,
        help="a cell endpoint (default: the key's, $MOMENTO_ENDPOINT)",
    )
    group.add_argument("--region", default=default, help="an AWS region name, e.g. us-west-2")
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=default,
        help="a full base URL, e.g. a local server's (default: $MOMENTO_BASE_URL)",
    )
    group.add_argument(
        "--timeout",
        type=_positive,
        metavar="SECONDS",
        default=default,
        help="per request (default: 5)",
    )


def _connection_options() -> argparse.ArgumentParser:
    """The connection options as a parent parser for each command."""
    options = argparse.ArgumentParser(add_help=False)
    _add_connection_options(options, argparse.SUPPRESS)
    return options


def _value_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("value", nargs="?", help=f"the {what} (or use --file, or pipe it in)")
    parser.add_argument(
        "--file", metavar="PATH", help=f"read the {what} from a file ('-': standard input)"
    )


def build_parser() -> argparse.ArgumentParser:
    """Build the parser for every command but `local` (which has its own).

    Returns:
        The parser; the chosen command is in `command`.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Use Momento Cache and Topics over the Momento HTTP API.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_connection_options(parser, None)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    connection = [_connection_options()]

    get = commands.add_parser("get", parents=connection, help="print a value (exit 1 on a miss)")
    get.add_argument("cache")
    get.add_argument("key")

    set_ = commands.add_parser("set", parents=connection, help="store a value")
    set_.add_argument("cache")
    set_.add_argument("key")
    _value_options(set_, "value")
    set_.add_argument(
        "--ttl", type=_non_negative, metavar="SECONDS", help="time to live (default: 60)"
    )

    delete = commands.add_parser("delete", parents=connection, help="delete a key")
    delete.add_argument("cache")
    delete.add_argument("key")

    publish = commands.add_parser("publish", parents=connection, help="publish to a topic")
    publish.add_argument("cache")
    publish.add_argument("topic")
    _value_options(publish, "message")
    publish.add_argument(
        "--binary", action="store_true", help="publish bytes (default: UTF-8 text)"
    )

    subscribe = commands.add_parser(
        "subscribe",
        parents=connection,
        help="print a topic's messages as JSON lines until Ctrl-C",
        description="Print one JSON object per event. On exit, standard error says how to "
        "resume: --sequence-number N --sequence-page P, or, if nothing was received, that "
        "there is no position yet.",
    )
    subscribe.add_argument("cache")
    subscribe.add_argument("topic")
    subscribe.add_argument(
        "--sequence-number", type=_non_negative, metavar="N", help="resume from this message"
    )
    subscribe.add_argument(
        "--sequence-page", type=_non_negative, metavar="P", help="the page to resume in"
    )
    subscribe.add_argument("--count", type=_non_negative, metavar="N", help="stop after N messages")
    subscribe.add_argument("--heartbeats", action="store_true", help="print heartbeats too")

    # `main` runs `local ...` itself; it reaches this parser only after connection options,
    # which the local server does not take. Whatever follows it is kept, to say so.
    local = commands.add_parser(
        "local",
        help="run the local Momento HTTP server (see: momento-http local --help)",
        prefix_chars="\0",
        add_help=False,
    )
    local.add_argument("options", nargs=argparse.REMAINDER)
    return parser
