"""Experiment (issue 16, phase 6, helper pool): a small 1-D convolution over the encoder
frames with max- and mean-over-time, trained with PyTorch (fit time only; run time is numpy,
``asr.audio_intent.AudioIntentModel`` with ``conv_*`` fields).

Needs torch, which the project's venv lacks: run with a separate venv that has torch and numpy
(``python3 -m venv /tmp/v && /tmp/v/bin/pip install torch==2.13.0 numpy``; a plain ``torch``
takes a multi-GB CUDA build, see docs/speech.md), on the frames cached by bench/pool_frames.py:

    /tmp/v/bin/python bench/pool_conv.py --frames-dir <bench cache>/embed --out /tmp/conv.npz \
        [--proj 96] [--filters 128] [--kernel 5] [--epochs 12]

The epoch is chosen by the classifier's dev accuracy alone (in-scope renderings); writes the
weights (an .npz that ``AudioIntentModel.load`` reads, weight 1: the fusion weight is chosen by
bench/pool_intent.py --model). Prints the dev accuracy per epoch and one JSON line.

Phase 7 (helper ens): members of an ensemble are separate runs (``--seed``), joined at
evaluation by ``bench/pool_intent.py --models a.npz+b.npz+c.npz`` (``AudioIntentModel.ensemble``).
Optional training-time augmentation of the frames, all off by default (phase 6's training):
``--speed`` (frame-rate jitter), ``--crop`` (ends cut), ``--mask``/``--masks`` (time masks),
``--noise``; ``--smooth`` (label smoothing, 0.05 as before); ``--ema`` (an exponential moving
average of the weights, judged and written instead of the raw ones); ``--kernel-to`` (a narrower
kernel written zero-padded, to join an ensemble of wider members).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn


def load(root: Path, name: str) -> dict:
    paths = sorted(root.glob(f"frames-{name}.*.npz"), key=lambda p: p.stat().st_mtime)
    z = np.load(paths[-1])
    return {k: z[k] for k in z.files}


def seqs(fr: dict, down: int) -> list[np.ndarray]:
    off, f = fr["offsets"], fr["frames"]
    out = []
    for i in range(len(off) - 1):
        e = f[off[i]:off[i + 1]]
        if down > 1:
            t = (len(e) // down) * down
            e = e[:t].reshape(-1, down, e.shape[1]).mean(1, dtype=np.float32) if t else e.mean(0, keepdims=True)
        out.append(np.asarray(e, dtype=np.float16))
    return out


class Net(nn.Module):
    def __init__(self, dim: int, proj: int, filters: int, kernel: int, labels: int, drop: float) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, proj)
        self.conv = nn.Conv1d(proj, filters, kernel, padding=kernel // 2)
        self.out = nn.Linear(2 * filters, labels)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x: B x T x dim (standardised), mask: B x T (True where a frame is)
        p = self.proj(self.drop(x)) * mask[..., None]
        h = torch.relu(self.conv(p.transpose(1, 2))).transpose(1, 2)  # B x T x filters
        mx = h.masked_fill(~mask[..., None], -1e4).max(1).values
        mean = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return self.out(self.drop(torch.cat([mx, mean], 1)))


def augment(e: np.ndarray, rng: np.random.Generator, args: argparse.Namespace) -> np.ndarray:
    """One training view of a standardised utterance (frames x dims): its frame rate jittered
    (nearest frames at a rate in 1 +- ``speed``: a faster or slower speaker), up to ``crop`` of
    it cut off at each end, ``masks`` stretches of up to ``mask`` of it set to the mean (zero),
    Gaussian noise of ``noise`` standard deviations on every value."""
    n = len(e)
    if args.speed > 0 and n > 2:
        rate = 1.0 + rng.uniform(-args.speed, args.speed)
        e = e[np.minimum(n - 1, np.round(np.arange(0, n, rate)).astype(int))]
        n = len(e)
    if args.crop > 0 and n > 4:
        a = int(rng.integers(0, int(args.crop * n) + 1))
        b = int(rng.integers(0, int(args.crop * n) + 1))
        e = e[a:max(a + 1, n - b)]
        n = len(e)
    if args.mask > 0 and args.masks > 0 and n > 4:
        e = e.copy()
        for _ in range(args.masks):
            w = int(rng.integers(0, int(args.mask * n) + 1))
            s = int(rng.integers(0, max(1, n - w)))
            e[s:s + w] = 0.0
    if args.noise > 0:
        e = e + rng.standard_normal(e.shape).astype(np.float32) * args.noise
    return e


def batch(xs: list[np.ndarray], idx: np.ndarray, mean: np.ndarray, scale: np.ndarray, aug=None):
    views = [(xs[i].astype(np.float32) - mean) / scale for i in idx]
    if aug is not None:
        views = [aug(v) for v in views]
    t = max(len(v) for v in views)
    x = np.zeros((len(idx), t, xs[0].shape[1]), np.float32)
    m = np.zeros((len(idx), t), bool)
    for j, v in enumerate(views):
        x[j, :len(v)] = v
        m[j, :len(v)] = True
    return torch.from_numpy(x), torch.from_numpy(m)


def predict(net: Net, xs, idx, mean, scale) -> np.ndarray:
    net.eval()
    out = []
    with torch.no_grad():
        order = sorted(idx, key=lambda i: len(xs[i]))
        for k in range(0, len(order), 256):
            b = np.array(order[k:k + 256])
            out.append((b, net(*batch(xs, b, mean, scale)).numpy()))
    z = np.zeros((max(idx) + 1, out[0][1].shape[1]), np.float32)
    for b, v in out:
        z[b] = v
    return z[idx]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--replicas", type=int, default=24)
    ap.add_argument("--phrase-replicas", type=int, default=12)
    ap.add_argument("--down", type=int, default=2, help="average this many consecutive frames first")
    ap.add_argument("--proj", type=int, default=96)
    ap.add_argument("--filters", type=int, default=128)
    ap.add_argument("--kernel", type=int, default=5)
    ap.add_argument("--drop", type=float, default=0.2)
    ap.add_argument("--decay", type=float, default=1e-3)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--smooth", type=float, default=0.05, help="label smoothing")
    # training-time augmentation of the frames (phase 7, helper ens); 0: off (phase 6's training)
    ap.add_argument("--speed", type=float, default=0.0, help="frame-rate jitter, e.g. 0.1 for 0.9-1.1")
    ap.add_argument("--crop", type=float, default=0.0, help="cut up to this fraction off each end")
    ap.add_argument("--mask", type=float, default=0.0, help="time masks of up to this fraction each")
    ap.add_argument("--masks", type=int, default=2, help="how many time masks")
    ap.add_argument("--noise", type=float, default=0.0, help="Gaussian noise (standard deviations)")
    ap.add_argument("--ema", type=float, default=0.0, help="keep an exponential moving average of the weights "
                    "(decay per step, e.g. 0.999) and choose/write it instead of the raw weights")
    ap.add_argument("--kernel-to", type=int, default=0, help="write the convolution padded with zeros to this "
                    "kernel width (to ensemble with wider members)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    root = Path(args.frames_dir)
    tr = [load(root, f"train{args.replicas}"), load(root, f"phrases{args.phrase_replicas}")]
    dev = load(root, "dev")
    labels = sorted({str(v) for fr in tr for v in fr["labels"]})
    xs = seqs(tr[0], args.down) + seqs(tr[1], args.down)
    y = np.array([labels.index(str(v)) for fr in tr for v in fr["labels"]])
    dxs = seqs(dev, args.down)
    din = np.array([i for i, v in enumerate(dev["labels"]) if str(v) in labels])
    dy = np.array([labels.index(str(dev["labels"][i])) for i in din])
    allf = np.concatenate([tr[0]["frames"][::7], tr[1]["frames"][::7]]).astype(np.float32)
    mean, scale = allf.mean(0), allf.std(0) + 1e-6
    net = Net(xs[0].shape[1], args.proj, args.filters, args.kernel, len(labels), args.drop)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.decay)
    steps = args.epochs * ((len(xs) + 63) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    lengths = np.array([len(v) for v in xs])
    best = (-1.0, 0, None)
    hist = []
    ema = torch.optim.swa_utils.AveragedModel(
        net, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(args.ema)) if args.ema > 0 else None
    augmenting = args.speed > 0 or args.crop > 0 or args.mask > 0 or args.noise > 0
    aug = (lambda v: augment(v, rng, args)) if augmenting else None
    for ep in range(args.epochs):
        t0 = time.perf_counter()
        net.train()
        # batches of similar lengths, in random order
        order = np.argsort(lengths + rng.uniform(0, 8, len(lengths)))
        chunks = [order[k:k + 64] for k in range(0, len(order), 64)]
        rng.shuffle(chunks)
        loss_sum = 0.0
        for b in chunks:
            x, m = batch(xs, b, mean, scale, aug)
            loss = nn.functional.cross_entropy(net(x, m), torch.from_numpy(y[b]), label_smoothing=args.smooth)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                ema.update_parameters(net)
            loss_sum += float(loss.detach()) * len(b)
        judged = ema.module if ema is not None else net
        acc = float(np.mean(predict(judged, dxs, din, mean, scale).argmax(1) == dy))
        hist.append(round(acc, 3))
        print(f"epoch {ep + 1}: loss {loss_sum / len(xs):.3f}, dev top-1 alone {acc:.3f} "
              f"({time.perf_counter() - t0:.0f} s)",
              flush=True)
        if acc > best[0]:
            best = (acc, ep + 1, {k: v.detach().clone() for k, v in judged.state_dict().items()})
    acc, ep, state = best
    # numpy form: standardisation folded into the projection
    pw = state["proj.weight"].numpy() / scale[None, :]
    pb = state["proj.bias"].numpy() - pw @ mean
    cw = state["conv.weight"].numpy()  # filters x proj x kernel
    if args.kernel_to > cw.shape[2]:  # zeros on both sides: the same convolution, centred (padding k // 2)
        side = (args.kernel_to - cw.shape[2]) // 2
        cw = np.pad(cw, ((0, 0), (0, 0), (side, side)))
    conv = cw.transpose(0, 2, 1).reshape(cw.shape[0], -1)  # filters x (kernel*proj), frame-major
    hidden = 2 * cw.shape[0]
    np.savez_compressed(args.out, labels=np.array(labels), mean=np.zeros(hidden, np.float32),
                        scale=np.ones(hidden, np.float32), coef=state["out.weight"].numpy().astype(np.float32),
                        bias=state["out.bias"].numpy().astype(np.float32), weight=np.float64(1.0),
                        untouched=np.array([], dtype=str), conv_proj=pw.astype(np.float32),
                        conv_proj_bias=pb.astype(np.float32), conv_coef=conv.astype(np.float32),
                        conv_bias=state["conv.bias"].numpy().astype(np.float32),
                        conv_down=np.int64(args.down))
    print(json.dumps({"dev_alone": round(acc, 3), "epoch": ep, "history": hist, **{k: v for k, v in vars(args).items()
                                                                                  if k not in ("frames_dir",)}}))


if __name__ == "__main__":
    main()
