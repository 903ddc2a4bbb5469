"""A BERT sentence-transformers model (mean pooling, normalised) run by ONNX Runtime, without torch.

The graph is written from the model's own safetensors weights once, cached as an .onnx file, and
run by ONNX Runtime (which ChromaDB already installs). The vectors equal the sentence-transformers
/ torch ones to float precision (a test compares them with vectors torch computed), so both
runtimes share one `model_id` and one index. Importing torch and transformers cost about 410 MB
of resident memory and seconds of start-up; this costs about 100 MB and 0.2 s.

Supported folders: config.json of a `bert` model with absolute positions and GELU, modules.json
of Transformer + mean Pooling (+ Normalize), model.safetensors and tokenizer.json. Others go to
sentence-transformers, when it is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

__all__ = ["GRAPH_VERSION", "OnnxBert", "TokenVectors", "build_graph", "default_cache_dir", "supports"]

# Bump when build_graph changes what it writes, so cached graphs are rebuilt.
GRAPH_VERSION = 3
_OPSET = 17  # LayerNormalization
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
_POOLING = "sentence_transformers.models.Pooling"


@dataclass(frozen=True)
class TokenVectors:
    """One text's word pieces, in order, and their contextual vectors (float32, one row each)."""

    pieces: list[str]
    vectors: np.ndarray


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def supports(folder: Path) -> bool:
    """True when `folder` holds a model this runtime reproduces exactly."""
    try:
        config = _json(folder / "config.json")
        modules = _json(folder / "modules.json")
        pooling = next((m for m in modules if m.get("type") == _POOLING), None)
        pooling_config = _json(folder / (pooling or {}).get("path", "1_Pooling") / "config.json")
    except (OSError, ValueError):
        return False
    modes = {key: value for key, value in pooling_config.items() if key.startswith("pooling_mode_")}
    mean_only = modes.pop("pooling_mode_mean_tokens", False) and not any(modes.values())
    return bool(
        config.get("model_type") == "bert"
        and config.get("hidden_act") == "gelu"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and mean_only
        and (folder / "model.safetensors").is_file()
        and (folder / "tokenizer.json").is_file()
    )


