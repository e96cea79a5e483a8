"""Score given token sequences against one encoded utterance with Whisper's decoder.

Multi-threaded BLAS collapses on a busy 2-core machine (threads spin against other
processes: 3-5x slower), so the backend limits BLAS to one thread and this scorer runs its
batches in parallel threads instead.

A numpy re-implementation of the Whisper text decoder (pre-norm transformer, learned
positions, GELU) over weights read from the CTranslate2 model. The point is sharing: the
encoder output and each layer's cross-attention keys/values are computed once per utterance
and reused by every candidate phrase, and all candidates run in batches. ``enable_int8`` moves
the batches to the int8 ONNX Runtime graph of ``asr.onnx_decoder`` (same function, ~40% of
the CPU); numpy keeps the shared parts (prefix, cross-attention keys/values) either way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from .ct2_format import read_variables

_POOL_PREFIX = "scorer"
_SKIPPED = object()  # a batch skipped because ``stop`` was true (token_logprobs)


class Stopped(Exception):
    """Phrase scoring stopped before all its batches ran (``token_logprobs``' ``stop``)."""


def _ln(x: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * g + b


def _gelu(x: np.ndarray) -> np.ndarray:
    # tanh approximation: ~100x faster than erf in numpy, differences far below int8 noise
    inner = np.float32(0.7978845608) * (x + np.float32(0.044715) * x * x * x)
    return np.float32(0.5) * x * (np.float32(1.0) + np.tanh(inner))


def _softmax_inplace(x: np.ndarray) -> np.ndarray:
    x -= x.max(-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(-1, keepdims=True)
    return x


class WhisperDecoderScorer:
    """Log-probabilities of forced token sequences given an encoder output."""

    def __init__(self, model_bin: str | None, num_heads: int | None = None, workers: int = 2,
                 variables: dict[str, np.ndarray] | None = None) -> None:
        """Weights from a CTranslate2 ``model.bin``, or ``variables`` named as in one."""
        v = variables if variables is not None else read_variables(model_bin, prefix="decoder/")
        f32 = lambda name: np.ascontiguousarray(v[name], dtype=np.float32)  # noqa: E731
        self.emb = f32("decoder/embeddings/weight")  # (V, D)
        self.emb_t = np.ascontiguousarray(self.emb.T)  # (D, V) for the output projection
        self.pos = f32("decoder/position_encodings/encodings")
        self.d = self.emb.shape[1]
        self.heads = int(num_heads or v.get("decoder/num_heads", np.array(self.d // 64)))
        self.layers = []
        i = 0
        while f"decoder/layer_{i}/ffn/linear_0/weight" in v:
            p = f"decoder/layer_{i}/"
            self.layers.append({
                "sa_g": f32(p + "self_attention/layer_norm/gamma"), "sa_b": f32(p + "self_attention/layer_norm/beta"),
                "sa_w": f32(p + "self_attention/linear_0/weight").T.copy(), "sa_bias": f32(p + "self_attention/linear_0/bias"),
                "sa_o": f32(p + "self_attention/linear_1/weight").T.copy(), "sa_ob": f32(p + "self_attention/linear_1/bias"),
                "ca_g": f32(p + "attention/layer_norm/gamma"), "ca_b": f32(p + "attention/layer_norm/beta"),
                "ca_q": f32(p + "attention/linear_0/weight").T.copy(), "ca_qb": f32(p + "attention/linear_0/bias"),
                "ca_kv": f32(p + "attention/linear_1/weight").T.copy(), "ca_kvb": f32(p + "attention/linear_1/bias"),
                "ca_o": f32(p + "attention/linear_2/weight").T.copy(), "ca_ob": f32(p + "attention/linear_2/bias"),
                "ff_g": f32(p + "ffn/layer_norm/gamma"), "ff_b": f32(p + "ffn/layer_norm/beta"),
                "ff_1": f32(p + "ffn/linear_0/weight").T.copy(), "ff_1b": f32(p + "ffn/linear_0/bias"),
                "ff_2": f32(p + "ffn/linear_1/weight").T.copy(), "ff_2b": f32(p + "ffn/linear_1/bias"),
            })
            i += 1
        self.out_g = f32("decoder/layer_norm/gamma")
        self.out_b = f32("decoder/layer_norm/beta")
        self._subset: np.ndarray | None = None
        self._proj = None
        self._vocab_lock = threading.Lock()
        self._int8 = None  # asr.onnx_decoder.Int8Decoder once enable_int8() ran
        self._int8_ids: np.ndarray | None = None  # the normaliser ids inside its graph
        self._int8_proj: np.ndarray | None = None  # and their projection (D, V)
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=_POOL_PREFIX)
        # int8 batches: phrases per row, packed as a tree of their shared starts (1: one phrase
        # a row, padded; see _token_logprobs_int8)
        self.pack = 1

    def close(self) -> None:
        """Shut down the scoring threads (work not yet started is cancelled); idempotent."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def cross_kv(self, enc: np.ndarray, parallel: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per layer (K, V), each (heads, T, dh), for one encoder output of shape (T, D).
        ``parallel``: the layers on the scorer's threads (the same products), for an utterance
        decoded alone; otherwise on the calling thread, never queued behind other utterances'
        batches."""
        enc = np.ascontiguousarray(enc, dtype=np.float32)
        T, H = enc.shape[0], self.heads
        dh = self.d // H

        def layer(L: dict) -> tuple[np.ndarray, np.ndarray]:
            kv = enc @ L["ca_kv"] + L["ca_kvb"]
            k = kv[:, : self.d].reshape(T, H, dh).transpose(1, 0, 2)
            vv = kv[:, self.d:].reshape(T, H, dh).transpose(1, 0, 2)
            return np.ascontiguousarray(k), np.ascontiguousarray(vv)

        # (one BLAS thread each: the same products); never from one of the scorer's threads,
        # which would wait on itself
        if not parallel or threading.current_thread().name.startswith(_POOL_PREFIX):
            return [layer(L) for L in self.layers]
        return list(self._pool.map(layer, self.layers))

    # -- vocabulary subset for the softmax normaliser ----------------------------------
    def use_vocabulary(self, ids) -> None:
        """Normalise the output softmax over these token ids only (plus any added later).

        The vocabulary projection dominates the cost of scoring; the probability mass of a
        decoder reading Indonesian speech sits almost entirely on Indonesian word pieces, so a
        subset of ~9k ids (the pieces of an Indonesian root-word list) gives nearly the same
        normaliser at a sixth of the cost. Both the audio and the null scores use it.
        """
        with self._vocab_lock:
            self._subset = np.array(sorted(set(int(i) for i in ids)), dtype=np.int64)
            self._rebuild()

    def add_tokens(self, ids) -> None:
        with self._vocab_lock:
            if self._subset is None:
                return
            new = set(int(i) for i in ids) - set(self._subset.tolist())
            if new:
                self._subset = np.array(sorted(set(self._subset.tolist()) | new), dtype=np.int64)
                self._rebuild()

    def _rebuild(self) -> None:
        index = np.full(self.emb.shape[0], -1, dtype=np.int64)
        index[self._subset] = np.arange(self._subset.size)
        self._proj = (np.ascontiguousarray(self.emb[self._subset].T), index)

    def _projection(self):
        proj = getattr(self, "_proj", None)
        if proj is None:
            return self.emb_t, None
        return proj

    # -- int8 execution ----------------------------------------------------------------------
    def enable_int8(self, cache_dir=None) -> bool:
        """Run the phrase batches on ONNX Runtime in int8 (``asr.onnx_decoder``) from now on.

        The graph normalises over the vocabulary in use now; ids added later are folded into
        the log-sum-exp in numpy. False (and float32 numpy kept) when ONNX Runtime is missing.
        """
        from . import onnx_decoder

        if not onnx_decoder.available():
            return False
        with self._vocab_lock:
            proj, _ = self._projection()
            ids = None if self._subset is None else self._subset.copy()
        self._int8 = onnx_decoder.Int8Decoder(self.layers, self.out_g, self.out_b, proj, self.heads, cache_dir)
        self._int8_ids = ids
        self._int8_proj = proj
        return True

    @property
    def precision(self) -> str:
        return "int8" if self._int8 is not None else "float32"

    def state_digest(self) -> str:
        """What, besides the weights and the inputs, decides the log-probabilities computed
        now: the precision, the int8 graph in use, its phrases a row (``pack``) and the
        normaliser vocabulary (which grows as expectations add their tokens). Results cached
        under it are exactly those computed."""
        from .disk_cache import Fingerprint

        with self._vocab_lock:
            fp = Fingerprint(self.precision, getattr(self._int8, "digest", None))
            fp.add("-" if self._subset is None else self._subset, "subset")
            fp.add("-" if self._int8_ids is None else self._int8_ids, "int8_ids")
            if self._int8 is not None and self.pack > 1:  # packed rows: other batches, other int8 noise
                fp.add(np.asarray([self.pack], dtype=np.int64), "pack")
        return fp.hexdigest()

    # -- decoder ---------------------------------------------------------------------------
    def hidden(self, tokens: np.ndarray, kv: list[tuple[np.ndarray, np.ndarray]],
               past: list[tuple[np.ndarray, np.ndarray]] | None = None,
               keep_past: list | None = None) -> np.ndarray:
        """Final hidden states (B, L, D) for right-padded token ids (B, L).

        ``past``: per layer self-attention (K, V) of a shared prefix, each (H, P, dh), which
        every row attends to first (positions continue after it). ``keep_past``: a list that
        receives this call's per-layer (K, V) (for B == 1), to be used as ``past`` later.
        """
        B, Lt = tokens.shape
        H, D = self.heads, self.d
        dh = D // H
        N = B * Lt
        P = 0 if past is None else past[0][0].shape[1]
        scale = np.float32(1.0 / np.sqrt(dh))
        x = (self.emb[tokens] + self.pos[P:P + Lt]).reshape(N, D)  # 2-D matmuls are ~3x faster
        causal = np.triu(np.full((Lt, Lt), -np.inf, dtype=np.float32), 1)
        for li, (L, (ck, cv)) in enumerate(zip(self.layers, kv, strict=True)):
            h = _ln(x, L["sa_g"], L["sa_b"])
            qkv = (h @ L["sa_w"] + L["sa_bias"]).reshape(B, Lt, 3, H, dh)
            q = qkv[:, :, 0].transpose(0, 2, 1, 3)  # (B, H, Lt, dh)
            k = qkv[:, :, 1].transpose(0, 2, 1, 3)
            vv = qkv[:, :, 2].transpose(0, 2, 1, 3)
            if keep_past is not None:
                keep_past.append((k[0].copy(), vv[0].copy()))
            att = (q @ k.transpose(0, 1, 3, 2)) * scale + causal
            if past is not None:
                pk, pv = past[li]
                att_p = (q @ pk.transpose(0, 2, 1)[None]) * scale  # (B, H, Lt, P)
                both = _softmax_inplace(np.concatenate([att_p, att], axis=-1))
                a = both[..., :P] @ pv[None] + both[..., P:] @ vv
            else:
                a = _softmax_inplace(att) @ vv
            a = a.transpose(0, 2, 1, 3).reshape(N, D)
            x = x + a @ L["sa_o"] + L["sa_ob"]
            h = _ln(x, L["ca_g"], L["ca_b"])
            q = (h @ L["ca_q"] + L["ca_qb"]).reshape(N, H, dh).transpose(1, 0, 2)  # (H, N, dh)
            att = (q @ ck.transpose(0, 2, 1)) * scale  # (H, N, T)
            a = (_softmax_inplace(att) @ cv).transpose(1, 0, 2).reshape(N, D)
            x = x + a @ L["ca_o"] + L["ca_ob"]
            h = _ln(x, L["ff_g"], L["ff_b"])
            x = x + _gelu(h @ L["ff_1"] + L["ff_1b"]) @ L["ff_2"] + L["ff_2b"]
        return _ln(x, self.out_g, self.out_b).reshape(B, Lt, D)

    def token_logprobs(self, prefix: list[int], seqs: list[list[int]], kv, batch: int | None = None,
                       chunk: int = 256, precision: str | None = None,
                       stop: Callable[[], bool] | None = None) -> list[np.ndarray]:
        """log p(token | prefix, previous tokens, audio) for every token of every sequence.

        ``precision``: "int8" or "float32" for this call; None: int8 when enabled.
        ``stop``: checked before each batch; once true, the batches not begun are skipped and
        :class:`Stopped` is raised (a speculative decode the caller's next word made stale).

        The shared prefix runs once (its self-attention keys/values are reused); sequences run
        in batches of similar length (little padding); and sequences sharing a prefix share the
        output distribution there, so the vocabulary projection runs once per distinct prefix.
        """
        if not seqs:
            return []
        if precision == "int8" and self._int8 is None:
            raise RuntimeError("the int8 scorer is not enabled (enable_int8)")
        if self._int8 is not None and precision != "float32":
            # small batches: as fast in int8, and ONNX Runtime's scratch stays ~12 MB (48: 54 MB);
            # packed rows: two a batch (one a batch: 7% more CPU on an AVX2 EPYC, phase 13)
            return self._token_logprobs_int8(prefix, seqs, kv, batch or (8 if self.pack <= 1 else 2 * self.pack),
                                             stop)
        batch = batch or 48
        past: list = []
        h_prefix = self.hidden(np.asarray([prefix], dtype=np.int64), kv, keep_past=past)[0, -1]
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        node_of: dict[tuple[int, ...], int] = {(): 0}
        node_rows: list[np.ndarray] = [h_prefix]
        refs: list[list[tuple[int, int]]] = [[] for _ in seqs]
        batches = [order[b:b + batch] for b in range(0, len(order), batch)]

        def run(idx: list[int]):
            if stop is not None and stop():
                return _SKIPPED
            inputs = [seqs[i][:-1] for i in idx]  # the last token is only predicted
            Lb = max(len(x) for x in inputs)
            if Lb == 0:
                return None
            tokens = np.zeros((len(idx), Lb), dtype=np.int64)
            for r, x in enumerate(inputs):
                tokens[r, :len(x)] = x
            return self.hidden(tokens, kv, past=past)

        # batches in parallel threads, one BLAS thread each (numpy releases the GIL)
        hs = list(self._pool.map(run, batches)) if len(batches) > 1 else [run(batches[0])]
        if any(h is _SKIPPED for h in hs):
            raise Stopped()
        for idx, h in zip(batches, hs, strict=True):
            for r, i in enumerate(idx):
                s = seqs[i]
                for j, t in enumerate(s):
                    key = tuple(s[:j])
                    n = node_of.get(key)
                    if n is None:
                        n = node_of[key] = len(node_rows)
                        node_rows.append(h[r, j - 1])
                    refs[i].append((n, t))
        proj, index = self._projection()
        rows = np.stack(node_rows)
        lse = np.empty(len(rows), dtype=np.float32)
        wanted: dict[int, set[int]] = {}
        for r in refs:
            for n, t in r:
                wanted.setdefault(n, set()).add(t)
        logit_of: dict[tuple[int, int], float] = {}
        for c in range(0, len(rows), chunk):
            logits = rows[c:c + chunk] @ proj
            m = logits.max(-1)
            for k in range(len(logits)):
                n = c + k
                for t in wanted[n]:
                    col = t if index is None else index[t]
                    logit_of[(n, t)] = float(logits[k, col]) if col >= 0 else float(self.emb[t] @ rows[n])
            logits -= m[:, None]
            np.exp(logits, out=logits)
            lse[c:c + chunk] = m + np.log(logits.sum(-1))
        return [np.asarray([logit_of[(n, t)] - lse[n] for n, t in r], dtype=np.float32) for r in refs]

    def greedy(self, prefix: list[int], kv, max_tokens: int, eot: int, suppress=(), suppress_at_start=(),
               no_speech: int | None = None, stop=None) -> tuple[list[int], float, float]:
        """Greedy free decoding on the int8 graph with a key/value cache (one token per step).

        Returns (token ids without end-of-text, mean log-probability of the chosen tokens
        end-of-text included, probability of ``no_speech`` after the start token). Tokens are
        chosen among the normaliser vocabulary (Indonesian word pieces and every single byte,
        so any text can still be spelled); ``suppress`` ids are never chosen and
        ``suppress_at_start`` not as the first token (as Whisper's decoders do for non-speech
        symbols, and for blank/end-of-text at the start). ``stop()`` true ends early.

        Why not CTranslate2's greedy search: one token at a time is weight-bandwidth bound, and
        CTranslate2 (oneDNN, weights not pre-packed) took 16-19 ms per token on an AVX2 EPYC
        against ~6 ms here (bench figures in docs/decisions.md).
        """
        dec = self._int8
        if dec is None:
            raise RuntimeError("greedy decoding needs the int8 decoder (enable_int8)")
        ids, proj = self._int8_ids, self._int8_proj
        vocab = ids if ids is not None else np.arange(proj.shape[1])
        banned = np.isin(vocab, list(suppress))
        banned_start = banned | np.isin(vocab, list(suppress_at_start))
        past: list = []
        hs = self.hidden(np.asarray([prefix], dtype=np.int64), kv, keep_past=past)[0]
        p_none = 0.0
        if no_speech is not None:
            row = hs[0] @ self.emb_t  # the start token's full distribution
            p_none = float(np.exp(row[no_speech] - logsumexp(row)))
        logits = hs[-1] @ proj
        feeds = dec.feeds(past, kv)
        P = len(prefix)
        out: list[int] = []
        lps: list[float] = []
        for j in range(max_tokens + 1):
            masked = np.where(banned_start if j == 0 else banned, -np.inf, logits)
            best = int(np.argmax(masked))
            lps.append(float(logits[best] - logsumexp(logits)))
            tok = int(vocab[best])
            if tok == eot or j == max_tokens or (stop is not None and stop()):
                break
            out.append(tok)
            step_logits, new = dec.step((self.emb[tok] + self.pos[P + j])[None, None], feeds)
            logits = step_logits[-1]
            for i, (k, v) in enumerate(new):
                feeds[f"pk{i}"] = np.concatenate([feeds[f"pk{i}"], k], axis=2)
                feeds[f"pv{i}"] = np.concatenate([feeds[f"pv{i}"], v], axis=1)
        return out, float(np.mean(lps)), p_none

    def _token_logprobs_int8(self, prefix: list[int], seqs: list[list[int]], kv, batch: int,
                             stop: Callable[[], bool] | None = None) -> list[np.ndarray]:
        """``token_logprobs`` with the batches on the int8 ONNX Runtime decoder: every token
        position is projected (no sharing of prefixes: int8 is ~3x cheaper than the sharing
        saves), the first token of each sequence is read from the prefix's own float32 row.

        With ``pack`` > 1, ``pack`` phrases (neighbours in token order) share one row of the
        batch as a tree (``pack_rows``): a token their phrases share at the start is computed
        once (main menu: 15-17% fewer positions), and ``batch // pack`` rows make a batch."""
        dec = self._int8
        past: list = []
        h_prefix = self.hidden(np.asarray([prefix], dtype=np.int64), kv, keep_past=past)[0, -1]
        with self._vocab_lock:
            proj, _ = self._projection()
            extra = None
            if self._int8_ids is not None and self._subset is not None and self._subset.size > self._int8_ids.size:
                extra = np.ascontiguousarray(self.emb[np.setdiff1d(self._subset, self._int8_ids)].T)
        lse0 = float(logsumexp(h_prefix @ proj))
        feeds = dec.feeds(past, kv)
        P = len(prefix)
        pack = max(1, self.pack)
        if pack > 1:
            lex = sorted(range(len(seqs)), key=lambda i: seqs[i][:-1])
            rows = [lex[b:b + pack] for b in range(0, len(lex), pack)]
            trees = {r: pack_rows([seqs[i] for i in grp]) for r, grp in enumerate(rows)}
            by_size = sorted(range(len(rows)), key=lambda r: trees[r].size)
            per = max(1, batch // pack)
            batches = [by_size[b:b + per] for b in range(0, len(by_size), per)]
        else:
            order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
            batches = [order[b:b + batch] for b in range(0, len(order), batch)]
        out: list[np.ndarray | None] = [None] * len(seqs)

        def first(i: int) -> np.ndarray:
            s = seqs[i]
            lp = np.empty(len(s), dtype=np.float32)
            lp[0] = float(h_prefix @ self.emb[s[0]]) - lse0
            return lp

        def finish(h: np.ndarray, lse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            if extra is not None:
                lse = np.logaddexp(lse, logsumexp(h @ extra, axis=-1))
            return h, lse

        def run(idx: list[int]) -> None:
            if stop is not None and stop():
                return  # its rows stay None: Stopped below
            Lb = max(len(seqs[i]) - 1 for i in idx)
            rest = None
            if Lb > 0:
                tokens = np.zeros((len(idx), Lb), dtype=np.int64)
                targets = np.zeros((len(idx), Lb), dtype=np.int64)
                for r, i in enumerate(idx):
                    s = seqs[i]
                    tokens[r, :len(s) - 1] = s[:-1]
                    targets[r, :len(s) - 1] = s[1:]
                h, lse = finish(*dec.run(self.emb[tokens] + self.pos[P:P + Lb], feeds))
                rest = np.einsum("bld,bld->bl", h, self.emb[targets]) - lse
            for r, i in enumerate(idx):
                s = seqs[i]
                lp = first(i)
                if len(s) > 1:
                    lp[1:] = rest[r, :len(s) - 1]
                out[i] = lp

        def run_packed(rs: list[int]) -> None:
            if stop is not None and stop():
                return
            Lb = max(trees[r].size for r in rs)
            h = lse = None
            if Lb > 0:
                tokens = np.zeros((len(rs), Lb), dtype=np.int64)
                depth = np.zeros((len(rs), Lb), dtype=np.int64)
                mask = np.full((len(rs), 1, Lb, Lb), -np.inf, dtype=np.float32)
                mask[:, 0, np.arange(Lb), np.arange(Lb)] = 0.0  # padding: itself only
                for b, r in enumerate(rs):
                    t = trees[r]
                    tokens[b, :t.size] = t.tokens
                    depth[b, :t.size] = t.depth
                    mask[b, 0, :t.size, :t.size] = np.where(t.allow, np.float32(0.0), np.float32(-np.inf))
                h, lse = finish(*dec.run(self.emb[tokens] + self.pos[P + depth], feeds, mask))
            for b, r in enumerate(rs):
                for i, nodes in zip(rows[r], trees[r].nodes, strict=True):
                    s = seqs[i]
                    lp = first(i)
                    if len(s) > 1:
                        lp[1:] = np.einsum("ld,ld->l", h[b, nodes], self.emb[s[1:]]) - lse[b, nodes]
                    out[i] = lp

        work = run_packed if pack > 1 else run
        if len(batches) > 1:
            list(self._pool.map(work, batches))
        else:
            work(batches[0])
        if any(o is None for o in out):
            raise Stopped()
        return out  # type: ignore[return-value]


@dataclass(frozen=True)
class PackedRow:
    """Phrases sharing one row of a batch as a tree of their input tokens (each phrase's
    tokens but its last, which is only predicted): ``tokens`` and ``depth`` (position after
    the prefix) per node, parents before children; ``allow`` (n, n): the nodes each node
    attends to (its ancestors and itself); ``nodes``: per phrase, the node of each of its
    input tokens (the hidden state predicting the phrase's next token)."""

    tokens: np.ndarray
    depth: np.ndarray
    allow: np.ndarray
    nodes: list[np.ndarray]

    @property
    def size(self) -> int:
        return int(self.tokens.size)


def pack_rows(seqs: list[list[int]]) -> PackedRow:
    """The tree of ``seqs``' input tokens: a start they share is one node (see PackedRow)."""
    keys = sorted({tuple(s[:j + 1]) for s in seqs for j in range(len(s) - 1)})
    index = {k: n for n, k in enumerate(keys)}
    allow = np.zeros((len(keys), len(keys)), dtype=bool)
    for n, k in enumerate(keys):  # sorted: a node's parent (a prefix of it) comes first
        if len(k) > 1:
            allow[n] = allow[index[k[:-1]]]
        allow[n, n] = True
    return PackedRow(tokens=np.asarray([k[-1] for k in keys], dtype=np.int64),
                     depth=np.asarray([len(k) - 1 for k in keys], dtype=np.int64), allow=allow,
                     nodes=[np.asarray([index[tuple(s[:j + 1])] for j in range(len(s) - 1)], dtype=np.int64)
                            for s in seqs])
