"""The one send path, for every call and every topic poll.

build → `AsyncClient.send` (streamed) → read the body under a cap, within the try's
deadline → map the status to an exception (`error_for_status`, the one mapping) → the one
retry decision (`RetryPolicy.retry_delay`). Only `MomentoError`s leave it: every failure of
httpx, a transport or a socket is translated at the edge, with nothing chained to it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

import httpx

from momento_http._answers import Answer, error_for_status, says_key_not_found
from momento_http._body import read_answer
from momento_http._config import ClientConfig, TryTimeout
from momento_http._deadline import ScopeDeadline, TicketDeadline
from momento_http._edge import FOREIGN_FAILURES, Phase, deadline_passed, translate
from momento_http._errors import ClientClosedError, MalformedResponseError, MomentoError
from momento_http._http_client import own_http_client
from momento_http._logs import LOGGER, hide_tokens_from_httpx_logs
from momento_http._redaction import Redactor, redact_url
from momento_http._requests import RequestFactory
from momento_http._retry import RetryPolicy
from momento_http._ticket import Lane, Ticket, current_time

__all__ = ["Call", "Sender"]

T = TypeVar("T")


class Call(Generic[T]):
    """One logical request: what to send, how long each try may take, how to judge it.

    Args:
        method: The HTTP method.
        path: The path under the base URL, percent-encoded.
        query: The query parameters, before encoding.
        decode: Turns an accepted answer into the call's result; given None when a long
            poll's time passed with no answer. A `ValueError` from it means the answer is
            malformed (a transient failure).
        timeout: How long each try may take (for a long poll: the body, once it begins).
        retry: The retry policy, or None for one try.
        limit: The most tries in a row.
        accept: The statuses that are the call's success.
        body: The request body.
        content_type: The body's media type.
        idempotent: Whether repeating the request is harmless.
        miss_ok: Whether a 404 saying "key not found" is an answer (a miss), not an error.
        max_bytes: The largest accepted answer read.
        lane: A connection of its own to travel on (a subscription's), if any.
        wait: For a long poll: seconds its answer may take to begin.
        describe: What the call is, for the log line of a retry.
        on_failure: Told of each failed try: its error, and the delay before the next
            try (None: no next try, the error is raised).
    """

    __slots__ = (
        "accept",
        "body",
        "content_type",
        "decode",
        "describe",
        "idempotent",
        "lane",
        "limit",
        "max_bytes",
        "method",
        "miss_ok",
        "on_failure",
        "path",
        "query",
        "retry",
        "timeout",
        "wait",
    )

    def __init__(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        *,
        decode: Callable[[Answer | None], T],
        timeout: TryTimeout,
        retry: RetryPolicy | None,
        limit: int,
        accept: frozenset[int],
        body: bytes = b"",
        content_type: str | None = None,
        idempotent: bool = True,
        miss_ok: bool = False,
        max_bytes: int,
        lane: Lane | None = None,
        wait: float | None = None,
        describe: Callable[[], str] | None = None,
        on_failure: Callable[[MomentoError, float | None], None] | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.decode = decode
        self.timeout = timeout
        self.retry = retry
        self.limit = limit
        self.accept = accept
        self.body = body
        self.content_type = content_type
        self.idempotent = idempotent
        self.miss_ok = miss_ok
        self.max_bytes = max_bytes
        self.lane = lane
        self.wait = wait
        self.describe = describe
        self.on_failure = on_failure


class Sender:
    """Sends calls through an `httpx.AsyncClient`, retrying as their policy says.

    Args:
        config: The client's settings; without an `http_client` in them, the sender makes
            its own `httpx.AsyncClient` on a `MomentoTransport` (reading no proxy settings
            from the environment), and closes it with itself.
    """

    def __init__(self, config: ClientConfig) -> None:
        self._owns_http = config.http_client is None
        self._http = config.http_client or own_http_client()
        # The own client's transport keeps deadlines itself; a caller's client, anything.
        self._deadline = TicketDeadline if self._owns_http else ScopeDeadline
        self._requests = RequestFactory(config.base_url, token_in_query=config.token_in_query)
        self._token = config.token
        self._redactor = Redactor()
        self._redactor.remember(config.token)
        if config.token_in_query:
            hide_tokens_from_httpx_logs()

    async def aclose(self) -> None:
        """Close the `httpx.AsyncClient` if it is the sender's own."""
        if self._owns_http:
            await self._http.aclose()

    async def send(self, call: Call[T]) -> T:
        """Send a call, retrying transient failures as its policy allows.

        Args:
            call: What to send.

        Returns:
            What the call's `decode` made of the answer.

        Raises:
            MomentoError: The last try failed, or the answer is an error.
        """
        attempt = 1
        while True:
            try:
                return await self._try(call, attempt)
            except MomentoError as error:
                policy = call.retry
                delay = None
                if policy is not None:
                    delay = policy.retry_delay(
                        error, attempt, limit=call.limit, idempotent=call.idempotent
                    )
                if call.on_failure is not None:
                    call.on_failure(error, delay)
                if policy is None or delay is None:
                    raise
                self._log_retry(call, error, attempt, delay)
            await policy.sleep(delay)
            attempt += 1

    async def _try(self, call: Call[T], attempt: int) -> T:
        ticket = Ticket(call.lane)
        request = self._requests.build(
            call.method,
            call.path,
            call.query,
            token=self._token,
            body=call.body,
            content_type=call.content_type,
            timeouts=call.timeout.phases,
            ticket=ticket,
        )
        started = current_time()
        first = call.timeout.seconds if call.wait is None else call.wait
        phase = Phase.SENDING
        failure: BaseException | None = None
        answer: Answer | None = None
        with self._deadline(ticket, first) as deadline:
            try:
                response = await self._http.send(request, stream=True)
                phase = Phase.READING
                if call.wait is not None:  # a long poll's answer began: read it in time
                    deadline.extend(call.timeout.seconds)
                answer = await read_answer(response, call.accept, call.max_bytes, request)
            except FOREIGN_FAILURES as caught:
                failure = caught
        if LOGGER.isEnabledFor(logging.DEBUG):
            if deadline.expired:
                outcome = "deadline"
            elif failure is not None:
                outcome = type(failure).__name__
            else:
                outcome = str(answer.status) if answer is not None else "?"
            _log_try(request, outcome, started, attempt)
        # Raised here, outside any `except`: the foreign exception must not become the
        # context of ours, for it carries the request, token and all.
        if deadline.expired:
            if call.wait is not None and phase is Phase.SENDING and not ticket.heard:
                return call.decode(None)  # the poll's time passed quietly: no news
            raise deadline_passed(
                deadline.seconds, phase=phase, ticket=ticket, method=call.method, url=request.url
            )
        if failure is not None:
            if isinstance(failure, RuntimeError) and self._http.is_closed:
                raise ClientClosedError("the http_client given to this MomentoClient is closed")
            scrub = self._redactor.scrub
            raise translate(
                failure,
                phase=phase,
                ticket=ticket,
                method=call.method,
                url=request.url,
                scrub=scrub,
            )
        assert answer is not None
        return self._judge(call, answer, request)

    def _judge(self, call: Call[T], answer: Answer, request: httpx.Request) -> T:
        """The call's result from an answer, or the exception it means."""
        malformed: str | None = None
        if answer.status in call.accept:
            try:
                return call.decode(answer)
            except ValueError as bad:
                malformed = str(bad)
        elif answer.status == httpx.codes.NOT_FOUND and call.miss_ok and says_key_not_found(answer):
            return call.decode(answer)
        if malformed is not None:
            raise MalformedResponseError(
                f"malformed answer: {self._redactor.scrub(malformed)}",
                status_code=answer.status,
                method=call.method,
                url=request.url,
            )
        raise error_for_status(
            answer, method=call.method, url=request.url, scrub=self._redactor.scrub
        )

    def _log_retry(self, call: Call[T], error: MomentoError, attempt: int, delay: float) -> None:
        if LOGGER.isEnabledFor(logging.INFO):
            what = call.describe() if call.describe is not None else f"{call.method} {error.url}"
            LOGGER.info(
                "%s: try %d failed (%s: %s); trying again in %.2f s",
                what,
                attempt,
                type(error).__name__,
                error.message,
                delay,
            )


def _log_try(request: httpx.Request, outcome: str, started: float, attempt: int) -> None:
    LOGGER.debug(
        "%s %s -> %s in %.1f ms (try %d)",
        request.method,
        redact_url(request.url),
        outcome,
        (current_time() - started) * 1000,
        attempt,
    )