def _weights(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file, memory-mapped (nothing is read until used)."""
    with path.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + length)
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        tensors[name] = data[start:end].view(_DTYPES[entry["dtype"]]).reshape(entry["shape"])
    return tensors


def build_graph(folder: Path) -> bytes:
    """The model as a serialised ONNX graph: token ids and attention mask in, mean-pooled
    (not yet normalised) sentence vectors out."""
    from onnx import TensorProto, helper, numpy_helper

    weights = _weights(folder / "model.safetensors")
    config = _json(folder / "config.json")
    heads, width = config["num_attention_heads"], config["hidden_size"]
    nodes: list[Any] = []
    initializers: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.array(value, order="C"), name))
        return name

    def op(kind: str, inputs: list[str], output: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(kind, inputs, [output], **attributes))
        return output

    def weight(name: str) -> np.ndarray:
        return np.asarray(weights[name], dtype=np.float32)

    def linear(x: str, prefix: str, out: str) -> str:
        product = op("MatMul", [x, const(out + ".w", weight(prefix + ".weight").T)], out + ".mm")
        return op("Add", [product, const(out + ".b", weight(prefix + ".bias"))], out)

    def norm(x: str, prefix: str, out: str) -> str:
        scale, bias = (
            const(out + ".g", weight(prefix + ".weight")),
            const(out + ".beta", weight(prefix + ".bias")),
        )
        return op("LayerNormalization", [x, scale, bias], out, axis=-1, epsilon=config["layer_norm_eps"])

    scalar = {
        name: const(name, np.array(value, dtype=np.float32))
        for name, value in (("one_f", 1.0), ("half", 0.5), ("masked", -1e9), ("tiny", 1e-9))
    }
    ints = {
        name: const(name, np.array(value, dtype=np.int64))
        for name, value in (("i0", [0]), ("i1", [1]), ("i2", [2]))
    }
    length = op("Slice", [op("Shape", ["input_ids"], "shape"), ints["i1"], ints["i2"]], "length")
    positions = op(
        "Slice",
        [const("pos", weight("embeddings.position_embeddings.weight")), ints["i0"], length],
        "positions",
    )
    x = op(
        "Gather",
        [const("words", weight("embeddings.word_embeddings.weight")), "input_ids"],
        "token_embeddings",
    )
    x = op(
        "Add",
        [
            op("Add", [x, positions], "e1"),
            const("type0", weight("embeddings.token_type_embeddings.weight")[0]),
        ],
        "e2",
    )
    x = norm(x, "embeddings.LayerNorm", "embedded")
    mask = op("Cast", ["attention_mask"], "mask", to=TensorProto.FLOAT)
    blocked = op("Mul", [op("Sub", [scalar["one_f"], mask], "unmasked"), scalar["masked"]], "blocked")
    blocked = op("Unsqueeze", [blocked, const("axes12", np.array([1, 2], dtype=np.int64))], "attention_bias")
    split = const("qkv_shape", np.array([0, 0, 3, heads, width // heads], dtype=np.int64))
    merged = const("merged_shape", np.array([0, 0, width], dtype=np.int64))
    scale = const("scale", np.array(1 / np.sqrt(width // heads), dtype=np.float32))
    root2 = const("sqrt2", np.array(np.sqrt(2), dtype=np.float32))
    for index in range(config["num_hidden_layers"]):
        p, n = f"encoder.layer.{index}.", f"l{index}"
        parts = [p + f"attention.self.{part}" for part in ("query", "key", "value")]
        fused = np.concatenate([weight(part + ".weight") for part in parts]).T
        qkv = op("MatMul", [x, const(n + ".qkv.w", fused)], n + ".qkv.mm")
        qkv = op(
            "Add",
            [qkv, const(n + ".qkv.b", np.concatenate([weight(part + ".bias") for part in parts]))],
            n + ".qkv",
        )
        qkv = op("Transpose", [op("Reshape", [qkv, split], n + ".qkv.r")], n + ".qkv.t", perm=[2, 0, 3, 1, 4])
        q, k, v = (
            op("Gather", [qkv, const(f"{n}.pick{i}", np.array(i, dtype=np.int64))], f"{n}.{name}", axis=0)
            for i, name in enumerate("qkv")
        )
        scores = op("MatMul", [q, op("Transpose", [k], n + ".kt", perm=[0, 1, 3, 2])], n + ".s")
        scores = op("Add", [op("Mul", [scores, scale], n + ".ss"), blocked], n + ".sb")
        context = op("MatMul", [op("Softmax", [scores], n + ".p", axis=-1), v], n + ".c")
        context = op("Reshape", [op("Transpose", [context], n + ".ct", perm=[0, 2, 1, 3]), merged], n + ".cm")
        attended = linear(context, p + "attention.output.dense", n + ".ao")
        x = norm(op("Add", [x, attended], n + ".r1"), p + "attention.output.LayerNorm", n + ".x1")
        hidden = linear(x, p + "intermediate.dense", n + ".h")
        # x * 0.5 * (1 + erf(x / sqrt 2)), written as PyTorch exports it so ONNX Runtime fuses it.
        erf = op("Erf", [op("Div", [hidden, root2], n + ".hs")], n + ".erf")
        gelu = op(
            "Mul",
            [op("Mul", [hidden, op("Add", [erf, scalar["one_f"]], n + ".e1")], n + ".g0"), scalar["half"]],
            n + ".g",
        )
        x = norm(
            op("Add", [x, linear(gelu, p + "output.dense", n + ".o")], n + ".r2"),
            p + "output.LayerNorm",
            n + ".x2",
        )
    weights_mask = op("Unsqueeze", [mask, ints["i2"]], "mask3")
    total = op("ReduceSum", [op("Mul", [x, weights_mask], "kept"), ints["i1"]], "total", keepdims=0)
    count = op(
        "Max", [op("ReduceSum", [weights_mask, ints["i1"]], "count", keepdims=0), scalar["tiny"]], "count1"
    )
    op("Div", [total, count], "pooled")
    op("Identity", [x], "tokens")
    graph = helper.make_graph(
        nodes,
        "sentence_bert",
        [
            helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "length"])
            for name in ("input_ids", "attention_mask")
        ],
        [
            helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", width]),
            helper.make_tensor_value_info("tokens", TensorProto.FLOAT, ["batch", "length", width]),
        ],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)])
    model.ir_version = 8  # read by every ONNX Runtime since 1.10
    return bytes(model.SerializeToString())


def default_cache_dir() -> Path:
    """The user's cache folder for persona-mcp (the cache_dir setting overrides it)."""
    return Path(platformdirs.user_cache_dir("persona-mcp", appauthor=False))


def _graph_name(folder: Path, weights_sha256: str | None) -> str:
    """The cached graph's file name: keyed by the content of the weights and config it is built
    from (not the folder's path), so every install of the same model shares one file. A caller
    that has already checked the weights' SHA-256 gives it, and the 90 MB are not read again."""
    digest = hashlib.blake2b(
        f"{GRAPH_VERSION}|".encode() + (folder / "config.json").read_bytes(), digest_size=8
    )
    if weights_sha256 is not None:
        digest.update(f"|sha256:{weights_sha256}".encode())
    else:
        with (folder / "model.safetensors").open("rb") as weights:
            while chunk := weights.read(1 << 22):
                digest.update(chunk)
    return f"{folder.parent.name}-{folder.name}-{digest.hexdigest()}.onnx"


def _graph_file(folder: Path, cache: Path | None, weights_sha256: str | None) -> Path:
    """The cached graph, built first if missing. It is written to a temporary file and renamed,
    so two processes starting at once never read half a file. A cache folder that cannot be
    written (read-only home, full disk) gives way to a private temporary folder."""
    name = _graph_name(folder, weights_sha256)
    path = (cache or default_cache_dir()) / "onnx" / name
    if path.is_file():
        return path
    try:
        return _write_graph(folder, path)
    except OSError:
        return _write_graph(folder, Path(tempfile.mkdtemp(prefix="persona-mcp-")) / "onnx" / name)


def _write_graph(folder: Path, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".partial", delete=False) as handle:
        handle.write(build_graph(folder))
    os.replace(handle.name, path)
    prefix = path.name.rsplit("-", 1)[0] + "-"
    for stale in path.parent.glob(f"{prefix}*.onnx"):  # an older version of this model's graph
        if stale != path:
            stale.unlink(missing_ok=True)
    return path


class OnnxBert:
    """One loaded model: tokenizer plus ONNX Runtime session. Not safe for concurrent calls."""

    def __init__(self, folder: Path, cache: Path | None = None, weights_sha256: str | None = None) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Idle pool threads sleep instead of spinning: a server embeds a query now and then, and a
        # spinning thread burned 20 ms of CPU per search (half a core under load) for nothing.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")

        def session(graph: Path) -> Any:
            # From a file path: ONNX Runtime's Python wrapper keeps a bytes model alive (90 MB).
            return onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])

        graph = _graph_file(folder, cache, weights_sha256)
        try:
            self._session = session(graph)
        except Exception:  # a damaged cache file (ONNX Runtime raises its own Fail types): build it again
            graph.unlink(missing_ok=True)
            self._session = session(_graph_file(folder, cache, weights_sha256))
        settings = folder / "sentence_bert_config.json"
        max_length = int(_json(settings).get("max_seq_length", 512)) if settings.is_file() else 512
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length)
        self._tokenizer.enable_padding()
        self.dimension = int(_json(folder / "config.json")["hidden_size"])

    def encode(self, batch: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one per text."""
        return self._run(batch, with_tokens=False)[0]

    def encode_tokens(self, batch: list[str]) -> tuple[np.ndarray, list[TokenVectors]]:
        """The vectors of `encode`, and each text's tokens with their contextual vectors (the
        model's last layer, before pooling), from the same pass."""
        return self._run(batch, with_tokens=True)

    def _run(self, batch: list[str], with_tokens: bool) -> tuple[np.ndarray, list[TokenVectors]]:
        encoded = self._tokenizer.encode_batch(batch)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        outputs = ["pooled", "tokens"] if with_tokens else ["pooled"]
        results = self._session.run(outputs, {"input_ids": ids, "attention_mask": mask})
        pooled = results[0]
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        tokens = []
        if with_tokens:
            for row, encoding in enumerate(encoded):
                # Without padding and the special tokens ([CLS], [SEP]) that every text has.
                keep = [i for i, special in enumerate(encoding.special_tokens_mask) if not special]
                tokens.append(
                    TokenVectors(
                        [encoding.tokens[i] for i in keep], np.asarray(results[1][row, keep], np.float32)
                    )
                )
        return np.asarray(pooled / norms, dtype=np.float32), tokens
