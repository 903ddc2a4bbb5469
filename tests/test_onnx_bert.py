"""The offline MiniLM run by ONNX Runtime: the same vectors as sentence-transformers on torch,
without importing torch, from a graph cached once and rebuilt when damaged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core import minilm, onnx_bert
from core.errors import Unavailable


def _installed_model() -> Path | None:
    try:
        return minilm.local_folder(onnx_bert.default_cache_dir())[0]
    except Unavailable:
        return None


MODEL = _installed_model()
pytestmark = pytest.mark.skipif(MODEL is None, reason="the offline model package is not installed")
# Vectors sentence-transformers computed on torch for these texts (how: the file's "about").
REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json").read_text(encoding="utf-8"))
TEXTS: list[str] = REFERENCE["texts"]


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_vectors_equal_sentence_transformers_on_torch(cache: Path) -> None:
    """The texts mix lengths (one past the 256-token limit, truncated the same way), scripts,
    emoji and the empty string."""
    assert MODEL is not None
    expected = np.asarray(REFERENCE["vectors"], dtype=np.float32)
    got = onnx_bert.OnnxBert(MODEL, cache).encode(TEXTS)  # one padded batch of mixed lengths
    assert got.shape == (len(TEXTS), 384)
    assert np.abs(got - expected).max() < 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    alone = onnx_bert.OnnxBert(MODEL, cache).encode([TEXTS[1]])[0]  # no padding: the mask changes nothing
    assert np.abs(alone - expected[1]).max() < 1e-5


def test_the_graph_is_built_once_then_reused_and_rebuilt_when_damaged(cache: Path) -> None:
    assert MODEL is not None
    first = onnx_bert.OnnxBert(MODEL, cache).encode(["hello"])
    (graph,) = (cache / "onnx").glob("*.onnx")
    built = graph.stat().st_mtime_ns
    onnx_bert.OnnxBert(MODEL, cache)
    assert graph.stat().st_mtime_ns == built  # reused, not rebuilt
    graph.write_bytes(b"not an onnx file")
    again = onnx_bert.OnnxBert(MODEL, cache).encode(["hello"])
    assert graph.stat().st_size > 50_000_000
    assert np.abs(first - again).max() < 1e-6
    assert not list((cache / "onnx").glob("*.partial"))
    stale = graph.with_name(graph.name.rsplit("-", 1)[0] + "-0000000000000000.onnx")
    stale.write_bytes(b"a graph of an older version")
    graph.unlink()
    onnx_bert.OnnxBert(MODEL, cache)
    assert [p.name for p in (cache / "onnx").iterdir()] == [graph.name]  # rebuilt, the stale one gone


def test_an_unwritable_cache_falls_back_to_a_temporary_folder(tmp_path: Path) -> None:
    assert MODEL is not None
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    assert onnx_bert.OnnxBert(MODEL, blocked).encode(["hello"]).shape == (1, 384)


def test_only_bert_with_mean_pooling_is_claimed(tmp_path: Path) -> None:
    assert MODEL is not None
    assert onnx_bert.supports(MODEL)
    assert not onnx_bert.supports(tmp_path)  # empty folder
    for name in ("config.json", "modules.json", "tokenizer.json", "model.safetensors"):
        (tmp_path / name).symlink_to(MODEL / name)
    (tmp_path / "1_Pooling").mkdir()
    pooling = (MODEL / "1_Pooling" / "config.json").read_text()
    (tmp_path / "1_Pooling" / "config.json").write_text(pooling)
    assert onnx_bert.supports(tmp_path)
    (tmp_path / "1_Pooling" / "config.json").write_text(
        pooling.replace('"pooling_mode_cls_token": false', '"pooling_mode_cls_token": true')
    )
    assert not onnx_bert.supports(tmp_path)  # CLS pooling is not what this graph computes


def test_the_server_embeds_without_importing_torch(tmp_path: Path) -> None:
    program = (
        "import sys, anyio\nfrom pathlib import Path\n"
        "from core.embeddings import load_embedder\n"
        f"choice = anyio.run(load_embedder, 'auto', None, 'http://127.0.0.1:9', Path({str(tmp_path)!r}))\n"
        "print(choice.embedder.model_id, 'torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["sentence-transformers/all-MiniLM-L6-v2", "False", "False"]
