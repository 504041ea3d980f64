"""AIGER reader and writers (ASCII ``aag`` and binary ``aig``, with latches and a symbol table).

The writers renumber variables into AIGER's required order (inputs, latches, then ANDs in
topological order). The reader accepts both formats, builds through ``AIG.AND`` (so the result is
structurally hashed) and reports malformed input as TritlensError with the line number.
"""

from __future__ import annotations

from pathlib import Path

import psutil

from tritlens.errors import TritlensError
from tritlens.logic.aig import AIG
from tritlens.run.files import read_bytes

MAX_FILE_BYTES = 256 << 20
# Binary AIGER lists no inputs, so a 14-byte file can announce millions of them: the input count is
# bounded on its own. Latches, outputs and ANDs take bytes of the file, which bounds them already.
MAX_INPUTS = 1 << 20
MAX_DIGITS = 18  # longest number read (below 2^63; a thousand-digit number is refused, not parsed)
BYTES_PER_VAR = 400  # what one variable costs in an AIG (lists, structural hash, names), generously

# -- writing ---------------------------------------------------------------------------------------


def _numbering(aig: AIG) -> tuple[dict[int, int], list[int]]:
    """Map every variable to its AIGER variable; returns the map and the AND variables in order."""
    new: dict[int, int] = {0: 0}
    for v in aig.inputs:
        new[v] = len(new)
    for latch in aig.latches:
        new[latch.var] = len(new)
    ands = aig.and_vars()
    for v in ands:
        new[v] = len(new)
    return new, ands


def _symbols(aig: AIG) -> list[str]:
    lines = [f"i{k} {name}" for k, name in enumerate(aig.input_names)]
    lines += [f"l{k} {latch.name}" for k, latch in enumerate(aig.latches)]
    lines += [f"o{k} {name}" for k, name in enumerate(aig.output_names)]
    return [line for line in lines if line.split(" ", 1)[1]] + ["c", "tritlens"]


def _latch_line(latch_next: int, init: int, prefix: str) -> str:
    return f"{prefix}{latch_next}" + (f" {init}" if init else "")


def to_aag(aig: AIG) -> str:
    """ASCII AIGER text."""
    new, ands = _numbering(aig)

    def tr(lit: int) -> int:
        return 2 * new[lit >> 1] + (lit & 1)

    n_i, n_l = len(aig.inputs), len(aig.latches)
    lines = [f"aag {len(new) - 1} {n_i} {n_l} {len(aig.outputs)} {len(ands)}"]
    lines += [str(2 * new[v]) for v in aig.inputs]
    lines += [_latch_line(tr(latch.next), latch.init, f"{2 * new[latch.var]} ") for latch in aig.latches]
    lines += [str(tr(lit)) for lit in aig.outputs]
    for v in ands:
        a, b = sorted((tr(aig.fanin0[v]), tr(aig.fanin1[v])), reverse=True)
        lines.append(f"{2 * new[v]} {a} {b}")
    return "\n".join(lines + _symbols(aig)) + "\n"


def _encode_delta(x: int) -> bytes:
    out = bytearray()
    while x >= 0x80:
        out.append((x & 0x7F) | 0x80)
        x >>= 7
    out.append(x)
    return bytes(out)


def to_aig(aig: AIG) -> bytes:
    """Binary AIGER bytes (what berkeley-abc reads)."""
    new, ands = _numbering(aig)

    def tr(lit: int) -> int:
        return 2 * new[lit >> 1] + (lit & 1)

    head = [f"aig {len(new) - 1} {len(aig.inputs)} {len(aig.latches)} {len(aig.outputs)} {len(ands)}"]
    head += [_latch_line(tr(latch.next), latch.init, "") for latch in aig.latches]
    head += [str(tr(lit)) for lit in aig.outputs]
    body = bytearray(("\n".join(head) + "\n").encode())
    for v in ands:
        lhs = 2 * new[v]
        a, b = sorted((tr(aig.fanin0[v]), tr(aig.fanin1[v])), reverse=True)
        body += _encode_delta(lhs - a) + _encode_delta(a - b)
    body += ("\n".join(_symbols(aig)) + "\n").encode()
    return bytes(body)


def write_aiger(aig: AIG, path: str | Path) -> None:
    """Write ``.aag`` (ASCII) or ``.aig`` (binary) according to the file extension."""
    path = Path(path)
    if path.suffix == ".aag":
        path.write_text(to_aag(aig))
    elif path.suffix == ".aig":
        path.write_bytes(to_aig(aig))
    else:
        raise TritlensError(f"AIGER file must end in .aag or .aig, got {path.name!r}")


