"""Preloaded by test_robust's kill test into a build's fork server (not a test module): every conversion
writes "<worker pid> <fork server pid>" to the fifo named by $AMASS_ARROW_TEST_FIFO, then blocks forever."""

import os
import threading

from amass_arrow.build import convert


def _hold(item, *args):
    with open(os.environ["AMASS_ARROW_TEST_FIFO"], "w") as fh:
        fh.write(f"{os.getpid()} {os.getppid()}\n")
    threading.Event().wait()


convert.convert_task = _hold
