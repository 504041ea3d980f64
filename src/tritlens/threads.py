"""Torch's CPU threads: a thread count for the length of a block, and small jobs side by side."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
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


def side_by_side(work: Callable[[int], T], count: int, workers: int, *, first_alone: bool = True,
                 stop: threading.Event | None = None) -> list[T]:
    """``[work(0), ..., work(count - 1)]``, with ``workers`` > 1 running them side by side on one torch
    thread each (small products use the cores better that way than split across threads). With
    ``first_alone``, ``work(0)`` runs alone first, so it can set up what the others share. The first
    job to fail (or Ctrl-C), whichever job it is, cancels those not yet started and sets ``stop`` (for
    running jobs that watch it); its exception is raised once the running jobs have returned."""
    if workers <= 1 or count <= 1:
        return [work(i) for i in range(count)]
    out = [work(0)] if first_alone else []
    with torch_threads(1), ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(work, i) for i in range(len(out), count)]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f.exception() for f in futures if f.done() and not f.cancelled() and f.exception()]
            if failed:
                raise failed[0]
        except BaseException:
            for future in futures:
                future.cancel()
            if stop is not None:
                stop.set()
            raise
    return out + [f.result() for f in futures]
