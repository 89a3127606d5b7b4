"""Safetensors files read with numpy alone: a checked header, then tensors mapped from disk.

Layout: an 8-byte little-endian header length, a JSON header (name -> dtype, shape, data_offsets,
plus an optional `__metadata__` of strings), then the data. Everything in the header is checked
before a byte of data is touched: it is a JSON object of bounded size and count, every dtype is
known, every shape is a short list of non-negative integers whose byte size equals its offsets, and
the tensors tile the data exactly (no gaps, no overlaps, nothing past or after the last one), the
rules the safetensors library itself applies. Data is memory-mapped, so a large file costs only the
tensors actually read. Used by the numpy engine, the digit reader and the torch loader's pre-check.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hrm.errors import WeightsError

HEADER_LIMIT = 100 * 1024 * 1024   # bytes of JSON header
MAX_TENSORS = 100_000
MAX_DIMS = 8
ITEM_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
              "BOOL": 1}
_NUMPY_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4",
                 "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}


@dataclass(frozen=True)
class TensorInfo:
    dtype: str
    shape: tuple[int, ...]
    start: int           # byte offsets into the data section
    end: int


@dataclass(frozen=True)
class Header:
    tensors: dict[str, TensorInfo]
    metadata: dict[str, str]
    data_start: int      # byte offset of the data section in the file

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: info.shape for name, info in self.tensors.items()}


def read_header(path: str | Path) -> Header:
    """The checked header of a safetensors file (no tensor data is read). WeightsError if malformed."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            (header_len,) = struct.unpack("<Q", f.read(8))
            if header_len > min(HEADER_LIMIT, size - 8):
                raise ValueError("header length past the end of the file")
            raw = json.loads(f.read(header_len))
        return _checked(raw, data_start=8 + header_len, data_len=size - 8 - header_len)
    except (OSError, struct.error, ValueError, RecursionError) as exc:
        raise WeightsError(f"{path} is not a readable safetensors weights file ({str(exc)[:200]})",
                           hint="the file may be truncated or corrupted") from None


def _checked(raw: object, *, data_start: int, data_len: int) -> Header:
    if not isinstance(raw, dict):
        raise ValueError("the header is not a JSON object")
    metadata = raw.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError("__metadata__ is not an object of strings")
    if len(raw) > MAX_TENSORS:
        raise ValueError(f"more than {MAX_TENSORS:,} tensors")
    tensors = {str(name): _tensor_info(str(name), info) for name, info in raw.items()}
    _check_tiling(tensors, data_len)
    return Header(tensors, metadata, data_start)


def _tensor_info(name: str, info: object) -> TensorInfo:
    if not isinstance(info, dict):
        raise ValueError(f"tensor {name[:60]!r} is not described by an object")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in ITEM_SIZES:
        raise ValueError(f"tensor {name[:60]!r} has unsupported dtype {str(dtype)[:20]!r}")
    if not (isinstance(shape, list) and len(shape) <= MAX_DIMS and all(_is_count(n) for n in shape)):
        raise ValueError(f"tensor {name[:60]!r} has an invalid shape")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(n) for n in offsets)):
        raise ValueError(f"tensor {name[:60]!r} has invalid data_offsets")
    start, end = offsets
    if end - start != math.prod(shape) * ITEM_SIZES[dtype]:
        raise ValueError(f"tensor {name[:60]!r}: its offsets do not hold its shape")
    return TensorInfo(dtype, tuple(shape), start, end)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62


def _check_tiling(tensors: dict[str, TensorInfo], data_len: int) -> None:
    """The tensors cover the data section exactly once, in some order."""
    position = 0
    for info in sorted(tensors.values(), key=lambda t: (t.start, t.end)):
        if info.start != position:
            raise ValueError("tensor data overlaps or leaves gaps" if info.start < position
                             else "the data has bytes no tensor covers")
        position = info.end
    if position != data_len:
        raise ValueError("the data is not fully covered by the tensors" if position < data_len
                         else "tensor data past the end of the file")


def read_tensors(path: str | Path, header: Header | None = None) -> dict[str, np.ndarray]:
    """Every tensor of the file; floating ones as float32 (bf16 and f16 widened), others as stored."""
    header = header or read_header(path)
    if not any(info.end for info in header.tensors.values()):   # nothing to map (mmap refuses 0 bytes)
        data = np.zeros(0, dtype=np.uint8)
    else:
        data = np.memmap(path, dtype=np.uint8, mode="r", offset=header.data_start)
    return {name: _array(info, data) for name, info in header.tensors.items()}


def _array(info: TensorInfo, data: np.ndarray) -> np.ndarray:
    values = data[info.start:info.end].view(np.dtype(_NUMPY_DTYPES[info.dtype])).reshape(info.shape)
    if info.dtype == "BF16":   # bfloat16 is the top half of a float32: widen the bits
        return (values.astype(np.uint32) << 16).view(np.float32)
    return values.astype(np.float32) if values.dtype.kind == "f" else np.array(values)


def read_safetensors(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(tensors, metadata) of a safetensors file."""
    header = read_header(path)
    return read_tensors(path, header), header.metadata
