"""Reading request bodies within limits: wire size, then decompressed size while decompressing.

A compression bomb never expands in memory: every decoder is driven in bounded steps and reading
stops as soon as the output passes ``max_output`` bytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import brotli
import zstandard
from flask import Request

from crashsvc.errors import ApiError, PayloadTooLarge, UnsupportedMediaType

READ_CHUNK = 64 * 1024
STEP = 256 * 1024


class InvalidEncoding(ApiError):
    status, code, message = 400, "invalid_encoding", "The body could not be decompressed."


class RequestTimeout(ApiError):
    status, code, message = 408, "request_timeout", "The body did not arrive in time."


def read_wire_body(request: Request, max_bytes: int) -> bytes:
    """Read the raw body (also chunked), refusing more than ``max_bytes`` on the wire."""
    length = request.content_length
    if length is not None and length > max_bytes:
        raise PayloadTooLarge(f"The body is larger than {max_bytes} bytes.")
    stream = request.stream
    chunks: list[bytes] = []
    total = 0
    while True:
        try:
            chunk = stream.read(READ_CHUNK)
        except OSError:  # the server's receive timeout (crashsvc/slowclients.py) or a dropped client
            raise RequestTimeout() from None
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            raise PayloadTooLarge(f"The body is larger than {max_bytes} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_output: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The decompressed body is larger than {max_output} bytes.")


def _inflate(data: bytes, max_output: int, wbits: int) -> bytes:
    """zlib/gzip/raw deflate, following concatenated gzip members, in bounded steps."""
    out: list[bytes] = []
    total = 0
    remaining = data
    while True:
        decoder = zlib.decompressobj(wbits)
        pending = remaining
        while True:
            piece = decoder.decompress(pending, STEP)
            total += len(piece)
            if total > max_output:
                raise _too_large(max_output)
            out.append(piece)
            if decoder.eof:
                # At a member's end CPython leaves the rest in unconsumed_tail *and* unused_data;
                # feeding the tail again decodes nothing and loops for ever.
                break
            pending = decoder.unconsumed_tail
            if not pending:
                # Drain what the decoder holds without feeding more input.
                while not decoder.eof:
                    piece = decoder.decompress(b"", STEP)
                    if not piece:
                        break
                    total += len(piece)
                    if total > max_output:
                        raise _too_large(max_output)
                    out.append(piece)
                break
        if not decoder.eof:
            raise InvalidEncoding("The compressed body is truncated.")
        remaining = decoder.unused_data
        if not remaining or wbits != 31:
            if remaining.strip(b"\x00"):
                raise InvalidEncoding("Trailing data after the compressed body.")
            return b"".join(out)


def _gunzip(data: bytes, max_output: int) -> bytes:
    return _inflate(data, max_output, 31)


def _deflate(data: bytes, max_output: int) -> bytes:
    # HTTP "deflate" is zlib-wrapped, but many clients send raw deflate: accept both.
    if len(data) >= 2 and (data[0] & 0x0F) == 8 and ((data[0] << 8) | data[1]) % 31 == 0:
        return _inflate(data, max_output, 15)
    return _inflate(data, max_output, -15)


def _unbrotli(data: bytes, max_output: int) -> bytes:
    decoder = brotli.Decompressor()
    out: list[bytes] = []
    total = 0
    piece = decoder.process(data, output_buffer_limit=STEP)
    while True:
        total += len(piece)
        if total > max_output:
            raise _too_large(max_output)
        out.append(piece)
        if decoder.is_finished() or decoder.can_accept_more_data():
            break
        piece = decoder.process(b"", output_buffer_limit=STEP)
    if not decoder.is_finished():
        raise InvalidEncoding("The compressed body is truncated.")
    return b"".join(out)


def _unzstd(data: bytes, max_output: int) -> bytes:
    reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True)
    out: list[bytes] = []
    total = 0
    while True:
        piece = reader.read(STEP)
        if not piece:
            break
        total += len(piece)
        if total > max_output:
            raise _too_large(max_output)
        out.append(piece)
    return b"".join(out)


DECODERS: dict[str, Callable[[bytes, int], bytes]] = {
    "gzip": _gunzip,
    "x-gzip": _gunzip,
    "deflate": _deflate,
    "br": _unbrotli,
    "zstd": _unzstd,
}


def decode_body(data: bytes, content_encoding: str | None, max_output: int) -> bytes:
    """Undo ``Content-Encoding`` (possibly a list, applied in order) within ``max_output`` bytes."""
    encodings = [part.strip().lower() for part in (content_encoding or "").split(",") if part.strip()]
    for encoding in reversed(encodings):
        if encoding == "identity":
            continue
        decoder = DECODERS.get(encoding)
        if decoder is None:
            raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not supported.")
        try:
            data = decoder(data, max_output)
        except (zlib.error, brotli.error, zstandard.ZstdError) as exc:
            raise InvalidEncoding(f"The body is not valid {encoding}.") from exc
    if len(data) > max_output:
        raise _too_large(max_output)
    return data


def read_body(request: Request, max_wire_bytes: int, max_output: int) -> bytes:
    """The decoded request body, within both limits."""
    raw = read_wire_body(request, max_wire_bytes)
    return decode_body(raw, request.headers.get("Content-Encoding"), max_output)
