"""The run layer: the run directory every stage reads and writes, and nothing else.

Layout and states (:class:`RunDir`), atomic writes and guarded outputs (``files``), the lock of a
run directory (``lock``), safetensors I/O with strict checks (``tensors``), the JSON file schemas
(``schema``) and the typed :class:`Run` with :func:`load_run` (``loaded``). Training, analysis,
compilation and reports import this package; it imports only configuration, tasks and models.
"""

from tritlens.run.files import Output, atomic_write_bytes, atomic_write_text, read_text
from tritlens.run.layout import RunDir
from tritlens.run.loaded import Run, load_run
from tritlens.run.lock import RunLock, RunLockedError, is_locked
from tritlens.run.tensors import check_like, load_tensors, load_weights_into, save_tensors, weights_step

__all__ = [
    "Output", "RunDir", "Run", "RunLock", "RunLockedError", "atomic_write_bytes", "atomic_write_text",
    "check_like", "is_locked", "load_run", "load_tensors", "load_weights_into", "read_text", "save_tensors",
    "weights_step",
]
