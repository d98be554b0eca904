"""Tests of rlworks.viz.curves: reading metrics.csv and plotting learning curves to PNG."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rlworks.errors import RLWorksError
from rlworks.viz import plot_learning_curves, read_metrics

HEADER = "step,wall_s,episodes,train_return,train_length,eval_mean,eval_std,loss"


def write_metrics(run_dir: Path, rows: list[str], header: str = HEADER) -> Path:
    """Writes a metrics.csv with ``header`` and ``rows`` into ``run_dir`` and returns the dir."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return run_dir


def sample_run(run_dir: Path, scale: float = 1.0) -> Path:
    """A small run: training returns every row, an evaluation every other row."""
    rows = [
        f"{step},{step / 1000:.3f},{step // 50},{scale * step / 10:.1f},{step / 10:.1f},"
        + (f"{scale * step / 8:.1f},{step / 100:.2f}" if step % 200 == 0 else ",")
        + ",0.5"
        for step in range(100, 1100, 100)
    ]
    return write_metrics(run_dir, rows)


def assert_png(path: Path) -> None:
    """``path`` is a non-empty, decodable PNG image."""
    assert path.is_file()
    assert path.stat().st_size > 0
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.verify()
        assert image.size[0] > 0
        assert image.size[1] > 0


def test_read_metrics_gives_float_columns_with_nan_for_empty_cells(tmp_path: Path) -> None:
    run = write_metrics(
        tmp_path / "run",
        [
            "100,0.5,2,,,,,",  # nothing measured yet but the counters
            "200,1.0,5,21.5,21.5,30,2.5,0.25",
            "300,1.5,9,40,40,,,",
        ],
    )
    metrics = read_metrics(run)
    assert list(metrics) == HEADER.split(",")
    np.testing.assert_array_equal(metrics["step"], [100.0, 200.0, 300.0])
    np.testing.assert_array_equal(metrics["train_return"], [math.nan, 21.5, 40.0])
    np.testing.assert_array_equal(metrics["eval_mean"], [math.nan, 30.0, math.nan])
    np.testing.assert_array_equal(metrics["eval_std"], [math.nan, 2.5, math.nan])
    assert all(column.dtype == np.float64 for column in metrics.values())


def test_read_metrics_accepts_the_csv_path_and_pads_a_truncated_last_row(tmp_path: Path) -> None:
    run = write_metrics(tmp_path / "run", ["100,0.5,2,10,10,,,", "200,1.0"])
    metrics = read_metrics(run / "metrics.csv")
    np.testing.assert_array_equal(metrics["step"], [100.0, 200.0])
    np.testing.assert_array_equal(metrics["episodes"], [2.0, math.nan])


def test_read_metrics_of_a_header_only_file_gives_empty_columns(tmp_path: Path) -> None:
    metrics = read_metrics(write_metrics(tmp_path / "run", []))
    assert set(metrics) == set(HEADER.split(","))
    assert all(column.shape == (0,) for column in metrics.values())


def test_read_metrics_without_metrics_csv_names_the_run_directory(tmp_path: Path) -> None:
    run = tmp_path / "not-a-run"
    run.mkdir()
    expected = (
        f"run directory '{run}' has no metrics.csv; expected a directory written by `rlworks train`"
    )
    with pytest.raises(RLWorksError) as info:
        read_metrics(run)
    assert str(info.value) == expected


def test_read_metrics_without_step_column_is_an_error(tmp_path: Path) -> None:
    run = write_metrics(tmp_path / "run", ["1,2"], header="wall_s,episodes")
    with pytest.raises(RLWorksError, match="has no 'step' column"):
        read_metrics(run)


def test_read_metrics_rejects_a_cell_that_is_not_a_number(tmp_path: Path) -> None:
    run = write_metrics(tmp_path / "run", ["100,0.5,2,oops,,,,"])
    with pytest.raises(
        RLWorksError, match=r"line 2, column 'train_return': 'oops' is not a number"
    ):
        read_metrics(run)


def test_plot_one_run_writes_a_png_and_no_temporary_files(tmp_path: Path) -> None:
    run = sample_run(tmp_path / "run")
    out = plot_learning_curves([run], run / "curve.png")
    assert out == run / "curve.png"
    assert_png(out)
    assert sorted(p.name for p in run.iterdir()) == ["curve.png", "metrics.csv"]


def test_plot_two_runs_with_labels_title_and_target(tmp_path: Path) -> None:
    first = sample_run(tmp_path / "dqn")
    second = sample_run(tmp_path / "double-dqn", scale=1.5)
    out = plot_learning_curves(
        [first, second / "metrics.csv"],
        tmp_path / "plots" / "compare.png",  # parent directory is created
        labels=["DQN", "Double DQN"],
        title="CartPole-v1",
        target_return=475.0,
    )
    assert_png(out)


def test_plot_overwrites_an_existing_png(tmp_path: Path) -> None:
    run = sample_run(tmp_path / "run")
    out = run / "curve.png"
    out.write_bytes(b"old")
    plot_learning_curves([run], out)
    assert_png(out)


def test_plot_a_run_without_any_returns_yet(tmp_path: Path) -> None:
    run = write_metrics(tmp_path / "run", ["100,0.5,0,,,,,"])
    assert_png(plot_learning_curves([run], tmp_path / "curve.png"))


def test_plot_without_metrics_csv_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RLWorksError, match=r"has no metrics\.csv"):
        plot_learning_curves([tmp_path / "missing"], tmp_path / "curve.png")
    assert not (tmp_path / "curve.png").exists()


def test_plot_rejects_bad_arguments(tmp_path: Path) -> None:
    run = sample_run(tmp_path / "run")
    with pytest.raises(RLWorksError, match="got no runs"):
        plot_learning_curves([], tmp_path / "curve.png")
    with pytest.raises(RLWorksError, match="got 2 labels for 1 runs"):
        plot_learning_curves([run], tmp_path / "curve.png", labels=["a", "b"])
    with pytest.raises(RLWorksError, match=r"suffix '\.jpg'; expected '\.png'"):
        plot_learning_curves([run], tmp_path / "curve.jpg")
