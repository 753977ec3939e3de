"""Imported once by the local pool's fork server before it forks any worker (multiprocessing
`set_forkserver_preload`): the per-file pipeline's modules (numpy, pyarrow, read -> motion -> write)
and the compiled kernels (kernels.enabled -> warm) load there, and every worker is forked with them in memory
instead of importing and loading them itself (about 1 s of CPU a worker; `make bench` build rows).
"""

import os

from amass_arrow.build.warmstart import OWNER_ENV, die_with_parent

if os.environ.get(OWNER_ENV):  # in the fork server: die with the build that started it
    die_with_parent(int(os.environ.pop(OWNER_ENV)))

# imported for their side effect: loaded once, inherited by the workers
from amass_arrow.build import convert  # noqa: E402, F401
from amass_arrow.motion import kernels  # noqa: E402
from amass_arrow.motion import pipeline as motion  # noqa: E402, F401

kernels.enabled()  # loads them; when they cannot load, warns once here and the workers inherit the numpy choice
