"""The transport's HTTP/1.1 reader and encoder, held against h11 and fed anything at all.

Pure byte-level unit tests: the reader is sans-IO. Its behaviour on real sockets is tested
in test_transport.py and test_hostile_server.py.
"""

from __future__ import annotations

import contextlib

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from momento_http._transport._http11 import (
    END,
    MAX_HEAD_BYTES,
    Head,
    ProtocolError,
    ResponseReader,
    encode_request,
)

TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
header_names = st.text(TOKEN_CHARS, min_size=1, max_size=12).filter(
    lambda name: name.lower() not in {"content-length", "transfer-encoding", "connection"}
)
header_values = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20)


class IncompleteError(Exception):
    """The bytes ran out and the reader waits for more: no answer, and no error of its own."""


def read_all(reader: ResponseReader, data: bytes, cuts: list[int]) -> tuple[Head, bytes]:
    """Feed `data` in pieces cut at `cuts`; return the head and the whole body.

    Raises:
        IncompleteError: The reader still waited for more after the end of the bytes.
    """
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    head: Head | None = None
    body = b""
    for piece in [*pieces, None]:
        if piece is None:
            reader.receive_eof()
        elif piece:
            reader.receive(piece)
        if head is None:
            head = reader.read_head()
        if head is not None:
            while (chunk := reader.read_body()) is not None and chunk is not END and chunk:
                body += chunk
            if chunk == END:
                return head, body
    raise IncompleteError("the response never completed")


@st.composite
def responses(draw: st.DrawFn) -> bytes:
    """A response as a server might write it: any framing, chunks of any size."""
    status = draw(st.sampled_from([200, 201, 204, 404, 418, 500, 503]))
    reason = draw(st.sampled_from(["OK", "", "Something Else"]))
    headers = draw(st.lists(st.tuples(header_names, header_values), max_size=6))
    body = b"" if status == 204 else draw(st.binary(max_size=300))
    framing = draw(st.sampled_from(["length", "chunked", "close"]))
    if framing == "length":
        headers.append(("Content-Length", str(len(body))))
        payload = body
    elif framing == "chunked":
        headers.append(("Transfer-Encoding", "chunked"))
        sizes = draw(st.lists(st.integers(1, 50), max_size=8))
        pieces, start = [], 0
        for size in [*sizes, len(body)]:
            if start < len(body):
                piece = body[start : start + size]
                pieces.append(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                start += size
        payload = b"".join(pieces) + b"0\r\n\r\n"
    else:
        payload = body
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return f"HTTP/1.1 {status} {reason}\r\n{head}\r\n".encode() + payload


def h11_reads(wire: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """What h11, as a client, reads from the same bytes: the oracle."""
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("host", "x")]))
    client.send(h11.EndOfMessage())
    client.receive_data(wire)
    client.receive_data(b"")
    response, body = None, b""
    while True:
        event = client.next_event()
        if isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            assert response is not None
            return response.status_code, list(response.headers), body


@settings(max_examples=300, deadline=None)
@given(wire=responses(), data=st.data())
def test_the_reader_reads_what_h11_reads_however_the_bytes_are_cut(
    wire: bytes, data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=6)))
    head, got = read_all(ResponseReader(), wire, cuts)
    assert (head.status, head.headers, got) == h11_reads(wire)


@settings(max_examples=500, deadline=None)
@given(garbage=st.binary(max_size=400), cut=st.integers(0, 400))
def test_anything_at_all_is_an_answer_or_a_protocol_error(garbage: bytes, cut: int) -> None:
    reader = ResponseReader()
    # An answer, a ProtocolError, or a reader waiting for more; anything else fails the test.
    with contextlib.suppress(ProtocolError, IncompleteError):
        read_all(reader, garbage, [min(cut, len(garbage))])


def test_informational_answers_are_skipped() -> None:
    reader = ResponseReader()
    reader.receive(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n")
    assert reader.read_head() is None
    reader.receive(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
    head = reader.read_head()
    assert head is not None
    assert head.status == 200
    assert (reader.read_body(), reader.read_body()) == (b"ok", END)
    assert reader.reusable


@pytest.mark.parametrize(
    ("wire", "reusable"),
    [
        (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", True),
        (b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok", False),
        (b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok", False),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA", False),
        (b"HTTP/1.1 204 No Content\r\n\r\n", True),
    ],
)
def test_a_connection_is_reused_only_after_a_clean_keep_alive_answer(
    wire: bytes, reusable: bool
) -> None:
    reader = ResponseReader()
    reader.receive(wire)
    assert reader.read_head() is not None
    while reader.read_body() != END:
        pass
    assert reader.reusable is reusable


def test_a_head_request_has_no_body_whatever_its_length_says() -> None:
    reader = ResponseReader()
    reader.start(expect_body=False)
    reader.receive(b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n")
    assert reader.read_head() is not None
    assert reader.read_body() == END


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        (b"HTTP/1.1 200 OK\r\n" + b"x: y\r\n" * 20_000, "head over 64 KiB"),
        (b"SSH-2.0-OpenSSH\r\n", "not valid HTTP/1.1"),
        (b"HTTP/1.1 200 OK\n\n", "not valid HTTP/1.1"),
        (b"HTTP/1.1 2000 OK\r\n\r\n", "not valid HTTP/1.1"),
        (b"HTTP/1.1 200 OK\r\nbad header\r\n\r\n", "not valid HTTP/1.1"),
        (b"HTTP/1.1 200 OK\r\n folded: value\r\n\r\n", "not valid HTTP/1.1"),
        (b"HTTP/1.1 200 OK\r\nx: a\x00b\r\n\r\n", "not valid HTTP/1.1"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n", "malformed content-length"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 1, 2\r\n\r\n", "malformed content-length"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: " + b"9" * 5000 + b"\r\n\r\n", "content-length"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n", "transfer coding"),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "switched protocols"),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\ntransfer-encoding: chunked\r\n\r\n",
            "both a content-length and a transfer-encoding",
        ),
    ],
)
def test_malformed_heads_are_refused_in_plain_words(wire: bytes, why: str) -> None:
    reader = ResponseReader()
    reader.receive(wire)
    with pytest.raises(ProtocolError, match=why):
        reader.read_head()


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"zz\r\n", "malformed chunk"),
        (b"2\r\nokX\r\n", "malformed chunk"),
        (b"f" * 2000, "malformed chunk"),
        (b"1\r\nx\r\n0\r\n" + b"t: v\r\n" * 20_000, "trailers over 64 KiB"),
        ((b"1;" + b"e" * 1000 + b"\r\nx\r\n") * 20, "more chunk framing than data"),
    ],
)
def test_malformed_chunks_are_refused(body: bytes, why: str) -> None:
    reader = ResponseReader()
    reader.receive(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + body)
    assert reader.read_head() is not None
    with pytest.raises(ProtocolError, match=why):
        drain_body(reader)


