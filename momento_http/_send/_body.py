"""Reading an answer's body under a cap, as sent: never inflated, never past its limit."""

from __future__ import annotations

import anyio
import httpx

from momento_http._errors import MalformedResponseError
from momento_http._families import ASYNC_BYTE_STREAMS
from momento_http._send._answers import ERROR_BODY_BYTES, Answer
from momento_http._transport import BODY, OneChunk

__all__ = ["read_answer"]

_READ = OneChunk(b"")  # an answer's stream once it is read: of either httpx family
_DIGITS = 18  # a declared length longer than this is over any cap (and no number to parse)
# The IANA registry's content codings: a server's header is quoted only when it names these,
# for anything else it says may be the token it was sent.
_CODINGS = frozenset(
    b"aes128gcm br compress dcb dcz deflate exi gzip identity pack200-gzip x-compress x-gzip "
    b"zstd".split()
)


def _refuse(
    response: httpx.Response, request: httpx.Request, why: str, *, too_large: bool = False
) -> MalformedResponseError:
    return MalformedResponseError(
        why,
        too_large=too_large,
        status_code=response.status_code,
        method=request.method,
        url=request.url,
    )


def _unasked_coding(encoding: bytes) -> str:
    codings = [coding.strip() for coding in encoding.split(b",")]
    if all(coding in _CODINGS for coding in codings):
        return f"the answer is compressed ({b', '.join(codings).decode()}) although none was asked"
    return "the answer has a Content-Encoding of no registered coding, although none was asked"


async def read_answer(
    response: httpx.Response, accept: frozenset[int], max_bytes: int, request: httpx.Request
) -> Answer:
    """Read a streamed response to its end, or as far as it may be read, and close it.

    An accepted answer is read whole up to `max_bytes`: a longer one, or one compressed
    although the request asked for none, is malformed. Of any other answer (an error)
    the first `ERROR_BODY_BYTES` are kept for its message, and the rest is left unread.

    Args:
        response: The response from `AsyncClient.send(..., stream=True)`.
        accept: The statuses that are the call's success.
        max_bytes: The largest accepted body.
        request: The request, for the error.

    Returns:
        The answer.

    Raises:
        MalformedResponseError: An accepted answer is too long (`too_large`) or compressed.
    """
    accepted = response.status_code in accept
    cap = max_bytes if accepted else ERROR_BODY_BYTES
    declared, encoding = b"", b"identity"
    for name, value in response.headers.raw:  # one pass, not a lookup per header
        lowered = name.lower()
        if lowered == b"content-length":
            declared = value
        elif lowered == b"content-encoding":
            encoding = value.strip().lower()
    refusal: MalformedResponseError | None = None
    too_long = declared.isdigit() and (len(declared) > _DIGITS or int(declared) > cap)
    if accepted and too_long:
        why = f"the answer is over {cap} bytes ({declared[:20].decode()})"
        refusal = _refuse(response, request, why, too_large=True)
    elif encoding != b"identity" and accepted:
        refusal = _refuse(response, request, _unasked_coding(encoding))
    if refusal is not None:
        await _close(response)
        raise refusal
    body = response.extensions.get(BODY)
    if isinstance(body, bytes):  # MomentoTransport read it with the head
        await response.aclose()
        if len(body) > cap:
            body = None if accepted else body[:cap]
    else:
        body = await _read_capped(response, cap, truncate=not accepted)
    if body is None:
        raise _refuse(response, request, f"the answer is over {cap} bytes", too_large=True)
    if encoding != b"identity":
        body = b""  # an error page compressed unasked: its words are lost, not inflated
    # httpx's stream wrapper and the response hold each other: a cycle that only the
    # garbage collector would free, with the request and headers in it. Read and closed,
    # the response needs its stream no more.
    response.stream = _READ
    return Answer(response.status_code, response.reason_phrase, response.headers, body)


async def _read_capped(response: httpx.Response, cap: int, *, truncate: bool) -> bytes | None:
    """The body; when it is over `cap` bytes, its first `cap` (`truncate`) or None."""
    stream = response.stream
    assert isinstance(stream, ASYNC_BYTE_STREAMS)
    chunks: list[bytes] = []
    size = 0
    iterator = aiter(stream)
    finished = False
    try:
        async for chunk in iterator:
            size += len(chunk)
            if size > cap:
                chunks.append(chunk[: len(chunk) - (size - cap)])
                break
            chunks.append(chunk)
        else:
            finished = True
    except BaseException:
        await _close(response, iterator)
        raise
    if finished:
        await response.aclose()  # read to its end: nothing left to wait on
    else:
        await _close(response, iterator)
    if size > cap and not truncate:
        return None
    return b"".join(chunks)


async def _close(response: httpx.Response, iterator: object = None) -> None:
    """Close a response left unfinished, even in a cancelled scope."""
    with anyio.CancelScope(shield=True):
        close_iterator = getattr(iterator, "aclose", None)
        if close_iterator is not None:  # httpx's stream wrapper is an async generator
            await close_iterator()
        await response.aclose()
