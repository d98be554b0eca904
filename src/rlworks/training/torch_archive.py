"""Write ``torch.save`` archives without importing torch.

A checkpoint is a ``torch.save`` archive (:mod:`rlworks.training.checkpoint`). The NumPy engines
(:class:`~rlworks.agents.ppo_numpy.NumpyPPO`) train without torch, whose import alone takes about
a second; they write the same format with :func:`write_torch_archive`, and ``torch.load`` (with
``weights_only=True``) reads it back with NumPy arrays turned into tensors.

The format (PyTorch's zip serialization, version 3): a stored (uncompressed) zip archive whose
``data.pkl`` is a protocol-2 pickle of the object, each tensor pickled as a call to
``torch._utils._rebuild_tensor_v2`` on a persistent storage ``('storage', torch.<T>Storage, key,
'cpu', numel)``, each storage's raw bytes in ``data/<key>`` aligned to 64 bytes in the file,
plus the ``version``, ``.format_version``, ``.storage_alignment`` and ``byteorder`` records.
The pickle is written opcode by opcode: only plain data (dicts with string keys, lists, tuples,
strings, numbers, booleans, None) and NumPy arrays, which is all a checkpoint holds.
"""

from __future__ import annotations

import io
import struct
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_torch_archive"]

_STORAGES = {
    np.dtype(np.float32): "FloatStorage",
    np.dtype(np.float64): "DoubleStorage",
    np.dtype(np.float16): "HalfStorage",
    np.dtype(np.int64): "LongStorage",
    np.dtype(np.int32): "IntStorage",
    np.dtype(np.int16): "ShortStorage",
    np.dtype(np.int8): "CharStorage",
    np.dtype(np.uint8): "ByteStorage",
    np.dtype(np.bool_): "BoolStorage",
}
_ALIGNMENT = 64


class _Pickler:
    """Protocol-2 pickle opcodes for plain data, NumPy arrays as torch tensors."""

    def __init__(self) -> None:
        self.out = io.BytesIO()
        self.storages: list[bytes] = []

    def dump(self, obj: Any) -> bytes:
        """The pickle of ``obj``; its arrays' bytes are left in :attr:`storages`."""
        self.out.write(b"\x80\x02")  # PROTO 2
        self._save(obj, "")
        self.out.write(b".")  # STOP
        return self.out.getvalue()

    def _save(self, obj: Any, where: str) -> None:
        w = self.out.write
        if obj is None:
            w(b"N")
        elif obj is True or obj is False:
            w(b"\x88" if obj else b"\x89")
        elif isinstance(obj, np.generic):
            self._save(obj.item(), where)
        elif isinstance(obj, int):
            self._int(obj)
        elif isinstance(obj, float):
            w(b"G" + struct.pack(">d", obj))
        elif isinstance(obj, str):
            data = obj.encode("utf-8")
            w(b"X" + struct.pack("<I", len(data)) + data)
        elif isinstance(obj, np.ndarray):
            self._tensor(obj, where)
        elif isinstance(obj, tuple):
            w(b"(")
            for i, item in enumerate(obj):
                self._save(item, f"{where}[{i}]")
            w(b"t")
        elif isinstance(obj, list):
            w(b"]")
            if obj:
                w(b"(")
                for i, item in enumerate(obj):
                    self._save(item, f"{where}[{i}]")
                w(b"e")  # APPENDS
        elif isinstance(obj, dict):
            w(b"}")
            if obj:
                w(b"(")
                for key, value in obj.items():
                    if not isinstance(key, str | int):
                        at = where or "top"
                        raise TypeError(f"checkpoint key {key!r} at {at}: not a str or int")
                    self._save(key, where)
                    self._save(value, f"{where}.{key}" if where else str(key))
                w(b"u")  # SETITEMS
        else:
            raise TypeError(
                f"checkpoint entry {where or 'top'} is a {type(obj).__name__}; the torch-free "
                "writer takes dicts, lists, tuples, strings, numbers, None and NumPy arrays"
            )

    def _int(self, value: int) -> None:
        """The shortest integer opcode: BININT1, BININT or LONG1."""
        if 0 <= value < 256:
            self.out.write(b"K" + bytes([value]))
        elif -(2**31) <= value < 2**31:
            self.out.write(b"J" + struct.pack("<i", value))
        else:  # LONG1: little-endian two's complement, as few bytes as it takes
            data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
            self.out.write(b"\x8a" + bytes([len(data)]) + data)

    def _tensor(self, array: np.ndarray, where: str) -> None:
        """``_rebuild_tensor_v2(storage, 0, shape, strides, False, OrderedDict())`` with the
        array's bytes as a new storage."""
        storage = _STORAGES.get(array.dtype)
        if storage is None:
            raise TypeError(f"checkpoint entry {where}: arrays of {array.dtype} are not supported")
        if not array.flags.c_contiguous:  # (np.ascontiguousarray would make 0-d arrays 1-d)
            array = array.copy(order="C")
        key = str(len(self.storages))
        self.storages.append(array.tobytes())
        strides = tuple(s // array.itemsize for s in array.strides)
        w = self.out.write
        w(b"ctorch._utils\n_rebuild_tensor_v2\n(")
        w(b"(")  # the persistent id of the storage
        self._save("storage", where)
        w(f"ctorch\n{storage}\n".encode())
        self._save(key, where)
        self._save("cpu", where)
        self._int(array.size)
        w(b"tQ")  # TUPLE, BINPERSID
        self._int(0)  # storage offset
        self._save(tuple(array.shape), where)
        self._save(strides, where)
        w(b"\x89")  # requires_grad False
        w(b"ccollections\nOrderedDict\n)R")  # no backward hooks
        w(b"tR")


def _write_record(archive: zipfile.ZipFile, name: str, data: bytes, align: bool) -> None:
    """One stored entry; with ``align`` its data starts at a multiple of 64 bytes in the file
    (padding in the local header's extra field, as PyTorch writes it)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    if align:
        assert archive.fp is not None
        start = archive.fp.tell() + 30 + len(name.encode()) + 4  # header, name, extra header
        pad = -start % _ALIGNMENT
        info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # "FB" padding field
    archive.writestr(info, data)


def write_torch_archive(obj: Any, path: str | Path) -> None:
    """Write ``obj`` (plain data and NumPy arrays) to ``path`` in ``torch.save``'s format.

    Raises:
        TypeError: An entry that is not plain data or a NumPy array of a supported dtype.
    """
    pickler = _Pickler()
    pickled = pickler.dump(obj)
    prefix = "archive/"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        _write_record(archive, prefix + "data.pkl", pickled, align=False)
        _write_record(archive, prefix + ".format_version", b"1", align=False)
        _write_record(archive, prefix + ".storage_alignment", b"64", align=False)
        _write_record(archive, prefix + "byteorder", sys.byteorder.encode(), align=False)
        for key, data in enumerate(pickler.storages):
            _write_record(archive, f"{prefix}data/{key}", data, align=True)
        _write_record(archive, prefix + "version", b"3\n", align=False)
