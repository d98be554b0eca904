"""The torch-free writer of torch.save archives: torch.load reads back what was written."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from rlworks.training.checkpoint import FORMAT, save_checkpoint
from rlworks.training.torch_archive import write_torch_archive


def test_plain_data_and_arrays_come_back_from_torch_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    grid = np.arange(12, dtype=np.float64).reshape(3, 4)
    data = {
        "text": "ünïcode",
        "numbers": [0, 255, 256, -1, 2**31 - 1, -(2**31), 2**40, -(2**70), 1.5, float("inf")],
        "flags": (True, False, None),
        "empty": {"list": [], "dict": {}, "tuple": ()},
        "rng": rng.bit_generator.state,  # 128-bit integers
        "scalar": np.float32(0.25),
        "weights": np.arange(6, dtype=np.float32).reshape(2, 3),
        "zero_d": np.array(3.0, dtype=np.float32),
        "transposed": grid.T,  # not C-contiguous: written as a contiguous copy
        "ints": np.array([-3, 4], dtype=np.int64),
        "bytes": np.array([0, 255], dtype=np.uint8),
        "mask": np.array([True, False]),
    }
    write_torch_archive(data, tmp_path / "a.pt")
    back = torch.load(tmp_path / "a.pt", weights_only=True)
    assert back["text"] == "ünïcode" and back["numbers"] == data["numbers"]
    assert back["flags"] == (True, False, None) and back["empty"] == data["empty"]
    assert back["rng"] == rng.bit_generator.state and back["scalar"] == 0.25
    for key in ("weights", "zero_d", "transposed", "ints", "bytes", "mask"):
        tensor = back[key]
        assert isinstance(tensor, torch.Tensor), key
        assert tensor.shape == data[key].shape, key
        np.testing.assert_array_equal(tensor.numpy(), data[key])
    assert back["weights"].dtype == torch.float32 and back["transposed"].dtype == torch.float64


def test_storages_are_aligned_for_memory_mapping(tmp_path: Path) -> None:
    path = tmp_path / "a.pt"
    write_torch_archive({"a": np.ones(3, np.float32), "b": np.ones(5, np.int64)}, path)
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if "/data/" in info.filename:  # where the data starts, from the local header itself
                name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26 :][:4])
                start = info.header_offset + 30 + name_len + extra_len
                assert start % 64 == 0, info.filename
                assert raw[start : start + info.file_size] == archive.read(info)
    back = torch.load(path, weights_only=True, mmap=True)
    assert back["b"].tolist() == [1] * 5


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"agent": {"net": {1.5: 0}}}, "checkpoint key 1.5 at agent.net: not a str or int"),
        ({"agent": [0, {"x": b"raw"}]}, r"entry agent\[1\].x is a bytes"),
        ({"w": np.zeros(2, np.complex64)}, "entry w: arrays of complex64 are not supported"),
    ],
)
def test_what_it_cannot_write_is_named(tmp_path: Path, data: object, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        write_torch_archive(data, tmp_path / "a.pt")


def test_save_checkpoint_stores_arrays_as_tensors_when_torch_is_loaded(tmp_path: Path) -> None:
    payload = {"w": np.ones((2, 2), np.float32), "n": [np.float64(0.5), np.int64(3)]}
    path = save_checkpoint(tmp_path / "c.pt", {"agent": payload})
    back = torch.load(path, weights_only=True)  # NumPy objects would be refused here
    assert back["format"] == FORMAT
    assert isinstance(back["agent"]["w"], torch.Tensor) and back["agent"]["w"].sum() == 4
    assert back["agent"]["n"] == [0.5, 3] and type(back["agent"]["n"][1]) is int
