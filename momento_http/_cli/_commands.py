"""What each `momento-http` command does, given its parsed arguments."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import BinaryIO, TextIO

import anyio

from momento_http import (
    DEFAULT_TIMEOUT,
    InvalidArgumentError,
    MomentoClient,
    Subscription,
    TopicItem,
)
from momento_http._cli._events import json_line
from momento_http._cli._exit import ExitCode

__all__ = ["run_command"]

_DEFAULT_TTL = 60


def _client(args: argparse.Namespace) -> MomentoClient:
    return MomentoClient(
        args.api_key,
        endpoint=args.endpoint,
        region=args.region,
        base_url=args.base_url,
        timeout=args.timeout or DEFAULT_TIMEOUT,
    )


def _read_value(args: argparse.Namespace, stdin: BinaryIO | None, what: str) -> bytes | str:
    """The value from the argument, the file, or standard input: exactly one of them.

    Standard input is read unasked only when it is neither a terminal nor empty: an empty
    one (cron, CI, `</dev/null`) is a mistake far more often than an empty value, which
    `--file -` (or an empty argument) still stores.
    """
    if args.value is not None and args.file is not None:
        raise InvalidArgumentError(f"give the {what} or --file, not both")
    if args.value is not None:
        return str(args.value)
    if args.file is not None and args.file != "-":
        try:
            return Path(args.file).read_bytes()
        except OSError as error:
            raise InvalidArgumentError(f"cannot read {args.file}: {error.strerror}") from None
    if stdin is None:
        raise InvalidArgumentError(f"no {what}: standard input is closed")
    if args.file == "-":
        return stdin.read()
    if stdin.isatty():
        why = "standard input is a terminal"
    else:
        piped = stdin.read()
        if piped:
            return piped
        why = "standard input is empty; --file - reads it even so"
    raise InvalidArgumentError(
        f"no {what}: give it as an argument, with --file, or on stdin ({why})"
    )


def _message(value: bytes | str, *, binary: bool) -> bytes | str:
    """What to publish: bytes with --binary, else the value as UTF-8 text."""
    if binary:
        return value.encode() if isinstance(value, str) else value
    if isinstance(value, str):
        return value
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise InvalidArgumentError("the message is not UTF-8 text; add --binary") from None


async def _print_events(subscription: Subscription, args: argparse.Namespace, out: TextIO) -> None:
    received = 0
    async for event in subscription:
        print(json_line(event), file=out, flush=True)
        received += isinstance(event, TopicItem)
        if args.count is not None and received >= args.count:
            return


def _resume_hint(subscription: Subscription) -> str:
    """The flags that resume after the last event, or, with no position yet, what to do."""
    if subscription.next_sequence_number == 0:  # 0 is no position: it means "next published"
        return (
            "no position yet (nothing was received); subscribe without --sequence-number "
            "to start from the next message published"
        )
    resume = f"--sequence-number {subscription.next_sequence_number}"
    if subscription.sequence_page is not None:
        resume += f" --sequence-page {subscription.sequence_page}"
    return resume


async def _subscribe(client: MomentoClient, args: argparse.Namespace, out: TextIO) -> None:
    """Print events until --count messages, Ctrl-C or SIGTERM; then say how to resume."""
    subscription = client.subscribe(
        args.cache,
        args.topic,
        sequence_number=args.sequence_number,
        sequence_page=args.sequence_page,
        heartbeats=args.heartbeats,
    )
    failure: Exception | None = None
    # The receiver is open before the first poll is sent, so a signal that comes as soon
    # as the poll is held (a test or a script watching the server) stops cleanly too.
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with anyio.create_task_group() as group:

            async def stop_on_signal() -> None:
                async for _ in signals:
                    group.cancel_scope.cancel()

            group.start_soon(stop_on_signal)
            try:
                async with subscription:
                    await _print_events(subscription, args, out)
            except Exception as error:  # re-raised below, outside the task group: not grouped
                failure = error
            group.cancel_scope.cancel()
    print(f"momento-http: to resume: {_resume_hint(subscription)}", file=sys.stderr, flush=True)
    if failure is not None:
        raise failure


async def run_command(args: argparse.Namespace) -> ExitCode:
    """Run the command the arguments name.

    Args:
        args: What `build_parser()` parsed.

    Returns:
        The exit status for a command that ran to its end.

    Raises:
        MomentoError: The request failed, or an input was refused.
    """
    stdin = None if sys.stdin is None else sys.stdin.buffer  # None: started with it closed
    stdout = sys.stdout
    async with _client(args) as client:
        match args.command:
            case "get":
                found = await client.get(args.cache, args.key)
                if found is None:
                    miss = f"momento-http: miss: {args.key!r} is not in {args.cache!r}"
                    print(miss, file=sys.stderr)
                    return ExitCode.MISS
                stdout.buffer.write(found)
                stdout.flush()
            case "set":
                ttl = _DEFAULT_TTL if args.ttl is None else args.ttl
                await client.set(args.cache, args.key, _read_value(args, stdin, "value"), ttl=ttl)
            case "delete":
                await client.delete(args.cache, args.key)
            case "publish":
                message = _message(_read_value(args, stdin, "message"), binary=args.binary)
                await client.publish(args.cache, args.topic, message)
            case "subscribe":
                await _subscribe(client, args, stdout)
    return ExitCode.OK