# -- reading ---------------------------------------------------------------------------------------


class _Lines:
    """Line reader over bytes that knows its line number (binary sections read raw bytes)."""

    def __init__(self, data: bytes, source: str) -> None:
        self.data, self.pos, self.line, self.source = data, 0, 0, source

    def error(self, msg: str) -> TritlensError:
        return TritlensError(f"{self.source}: line {self.line}: {msg}")

    def next_line(self, what: str) -> str:
        if self.pos >= len(self.data):
            self.line += 1
            raise self.error(f"unexpected end of file, expected {what}")
        end = self.data.find(b"\n", self.pos)
        end = len(self.data) if end < 0 else end
        raw = self.data[self.pos : end]
        self.pos, self.line = end + 1, self.line + 1
        try:
            return raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise self.error(f"expected {what}, found binary data") from None

    def ints(self, what: str, low: int, high: int) -> list[int]:
        text = self.next_line(what)
        parts = text.split()
        if not low <= len(parts) <= high or not all(_number(p) for p in parts):
            raise self.error(f"expected {what}, got {text!r:.60}")
        return [int(p) for p in parts]

    def delta(self) -> int:
        x, shift = 0, 0
        while True:
            if self.pos >= len(self.data):
                raise TritlensError(f"{self.source}: line {self.line + 1}: truncated binary AND section")
            byte = self.data[self.pos]
            self.pos += 1
            x |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return x
            shift += 7
            if shift > 63:  # no literal needs more than 9 bytes; a run of 0xff bytes is garbage
                raise TritlensError(f"{self.source}: line {self.line + 1}: binary AND delta too long")


def _number(text: str) -> bool:
    return text.isdigit() and len(text) <= MAX_DIGITS


def _header(rd: _Lines) -> tuple[bool, list[int]]:
    text = rd.next_line("AIGER header")
    parts = text.split()
    if not parts or parts[0] not in ("aag", "aig"):
        raise rd.error(f"not an AIGER header: {text!r:.60}")
    nums = parts[1:]
    if len(nums) < 5 or not all(_number(p) for p in nums):
        raise rd.error(f"header needs 'M I L O A' (numbers of at most {MAX_DIGITS} digits), got {text!r:.60}")
    m, i, l, o, a, *extra = (int(p) for p in nums)
    if any(extra):
        raise rd.error("bad-state, constraint, justice and fairness sections are not supported")
    if m < i + l + a:
        raise rd.error(f"M={m} is smaller than I+L+A={i + l + a}")
    binary = parts[0] == "aig"
    if binary and m != i + l + a:
        raise rd.error(f"binary AIGER needs M = I+L+A, got M={m} and I+L+A={i + l + a}")
    _check_sizes(rd, binary, m, i, l, o, a)
    return binary, [m, i, l, o, a]


def _check_sizes(rd: _Lines, binary: bool, m: int, i: int, l: int, o: int, a: int) -> None:
    """Refuse headers whose counts the file cannot hold, or that would not fit in memory, before
    allocating anything (every listed line, and every binary AND, takes at least one byte)."""
    listed = (l + o + a) if binary else (i + l + o + a)
    if listed > len(rd.data) - rd.pos:
        raise rd.error(f"the header announces {listed} lines/gates; the file has only {len(rd.data)} bytes")
    if i > MAX_INPUTS:
        raise rd.error(f"the header announces {i} inputs; at most {MAX_INPUTS} are read")
    made = i + l + a  # the variables the reader creates (M may also count unused ones)
    if made * BYTES_PER_VAR > psutil.virtual_memory().available // 2:
        raise rd.error(f"{made} variables would need about {made * BYTES_PER_VAR >> 20} MiB, more than half "
                       f"of the memory available")


