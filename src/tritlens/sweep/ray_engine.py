"""The Ray engine: the same trials as Ray tasks (``num_cpus`` = threads per trial), on a cluster or a
local Ray instance. Ray is optional (``pip install 'tritlens[ray]'``).

Every node must have tritlens installed and see the sweep directory at the same path (a shared file
system), since each task writes its trial's run directory where it runs. The address is checked with a
plain TCP connection first, so an unreachable cluster is one line after a few seconds, not a hang.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Iterator
from typing import Any

from tritlens.errors import TritlensError
from tritlens.run.files import reason
from tritlens.sweep.trial import FAILED, INTERRUPTED, Done, outcome

CONNECT_TIMEOUT = 3.0  # seconds to reach the cluster's address before giving up
CONNECT_RETRIES = 3  # Ray's own attempts (about a second each) to reach the cluster's GCS
LOCAL = (None, "local")


class RayError(TritlensError):
    """Ray is not installed, or the cluster cannot be reached."""


def require_ray(address: str | None) -> Any:
    """The ``ray`` module, after checking that ``address`` (``host:port``, ``ray://host:port``, ``auto``
    or ``local``/None for a new local instance) answers; a RayError otherwise."""
    try:
        import ray
    except ImportError:
        raise RayError("the ray engine needs Ray: pip install 'tritlens[ray]' (or pip install ray)") from None
    if address not in (*LOCAL, "auto"):
        host, port = split_address(address)
        try:
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
        except OSError as exc:
            why = "timed out" if isinstance(exc, TimeoutError) else reason(exc)
            raise RayError(f"cannot reach the Ray cluster at {address}: {why}") from None
    return ray


def split_address(address: Any) -> tuple[str, int]:
    """``host:port`` (with or without ``ray://``) as (host, port); a RayError for anything else."""
    text = address.removeprefix("ray://") if isinstance(address, str) else ""
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RayError(f"--address must be HOST:PORT, ray://HOST:PORT, auto or local, got "
                       f"{str(address)[:80]!r}")
    return host.strip("[]"), int(port)


def _ray_trial(job: dict[str, Any], threads: int) -> dict[str, Any]:
    from tritlens.sweep.trial import run_trial, set_threads
    set_threads(threads)
    return run_trial(job)


@contextlib.contextmanager
def ray_session(address: str | None, cpus: int) -> Iterator[Any]:
    """Ray, connected: a new local instance with ``cpus`` CPUs (``address`` None or ``local``), or the
    cluster at ``address``; one that this block started is shut down at its end (a session the caller
    already started is used and left running). An unreachable cluster is a RayError within seconds."""
    ray = require_ray(address)
    started = not ray.is_initialized()
    if started:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                   "configure_logging": False}
        try:
            if address in LOCAL:
                ray.init(num_cpus=cpus, **options)
            else:
                with _quiet_stderr(), _env("RAY_gcs_server_port_wait_time_s", str(CONNECT_RETRIES)):
                    ray.init(address=address, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            ray.shutdown()
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            raise RayError(f"cannot start or join Ray at {address or 'local'}: {first}") from None
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    """``name=value`` in the environment for the block, unless the user set it already."""
    before = os.environ.get(name)
    os.environ.setdefault(name, value)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Ray's C++ client logs each failed connection attempt on stderr; keep the error to one line."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def run_ray(ray: Any, jobs: list[dict[str, Any]], threads: int, on_done: Done) -> None:
    """Run every job as a Ray task with ``num_cpus=threads`` in the connected ``ray`` session."""
    task = ray.remote(num_cpus=threads, max_retries=0)(_ray_trial)
    names = {task.remote(job, threads): job["name"] for job in jobs}
    _wait(ray, names, on_done)


def _wait(ray: Any, names: dict[Any, str], on_done: Done) -> None:
    pending = list(names)
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=1.0)
            for ref in ready:
                on_done(_result(ray, ref, names[ref]))
    except KeyboardInterrupt:
        for ref in pending:  # a running task gets KeyboardInterrupt: its run stays resumable
            ray.cancel(ref)
        for ref in pending:
            result = _result(ray, ref, names[ref])
            on_done(result if result["status"] != FAILED else
                    outcome(names[ref], INTERRUPTED, "interrupted; rerun the sweep to resume"))
        raise


def _result(ray: Any, ref: Any, name: str) -> dict[str, Any]:
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:  # the task or its worker died; the run dir says how far it got
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        return outcome(name, FAILED, f"ray: {type(exc).__name__}: {first}")
