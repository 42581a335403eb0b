"""`momento-http`'s entry point: parse, run, and turn the outcome into an exit status."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import anyio

from momento_http import MomentoError
from momento_http._cli._commands import run_command
from momento_http._cli._exit import ExitCode, exit_code_for
from momento_http._cli._messages import describe
from momento_http._cli._parser import PROG, build_parser

__all__ = ["main"]


def _run_local_server(argv: list[str]) -> int:
    try:
        from momento_http.local._cli import main as local_main  # noqa: PLC0415 - needs uvicorn
    except ModuleNotFoundError as missing:
        print(
            f"{PROG} local: needs the local extra ({missing.name} is missing): from a clone, "
            "pip install './momento-http[local]'; or from git, "
            "pip install 'momento-http[local] @ git+<the repository URL>'",
            file=sys.stderr,
        )
        return ExitCode.BAD_INPUT
    return local_main(argv, prog=f"{PROG} local")


def main(argv: Sequence[str] | None = None) -> int:
    """Run `momento-http`.

    Args:
        argv: The arguments, without the program name; None reads `sys.argv`.

    Returns:
        The exit status (see `ExitCode`).
    """
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments[:1] == ["local"]:
        return _run_local_server(arguments[1:])
    parser = build_parser()
    args = parser.parse_args(arguments)
    if args.command == "local":  # not first: connection options came before it
        parser.error(
            "the connection options are not the local server's: give its own after 'local' "
            f"(see: {PROG} local --help)"
        )
    try:
        return anyio.run(run_command, args)
    except MomentoError as error:
        print(f"{PROG}: {describe(error, args)}", file=sys.stderr)
        return exit_code_for(error)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python's own flush at exit
        # from failing again on the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK
