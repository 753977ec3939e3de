"""Imported once by the local pool's fork server before it forks any worker (multiprocessing
`set_forkserver_preload`): the per-file pipeline's modules (numpy, pyarrow, read -> motion -> write)
and the compiled kernels (kernels.warm) load there, and every worker is forked with them in memory
instead of importing and loading them itself (about 1 s of CPU a worker; `make bench` build rows).
"""

import os

from .warmstart import OWNER_ENV, die_with_parent

if os.environ.get(OWNER_ENV):  # in the fork server: die with the build that started it
    die_with_parent(int(os.environ.pop(OWNER_ENV)))

from .. import convert, kernels, motion  # noqa: F401 - imported for their side effect: loaded once, inherited by the workers

try:
    kernels.warm()
except Exception:  # noqa: BLE001 - never break the pool: a worker then loads (and reports) the kernels itself
    pass