def parse_aiger(data: bytes | str, source: str = "<aiger>") -> AIG:
    """Parse ASCII or binary AIGER into an AIG."""
    rd = _Lines(data.encode() if isinstance(data, str) else data, source)
    binary, (m, n_i, n_l, n_o, n_a) = _header(rd)

    def check_lit(lit: int) -> int:
        if lit > 2 * m + 1:
            raise rd.error(f"literal {lit} exceeds 2*M+1 = {2 * m + 1}")
        return lit

    inputs = [2 * (k + 1) for k in range(n_i)] if binary else []
    for _ in range(0 if binary else n_i):
        (lit,) = rd.ints("an input literal", 1, 1)
        if lit & 1 or lit < 2:
            raise rd.error(f"input literal {lit} must be even and positive")
        inputs.append(check_lit(lit))
    latches = []
    for k in range(n_l):
        nums = rd.ints("a latch line", 1, 2) if binary else rd.ints("a latch line", 2, 3)
        lhs, rest = (2 * (n_i + k + 1), nums) if binary else (nums[0], nums[1:])
        init = rest[1] if len(rest) > 1 else 0
        if init not in (0, 1):
            raise rd.error(f"latch init {init} is not supported (only 0 or 1)")
        latches.append((check_lit(lhs), check_lit(rest[0]), init))
    outputs = [check_lit(rd.ints("an output literal", 1, 1)[0]) for _ in range(n_o)]
    ands: dict[int, tuple[int, int, int]] = {}
    for k in range(n_a):
        if binary:
            lhs = 2 * (n_i + n_l + k + 1)
            d0 = rd.delta()
            d1 = rd.delta()
            a, b = lhs - d0, lhs - d0 - d1
            if d0 == 0 or a < 0 or b < 0:
                raise TritlensError(f"{source}: line {rd.line + 1}: bad delta in binary AND {k}")
        else:
            lhs, a, b = rd.ints("an AND line 'lhs rhs0 rhs1'", 3, 3)
            if lhs & 1 or lhs < 2:
                raise rd.error(f"AND output literal {lhs} must be even and positive")
        ands[lhs >> 1] = (check_lit(a), check_lit(b), rd.line)
    return _build(rd, inputs, latches, outputs, ands)


def _build(
    rd: _Lines,
    inputs: list[int],
    latches: list[tuple[int, int, int]],
    outputs: list[int],
    ands: dict[int, tuple[int, int, int]],
) -> AIG:
    g = AIG()
    lit_of: dict[int, int] = {0: 0}
    defined = {lit >> 1 for lit in inputs} | {lhs >> 1 for lhs, _, _ in latches} | set(ands)
    if len(defined) != len(inputs) + len(latches) + len(ands):
        raise rd.error("a variable is defined twice")
    for k, lit in enumerate(inputs):
        lit_of[lit >> 1] = g.add_input(f"i{k}")
    latch_lits = [g.add_latch(f"l{k}", init) for k, (_, _, init) in enumerate(latches)]
    for (lhs, _, _), new in zip(latches, latch_lits, strict=True):
        lit_of[lhs >> 1] = new

    def resolve(lit: int) -> int:
        var = lit >> 1
        stack = [var]
        while stack:  # iterative DFS so deep circuits do not hit the recursion limit
            v = stack[-1]
            if v in lit_of:
                stack.pop()
                continue
            if v not in ands:
                raise TritlensError(f"{rd.source}: variable {v} is used but never defined")
            a, b, line = ands[v]
            missing = [x >> 1 for x in (a, b) if x >> 1 not in lit_of]
            if any(m in stack for m in missing):
                raise TritlensError(f"{rd.source}: line {line}: combinational cycle through variable {v}")
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            lit_of[v] = g.AND(lit_of[a >> 1] ^ (a & 1), lit_of[b >> 1] ^ (b & 1))
        return lit_of[var] ^ (lit & 1)

    for v in sorted(ands):
        resolve(2 * v)
    for new, (_, nxt, _) in zip(latch_lits, latches, strict=True):
        g.set_next(new, resolve(nxt))
    for k, lit in enumerate(outputs):
        g.add_output(resolve(lit), f"o{k}")
    _read_symbols(rd, g)
    return g


def _read_symbols(rd: _Lines, g: AIG) -> None:
    while rd.pos < len(rd.data):
        text = rd.next_line("a symbol")
        if not text:
            continue
        if text == "c":
            return
        kind, _, rest = text.partition(" ")
        index, name = kind[1:], rest.strip()
        if kind[:1] not in ("i", "l", "o") or not index.isdigit() or not name:
            raise rd.error(f"bad symbol line {text!r:.60}")
        k = int(index)
        names = {"i": g.input_names, "o": g.output_names}.get(kind[0])
        if kind[0] == "l":
            if k >= len(g.latches):
                raise rd.error(f"symbol for latch {k} which does not exist")
            g.latches[k].name = name
        elif names is not None:
            if k >= len(names):
                raise rd.error(f"symbol for {kind[0]}{k} which does not exist")
            names[k] = name


def read_aiger(path: str | Path) -> AIG:
    """Read an ``.aag`` or ``.aig`` file (format from the header, not the extension)."""
    return parse_aiger(read_bytes(path, "AIGER file", MAX_FILE_BYTES), Path(path).name)


__all__ = ["parse_aiger", "read_aiger", "to_aag", "to_aig", "write_aiger"]
