"""Bit-parallel simulation: 64 input patterns per uint64 word, vectorised across words with numpy.

Combinational logic is evaluated once per chunk of words, one logic level at a time; latches are read as
extra inputs (their current state) and the next state is returned, so sequential circuits are
simulated one clock step per call.
"""

from __future__ import annotations

import numpy as np

from tritlens.errors import TritlensError
from tritlens.logic.aig import AIG

ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
CHUNK_WORDS = 2048
MAX_BYTES = 1 << 27  # node values held at once by Simulator.run (128 MiB: larger slices run slower)


def _mask(neg: np.ndarray) -> np.ndarray | None:
    """Column of XOR masks (all ones where a fanin is complemented); None when none is."""
    return np.where(neg == 1, ONES, np.uint64(0))[:, None] if neg.any() else None


def n_words(n_patterns: int) -> int:
    return max(1, (n_patterns + 63) // 64)


def exhaustive_words(n_bits: int, start_word: int = 0, count: int | None = None) -> np.ndarray:
    """Words enumerating every assignment of ``n_bits`` bits (pattern p has bit i = (p >> i) & 1)."""
    total = n_words(1 << n_bits)
    count = total - start_word if count is None else count
    out = np.zeros((n_bits, count), dtype=np.uint64)
    word_idx = np.arange(start_word, start_word + count, dtype=np.uint64)
    lanes = np.arange(64, dtype=np.uint64)
    for i in range(n_bits):
        if i < 6:
            bits = (lanes >> np.uint64(i)) & np.uint64(1)
            out[i, :] = np.bitwise_or.reduce(bits << lanes)
        else:
            on = (word_idx >> np.uint64(i - 6)) & np.uint64(1)
            out[i, :] = np.where(on == 1, ONES, np.uint64(0))
    return out


def pack(bits: np.ndarray) -> np.ndarray:
    """Bool/0-1 array [N, n] -> words [n, ceil(N/64)] (pattern k in word k // 64, lane k % 64)."""
    bits = np.asarray(bits, dtype=np.uint8)
    n_pat, n = bits.shape
    padded = np.zeros((n_words(n_pat) * 64, n), dtype=np.uint8)
    padded[:n_pat] = bits
    packed = np.packbits(np.ascontiguousarray(padded.T), axis=1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64)


def unpack(words: np.ndarray, n_patterns: int) -> np.ndarray:
    """Words [n, W] -> bool array [N, n]."""
    words = np.ascontiguousarray(words, dtype="<u8")
    n = words.shape[0]
    if n == 0:
        return np.zeros((n_patterns, 0), dtype=bool)
    as_bytes = words.view(np.uint8).reshape(n, -1, 8)
    bits = np.unpackbits(as_bytes, axis=-1, bitorder="little").reshape(n, -1)
    return bits[:, :n_patterns].T.astype(bool)


class Simulator:
    """Reusable bit-parallel evaluator for one AIG.

    The AND gates are grouped by logic level, so a level is a handful of numpy operations over all of
    its gates at once (Python work grows with the depth, not the gate count), and ``run`` simulates
    as many words at a time as fit in ``max_bytes`` of node values: a multi-million-gate circuit is
    simulated in slices instead of holding every node's value for every pattern at once.
    """

    def __init__(self, aig: AIG, max_bytes: int = MAX_BYTES) -> None:
        self.aig, self.max_bytes = aig, max_bytes
        level = np.asarray(aig.levels(), dtype=np.int64)
        order = np.argsort(level, kind="stable")  # level by level: each level's gates are one block
        self.slot = np.empty_like(order)
        self.slot[order] = np.arange(len(order))
        f0 = np.asarray(aig.fanin0, dtype=np.int64)[order]
        f1 = np.asarray(aig.fanin1, dtype=np.int64)[order]
        bounds = np.flatnonzero(np.diff(level[order])) + 1
        self.levels = [
            (lo, hi, self.slot[f0[lo:hi] >> 1], _mask(f0[lo:hi] & 1), self.slot[f1[lo:hi] >> 1],
             _mask(f1[lo:hi] & 1))
            for lo, hi in zip(bounds, np.r_[bounds[1:], len(order)][: len(bounds)], strict=True)
        ]

    def chunk_words(self) -> int:
        """Words simulated at once by ``run``: as many as fit in ``max_bytes``, at most CHUNK_WORDS."""
        return int(max(1, min(CHUNK_WORDS, self.max_bytes // (8 * max(1, self.aig.num_vars)))))

    def values(self, input_words: np.ndarray, latch_words: np.ndarray | None = None) -> np.ndarray:
        """Value words of every variable, shape [num_vars, W]."""
        return self._slots(input_words, latch_words)[self.slot]

    def _slots(self, input_words: np.ndarray, latch_words: np.ndarray | None) -> np.ndarray:
        """Value words in level order (row ``slot[v]`` holds variable v), so every level is written as one
        contiguous block and mostly reads the blocks just before it."""
        aig = self.aig
        input_words = np.asarray(input_words, dtype=np.uint64)
        if input_words.ndim != 2 or input_words.shape[0] != len(aig.inputs):
            raise TritlensError(f"simulation needs {len(aig.inputs)} input rows, got {input_words.shape}")
        width = input_words.shape[1]
        vals = np.zeros((aig.num_vars, width), dtype=np.uint64)
        vals[self.slot[aig.inputs]] = input_words
        if aig.latches:
            if latch_words is None:
                init = np.array([ONES if latch.init else 0 for latch in aig.latches], dtype=np.uint64)
                latch_words = np.repeat(init[:, None], width, axis=1)
            vals[self.slot[[latch.var for latch in aig.latches]]] = latch_words
        other = np.empty((max((hi - lo for lo, hi, *_ in self.levels), default=0), width), dtype=np.uint64)
        for lo, hi, a, na, b, nb in self.levels:
            out, vb = vals[lo:hi], other[: hi - lo]
            np.take(vals, a, axis=0, out=out, mode="clip")  # "clip": written in place, not buffered
            np.take(vals, b, axis=0, out=vb, mode="clip")
            if na is not None:
                out ^= na
            if nb is not None:
                vb ^= nb
            out &= vb
        return vals

    def _lits(self, slots: np.ndarray, lits: list[int]) -> np.ndarray:
        """``lits`` read from level-ordered values (each literal's variable moved to its slot)."""
        return self.lits(slots, [2 * int(self.slot[lit >> 1]) | lit & 1 for lit in lits])

    @staticmethod
    def lits(vals: np.ndarray, lits: list[int]) -> np.ndarray:
        """Value words of literals (complemented ones inverted)."""
        idx = np.array([lit >> 1 for lit in lits], dtype=np.int64)
        neg = np.array([ONES if lit & 1 else 0 for lit in lits], dtype=np.uint64)
        return vals[idx] ^ neg[:, None]

    def run(
        self, input_words: np.ndarray, latch_words: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(output words, next-state words) for the given input and latch words, chunked."""
        aig = self.aig
        width = np.asarray(input_words).shape[1]
        outs = np.zeros((len(aig.outputs), width), dtype=np.uint64)
        nxt = np.zeros((len(aig.latches), width), dtype=np.uint64)
        next_lits = [latch.next for latch in aig.latches]
        step = self.chunk_words()
        for lo in range(0, width, step):
            hi = min(width, lo + step)
            lw = None if latch_words is None else latch_words[:, lo:hi]
            slots = self._slots(input_words[:, lo:hi], lw)
            if aig.outputs:
                outs[:, lo:hi] = self._lits(slots, aig.outputs)
            if next_lits:
                nxt[:, lo:hi] = self._lits(slots, next_lits)
        return outs, nxt


def simulate(
    aig: AIG, input_words: np.ndarray, latch_words: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One bit-parallel evaluation: (output words, next-state words)."""
    return Simulator(aig).run(input_words, latch_words)


def simulate_bits(
    aig: AIG, inputs: np.ndarray, latches: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Pattern-per-row convenience: bool [N, n_in] (and [N, n_latch]) -> bool outputs and next state."""
    inputs = np.asarray(inputs, dtype=bool).reshape(-1, len(aig.inputs))
    n_pat = inputs.shape[0]
    lw = None if latches is None else pack(np.asarray(latches, dtype=bool).reshape(n_pat, -1))
    outs, nxt = simulate(aig, pack(inputs), lw)
    return unpack(outs, n_pat), unpack(nxt, n_pat)
