"""The one send path, for every call and every topic poll.

build → `AsyncClient.send` (streamed) → read the body under a cap, within the try's
deadline → map the status to an exception (`error_for_status`, the one mapping) → the one
retry decision (`RetryPolicy.retry_delay`). Only `MomentoError`s leave it: every failure of
httpx, a transport or a socket is translated once (`_exception_mapping`), with nothing
chained to it.
"""

from __future__ import annotations

import logging
import math
from typing import TypeVar

import httpx

from momento_http._config import ClientConfig
from momento_http._errors import (
    AuthenticationError,
    ClientClosedError,
    MalformedResponseError,
    MomentoError,
    MomentoTimeoutError,
)
from momento_http._families import HTTPX, client_family
from momento_http._logs import LOGGER
from momento_http._redaction import redact_url
from momento_http._send._answers import Answer, error_for_status, says_key_not_found
from momento_http._send._body import read_answer
from momento_http._send._call import Call
from momento_http._send._deadline import TryDeadline
from momento_http._send._exception_mapping import (
    FOREIGN_FAILURES,
    Phase,
    deadline_passed,
    translate,
)
from momento_http._send._http_client import own_http_client
from momento_http._send._requests import RequestFactory
from momento_http._transport import RequestState, current_time

__all__ = ["Sender"]

T = TypeVar("T")


