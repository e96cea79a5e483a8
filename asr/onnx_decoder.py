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
its log-sum-exp. It is quantised with ``onnxruntime.quantization`` and cached on disk under a
hash of the weights, the vocabulary and ``GRAPH_VERSION``, so later starts only load it.

Inputs: ``x`` (B, L, D) token embeddings plus positions; ``mask`` (L, L) additive causal mask;
per layer ``pk``/``pv`` the self-attention keys (H, dh, P) and values (H, P, dh) of the shared
prefix, ``ck``/``cv`` the cross-attention keys (H, dh, T) and values (H, T, dh) of the audio.
Outputs: ``h`` (B, L, D) final hidden states and ``lse`` (B, L) the log-sum-exp of the logits;
for incremental (greedy) decoding also ``logits`` (B, L, V) over the normaliser vocabulary and
per layer ``k{i}`` (B, H, dh, L) / ``v{i}`` (B, H, L, dh), the sequence's own self-attention
keys and values, which the next step appends to ``pk``/``pv``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

GRAPH_VERSION = 3
OPSET = 20


def available() -> bool:
    """Whether ONNX Runtime and the onnx graph library can be imported."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


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
              oh.make_tensor_value_info("mask", TensorProto.FLOAT, ["L", "L"])]
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


def _quiet_preprocessing_hint(record: logging.LogRecord) -> bool:
    """The quantiser advises shape pre-processing on the root logger; it does not apply here."""
    return "pre-processing before quantization" not in record.getMessage()


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
        root = logging.getLogger()
        root.addFilter(_quiet_preprocessing_hint)
        try:
            quantize_dynamic(str(plain), str(out), weight_type=QuantType.QInt8, per_channel=True,
                             reduce_range=reduce_range, op_types_to_quantize=["MatMul"],
                             extra_options={"MatMulConstBOnly": True, "DefaultTensorType": TensorProto.FLOAT})
        finally:
            root.removeFilter(_quiet_preprocessing_hint)
        os.replace(out, target)


class Int8Decoder:
    """An ONNX Runtime session running the quantised decoder; ``run`` is thread-safe and
    releases the GIL, so batches run in parallel threads with one intra-op thread each."""

    def __init__(self, layers: Sequence[dict], out_g: np.ndarray, out_b: np.ndarray, proj: np.ndarray,
                 heads: int, cache_dir: str | Path | None = None) -> None:
        import onnxruntime as ort

        reduce_range = saturation_risk()

        def build(target: Path) -> None:
            quantize(build_graph(layers, out_g, out_b, proj, heads), target, reduce_range)

        path = None
        if cache_dir is not None:
            path = Path(cache_dir) / f"decoder-int8-{graph_key(layers, out_g, out_b, proj, heads, reduce_range)}.onnx"
            if not path.is_file():
                try:
                    build(path)
                    log.info("int8 decoder built", extra={"path": str(path)})
                except OSError as exc:  # read-only cache: build in a temporary directory
                    log.warning("cannot cache the int8 decoder (%s); building it in memory", exc)
                    path = None
        self.path: Path | None = path
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3

        def load():
            if self.path is not None:
                return ort.InferenceSession(self.path.read_bytes(), so, providers=["CPUExecutionProvider"])
            with tempfile.TemporaryDirectory(prefix="ivr-decoder-") as tmp:
                build(Path(tmp) / "decoder.onnx")
                return ort.InferenceSession((Path(tmp) / "decoder.onnx").read_bytes(), so,
                                            providers=["CPUExecutionProvider"])

        try:
            self.session = load()
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            if self.path is None:
                raise
            # a damaged cache file: build it again in place (atomically) and load that
            log.warning("cached int8 decoder %s unreadable (%s); rebuilding it", self.path.name, exc)
            build(self.path)
            self.session = load()

    @classmethod
    def of_session(cls, session) -> "Int8Decoder":
        """Wrap an existing ONNX Runtime session of this graph (tests run the float32 one)."""
        dec = cls.__new__(cls)
        dec.path, dec.session = None, session
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

    def run(self, x: np.ndarray, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        Lt = x.shape[1]
        mask = np.triu(np.full((Lt, Lt), -np.inf, dtype=np.float32), 1)
        h, lse = self.session.run(["h", "lse"], {"x": np.ascontiguousarray(x, dtype=np.float32), "mask": mask, **feeds})
        return h, lse

    def step(self, x: np.ndarray, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """One incremental step for a single sequence: ``x`` (1, L, D) -> logits (L, V) over
        the normaliser vocabulary and per layer this step's (K (H, dh, L), V (H, L, dh)), in
        the layout of ``feeds``' ``pk``/``pv`` (append along their last / middle axis)."""
        Lt = x.shape[1]
        mask = np.triu(np.full((Lt, Lt), -np.inf, dtype=np.float32), 1)
        n = sum(1 for k in feeds if k.startswith("pk"))
        names = ["logits"] + [f"{kind}{i}" for i in range(n) for kind in ("k", "v")]
        out = self.session.run(names, {"x": np.ascontiguousarray(x, dtype=np.float32), "mask": mask, **feeds})
        return out[0][0], [(out[1 + 2 * i][0], out[2 + 2 * i][0]) for i in range(n)]
