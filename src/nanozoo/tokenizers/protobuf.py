"""Just enough of the protobuf wire format to read and write a SentencePiece `.model` file.

A protobuf message is a run of fields, each a key then a value. The key is a varint `field_number << 3 |
wire_type`; the wire types used here are 0 (varint: ints, bools, enums), 1 (8 bytes), 2 (length-delimited:
strings, bytes, nested messages) and 5 (4 bytes: floats). A varint is 7 bits a byte, least significant
group first, the high bit set on every byte but the last. A reader skips the fields it does not know, which
is what lets a file from a newer version load (https://protobuf.dev/programming-guides/encoding/).

`decode(data)` gives `{field_number: [raw values]}`; the caller knows each field's type and interprets:
`as_float` for wire type 5, `.decode()` for strings, `decode()` again for a nested message.
"""

from __future__ import annotations

import struct


class ProtobufError(ValueError):
    """Bytes that are not a well-formed protobuf message."""


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data):
            raise ProtobufError(f"truncated varint at byte {i}")
        b = data[i]
        value |= (b & 0x7F) << shift
        i += 1
        if b < 0x80:
            return value, i
        shift += 7
        if shift > 63:
            raise ProtobufError(f"varint longer than 10 bytes at byte {i}")


def decode(data: bytes) -> dict[int, list]:
    """The fields of one message: field number -> the values in file order (int, or bytes for wire types
    1, 2 and 5). Raises ProtobufError on a truncated or malformed message."""
    fields: dict[int, list] = {}
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, i = data[i : i + size], i + size
        elif wire == 2:
            size, i = _varint(data, i)
            value, i = data[i : i + size], i + size
        else:
            raise ProtobufError(f"wire type {wire} (field {number}) at byte {i} is not supported")
        if i > len(data) or number == 0:
            raise ProtobufError(f"truncated or malformed field {number} before byte {len(data)}")
        fields.setdefault(number, []).append(value)
    return fields


def as_float(raw: bytes) -> float:
    """A wire-type-5 value as the float32 it holds."""
    return struct.unpack("<f", raw)[0]


def _encode_varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64  # negative int32/int64 are ten-byte two's complement varints
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(number: int, value: int | float | str | bytes) -> bytes:
    """One encoded field: an int/bool as a varint, a float as float32, a str/bytes length-delimited
    (a nested message is passed as its encoded bytes)."""
    if isinstance(value, bool | int):
        return _encode_varint(number << 3) + _encode_varint(int(value))
    if isinstance(value, float):
        return _encode_varint(number << 3 | 5) + struct.pack("<f", value)
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return _encode_varint(number << 3 | 2) + _encode_varint(len(raw)) + raw


def encode_fields(items: list[tuple[int, int | float | str | bytes]]) -> bytes:
    """Encode `(field number, value)` pairs in order (see `field`)."""
    return b"".join(field(n, v) for n, v in items)