def drain_body(reader: ResponseReader) -> None:
    """Read the body as far as the bytes go."""
    while reader.read_body() not in (None, END):
        pass


def drain(reader: ResponseReader) -> None:
    """Read the head, then the body, as far as the bytes go."""
    if reader.read_head() is not None:
        drain_body(reader)


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        (b"", "closed the connection before answering"),
        (b"HTTP/1.1 200 O", "in the middle of its answer"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nshort", "before the answer was complete"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab", "was complete"),
    ],
)
def test_an_end_of_stream_too_early_is_refused(wire: bytes, why: str) -> None:
    reader = ResponseReader()
    reader.receive(wire)
    reader.receive_eof()
    with pytest.raises(ProtocolError, match=why):
        drain(reader)


def test_a_close_delimited_body_ends_with_the_stream() -> None:
    reader = ResponseReader()
    reader.receive(b"HTTP/1.1 200 OK\r\n\r\nall of")
    assert reader.read_head() is not None
    assert reader.read_body() == b"all of"
    reader.receive(b" it")
    assert reader.read_body() == b" it"
    assert reader.read_body() is None
    reader.receive_eof()
    assert reader.read_body() == END
    assert not reader.reusable


def test_the_head_limit_is_64_kib() -> None:
    reader = ResponseReader()
    reader.receive(b"HTTP/1.1 200 OK\r\nx: " + b"y" * (MAX_HEAD_BYTES - 30) + b"\r\n\r\n")
    assert reader.read_head() is not None


def test_requests_are_encoded_in_one_piece() -> None:
    wire = encode_request(
        b"PUT",
        b"/cache/c?key=k&ttl_seconds=60",
        [(b"host", b"h"), (b"transfer-encoding", b"chunked")],
        b"value",
    )
    assert wire == (
        b"PUT /cache/c?key=k&ttl_seconds=60 HTTP/1.1\r\nhost: h\r\ncontent-length: 5\r\n\r\nvalue"
    )


@pytest.mark.parametrize(
    ("method", "target", "header"),
    [
        (b"GET", b"/a b", (b"host", b"h")),
        (b"GE T", b"/", (b"host", b"h")),
        (b"GET", b"/", (b"x-injected", b"a\r\nset-cookie: b")),
        (b"GET", b"/", (b"bad name", b"v")),
        (b"GET", b"/", (b"x", b"nul\x00")),
    ],
)
def test_what_http_cannot_carry_is_refused_before_sending(
    method: bytes, target: bytes, header: tuple[bytes, bytes]
) -> None:
    with pytest.raises(ProtocolError):
        encode_request(method, target, [header], b"")


def test_one_byte_chunks_are_not_too_much_framing() -> None:
    """Go's allowance: 16 bytes of framing a chunk, plus twice its size, is no excess."""
    reader = ResponseReader()
    reader.receive(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    assert reader.read_head() is not None
    reader.receive(b"1\r\nx\r\n" * 100_000 + b"0\r\n\r\n")
    body = b""
    while (part := reader.read_body()) not in (None, END):
        assert part is not None
        body += part
    assert body == b"x" * 100_000


def test_a_burst_of_chunks_is_read_together_in_parts() -> None:
    reader = ResponseReader()
    reader.receive(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    assert reader.read_head() is not None
    reader.receive(b"1\r\nx\r\n" * 100_000)  # 600 KB of framing and data
    first = reader.read_body()
    assert first is not None
    assert 1 < len(first) < 100_000  # many chunks at once, but not all: the loop gets a turn
    assert reader.buffered > 0


def test_a_request_whose_content_length_is_not_its_bodys_is_refused() -> None:
    with pytest.raises(ProtocolError, match=r"content-length \(4\) is not its body's length \(5\)"):
        encode_request(b"PUT", b"/", [(b"content-length", b"4")], b"value")
    wire = encode_request(b"PUT", b"/", [(b"Content-Length", b"5")], b"value")
    assert wire.endswith(b"Content-Length: 5\r\n\r\nvalue")
