"""Int8 execution of the Whisper text decoder with ONNX Runtime, for phrase scoring.

Scoring every expected phrase is matrix-multiply bound: the numpy decoder in
``asr.phrase_scorer`` already runs at the BLAS float32 peak of this CPU. ONNX Runtime's
dynamically quantised MatMul (int8 weights per output channel, uint8 activations) runs on the
CPU's integer dot-product instructions (VNNI) and scores the same phrases with about a third of
the CPU (bench: main menu, 254 phrases, 1.6 -> 0.53 CPU-s on one thread); token log-probabilities
move by about 0.1 nat on average, which the bench shows does not change the routing.

The graph is written here from the CTranslate2 weights (there is no CTranslate2 -> ONNX
exporter, and torch is not a dependency): the same pre-norm transformer as
``WhisperDecoderScorer.hidden`` plus the output projection over the normaliser vocabulary and
its log-sum-exp. It is quantised with ``onnxruntime.quantization`` (its log lines held back:
``quiet_quantizer``) and cached on disk under a hash of the weights, the vocabulary and
``GRAPH_VERSION``, beside a stamp of its size and SHA-256, so later starts only check and load
it.

Inputs: ``x`` (B, L, D) token embeddings plus positions; ``mask`` (B or 1, 1, L, L) additive
self-attention mask among the sequence's own tokens (causal, or a tree's ancestors: packed
phrases, ``phrase_scorer.pack_rows``);
per layer ``pk``/``pv`` the self-attention keys (H, dh, P) and values (H, P, dh) of the shared
prefix, ``ck``/``cv`` the cross-attention keys (H, dh, T) and values (H, T, dh) of the audio.
Outputs: ``h`` (B, L, D) final hidden states and ``lse`` (B, L) the log-sum-exp of the logits;
for incremental (greedy) decoding also ``logits`` (B, L, V) over the normaliser vocabulary and
per layer ``k{i}`` (B, H, dh, L) / ``v{i}`` (B, H, L, dh), the sequence's own self-attention
keys and values, which the next step appends to ``pk``/``pv``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import platform
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

GRAPH_VERSION = 4  # 4: the mask is (B or 1, 1, L, L) (packed phrase trees)
OPSET = 20


def available() -> bool:
    """Whether ONNX Runtime and the onnx graph library are installed."""
    # found, not imported: importing onnx costs ~0.7 s of start-up (ml_dtypes), and it is
    # only needed when the graph is built
    try:
        return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnxruntime"))
    except (ImportError, ValueError):
        return False


def saturation_risk() -> bool:
    """x86-64 without VNNI multiplies uint8 by int8 with 16-bit intermediate sums that can
    saturate; ONNX Runtime's advice there is 7-bit weights (``reduce_range``)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True
    return re.search(r"\b(avx512_vnni|avx_vnni)\b", flags) is None


def causal_mask(length: int) -> np.ndarray:
    """The additive causal self-attention mask, (1, 1, L, L), shared by every row."""
    return np.triu(np.full((length, length), -np.inf, dtype=np.float32), 1)[None, None]


