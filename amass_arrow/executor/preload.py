"""Imported once by the local pool's fork server before it forks any worker (multiprocessing
`set_forkserver_preload`): the per-file pipeline's modules (numpy, pyarrow, read -> motion -> write)
and the compiled kernels (kernels.enabled -> warm) load there, and every worker is forked with them in memory
instead of importing and loading them itself (about 1 s of CPU a worker; `make bench` build rows).
"""

from .. import convert, kernels, motion  # noqa: F401 - imported for their side effect: loaded once, inherited by the workers

kernels.enabled()  # loads them; when they cannot load, warns once here and the workers inherit the numpy choice
