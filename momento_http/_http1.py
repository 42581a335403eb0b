"""HTTP/1.1 on the wire, without I/O: requests encoded, responses read as bytes arrive.

What the SDK's transport speaks on asyncio and trio alike. It reads what servers send:
content-length, chunked and close-delimited bodies, `1xx` answers skipped, and it refuses
the rest in plain words, with every buffer bounded: a head over 64 KiB, a chunk-size line
over 1 KiB or trailers over 64 KiB are errors, not memory.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["END", "Head", "ProtocolError", "ResponseReader", "encode_request"]

MAX_HEAD_BYTES: Final = 64 * 1024
_MAX_HEADERS: Final = 256
_MAX_CHUNK_LINE: Final = 1024
_MAX_LENGTH_DIGITS: Final = 18  # under 10**18 bytes: a number, not a denial of service
# One regular expression checks a whole head: cheaper than one per header. A token is a
# method or header name; a field value holds no control character but tab (nor CR or LF).
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_VALUE = rb"[^\x00-\x08\x0a-\x1f\x7f]*"
_REQUEST_HEAD = re.compile(
    _TOKEN + rb" [!-~]+ HTTP/1\.1(?:\r\n" + _TOKEN + rb": " + _VALUE + rb")*\r\n\r\n"
)
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([1-9][0-9][0-9])(?: (" + _VALUE + rb"))?")
_HEADER_LINES = re.compile(rb"(?:\r\n" + _TOKEN + rb":" + _VALUE + rb")*")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,15})[ \t]*(?:;[^\r\n]*)?")
_NO_BODY_STATUSES: Final = frozenset({204, 304})
_SWITCHING_PROTOCOLS: Final = 101
# Where chunked framing stands when no chunk's data is due:
_CHUNK_SIZE_NEXT: Final = -1  # a chunk-size line
_CHUNK_END: Final = -2  # the CRLF that ends a chunk's data
_TRAILERS: Final = -3  # trailer lines, until an empty one

END: Final = b""
"""What `ResponseReader.read_body` returns once the body is complete."""


class ProtocolError(Exception):
    """What came is not HTTP/1.1 a client can read; the message says why, in plain words."""


class Head:
    """A final response's status line and headers.

    Attributes:
        status: The status code.
        reason: The reason phrase, as sent.
        headers: The headers as (lower-case name, value) pairs, in order.
    """

    __slots__ = ("headers", "reason", "status")

    def __init__(self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers


def encode_request(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
) -> bytes:
    """The request's bytes, head and body together, for one write.

    A `content-length` is added when the request has a body and says none; any
    `transfer-encoding` is dropped, since the body goes whole.

    Raises:
        ProtocolError: The method, target or a header cannot be sent as HTTP/1.1.
    """
    lines = [method + b" " + target + b" HTTP/1.1"]
    has_length = False
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            continue
        has_length = has_length or lowered == b"content-length"
        lines.append(name + b": " + value)
    if body and not has_length:
        lines.append(b"content-length: " + str(len(body)).encode("ascii"))
    head = b"\r\n".join(lines) + b"\r\n\r\n"
    # A CR or LF inside a name or value would add a line: count them, then check the shape.
    if head.count(b"\r\n") != len(lines) + 1 or not _REQUEST_HEAD.fullmatch(head):
        raise ProtocolError("the request has a method, target or header HTTP/1.1 cannot carry")
    return head + body


class ResponseReader:
    """Reads one connection's responses, one after the other, from the bytes received.

    Feed it with `receive` and `receive_eof`; take the head with `read_head` and the body
    with `read_body`, each returning None while more bytes are needed.
    """

    __slots__ = ("_buffer", "_chunk_left", "_closed", "_eof", "_framing", "_left", "keep_alive")

    def __init__(self) -> None:
        self._buffer = b""
        self._eof = False
        self._framing = "head"  # head | length | chunked | close | done
        self._left = 0  # bytes of body still due (length framing)
        self._chunk_left = _CHUNK_SIZE_NEXT  # bytes of the current chunk still due, or a state
        self._closed = False
        self.keep_alive = True

    @property
    def buffered(self) -> int:
        """Bytes received and not yet read."""
        return len(self._buffer)

    @property
    def body_at_hand(self) -> bool:
        """Whether the whole body is received already (and not chunked): one read takes it."""
        framing = self._framing
        return framing == "done" or (framing == "length" and len(self._buffer) >= self._left)

    @property
    def reusable(self) -> bool:
        """Whether the connection can carry another request: the answer ended cleanly."""
        return self._framing == "done" and self.keep_alive and not self._buffer and not self._eof

    def receive(self, data: bytes) -> None:
        """Take bytes from the socket."""
        self._buffer = self._buffer + data if self._buffer else data

    def receive_eof(self) -> None:
        """Note that the server closed its side."""
        self._eof = True

    def start(self, *, expect_body: bool = True) -> None:
        """Get ready for the next response (`expect_body` False after a HEAD request)."""
        self._framing = "head" if expect_body else "head-only"

    def read_head(self) -> Head | None:
        """The final response's head, past any `1xx`; None while it is incomplete.

        Raises:
            ProtocolError: The head is not HTTP/1.1, or too long.
        """
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                self._check_incomplete_head()
                return None
            if end > MAX_HEAD_BYTES:
                raise ProtocolError("the server's answer has a head over 64 KiB")
            head, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
            parsed, version = _parse_head(head)
            if parsed.status < 200:  # noqa: PLR2004 - 1xx: informational, skipped
                if parsed.status == _SWITCHING_PROTOCOLS:
                    raise ProtocolError("the server switched protocols unasked")
                continue
            self._frame(parsed, version)
            return parsed

    def _check_incomplete_head(self) -> None:
        if len(self._buffer) > MAX_HEAD_BYTES:
            raise ProtocolError("the server's answer has a head over 64 KiB")
        if b"\n\n" in self._buffer or not b"HTTP/".startswith(self._buffer[:5]):
            raise ProtocolError("the server's answer is not valid HTTP/1.1")
        if self._eof:
            raise ProtocolError(
                "the server closed the connection before answering"
                if not self._buffer
                else "the server closed the connection in the middle of its answer"
            )

    def _frame(self, head: Head, version: bytes) -> None:
        """Work out how the body is delimited, and whether the connection stays open."""
        lengths: set[bytes] = set()
        chunked = False
        for name, value in head.headers:
            if name == b"content-length":
                lengths.update(part.strip() for part in value.split(b","))
            elif name == b"transfer-encoding":
                if value.strip().lower() != b"chunked":
                    raise ProtocolError("the server's answer uses a transfer coding not asked for")
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                self.keep_alive = False
        if version == b"0":
            self.keep_alive = False
        if self._framing == "head-only" or head.status in _NO_BODY_STATUSES:
            self._framing = "done"
        elif chunked:
            self._framing, self._chunk_left = "chunked", _CHUNK_SIZE_NEXT
        elif lengths:
            (length,) = lengths if len(lengths) == 1 else (b"",)
            if not length.isdigit() or len(length) > _MAX_LENGTH_DIGITS:
                raise ProtocolError("the server's answer has a malformed content-length")
            self._framing, self._left = "length", int(length)
            if self._left == 0:
                self._framing = "done"
        else:
            self._framing, self.keep_alive = "close", False

    def read_body(self) -> bytes | None:
        """Body bytes received so far, `END` once the body is complete, or None for more.

        Raises:
            ProtocolError: The body is malformed, or the server closed the connection
                before it was complete.
        """
        framing = self._framing
        if framing == "done":
            return END
        if framing == "length":
            return self._read_length()
        if framing == "chunked":
            return self._read_chunked()
        if self._buffer:  # close-delimited: everything until the end of the stream
            data, self._buffer = self._buffer, b""
            return data
        if self._eof:
            self._framing = "done"
            return END
        return None

    def _read_length(self) -> bytes | None:
        if not self._buffer:
            if self._eof:
                raise ProtocolError(_CUT_SHORT)
            return None
        data = self._buffer[: self._left]
        self._buffer = self._buffer[len(data) :]
        self._left -= len(data)
        if self._left == 0:
            self._framing = "done"
        return data

    def _read_chunked(self) -> bytes | None:
        while True:
            if self._chunk_left > 0:
                if not self._buffer:
                    break
                data = self._buffer[: self._chunk_left]
                self._buffer = self._buffer[len(data) :]
                self._chunk_left -= len(data)
                if self._chunk_left == 0:
                    self._chunk_left = _CHUNK_END
                return data
            line_end = self._buffer.find(b"\r\n")
            if line_end < 0:
                if len(self._buffer) > _MAX_CHUNK_LINE:
                    raise ProtocolError(_MALFORMED_CHUNK)
                break
            line, self._buffer = self._buffer[:line_end], self._buffer[line_end + 2 :]
            if self._chunk_line(line):
                return END
        if self._eof:
            raise ProtocolError(_CUT_SHORT)
        return None

    def _chunk_line(self, line: bytes) -> bool:
        """Take one line of chunk framing; True once the body is complete."""
        if self._chunk_left == _CHUNK_END:  # the CRLF after a chunk's data
            if line:
                raise ProtocolError(_MALFORMED_CHUNK)
            self._chunk_left = _CHUNK_SIZE_NEXT
        elif self._chunk_left == _TRAILERS:  # trailers, until an empty line
            if not line:
                self._framing = "done"
                return True
        else:
            size = _CHUNK_SIZE.fullmatch(line)
            if size is None:
                raise ProtocolError(_MALFORMED_CHUNK)
            self._chunk_left = int(size[1], 16) or _TRAILERS
        return False


_CUT_SHORT: Final = "the server closed the connection before the answer was complete"
_MALFORMED_CHUNK: Final = "the server's answer has a malformed chunk"


def _parse_head(head: bytes) -> tuple[Head, bytes]:
    """The status line and headers of one head (without its final blank line)."""
    line_end = head.find(b"\r\n")
    if line_end < 0:
        line_end = len(head)
    status = _STATUS_LINE.fullmatch(head, 0, line_end)
    if status is None or not _HEADER_LINES.fullmatch(head, line_end):
        raise ProtocolError("the server's answer is not valid HTTP/1.1")
    lines = head[line_end + 2 :].split(b"\r\n") if line_end < len(head) else []
    if len(lines) > _MAX_HEADERS:
        raise ProtocolError("the server's answer has too many headers")
    headers = []
    for line in lines:
        name, _, value = line.partition(b":")
        headers.append((name.lower(), value.strip(b" \t")))
    return Head(int(status[2]), status[3] or b"", headers), status[1]