def build_graph(layers: Sequence[dict], out_g: np.ndarray, out_b: np.ndarray, proj: np.ndarray, heads: int):
    """The float32 decoder graph (an ``onnx.ModelProto``)."""
    import onnx
    from onnx import TensorProto
    from onnx import helper as oh
    from onnx import numpy_helper as nh

    D = out_g.shape[0]
    H = heads
    dh = D // H
    inits: list = []
    nodes: list = []
    count = [0]

    def const(name: str, arr) -> str:
        arr = np.asarray(arr)
        inits.append(nh.from_array(np.ascontiguousarray(arr) if arr.ndim else arr, name))
        return name

    def op(kind: str, inputs: list[str], output: str | None = None, **attrs) -> str:
        count[0] += 1
        out = output or f"{kind.lower()}_{count[0]}"
        nodes.append(oh.make_node(kind, inputs, [out], **attrs))
        return out

    def linear(x: str, w: np.ndarray, b: np.ndarray, name: str) -> str:
        return op("Add", [op("MatMul", [x, const(name + "_w", w)]), const(name + "_b", b)])

    def norm(x: str, g: np.ndarray, b: np.ndarray, name: str, output: str | None = None) -> str:
        return op("LayerNormalization", [x, const(name + "_g", g), const(name + "_b", b)], output,
                  axis=-1, epsilon=1e-5)

    scale = const("scale", np.float32(1.0 / np.sqrt(dh)))
    to_qkv = const("to_qkv", np.asarray([0, 0, 3, H, dh], dtype=np.int64))
    to_model = const("to_model", np.asarray([0, 0, D], dtype=np.int64))
    axis3 = const("axis3", np.asarray([3], dtype=np.int64))
    zero = const("zero", np.asarray([0], dtype=np.int64))
    end = const("end", np.asarray([1 << 30], dtype=np.int64))
    last = const("last", np.asarray([-1], dtype=np.int64))
    picks = [const(f"pick{i}", np.int64(i)) for i in range(3)]
    inputs = [oh.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "L", D]),
              oh.make_tensor_value_info("mask", TensorProto.FLOAT, ["MB", 1, "L", "L"])]
    for i in range(len(layers)):
        for name, dims in (("pk", [H, dh, "P"]), ("pv", [H, "P", dh]), ("ck", [H, dh, "T"]), ("cv", [H, "T", dh])):
            inputs.append(oh.make_tensor_value_info(f"{name}{i}", TensorProto.FLOAT, dims))
    prefix_len = op("Shape", ["pv0"], start=1, end=2)
    rows_heads = const("rows_heads", np.asarray([-1, H, dh], dtype=np.int64))
    batch_model = op("Concat", [op("Shape", ["x"], start=0, end=2), const("model_dim", np.asarray([D], dtype=np.int64))],
                     axis=0)
    x = "x"
    for i, L in enumerate(layers):
        p = f"l{i}_"
        # self-attention over the shared prefix and the sequence itself (causal)
        qkv = op("Reshape", [linear(norm(x, L["sa_g"], L["sa_b"], p + "sa"), L["sa_w"], L["sa_bias"], p + "sa_in"), to_qkv])
        q = op("Transpose", [op("Gather", [qkv, picks[0]], axis=2)], perm=[0, 2, 1, 3])
        k_t = op("Transpose", [op("Gather", [qkv, picks[1]], axis=2)], perm=[0, 2, 3, 1])
        v = op("Transpose", [op("Gather", [qkv, picks[2]], axis=2)], perm=[0, 2, 1, 3])
        op("Identity", [k_t], output=f"k{i}")
        op("Identity", [v], output=f"v{i}")
        own = op("Add", [op("Mul", [op("MatMul", [q, k_t]), scale]), "mask"])
        shared = op("Mul", [op("MatMul", [q, f"pk{i}"]), scale])
        weights = op("Softmax", [op("Concat", [shared, own], axis=-1)], axis=-1)
        a = op("Add", [op("MatMul", [op("Slice", [weights, zero, prefix_len, axis3]), f"pv{i}"]),
                       op("MatMul", [op("Slice", [weights, prefix_len, end, axis3]), v])])
        a = op("Reshape", [op("Transpose", [a], perm=[0, 2, 1, 3]), to_model])
        x = op("Add", [x, linear(a, L["sa_o"], L["sa_ob"], p + "sa_out")])
        # cross-attention to the audio: every token of the batch as one row block per head
        # (H, B*L, dh) x (H, dh, T): a few large products instead of B*H small ones
        q = linear(norm(x, L["ca_g"], L["ca_b"], p + "ca"), L["ca_q"], L["ca_qb"], p + "ca_q")
        q = op("Transpose", [op("Reshape", [q, rows_heads])], perm=[1, 0, 2])
        weights = op("Softmax", [op("Mul", [op("MatMul", [q, f"ck{i}"]), scale])], axis=-1)
        a = op("Transpose", [op("MatMul", [weights, f"cv{i}"])], perm=[1, 0, 2])
        a = op("Reshape", [a, batch_model])
        x = op("Add", [x, linear(a, L["ca_o"], L["ca_ob"], p + "ca_out")])
        # feed-forward
        f = op("Gelu", [linear(norm(x, L["ff_g"], L["ff_b"], p + "ff"), L["ff_1"], L["ff_1b"], p + "ff_1")])
        x = op("Add", [x, linear(f, L["ff_2"], L["ff_2b"], p + "ff_2")])
    h = norm(x, out_g, out_b, "out", output="h")
    logits = op("MatMul", [h, const("proj", proj)], output="logits")
    # log-sum-exp = logit - log-softmax of any one column: LogSoftmax is one vectorised pass,
    # ReduceLogSumExp several slow ones (13% of the run)
    first = op("Gather", [logits, zero], axis=2)
    lsm = op("Gather", [op("LogSoftmax", [logits], axis=-1), zero], axis=2)
    op("Squeeze", [op("Sub", [first, lsm]), last], output="lse")
    outputs = [oh.make_tensor_value_info("h", TensorProto.FLOAT, ["B", "L", D]),
               oh.make_tensor_value_info("lse", TensorProto.FLOAT, ["B", "L"]),
               oh.make_tensor_value_info("logits", TensorProto.FLOAT, ["B", "L", proj.shape[1]])]
    for i in range(len(layers)):
        outputs.append(oh.make_tensor_value_info(f"k{i}", TensorProto.FLOAT, ["B", H, dh, "L"]))
        outputs.append(oh.make_tensor_value_info(f"v{i}", TensorProto.FLOAT, ["B", H, "L", dh]))
    model = oh.make_model(oh.make_graph(nodes, "whisper_text_decoder", inputs, outputs, inits),
                          opset_imports=[oh.make_opsetid("", OPSET)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    return model


def graph_key(layers: Sequence[dict], out_g: np.ndarray, out_b: np.ndarray, proj: np.ndarray, heads: int,
              reduce_range: bool = False) -> str:
    h = hashlib.sha256(f"v{GRAPH_VERSION} heads={heads} proj={proj.shape} reduce={reduce_range}".encode())
    for L in layers:
        for name in sorted(L):
            h.update(name.encode())
            h.update(np.ascontiguousarray(L[name]).tobytes())
    for arr in (out_g, out_b, proj):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:24]


_ORT_PACKAGE = os.sep + "onnxruntime" + os.sep


class _QuantizerNoise(logging.Filter):
    """Drops what ``onnxruntime.quantization`` logs on the root logger below WARNING (one line
    per MatMul it skips and per tensor without parameters: ~70 lines for this graph) and its
    advice to pre-process shapes, which does not apply here."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _ORT_PACKAGE not in record.pathname:
            return True
        return record.levelno >= logging.WARNING and "pre-processing before quantization" not in record.getMessage()


@contextlib.contextmanager
def quiet_quantizer():
    """Keep the quantiser's chatter out of the application's log for the duration of a
    quantisation: it logs through the root logger itself (a filter there sees only records
    logged on it, and this one passes every record not made by onnxruntime's code), and
    through ``onnxruntime.*`` loggers (held at WARNING meanwhile unless configured)."""
    root = logging.getLogger()
    named = logging.getLogger("onnxruntime")
    noise = _QuantizerNoise()
    root.addFilter(noise)
    raised = named.level == logging.NOTSET
    if raised:
        named.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.removeFilter(noise)
        if raised:
            named.setLevel(logging.NOTSET)


def quantize(model, target: Path, reduce_range: bool = False) -> None:
    """Dynamic int8 quantisation of every weight MatMul, written atomically to ``target``."""
    import onnx
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".decoder-") as tmp:
        plain = Path(tmp) / "float32.onnx"
        onnx.save(model, str(plain))
        out = Path(tmp) / "int8.onnx"
        # MatMulConstBOnly: only products with a weight are quantised (attention stays float);
        # DefaultTensorType: shape inference cannot type every node of a graph with symbolic
        # dimensions, and every tensor here is float32
        with quiet_quantizer():
            quantize_dynamic(str(plain), str(out), weight_type=QuantType.QInt8, per_channel=True,
                             reduce_range=reduce_range, op_types_to_quantize=["MatMul"],
                             extra_options={"MatMulConstBOnly": True, "DefaultTensorType": TensorProto.FLOAT})
        os.replace(out, target)


def _stamp_path(graph: Path) -> Path:
    return graph.with_suffix(".json")


def read_verified(graph: Path) -> bytes | None:
    """The cached graph's bytes if its stamp (written after it: size and SHA-256) matches;
    None when either file is missing or they disagree (a damaged or unfinished build)."""
    try:
        stamp = json.loads(_stamp_path(graph).read_text("utf-8"))
        data = graph.read_bytes()
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("cached int8 decoder %s unreadable (%s); rebuilding it", graph.name, exc)
        return None
    if (not isinstance(stamp, dict) or stamp.get("bytes") != len(data)
            or stamp.get("sha256") != hashlib.sha256(data).hexdigest()):
        log.warning("cached int8 decoder %s does not match its stamp; rebuilding it", graph.name)
        return None
    return data


def write_stamp(graph: Path, data: bytes) -> None:
    """Record the built graph's size and SHA-256 beside it (atomically, after the graph)."""
    import onnxruntime

    stamp = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "graph_version": GRAPH_VERSION,
             "onnxruntime": onnxruntime.__version__}
    fd, tmp = tempfile.mkstemp(dir=graph.parent, prefix=".stamp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(stamp, f)
        os.replace(tmp, _stamp_path(graph))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Int8Decoder:
    """An ONNX Runtime session running the quantised decoder; ``run`` is thread-safe and
    releases the GIL, so batches run in parallel threads with one intra-op thread each.

    The quantised graph is cached as ``decoder-int8-<key>.onnx`` with a stamp
    ``decoder-int8-<key>.json`` (its size and SHA-256) written after it; a graph whose stamp is
    missing or does not match is built again. ``digest`` is the SHA-256 of the graph in use
    (results computed with it can be cached under it)."""

    def __init__(self, layers: Sequence[dict], out_g: np.ndarray, out_b: np.ndarray, proj: np.ndarray,
                 heads: int, cache_dir: str | Path | None = None) -> None:
        import onnxruntime as ort

        reduce_range = saturation_risk()

        def build(target: Path) -> bytes:
            quantize(build_graph(layers, out_g, out_b, proj, heads), target, reduce_range)
            return target.read_bytes()

        def build_in_memory() -> bytes:
            with tempfile.TemporaryDirectory(prefix="ivr-decoder-") as tmp:
                return build(Path(tmp) / "decoder.onnx")

        def build_cached(path: Path) -> bytes:
            data = build(path)
            write_stamp(path, data)
            log.info("int8 decoder built", extra={"path": str(path)})
            return data

        path = data = None
        if cache_dir is not None:
            path = Path(cache_dir) / f"decoder-int8-{graph_key(layers, out_g, out_b, proj, heads, reduce_range)}.onnx"
            data = read_verified(path)
            if data is None:
                try:
                    data = build_cached(path)
                except OSError as exc:  # read-only cache: build in a temporary directory
                    log.warning("cannot cache the int8 decoder (%s); building it in memory", exc)
                    path = None
        if data is None:
            data = build_in_memory()
        self.path: Path | None = path
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3

        def load(graph: bytes):
            return ort.InferenceSession(graph, so, providers=["CPUExecutionProvider"])

        try:
            self.session = load(data)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            if self.path is None:
                raise
            # a cached file that matches its stamp yet does not load (both rewritten by
            # something else): build it again in place (atomically) and load that
            log.warning("cached int8 decoder %s unreadable (%s); rebuilding it", self.path.name, exc)
            data = build_cached(self.path)
            self.session = load(data)
        self.digest = hashlib.sha256(data).hexdigest()

    @classmethod
    def of_session(cls, session) -> "Int8Decoder":
        """Wrap an existing ONNX Runtime session of this graph (tests run the float32 one)."""
        dec = cls.__new__(cls)
        dec.path, dec.session, dec.digest = None, session, None
        return dec

    @staticmethod
    def feeds(past: Sequence[tuple[np.ndarray, np.ndarray]],
              cross: Sequence[tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
        """The per-utterance inputs: prefix self-attention and audio cross-attention K/V, as
        produced by ``WhisperDecoderScorer`` (keys transposed here once per utterance)."""
        out: dict[str, np.ndarray] = {}
        for i, ((pk, pv), (ck, cv)) in enumerate(zip(past, cross, strict=True)):
            out[f"pk{i}"] = np.ascontiguousarray(pk.transpose(0, 2, 1))
            out[f"pv{i}"] = pv
            out[f"ck{i}"] = np.ascontiguousarray(ck.transpose(0, 2, 1))
            out[f"cv{i}"] = cv
        return out

    def run(self, x: np.ndarray, feeds: dict[str, np.ndarray],
            mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Final hidden states and log-sum-exps of a batch; ``mask`` (B, 1, L, L): which of
        its own tokens each token attends to (0 or -inf); None: causal."""
        if mask is None:
            mask = causal_mask(x.shape[1])
        h, lse = self.session.run(["h", "lse"], {"x": np.ascontiguousarray(x, dtype=np.float32), "mask": mask, **feeds})
        return h, lse

    def step(self, x: np.ndarray, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """One incremental step for a single sequence: ``x`` (1, L, D) -> logits (L, V) over
        the normaliser vocabulary and per layer this step's (K (H, dh, L), V (H, L, dh)), in
        the layout of ``feeds``' ``pk``/``pv`` (append along their last / middle axis)."""
        mask = causal_mask(x.shape[1])
        n = sum(1 for k in feeds if k.startswith("pk"))
        names = ["logits"] + [f"{kind}{i}" for i in range(n) for kind in ("k", "v")]
        out = self.session.run(names, {"x": np.ascontiguousarray(x, dtype=np.float32), "mask": mask, **feeds})
        return out[0][0], [(out[1 + 2 * i][0], out[2 + 2 * i][0]) for i in range(n)]
