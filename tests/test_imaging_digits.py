"""The digit CNN: shipped weights, loading errors, the synthetic page generator, the training entry."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors import safe_open

from hrm.errors import WeightsError
from hrm.imaging import digits, digits_train
from hrm.imaging.sudoku_photo import CELL, fit_grid, label_components, largest_quadrilateral, to_gray

SHIPPED = digits.DEFAULT_WEIGHTS


def test_shipped_weights_are_small_and_describe_themselves() -> None:
    assert SHIPPED.is_file(), "weights/digits.safetensors is missing"
    assert SHIPPED.stat().st_size < 1_000_000
    with safe_open(str(SHIPPED), framework="pt") as handle:
        config = json.loads(handle.metadata()["config"])
    assert config["format_version"] == digits.FORMAT_VERSION and config["cell"] == CELL
    assert not set(config["fonts"]) & set(digits_train.HELD_OUT_FONTS)     # the benchmark's fonts stayed unseen


def test_classifier_gives_probabilities_for_every_cell() -> None:
    probs = digits.load_classifier().predict(np.zeros((5, CELL, CELL), np.float32))
    assert probs.shape == (5, 10)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs.argmax(axis=1) == 0).all()          # blank paper is an empty cell


def test_missing_or_corrupt_weights_raise_weights_error(tmp_path, monkeypatch) -> None:
    with pytest.raises(WeightsError, match="not found"):
        digits.load_classifier(tmp_path / "none.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    with pytest.raises(WeightsError, match="unreadable"):
        digits.load_classifier(bad)
    monkeypatch.setenv(digits.WEIGHTS_ENV, str(tmp_path / "elsewhere.safetensors"))
    with pytest.raises(WeightsError, match="elsewhere"):
        digits.weights_path()


def test_synthetic_page_corners_frame_the_grid() -> None:
    rng = np.random.default_rng(3)
    values = digits_train.random_digits(rng)
    page = digits_train.draw_page(rng, ["<pillow>"], values)
    fit = fit_grid(to_gray(page.image), page.corners)
    assert fit is not None and fit.cells.shape == (81, CELL, CELL)
    filled = fit.cells.reshape(81, -1).max(axis=1) > 0.5
    centre = fit.cells[:, 8:24, 8:24].reshape(81, -1).max(axis=1) > 0.5
    assert np.array_equal(centre, values.ravel() > 0)
    assert filled[values.ravel() > 0].all()


def test_distorted_page_keeps_track_of_its_corners() -> None:
    rng = np.random.default_rng(4)
    page = digits_train.distort(rng, digits_train.draw_page(rng, ["<pillow>"], digits_train.random_digits(rng)))
    fit = fit_grid(to_gray(page.image), page.corners, min_score=1.0)
    assert fit is not None


def test_components_and_quadrilateral_on_a_drawn_square() -> None:
    mask = np.zeros((60, 80), bool)
    mask[10:50, 20] = mask[10:50, 59] = mask[10, 20:60] = mask[49, 20:60] = True   # a square outline
    mask[2, 2:6] = True                                                           # a separate speck
    comps = label_components(mask)
    assert comps.count == 2
    outline = comps.run_label == comps.run_label[comps.run_row == 10][0]
    points = np.stack([comps.run_start[outline], comps.run_row[outline]], axis=1).astype(float)
    quad = largest_quadrilateral(np.unique(points, axis=0))
    assert np.allclose(quad, [[20, 10], [59, 10], [59, 49], [20, 49]], atol=1)


def test_training_entry_point_writes_loadable_weights(tmp_path) -> None:
    out = tmp_path / "tiny.safetensors"
    config = digits_train.train(out, seed=0, pages=2, epochs=1, batch=64)
    assert out.is_file() and config["cells"] == 162
    classifier = digits.load_classifier(out)
    assert classifier.config["seed"] == 0
    assert classifier.predict(np.zeros((1, CELL, CELL), np.float32)).shape == (1, 10)


def test_numpy_network_matches_the_torch_model(rng) -> None:
    import torch
    from safetensors.torch import load_file

    model = digits_train.build_model(12)
    model.load_state_dict(load_file(str(SHIPPED)))
    cells = rng.random((7, CELL, CELL)).astype(np.float32)
    with torch.inference_mode():
        expected = torch.softmax(model.eval()(torch.from_numpy(cells)[:, None]), dim=1).numpy()
    np.testing.assert_allclose(digits.load_classifier().predict(cells), expected, atol=1e-5)


def test_reading_a_photo_never_imports_torch(examples_dir) -> None:
    import subprocess
    import sys

    script = ("import sys\nfrom hrm.imaging.read import read_image\n"
              f"(puzzle,) = read_image({str(examples_dir / 'sudoku' / 'easy2_photo.jpg')!r})\n"
              "print(int((puzzle.grid > 0).sum()), 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    givens, torch_loaded = out.stdout.split()
    assert int(givens) > 17 and torch_loaded == "False", out.stderr
