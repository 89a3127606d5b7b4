"""`hrm export` and `hrm info`: ONNX agrees with PyTorch, bf16 bundles reload, replays embed the trace."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hrm.checkpoint import load_model, read_metadata, save_model
from hrm.config import get_preset
from hrm.export import widened
from hrm.model import HRM
from tests.cli_helpers import run_cli

EASY = "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......"


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("w") / "m.safetensors"
    save_model(path, HRM(get_preset("hrm-sudoku-tiny").with_overrides(halt_max_steps=3)),
               {"card": {"description": "test model"}, "train_step": "7"})
    return path


def test_onnx_segment_matches_pytorch(capsys, monkeypatch, tmp_path, weights):
    ort = pytest.importorskip("onnxruntime")
    out = tmp_path / "m.onnx"
    result = run_cli(capsys, monkeypatch, "export", str(weights), "--format", "onnx", "-o", str(out))
    assert result.code == 0 and "agrees" in result.err
    model, _ = load_model(weights)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    z_H, z_L = model.initial_state(3)
    inputs = torch.randint(1, 11, (3, 81), dtype=torch.int32)
    ids = torch.zeros(3, dtype=torch.int32)
    feeds = {"z_H": z_H.numpy(), "z_L": z_L.numpy(), "inputs": inputs.numpy(), "puzzle_identifiers": ids.numpy()}
    with torch.no_grad():
        for _ in range(3):  # three segments, feeding the carry back, as the metadata says
            zH, zL, logits, q = model.segment(torch.from_numpy(feeds["z_H"]), torch.from_numpy(feeds["z_L"]),
                                              {"inputs": inputs, "puzzle_identifiers": ids})
            got = session.run(None, feeds)
            np.testing.assert_allclose(got[2], logits.numpy(), atol=1e-4)
            np.testing.assert_allclose(got[3], q.numpy(), atol=1e-4)
            feeds["z_H"], feeds["z_L"] = got[0], got[1]


def test_bf16_bundle_keeps_card_and_predictions(capsys, monkeypatch, tmp_path, weights):
    out = tmp_path / "m16.safetensors"
    result = run_cli(capsys, monkeypatch, "export", str(weights), "-o", str(out))
    assert result.code == 0
    assert out.stat().st_size < weights.stat().st_size * 0.6
    meta = read_metadata(out)
    assert meta["dtype"] == "bfloat16" and json.loads(meta["card"])["description"] == "test model"
    full, _ = load_model(weights)
    half, _ = load_model(out)
    inputs = {"inputs": torch.randint(1, 11, (4, 81)), "puzzle_identifiers": torch.zeros(4, dtype=torch.int32)}
    with torch.no_grad():
        a = full.segment(*full.initial_state(4), inputs)[2]
        b = half.segment(*half.initial_state(4), inputs)[2]
    assert (a.argmax(-1) == b.argmax(-1)).float().mean() > 0.95


def test_an_existing_folder_as_out_receives_the_file_under_its_default_name(capsys, monkeypatch, tmp_path,
                                                                             weights):
    folder = tmp_path / "exports"
    folder.mkdir()
    result = run_cli(capsys, monkeypatch, "export", str(weights), "-o", str(folder))
    written = folder / (weights.name.removesuffix(".safetensors") + ".bf16.safetensors")
    assert result.code == 0 and written.is_file() and read_metadata(written)["dtype"] == "bfloat16"


def test_the_bundle_stores_the_segment_limits_solve_runs_with(capsys, monkeypatch, tmp_path, weights):
    out = tmp_path / "m.safetensors"
    result = run_cli(capsys, monkeypatch, "export", str(weights), "-o", str(out), "-m", "12", "--min-segments", "3")
    config = json.loads(read_metadata(out)["hrm_config"])
    assert result.code == 0 and (config["halt_max_steps"], config["halt_min_steps"]) == (12, 3)


def test_html_replay_embeds_every_segment(capsys, monkeypatch, tmp_path, weights):
    puzzle = tmp_path / "p.txt"
    puzzle.write_text(EASY)
    out = tmp_path / "r.html"
    result = run_cli(capsys, monkeypatch, "export", str(weights), "-f", "html", "-p", str(puzzle), "-o", str(out))
    assert result.code == 0
    page = out.read_text()
    payload = json.loads(page.split("const R = ", 1)[1].split(";\n", 1)[0])
    assert [f["segment"] for f in payload["frames"]] == [1, 2, 3]
    assert payload["puzzle"][0][0] == 4


def test_trace_export_needs_a_puzzle(capsys, monkeypatch, weights):
    result = run_cli(capsys, monkeypatch, "export", str(weights), "-f", "html")
    assert result.code == 2 and "--puzzle" in result.err


def test_info_prints_the_card(capsys, monkeypatch, weights):
    result = run_cli(capsys, monkeypatch, "info", str(weights), "--json")
    record = json.loads(result.out)
    assert record["parameters"] == HRM(get_preset("hrm-sudoku-tiny")).num_parameters()
    assert record["card"]["description"] == "test model" and record["train_step"] == "7"


def test_default_output_goes_to_the_current_folder_not_beside_the_weights(capsys, monkeypatch, tmp_path, weights):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    before = set(weights.parent.iterdir())
    result = run_cli(capsys, monkeypatch, "export", str(weights), "--format", "safetensors")
    assert result.code == 0, result.err
    assert (work / f"{weights.stem}.bf16.safetensors").is_file()
    assert set(weights.parent.iterdir()) == before


def test_a_bundle_can_store_a_longer_mmax_for_inference(capsys, monkeypatch, tmp_path, weights):
    from hrm.checkpoint import load_model

    out = tmp_path / "long.safetensors"
    result = run_cli(capsys, monkeypatch, "export", str(weights), "--format", "safetensors", "-m", "12", "-o", str(out))
    assert result.code == 0, result.err
    model, _ = load_model(out)
    original, _ = load_model(weights)
    assert model.config.halt_max_steps == 12 and original.config.halt_max_steps != 12


@pytest.fixture(scope="module")
def small_maze(tmp_path_factory):
    torch.manual_seed(2)
    config = get_preset("trm-maze-tiny").with_overrides(seq_len=100, pos_encodings="rope2d", attention_window=3)
    path = tmp_path_factory.mktemp("maze") / "small.safetensors"
    save_model(path, HRM(config))
    return path


def test_a_small_canvas_maze_model_is_exported_for_the_full_canvas(capsys, monkeypatch, tmp_path, small_maze):
    out = tmp_path / "big.safetensors"
    result = run_cli(capsys, monkeypatch, "export", str(small_maze), "--canvas", "30", "--dtype", "fp32",
                     "-o", str(out))
    assert result.code == 0, result.err
    small, _ = load_model(small_maze)
    big, _ = load_model(out)
    assert (small.config.seq_len, big.config.seq_len) == (100, 900)
    for name, tensor in small.state_dict().items():
        torch.testing.assert_close(big.state_dict()[name], tensor, rtol=0, atol=0)


@pytest.mark.parametrize(("which", "message"), [("sudoku", "for maze models"), ("rope", "row and column"),
                                                ("onnx", "safetensors only")])
def test_a_canvas_the_model_cannot_read_is_refused(capsys, monkeypatch, tmp_path, weights, small_maze, which,
                                                    message):
    path, extra = weights, []
    if which == "rope":
        path = tmp_path / "rope.safetensors"
        save_model(path, HRM(get_preset("trm-maze-tiny").with_overrides(seq_len=100, attention_window=3)))
    if which == "onnx":
        path, extra = small_maze, ["--format", "onnx"]
    result = run_cli(capsys, monkeypatch, "export", str(path), "--canvas", "30", "-o", str(tmp_path / "x"), *extra)
    assert result.code != 0 and message in result.err and "Traceback" not in result.err
    assert not (tmp_path / "x").exists()


def _two_segments(model: HRM, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        z_H, z_L, _, _ = model.segment(*model.initial_state(2), batch)
        _, _, logits, q_logits = model.segment(z_H, z_L, batch)
    return logits, q_logits


@pytest.mark.parametrize("preset", ["maze-window", "hrm-sudoku-tiny", "trm-sudoku-tiny"])
def test_a_widened_model_computes_what_the_narrow_one_did(preset: str) -> None:
    config = (get_preset("trm-maze-tiny").with_overrides(seq_len=64, pos_encodings="rope2d", attention_window=3)
              if preset == "maze-window" else get_preset(preset))
    torch.manual_seed(3)
    narrow = HRM(config).eval()
    narrow.puzzle_emb.weights.normal_()            # a trained table is not zero
    wide = widened(narrow, 2, noise=0.0).eval()
    assert (wide.config.hidden_size, wide.config.num_heads) == (2 * config.hidden_size, 2 * config.num_heads)
    assert wide.config.prefix_len == config.prefix_len
    batch = {"inputs": torch.randint(0, config.vocab_size, (2, config.seq_len)),
             "puzzle_identifiers": torch.zeros(2, dtype=torch.long)}
    for got, want in zip(_two_segments(wide, batch), _two_segments(narrow, batch), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-3)


def test_widening_noise_splits_the_copies_and_keeps_the_answer() -> None:
    torch.manual_seed(4)
    config = get_preset("trm-maze-tiny").with_overrides(seq_len=64, pos_encodings="rope2d", attention_window=3)
    narrow = HRM(config).eval()
    wide = widened(narrow, 2, noise=1e-3).eval()
    qkv = wide.L_level.layers[0].self_attn.qkv_proj.weight
    hidden = config.hidden_size
    assert not torch.equal(qkv[:hidden, :hidden], qkv[:hidden, hidden:])     # the copies of each input differ
    torch.testing.assert_close(qkv[:hidden, :hidden], qkv[:hidden, hidden:], rtol=0, atol=0.01)
    batch = {"inputs": torch.randint(0, config.vocab_size, (2, 64)),
             "puzzle_identifiers": torch.zeros(2, dtype=torch.long)}
    wide_logits, narrow_logits = _two_segments(wide, batch)[0], _two_segments(narrow, batch)[0]
    assert (wide_logits - narrow_logits).abs().max() < 0.05 * narrow_logits.abs().max()


def test_export_widen_writes_an_fp32_bundle_at_twice_the_width(capsys, monkeypatch, tmp_path, small_maze):
    out = tmp_path / "wide.safetensors"
    result = run_cli(capsys, monkeypatch, "export", str(small_maze), "--widen", "2", "-o", str(out))
    assert result.code == 0, result.err
    wide, _ = load_model(out)
    assert (wide.config.hidden_size, wide.config.num_heads, wide.config.puzzle_emb_ndim) == (128, 8, 128)
    assert wide.embed_tokens.weight.dtype == torch.float32
    assert read_metadata(out)["dtype"] in ("fp32", "float32")


def test_widen_applies_to_safetensors_only(capsys, monkeypatch, tmp_path, small_maze):
    result = run_cli(capsys, monkeypatch, "export", str(small_maze), "--widen", "2", "--format", "onnx",
                     "-o", str(tmp_path / "x.onnx"))
    assert result.code != 0 and "--widen applies to --format safetensors only" in result.err
    assert "Traceback" not in result.err and not (tmp_path / "x.onnx").exists()
