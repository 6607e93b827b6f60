"""Messages between the trusted judge and the untrusted grading worker, over pipes.

The worker runs learner code, so everything it writes is hostile input for the judge. Decoding
therefore never pickles, checks every length before allocating, bounds depth, value count, string
and integer sizes, and turns every malformed or oversized frame into a ProtocolError.

A frame is a 16-byte header, a UTF-8 JSON document and a blob section:

    magic b"AQP1" | JSON length (uint32, little-endian) | blob length (uint64, little-endian)

In the JSON, null, booleans, finite numbers, strings and lists stand for themselves; every other
value is an object whose "$" names its kind, so a plain JSON object never occurs:

    {"$": "tuple", "v": [...]}                  {"$": "dict", "v": [[key, value], ...]}
    {"$": "float", "v": "nan" | "inf" | "-inf"} {"$": "dtype", "v": "bfloat16"}
    {"$": "ref", "id": 3, "type": "torch.nn.Linear"}
    {"$": "tensor", "dtype": "float32", "shape": [2, 3], "offset": 0, "nbytes": 24}
    {"$": "generator", "offset": 24, "nbytes": 5056}

Tensor and generator bytes lie in the blob section back to back, in document order, in the
machine's native byte order (both ends share one host). torch is imported only when a frame holds
a torch value, so importing this module and passing plain values stays cheap.
"""

from __future__ import annotations

import json
import math
import os
import re
import select
import struct
import sys
import time
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import torch

MAGIC = b"AQP1"
_HEADER = struct.Struct("<4sIQ")
HEADER_SIZE = _HEADER.size
MAX_JSON_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 32
MAX_VALUES = 100_000
MAX_STR_BYTES = 1024 * 1024
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
MAX_NDIM = 64
_MAX_ELEMENTS = 2**62
_MAX_INT_DIGITS = 20
_MAX_FLOAT_CHARS = 64
# A legal document has at most one JSON object and one array per value plus one array per dict
# entry, so more brackets than this outside strings can only be an attempt to exhaust memory.
_MAX_CONTAINERS = 3 * MAX_VALUES
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)

ALLOWED_DTYPES = (
    "float16", "bfloat16", "float32", "float64",
    "int8", "int16", "int32", "int64", "uint8", "bool",
)
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_FIELDS = {
    "tuple": frozenset({"v"}),
    "dict": frozenset({"v"}),
    "float": frozenset({"v"}),
    "dtype": frozenset({"v"}),
    "ref": frozenset({"id", "type"}),
    "tensor": frozenset({"dtype", "shape", "offset", "nbytes"}),
    "generator": frozenset({"offset", "nbytes"}),
}
# The CPU generator state starts with the mt19937 bookkeeping; torch checks `left` and `next`
# one by one but not together, and an inconsistent pair makes later draws read past the state.
_MT_HEAD = struct.Struct("=QiiQ")
_MT_N = 624
_CLOSED = "the other side closed the channel"


class ProtocolError(Exception):
    """The other side sent (or we were asked to send) something the protocol does not allow."""


class ProtocolTimeout(ProtocolError):
    """No complete message arrived before the deadline; the channel is out of step afterwards."""


@dataclass(frozen=True)
class Ref:
    """Names an object that lives on the other side, which only that side can dereference."""

    id: int
    type: str


def dumps(value: Any, *, default: Callable[[Any], Any] | None = None) -> bytes:
    """Encode VALUE as one whole frame; DEFAULT replaces objects the protocol cannot carry."""
    return bytes(_build_frame(value, default))


