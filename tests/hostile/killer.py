"""Kill trainers at exact moments (run as a script by test_kills.py; prints JSON to stdout).

    python killer.py JOBS.json     # [{"out": DIR, "overrides": {...}, "kills": [[event, step, signal]]}]

Each kill point is (event, step, signal): the trainer's ``on_event`` callback fires after every metrics
row, weights file, resume file and final file, and the child sends itself the signal right there, so
the moment is exact and repeatable. A job with several kill points is killed, resumed, killed again...
Training runs in forked children, so torch is imported once for all jobs; this process runs only
meta-device operations before forking (the memory estimate, whose first call loads torch's meta kernels
for seconds: paid here once instead of in every child), never a computation. The result per job is the
list of exit statuses: -9 for SIGKILL, 130 for SIGINT (KeyboardInterrupt, as the CLI reports it), 0
when the point was never reached.
"""

from __future__ import annotations

import json
import os
import signal
import sys

import torch

torch.set_num_threads(1)

import tritlens.api as tl  # noqa: E402  (after the thread setting, as the tests do)
from tritlens.train.memory import estimate_memory  # noqa: E402


def _child(job: dict, kill: list, resume: bool) -> None:
    event, step, sig = kill

    def on_event(name: str, at: int) -> None:
        if (name, at) == (event, step):
            os.kill(os.getpid(), getattr(signal, sig))

    code = 0
    try:
        tl.train("quick", out=job["out"], overrides=job["overrides"], progress=False, on_event=on_event,
                 resume=resume)
    except KeyboardInterrupt:
        code = 130
    except BaseException as exc:  # noqa: BLE001  (reported, never hidden)
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        code = 3
    os._exit(code)


def main() -> None:
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    for job in jobs:
        estimate_memory(tl.make_config("quick", job["overrides"]))
    results = []
    for job in jobs:
        statuses = []
        for k, kill in enumerate(job["kills"]):
            pid = os.fork()
            if pid == 0:
                _child(job, kill, resume=k > 0)
            _, status = os.waitpid(pid, 0)
            statuses.append(-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))
        results.append(statuses)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
