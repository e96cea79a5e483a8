"""Which phrase-scoring decoder is fastest on this CPU: the phrase batches of a lone caller's
main-menu turn (first stage: 4 phrases per label; second stage: every other phrase) timed with
several builds of the ONNX Runtime decoder graph and with numpy float32, interleaved rep by rep
(the machine's load falls on every variant alike). Also prints how far each variant's token
log-probabilities are from float32 numpy and whether the label ranking changes.

    python bench/probe_avx2_int8.py [--reps 6] [--accuracy] [--variants cur,cur@16:8,u8u8,fp32,...]

Variants: cur (the engine's graph), s8full (8-bit weights), s8rr (7-bit, rebuilt), u8u8
(unsigned weights), u8u8_tensor / s8_tensor (one scale per tensor), fp32 (the float graph),
numpy (the float32 numpy decoder), nospin (cur without intra-op spinning); @B batches of B
phrases, @B:P P phrases a packed row (``pack_phrases``). CPU figures are the process's CPU time
(both scorer threads), steadier than wall time on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TEXTS = ["saya mau mengurus KTP yang hilang", "bagaimana cara membuat kartu keluarga baru",
         "saya ingin membuat akta kelahiran anak saya", "mau mengurus akta kematian bapak saya"]
MORE = ["saya mau bayar pajak bumi dan bangunan", "tolong ada kebakaran di rumah tetangga",
        "saya mau tanya soal bantuan sosial", "perpanjang pajak kendaraan motor saya",
        "saya mau lapor jalan rusak", "anak saya mau daftar sekolah", "mau bicara dengan petugas",
        "saya ingin mengurus surat pindah"]


def _session(model_bytes: bytes, spin: bool = True, opt_all: bool = True):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if opt_all
                                   else ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)
    so.log_severity_level = 3
    if not spin:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def _quantized(model, tmp: Path, name: str, **kw) -> bytes:
    import onnx
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from asr.onnx_decoder import quiet_quantizer

    plain = tmp / "float32.onnx"
    if not plain.exists():
        onnx.save(model, str(plain))
    out = tmp / f"{name}.onnx"
    args = {"weight_type": QuantType.QInt8, "per_channel": True, "reduce_range": False}
    args.update(kw)
    with quiet_quantizer():
        quantize_dynamic(str(plain), str(out), op_types_to_quantize=["MatMul"],
                         extra_options={"MatMulConstBOnly": True, "DefaultTensorType": TensorProto.FLOAT}, **args)
    return out.read_bytes()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=6)
    ap.add_argument("--variants", default="cur,s8full,u8u8,u8u8_tensor,s8_tensor,fp32,numpy,nospin",
                    help="comma-separated; name@B runs batches of B phrases, name@B:P packs P phrases a row")
    ap.add_argument("--accuracy", action="store_true", help="also compare log-probabilities with numpy float32")
    args = ap.parse_args()
    from onnxruntime.quantization import QuantType

    from asr import Expectation, audio
    from asr.onnx_decoder import Int8Decoder, build_graph
    from asr.whisper_backend import WhisperEngine
    from dialogs import default_script_path, load_script
    from tests import speechgen

    script = load_script(default_script_path())
    menu = Expectation(script.expectations(script.entry_menu), kind="intent")
    eng = WhisperEngine()
    prep = eng.prepared(menu)
    sc = eng.scorer
    cur, pack0 = sc._int8, sc.pack
    s1 = [prep.seqs[i] for i in np.nonzero(prep.stage1)[0]]
    s2 = [prep.seqs[i] for i in np.nonzero(~prep.stage1)[0]]
    vnni = "vnni" in Path("/proc/cpuinfo").read_text()
    print(f"phrases: stage1 {len(s1)} ({sum(map(len, s1))} tokens), stage2 {len(s2)} ({sum(map(len, s2))} tokens); "
          f"normaliser vocabulary {sc._int8_proj.shape[1]}; VNNI {vnni}")
    kvs = []
    for i, t in enumerate(TEXTS + (MORE if args.accuracy else [])):
        pcm = audio.resample(speechgen.phone_utterance(t, "id+m3", 160, 50, level_dbfs=-24, snr_db=25, seed=i),
                             8000, 16000)
        enc = np.asarray(eng.encode(pcm, eng.frames_for(len(pcm) / 32000, prep.fit_window)))[0]
        kvs.append(sc.cross_kv(enc))
    print("encoder frames", enc.shape)
    with sc._vocab_lock:
        proj, _ = sc._projection()
    model = build_graph(sc.layers, sc.out_g, sc.out_b, proj, sc.heads)
    decs: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        for v in args.variants.split(","):
            v = v.partition("@")[0]
            if v in decs:
                continue
            if v == "cur":
                decs[v] = cur
            elif v == "numpy":
                decs[v] = None
            elif v == "fp32":
                decs[v] = Int8Decoder.of_session(_session(model.SerializeToString()))
            elif v == "nospin":
                decs[v] = Int8Decoder.of_session(_session(cur.path.read_bytes(), spin=False))
            elif v == "s8full":
                decs[v] = Int8Decoder.of_session(_session(_quantized(model, tmp, v)))
            elif v == "s8rr":
                decs[v] = Int8Decoder.of_session(_session(_quantized(model, tmp, v, reduce_range=True)))
            elif v == "u8u8":
                decs[v] = Int8Decoder.of_session(_session(_quantized(model, tmp, v, weight_type=QuantType.QUInt8)))
            elif v == "u8u8_tensor":
                decs[v] = Int8Decoder.of_session(_session(_quantized(model, tmp, v, weight_type=QuantType.QUInt8,
                                                                     per_channel=False)))
            elif v == "s8_tensor":
                decs[v] = Int8Decoder.of_session(_session(_quantized(model, tmp, v, per_channel=False,
                                                                     reduce_range=True)))
            else:
                sys.exit(f"unknown variant {v}")

    def run(v: str, seqs, kv):
        name, _, b = v.partition("@")
        b, _, pk = b.partition(":")
        if decs[name] is None:
            return sc.token_logprobs(eng.prefix, seqs, kv, precision="float32")
        sc._int8, sc.pack = decs[name], int(pk or 1)
        try:
            return sc.token_logprobs(eng.prefix, seqs, kv, batch=int(b) if b else None)
        finally:
            sc._int8, sc.pack = cur, pack0

    # accuracy against numpy float32, on every utterance
    ref = {}
    for ui, kv in enumerate(kvs if args.accuracy else ()):
        ref[ui] = [sc.token_logprobs(eng.prefix, s, kv, precision="float32") for s in (s1, s2)]
    allseq_idx = np.concatenate([np.nonzero(prep.stage1)[0], np.nonzero(~prep.stage1)[0]])
    variants = args.variants.split(",")
    for v in variants if args.accuracy else ():
        diffs, ranks, top3, lab_diff = [], 0, 0, []
        for ui, kv in enumerate(kvs):
            got = run(v, s1, kv) + run(v, s2, kv)
            want = ref[ui][0] + ref[ui][1]
            diffs.extend(float(np.abs(g - w).mean()) for g, w in zip(got, want, strict=True))
            per = np.empty(len(prep.seqs))
            per_ref = np.empty(len(prep.seqs))
            per[allseq_idx] = [float(g.sum()) / len(g) for g in got]
            per_ref[allseq_idx] = [float(w.sum()) / len(w) for w in want]
            lab = prep.label_scores(per)
            lab_ref = prep.label_scores(per_ref)
            ranks += int(np.argmax(lab) == np.argmax(lab_ref))
            top3 += int(set(np.argsort(-lab)[:3]) == set(np.argsort(-lab_ref)[:3]))
            lab_diff.append(float(np.abs(lab - lab_ref).mean()))
        print(f"{v:12s} mean |dlogp| vs numpy fp32 {np.mean(diffs):.4f} (max per phrase {np.max(diffs):.3f}); "
              f"label scores |d| {np.mean(lab_diff):.4f}; top label same {ranks}/{len(kvs)}, "
              f"top-3 set same {top3}/{len(kvs)}")
    times: dict[str, dict[str, list[float]]] = {v: {"s1": [], "s2": [], "cpu1": [], "cpu2": []} for v in variants}
    kvs = kvs[:len(TEXTS)]
    for v in variants:  # warm
        run(v, s1, kvs[0])
    load0 = os.getloadavg()[0]
    order = variants
    for rep in range(args.reps):
        for ui, kv in enumerate(kvs):
            for v in (order if (rep + ui) % 2 == 0 else order[::-1]):
                for st, seqs in (("s1", s1), ("s2", s2)):
                    t0, c0 = time.perf_counter(), time.process_time()
                    run(v, seqs, kv)
                    times[v][st].append((time.perf_counter() - t0) * 1000)
                    times[v]["cpu" + st[1]].append((time.process_time() - c0) * 1000)
    for v in variants:
        parts = []
        for st in ("s1", "s2", "cpu1", "cpu2"):
            xs = times[v][st]
            q1, q3 = np.percentile(xs, [25, 75])
            parts.append(f"{st} {statistics.median(xs):6.1f} ms [{q1:.0f}-{q3:.0f}]")
        print(f"{v:12s} " + "  ".join(parts))
    print(f"load {load0:.2f} -> {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