def loads(
    frame: bytes | bytearray | memoryview,
    *,
    on_ref: Callable[[Ref], Any] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Any:
    """Decode exactly one frame; ON_REF maps each Ref to a local object (its errors propagate)."""
    view = memoryview(frame).cast("B")
    json_len, blob_len = _parse_header(view[:HEADER_SIZE], max_bytes)
    size = HEADER_SIZE + json_len + blob_len
    if len(view) < size:
        raise ProtocolError("truncated frame")
    if len(view) > size:
        raise ProtocolError(f"{len(view) - size} trailing bytes after the frame")
    return _decode_body(view[HEADER_SIZE:], json_len, on_ref)


def write_message(
    fd: int, value: Any, *, default: Callable[[Any], Any] | None = None, deadline: float | None = None
) -> None:
    """Encode VALUE and write the whole frame to FD, so a reader never sees half a message.

    On a non-blocking FD, DEADLINE bounds the wait for a reader that stopped reading.
    """
    frame = memoryview(_build_frame(value, default))
    sent = 0
    while sent < len(frame):
        try:
            sent += os.write(fd, frame[sent:])
        except (BlockingIOError, InterruptedError):
            _wait(fd, select.POLLOUT, deadline)
        except OSError as exc:
            raise ProtocolError(_CLOSED) from exc


def read_message(
    fd: int,
    *,
    on_ref: Callable[[Ref], Any] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    deadline: float | None = None,
) -> Any:
    """Read one frame from FD; DEADLINE (a time.monotonic() value) bounds the whole wait.

    The header's lengths are checked before the body is allocated, so a hostile header costs
    nothing; without a deadline a silent writer blocks the reader forever.
    """
    header = bytearray(HEADER_SIZE)
    _read_exact(fd, memoryview(header), deadline)
    json_len, blob_len = _parse_header(memoryview(header), max_bytes)
    body = bytearray(json_len + blob_len)
    _read_exact(fd, memoryview(body), deadline)
    return _decode_body(memoryview(body), json_len, on_ref)


# --- channel -------------------------------------------------------------------------------------


def _wait(fd: int, event: int, deadline: float | None) -> None:
    """Block until FD is ready for EVENT (or hung up), raising ProtocolTimeout at DEADLINE."""
    poller = select.poll()
    poller.register(fd, event)
    while True:
        if deadline is None:
            timeout_ms = None
        else:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProtocolTimeout("no message from the other side before the deadline")
            timeout_ms = max(1, math.ceil(remaining * 1000))
        if poller.poll(timeout_ms):
            return


def _read_exact(fd: int, buf: memoryview, deadline: float | None) -> None:
    """Fill BUF from FD; EOF at any point means the peer is gone."""
    got = 0
    while got < len(buf):
        if deadline is not None:
            _wait(fd, select.POLLIN, deadline)
        try:
            n = os.readv(fd, [buf[got:]])
        except (BlockingIOError, InterruptedError):
            _wait(fd, select.POLLIN, deadline)
            continue
        except OSError as exc:
            raise ProtocolError(f"cannot read the channel: {exc.strerror or exc}") from exc
        if n == 0:
            raise ProtocolError(_CLOSED)
        got += n


# --- torch helpers -------------------------------------------------------------------------------


@cache
def _dtypes() -> dict[str, torch.dtype]:
    """The allow-listed dtypes by wire name; cached because torch is imported lazily."""
    import torch

    return {name: getattr(torch, name) for name in ALLOWED_DTYPES}


@cache
def _dtype_names() -> dict[torch.dtype, str]:
    return {dtype: name for name, dtype in _dtypes().items()}


@cache
def _generator_state_size() -> int:
    import torch

    return torch.Generator().get_state().numel()


def _dtype_name(dtype: torch.dtype) -> str:
    name = _dtype_names().get(dtype)
    if name is None:
        raise ProtocolError(f"dtype {dtype} cannot cross; use one of {', '.join(ALLOWED_DTYPES)}")
    return name


# --- encoding ------------------------------------------------------------------------------------


class _Encoder:
    """Turns a value into a JSON-ready tree plus the list of uint8 tensors for the blob section."""

    def __init__(self, default: Callable[[Any], Any] | None) -> None:
        self.default = default
        self.blobs: list[Any] = []
        self.offset = 0
        self.count = 0

    def encode(self, value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError(f"value nested deeper than {MAX_DEPTH} levels")
        node = self._known(value, depth)
        if node is _UNKNOWN and self.default is not None:
            value = self.default(value)
            node = self._known(value, depth)
        if node is _UNKNOWN:
            raise ProtocolError(f"cannot send a {type(value).__qualname__}")
        return node

    def _count(self) -> None:
        self.count += 1
        if self.count > MAX_VALUES:
            raise ProtocolError(f"more than {MAX_VALUES} values in one message")

    def _known(self, value: Any, depth: int) -> Any:
        if value is None or isinstance(value, bool):
            self._count()
            return value
        if isinstance(value, int):
            self._count()
            return _check_int(value)
        if isinstance(value, float):
            self._count()
            if math.isfinite(value):
                return value
            kind = "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"
            return {"$": "float", "v": kind}
        if isinstance(value, str):
            self._count()
            return _check_str(value)
        if isinstance(value, list):
            self._count()
            return [self.encode(item, depth + 1) for item in value]
        if isinstance(value, tuple):
            self._count()
            return {"$": "tuple", "v": [self.encode(item, depth + 1) for item in value]}
        if isinstance(value, dict):
            self._count()
            return {"$": "dict", "v": [self._entry(k, v, depth + 1) for k, v in value.items()]}
        if isinstance(value, Ref):
            self._count()
            if type(value.id) is not int or type(value.type) is not str:
                raise ProtocolError("Ref needs an int id and a str type")
            return {"$": "ref", "id": _check_int(value.id), "type": _check_str(value.type)}
        torch = sys.modules.get("torch")
        if torch is None:
            return _UNKNOWN
        if isinstance(value, torch.Tensor):
            self._count()
            return self._tensor(torch, value)
        if isinstance(value, torch.dtype):
            self._count()
            return {"$": "dtype", "v": _dtype_name(value)}
        if isinstance(value, torch.Generator):
            self._count()
            return self._generator(value)
        return _UNKNOWN

    def _entry(self, key: Any, value: Any, depth: int) -> list[Any]:
        if not isinstance(key, str):
            raise ProtocolError(f"dict keys must be str, not {type(key).__qualname__}")
        self._count()
        return [_check_str(key), self.encode(value, depth)]

    def _blob(self, data: Any) -> tuple[int, int]:
        offset, nbytes = self.offset, data.numel()
        self.blobs.append(data)
        self.offset += nbytes
        return offset, nbytes

    def _tensor(self, torch: Any, tensor: torch.Tensor) -> dict[str, Any]:
        name = _dtype_name(tensor.dtype)
        if tensor.device.type != "cpu" or tensor.layout != torch.strided:
            raise ProtocolError(f"only dense CPU tensors cross, not {tensor.device} {tensor.layout}")
        try:
            flat = tensor.detach().contiguous().reshape(-1)
            if type(flat) is not torch.Tensor:
                flat = flat.as_subclass(torch.Tensor)
            data = flat.view(torch.uint8)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise ProtocolError(f"cannot send this tensor: {exc}") from exc
        offset, nbytes = self._blob(data)
        shape = [int(d) for d in tensor.shape]
        return {"$": "tensor", "dtype": name, "shape": shape, "offset": offset, "nbytes": nbytes}

    def _generator(self, generator: torch.Generator) -> dict[str, Any]:
        if generator.device.type != "cpu":
            raise ProtocolError(f"only CPU generators cross, not {generator.device}")
        offset, nbytes = self._blob(generator.get_state())
        return {"$": "generator", "offset": offset, "nbytes": nbytes}


_UNKNOWN = object()


def _check_int(value: int) -> int:
    if not INT_MIN <= value <= INT_MAX:
        raise ProtocolError("integer outside the int64 range")
    return value


def _check_str(value: str) -> str:
    """Reject strings over the size limit and lone surrogates, which UTF-8 cannot carry."""
    if len(value) > MAX_STR_BYTES:
        raise ProtocolError(f"string longer than {MAX_STR_BYTES} bytes")
    if not value.isascii():
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise ProtocolError("string is not valid Unicode (lone surrogate)") from None
        if size > MAX_STR_BYTES:
            raise ProtocolError(f"string longer than {MAX_STR_BYTES} bytes")
    return value


def _build_frame(value: Any, default: Callable[[Any], Any] | None) -> bytearray:
    """Header, JSON and blobs in one buffer, tensor bytes copied straight into place."""
    encoder = _Encoder(default)
    tree = encoder.encode(value, 0)
    text = json.dumps(tree, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    doc = text.encode("utf-8")
    if len(doc) > MAX_JSON_BYTES:
        raise ProtocolError(f"JSON part larger than {MAX_JSON_BYTES} bytes")
    frame = bytearray(HEADER_SIZE + len(doc) + encoder.offset)
    _HEADER.pack_into(frame, 0, MAGIC, len(doc), encoder.offset)
    start = HEADER_SIZE + len(doc)
    frame[HEADER_SIZE:start] = doc
    if encoder.blobs:
        import torch

        with memoryview(frame) as view:
            for data in encoder.blobs:
                size = data.numel()
                if size:
                    torch.frombuffer(view[start:start + size], dtype=torch.uint8).copy_(data)
                start += size
    return frame


# --- decoding ------------------------------------------------------------------------------------


def _parse_header(header: memoryview, max_bytes: int) -> tuple[int, int]:
    """Validate the header alone, so oversized frames fail before their body is read."""
    if len(header) < HEADER_SIZE:
        raise ProtocolError("truncated frame")
    magic, json_len, blob_len = _HEADER.unpack(header)
    if magic != MAGIC:
        raise ProtocolError("not an attnquiz frame (wrong magic)")
    if json_len > MAX_JSON_BYTES:
        raise ProtocolError(f"JSON part of {json_len} bytes exceeds {MAX_JSON_BYTES}")
    if blob_len > max_bytes:
        raise ProtocolError(f"blob section of {blob_len} bytes exceeds {max_bytes}")
    return json_len, blob_len


def _parse_int(text: str) -> int:
    if len(text) > _MAX_INT_DIGITS:
        raise ProtocolError("integer literal too long")
    return _check_int(int(text))


def _parse_float(text: str) -> float:
    if len(text) > _MAX_FLOAT_CHARS:
        raise ProtocolError("float literal too long")
    value = float(text)
    if not math.isfinite(value):
        raise ProtocolError("non-finite float must be tagged")
    return value


def _reject_constant(text: str) -> Any:
    raise ProtocolError(f"bare {text} is not allowed; non-finite floats are tagged")


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ProtocolError("JSON object with duplicate keys")
    return obj


def _parse_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("JSON part is not valid UTF-8") from None
    if raw.count(b"[") + raw.count(b"{") > _MAX_CONTAINERS:
        outside = _JSON_STRING.sub(b'""', raw)
        if outside.count(b"[") + outside.count(b"{") > _MAX_CONTAINERS:
            raise ProtocolError(f"more than {MAX_VALUES} values in one message")
    try:
        return json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
            object_pairs_hook=_json_object,
        )
    except RecursionError:
        raise ProtocolError(f"value nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise ProtocolError(f"JSON part is malformed: {str(exc)[:120]}") from None


def _decode_body(body: memoryview, json_len: int, on_ref: Callable[[Ref], Any] | None) -> Any:
    tree = _parse_json(bytes(body[:json_len]))
    decoder = _Decoder(body[json_len:], on_ref)
    value = decoder.decode(tree, 0)
    unused = len(decoder.blobs) - decoder.cursor
    if unused:
        raise ProtocolError(f"{unused} unused bytes in the blob section")
    return value


def _need_str(value: Any, what: str) -> str:
    if type(value) is not str:
        raise ProtocolError(f"{what} must be a string")
    return _check_str(value)


def _need_size(value: Any, what: str) -> int:
    if type(value) is not int or value < 0:
        raise ProtocolError(f"{what} must be a non-negative integer")
    return value


def _need_list(value: Any, what: str) -> list[Any]:
    if type(value) is not list:
        raise ProtocolError(f"{what} must be a list")
    return value


class _Decoder:
    """Walks the parsed JSON, checking kinds, limits and blob bookkeeping as it rebuilds values."""

    def __init__(self, blobs: memoryview, on_ref: Callable[[Ref], Any] | None) -> None:
        self.blobs = blobs
        self.cursor = 0
        self.count = 0
        self.on_ref = on_ref

    def _count(self) -> None:
        self.count += 1
        if self.count > MAX_VALUES:
            raise ProtocolError(f"more than {MAX_VALUES} values in one message")

    def decode(self, node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError(f"value nested deeper than {MAX_DEPTH} levels")
        self._count()
        kind = type(node)
        if node is None or kind in (bool, int, float):
            return node
        if kind is str:
            return _check_str(node)
        if kind is list:
            return [self.decode(item, depth + 1) for item in node]
        if kind is not dict:
            raise ProtocolError("unexpected JSON value")
        tag = node.get("$")
        if type(tag) is not str or tag not in _FIELDS:
            raise ProtocolError(f"unknown tag {str(tag)[:40]!r}")
        if node.keys() - {"$"} != _FIELDS[tag]:
            raise ProtocolError(f"tag {tag!r} needs exactly the fields {sorted(_FIELDS[tag])}")
        return getattr(self, "_" + tag)(node, depth)

    def _tuple(self, node: dict[str, Any], depth: int) -> tuple[Any, ...]:
        return tuple(self.decode(item, depth + 1) for item in _need_list(node["v"], "tuple v"))

    def _dict(self, node: dict[str, Any], depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for entry in _need_list(node["v"], "dict v"):
            if type(entry) is not list or len(entry) != 2:
                raise ProtocolError("dict entries must be [key, value] pairs")
            self._count()
            key = _need_str(entry[0], "dict key")
            if key in result:
                raise ProtocolError("dict with duplicate keys")
            result[key] = self.decode(entry[1], depth + 1)
        return result

    def _float(self, node: dict[str, Any], depth: int) -> float:
        value = node["v"]
        if type(value) is not str or value not in _NON_FINITE:
            raise ProtocolError("tagged float must be 'nan', 'inf' or '-inf'")
        return _NON_FINITE[value]

    def _dtype(self, node: dict[str, Any], depth: int) -> torch.dtype:
        return _dtype_of(node["v"])

    def _ref(self, node: dict[str, Any], depth: int) -> Any:
        ref_id = node["id"]
        if type(ref_id) is not int:
            raise ProtocolError("ref id must be an integer")
        ref = Ref(ref_id, _need_str(node["type"], "ref type"))
        return ref if self.on_ref is None else self.on_ref(ref)

    def _take(self, node: dict[str, Any]) -> tuple[memoryview, int]:
        offset = _need_size(node["offset"], "blob offset")
        nbytes = _need_size(node["nbytes"], "blob nbytes")
        if offset != self.cursor:
            raise ProtocolError(f"blob at {offset} overlaps or leaves a gap (expected {self.cursor})")
        if nbytes > len(self.blobs) - offset:
            raise ProtocolError("blob runs past the blob section")
        self.cursor += nbytes
        return self.blobs[offset:offset + nbytes], nbytes

    def _tensor(self, node: dict[str, Any], depth: int) -> torch.Tensor:
        import torch

        dtype = _dtype_of(node["dtype"])
        shape = _need_list(node["shape"], "tensor shape")
        if len(shape) > MAX_NDIM:
            raise ProtocolError(f"tensor with more than {MAX_NDIM} dimensions")
        numel, bound = 1, 1
        for dim in shape:
            _need_size(dim, "tensor dimension")
            numel *= dim
            bound *= max(dim, 1)
            if bound > _MAX_ELEMENTS:
                raise ProtocolError("tensor shape is absurdly large")
        itemsize = dtype.itemsize
        if node["nbytes"] != numel * itemsize:
            raise ProtocolError("tensor nbytes does not match its shape and dtype")
        data, nbytes = self._take(node)
        try:
            if nbytes == 0:
                return torch.zeros(shape, dtype=dtype)
            raw = torch.frombuffer(bytearray(data), dtype=torch.uint8)
            flat = raw.ne(0) if dtype is torch.bool else raw.view(dtype)
            return flat.reshape(shape)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise ProtocolError(f"cannot rebuild tensor: {str(exc)[:120]}") from None

    def _generator(self, node: dict[str, Any], depth: int) -> torch.Generator:
        import torch

        if node["nbytes"] != _generator_state_size():
            raise ProtocolError("generator state has the wrong size")
        data, _ = self._take(node)
        state = bytearray(data)
        _, left, _, following = _MT_HEAD.unpack_from(state)
        if not (1 <= left <= _MT_N and 0 <= following and following + left <= _MT_N + 1):
            raise ProtocolError("generator state is inconsistent")
        generator = torch.Generator()
        try:
            generator.set_state(torch.frombuffer(state, dtype=torch.uint8))
        except (RuntimeError, TypeError, ValueError) as exc:
            raise ProtocolError(f"invalid generator state: {str(exc)[:120]}") from None
        return generator


def _dtype_of(name: Any) -> torch.dtype:
    if type(name) is not str or name not in ALLOWED_DTYPES:
        raise ProtocolError(f"unknown dtype {str(name)[:40]!r}")
    return _dtypes()[name]
