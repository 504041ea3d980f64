"""Torch's CPU threads: a thread count for the length of a block, and small jobs side by side."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import torch

T = TypeVar("T")


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run torch on at most ``n`` threads inside the block, restoring the previous setting (the
    setting is process-wide)."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, min(n, before)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def side_by_side(work: Callable[[int], T], count: int, workers: int) -> list[T]:
    """``[work(0), ..., work(count - 1)]``, with ``workers`` > 1 running them side by side on one torch
    thread each (small products use the cores better that way than split across threads). ``work(0)``
    runs alone first, so it can set up what the others share; if one fails, those not yet started are
    cancelled."""
    if workers <= 1 or count <= 1:
        return [work(i) for i in range(count)]
    out = [work(0)]
    with torch_threads(1):
        pool = ThreadPoolExecutor(workers)
        try:
            out += pool.map(work, range(1, count))
        finally:
            pool.shutdown(cancel_futures=True)
    return out
