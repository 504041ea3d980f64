"""Small jobs side by side: results in order, the first alone, the thread setting restored, and a
failure passed on."""

from __future__ import annotations

import threading

import pytest
import torch

from tritlens.threads import side_by_side, torch_threads


def test_side_by_side_keeps_order_runs_the_first_alone_and_restores_threads():
    threads, seen = torch.get_num_threads(), []

    def work(i: int) -> tuple[int, int]:
        seen.append((i, threading.get_ident()))
        return i, torch.get_num_threads()

    out = side_by_side(work, 9, workers=3)
    assert [i for i, _ in out] == list(range(9))
    assert all(n == 1 for _, n in out[1:])  # the others on one torch thread each
    caller = threading.get_ident()
    assert seen[0] == (0, caller)  # job 0 first, alone, in the calling thread
    assert all(who != caller for _, who in seen[1:])  # the others in the pool
    assert torch.get_num_threads() == threads
    assert side_by_side(lambda i: i * i, 4, workers=1) == [0, 1, 4, 9] and side_by_side(str, 0, 2) == []


def test_a_failing_job_is_passed_on_and_threads_are_restored():
    threads = torch.get_num_threads()

    def work(i: int) -> int:
        if i == 2:
            raise ValueError("job 2")
        return i

    with pytest.raises(ValueError, match="job 2"):
        side_by_side(work, 50, workers=2)
    assert torch.get_num_threads() == threads
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == threads


@pytest.mark.parametrize("first_alone", [True, False])
def test_the_first_failure_stops_the_others_whichever_job_it_is(first_alone):
    stop, released = threading.Event(), []

    def work(i: int) -> int:
        if i == 1:  # a long job: it ends when told to stop (and after 30 s if nobody does)
            released.append(stop.wait(timeout=30))
        if i == 2:
            raise ValueError("job 2")
        return i

    with pytest.raises(ValueError, match="job 2"):
        side_by_side(work, 6, workers=2, first_alone=first_alone, stop=stop)
    assert released == [True]  # job 2's failure was seen while job 1 still ran, not after it


def test_all_jobs_side_by_side_when_none_runs_first():
    caller = threading.get_ident()
    seen = side_by_side(lambda i: threading.get_ident(), 4, workers=2, first_alone=False)
    assert len(seen) == 4 and caller not in seen