class Sender:
    """Sends calls through an `httpx.AsyncClient`, retrying as their policy says.

    Args:
        config: The client's settings; without an `http_client` in them, the sender makes
            its own `httpx.AsyncClient` on a `MomentoTransport` (which reads the proxy
            variables itself), and closes it with itself.
    """

    def __init__(self, config: ClientConfig) -> None:
        self._config = config
        self._family = client_family(config.http_client) or HTTPX
        self._tokens = config.tokens
        first = config.tokens.first
        # A fixed token is read once; only a provider's is asked for on every try.
        self._fixed_token = None if config.tokens.renewable or first is None else first.token
        self._requests: RequestFactory | None = None
        if first is not None or config.choice.explicit:  # else the first token may name it
            self._first_requests()
        self._owns_http = config.http_client is None
        self._http = config.http_client or own_http_client()
        # The own client's transport keeps deadlines itself; a caller's may run anything.
        self._deadline_scope = not self._owns_http
        self._redactor = config.redactor
        self.closed = False
        """Set when the client closes: calls then raise `ClientClosedError`."""

    @property
    def base_url(self) -> httpx.URL | None:
        """Where requests go; None until a token provider's first token has named it."""
        return self._requests.base_url if self._requests is not None else None

    async def ready(self) -> None:
        """Read a token provider's first token now, and the base URL if it waits for it."""
        if self._tokens.renewable:
            await self._tokens.current()
        if self._requests is None:
            self._first_requests()

    def _first_requests(self) -> RequestFactory:
        first = self._tokens.first
        base_url = self._config.choice.resolve(first.endpoint if first is not None else None)
        self._requests = self._request_factory(base_url)
        return self._requests

    def _request_factory(self, base_url: httpx.URL) -> RequestFactory:
        return RequestFactory(
            base_url, token_in_query=self._config.token_in_query, family=self._family
        )

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
            ClientClosedError: The client is closed.
            MomentoError: The last try failed, or the answer is an error.
        """
        if self.closed:
            raise ClientClosedError("this MomentoClient is closed")
        attempt, renewed = 1, False
        # What the call's tries may take together; the waits between them count against it.
        time_left = math.inf
        if call.limit is not None:
            time_left = call.limit * (call.timeout.seconds + (call.wait or 0.0))
        while True:
            began = current_time()
            token = self._fixed_token or await self._tokens.current()
            requests = self._requests or self._first_requests()
            try:
                return await self._try(call, attempt, token, requests)
            except MomentoError as error:
                time_left -= current_time() - began
                refused = isinstance(error, AuthenticationError)
                if refused and self._tokens.renewable and not renewed:
                    renewed = True  # once per call: the provider may have a newer token
                    LOGGER.info("%s: refused with 401; asking for a new token", call.method)
                    await self._tokens.renew(token)
                    continue
                policy = call.retry
                delay = None
                if policy is not None:
                    delay = policy.retry_delay(
                        error,
                        attempt,
                        limit=call.limit,
                        idempotent=call.idempotent,
                        time_left=time_left,
                    )
                if call.on_failure is not None:
                    call.on_failure(error, delay)
                if policy is None or delay is None:
                    raise
                self._log_retry(call, error, attempt, delay)
            await policy.sleep(delay)
            time_left -= delay  # the wait counts as asked, however long the sleep took
            attempt += 1

    async def _try(self, call: Call[T], attempt: int, token: str, requests: RequestFactory) -> T:
        state = RequestState(call.dedicated)
        request = requests.build(
            call.method,
            call.path,
            call.query,
            token=token,
            body=call.body,
            content_type=call.content_type,
            timeouts=call.timeout.phases,
            state=state,
        )
        first = call.timeout.seconds if call.wait is None else call.wait
        phase = Phase.SENDING
        failure: BaseException | None = None
        answer: Answer | None = None
        with TryDeadline(state, first, scope=self._deadline_scope) as deadline:
            try:
                response = await self._http.send(request, stream=True)
                phase = Phase.READING
                if call.wait is not None:  # a long poll's answer began: read it in time
                    deadline.extend(call.timeout.seconds)
                answer = await read_answer(response, call.accept, call.max_bytes, request)
            except FOREIGN_FAILURES as caught:
                failure = caught
        # Raised below, outside any `except`: the foreign exception must not become the
        # context of ours, for it carries the request, token and all.
        error: MomentoError | None = None
        if deadline.expired:
            if call.wait is not None and phase is Phase.SENDING and not state.response_started:
                if LOGGER.isEnabledFor(logging.DEBUG):
                    quiet = f"-> nothing within {deadline.seconds:g} s, as a long poll may"
                    _log_try(request, quiet, attempt, call.limit)
                return call.decode(None)  # the poll's time passed quietly: no news
            error = deadline_passed(
                deadline.seconds, phase=phase, state=state, method=call.method, url=request.url
            )
        elif failure is not None:
            if isinstance(failure, RuntimeError) and self._http.is_closed:
                error = ClientClosedError("the http_client given to this MomentoClient is closed")
            else:
                error = translate(
                    failure,
                    phase=phase,
                    state=state,
                    method=call.method,
                    url=request.url,
                    scrub=self._redactor.scrub,
                )
        if LOGGER.isEnabledFor(logging.DEBUG):
            _log_try(request, _outcome(call, answer, error, deadline.started), attempt, call.limit)
        if error is not None:
            raise error
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
        elif _is_miss(call, answer):
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
                "%s: %s failed (%s: %s); trying again in %.2f s",
                what,
                _try_number(attempt, call.limit),
                type(error).__name__,
                error.message,
                delay,
            )


def _is_miss(call: Call[T], answer: Answer) -> bool:
    """Whether the answer is the call's miss: a 404 saying the key is not there."""
    return answer.status == httpx.codes.NOT_FOUND and call.miss_ok and says_key_not_found(answer)


def _try_number(attempt: int, limit: int | None) -> str:
    return f"try {attempt}" if limit is None else f"try {attempt} of {limit}"


def _outcome(
    call: Call[T], answer: Answer | None, error: MomentoError | None, started: float
) -> str:
    """How a try ended, for its DEBUG line: the status, or what failed."""
    if isinstance(error, MomentoTimeoutError):
        return f"timed out: {error.message}"
    took = f"{(current_time() - started) * 1000:.1f} ms"
    if error is not None:
        return f"failed after {took}: {type(error).__name__}: {error.message}"
    assert answer is not None
    if _is_miss(call, answer):
        return f"-> {answer.status} (a miss) in {took}"
    # The standard phrase, not the server's: a server's may echo the token.
    phrase = httpx.codes.get_reason_phrase(answer.status)
    return f"-> {answer.status} {phrase} in {took}" if phrase else f"-> {answer.status} in {took}"


def _log_try(request: httpx.Request, outcome: str, attempt: int, limit: int | None) -> None:
    LOGGER.debug(
        "%s %s %s (%s)",
        request.method,
        redact_url(request.url),
        outcome,
        _try_number(attempt, limit),
    )
