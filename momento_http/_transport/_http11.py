"""HTTP/1.1 on the wire, without I/O: requests encoded, responses read as bytes arrive.

What the SDK's transport speaks on asyncio and trio alike. It reads what servers send:
content-length, chunked and close-delimited bodies, `1xx` answers skipped, and it refuses
the rest in plain words, with every buffer bounded: a head over 64 KiB, a chunk-size line
over 1 KiB or trailers over 64 KiB are errors, not memory. Chunk framing counts too: as Go's
net/http does, a chunked body whose framing (size lines, extensions, trailers) outweighs
its data by more than 16 KiB is refused. An answer framed both by `content-length` and by
`transfer-encoding` is refused (RFC 9112 §6.3: a sign of response smuggling), and so is a
request whose `content-length` is not its body's length.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["END", "Head", "ProtocolError", "ResponseReader", "encode_request"]

MAX_HEAD_BYTES: Final = 64 * 1024
_MAX_HEADERS: Final = 256
_MAX_CHUNK_LINE: Final = 1024
_MAX_LENGTH_DIGITS: Final = 18  # under 10**18 bytes: a number, not a denial of service
_MAX_TRAILER_BYTES: Final = 64 * 1024
# Go's net/http rule: a chunk may carry 16 bytes plus twice its size of framing; what goes
# beyond adds up, and past 16 KiB the body is refused (one data byte per 1 KiB of chunk
# extensions would otherwise cost a reader a kilobyte of parsing per byte).
_CHUNK_ALLOWANCE: Final = 16
_MAX_EXCESS: Final = 16 * 1024
# Framing bytes parsed by one `read_body` call once it has data to return: a burst of tiny
# chunks is handed over in parts, so that the caller can let other tasks run in between.
_READ_BUDGET: Final = 64 * 1024
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
        ProtocolError: The method, target or a header cannot be sent as HTTP/1.1, or a
            `content-length` is not the body's length.
    """
    lines = [method + b" " + target + b" HTTP/1.1"]
    length = str(len(body)).encode("ascii")
    has_length = False
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            continue
        if lowered == b"content-length":
            if value.strip(b" \t") != length:
                shown = value[:20].decode("ascii", "replace")
                raise ProtocolError(
                    f"the request's content-length ({shown}) is not its body's length ({len(body)})"
                )
            has_length = True
        lines.append(name + b": " + value)
    if body and not has_length:
        lines.append(b"content-length: " + length)
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

    __slots__ = (
        "_buffer",
        "_chunk_left",
        "_eof",
        "_excess",
        "_framing",
        "_left",
        "_scanned",
        "_trailer_bytes",
        "keep_alive",
    )

    def __init__(self) -> None:
        self._buffer = b""
        self._eof = False
        self._framing = "head"  # head | length | chunked | close | done
        self._left = 0  # bytes of body still due (length framing)
        self._chunk_left = _CHUNK_SIZE_NEXT  # bytes of the current chunk still due, or a state
        self._excess = 0  # chunk framing beyond its allowance
        self._trailer_bytes = 0
        self._scanned = 0  # bytes of the buffer searched for a head's end already
        self.keep_alive = True

    @property
    def buffered(self) -> int:
        """Bytes received and not yet read."""
        return len(self._buffer)

    @property
    def eof(self) -> bool:
        """Whether the server closed its side."""
        return self._eof

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
            # Searched from where the last search stopped: a head dripping in byte by byte
            # costs its length once, not its length squared.
            end = self._buffer.find(b"\r\n\r\n", max(self._scanned - 3, 0))
            if end < 0:
                self._check_incomplete_head()
                self._scanned = len(self._buffer)
                return None
            if end > MAX_HEAD_BYTES:
                raise ProtocolError("the server's answer has a head over 64 KiB")
            head, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
            self._scanned = 0
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
        unseen = self._buffer.find(b"\n\n", max(self._scanned - 1, 0)) >= 0
        if unseen or not b"HTTP/".startswith(self._buffer[:5]):
            raise ProtocolError("the server's answer is not valid HTTP/1.1")
        if self._eof:
            raise ProtocolError(
                "the server closed the connection before answering"
                if not self._buffer
                else "the server closed the connection in the middle of its answer"
            )

    def _frame(self, head: Head, version: bytes) -> None:
        """Work out how the body is delimited, and whether the connection stays open."""
        lengths, chunked, close = _framing_headers(head.headers)
        if close or version == b"0":
            self.keep_alive = False
        if self._framing == "head-only" or head.status in _NO_BODY_STATUSES:
            self._framing = "done"
        elif chunked:
            self._framing, self._chunk_left = "chunked", _CHUNK_SIZE_NEXT
            self._excess = self._trailer_bytes = 0
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
        """The data of every chunk at hand (up to a budget of framing), END, or None."""
        buffer, pos, end = self._buffer, 0, len(self._buffer)
        pieces: list[bytes] = []
        complete = False
        framing = 0
        while pos < end and not (pieces and framing > _READ_BUDGET):
            left = self._chunk_left
            if left > 0:
                taken = min(left, end - pos)
                pieces.append(buffer[pos : pos + taken])
                pos += taken
                self._chunk_left = left - taken or _CHUNK_END
                continue
            line_end = buffer.find(b"\r\n", pos, pos + _MAX_CHUNK_LINE + 2)
            if line_end < 0:
                if end - pos > _MAX_CHUNK_LINE:
                    raise ProtocolError(_MALFORMED_CHUNK)
                break
            framing += line_end + 2 - pos
            line, pos = buffer[pos:line_end], line_end + 2
            if self._chunk_line(line):
                complete = True
                break
        self._buffer = buffer[pos:] if pos else buffer
        if pieces:
            return pieces[0] if len(pieces) == 1 else b"".join(pieces)
        if complete:
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
            self._trailer_bytes += len(line) + 2
            if self._trailer_bytes > _MAX_TRAILER_BYTES:
                raise ProtocolError("the server's answer has trailers over 64 KiB")
        else:
            size = _CHUNK_SIZE.fullmatch(line)
            if size is None:
                raise ProtocolError(_MALFORMED_CHUNK)
            data_size = int(size[1], 16)
            excess = self._excess + len(line) + 2 - _CHUNK_ALLOWANCE - 2 * data_size
            self._excess = max(excess, 0)
            if self._excess > _MAX_EXCESS:
                raise ProtocolError("the server's answer has more chunk framing than data")
            self._chunk_left = data_size or _TRAILERS
        return False


_CUT_SHORT: Final = "the server closed the connection before the answer was complete"
_MALFORMED_CHUNK: Final = "the server's answer has a malformed chunk"


def _framing_headers(headers: list[tuple[bytes, bytes]]) -> tuple[set[bytes], bool, bool]:
    """The content-lengths, whether the body is chunked, and whether the server closes."""
    lengths: set[bytes] = set()
    chunked = close = False
    for name, value in headers:
        if name == b"content-length":
            lengths.update(part.strip() for part in value.split(b","))
        elif name == b"transfer-encoding":
            if value.strip().lower() != b"chunked":
                raise ProtocolError("the server's answer uses a transfer coding not asked for")
            chunked = True
        elif name == b"connection" and b"close" in value.lower():
            close = True
    if chunked and lengths:
        raise ProtocolError("the server's answer has both a content-length and a transfer-encoding")
    return lengths, chunked, close


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
