"""`make bench`'s synthetic archives, cached by generator code, size and seed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from amass_arrow.tools import synthetic
from amass_arrow.tools.synthetic import synth


# ---------------------------------------------------------------- the run
def generator_hash() -> str:
    """Hash of the synthetic generator's source files."""
    import hashlib

    h = hashlib.blake2b(digest_size=8)
    for f in sorted(Path(synthetic.__file__).parent.glob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()


def cached_archive(out: Path, frames: int, seed: int, log) -> tuple[Path, Path, float]:
    d = out / f"synth-{frames}"
    done = d / ".done"
    stamp = f"{frames} {seed} {generator_hash()}"  # a changed generator invalidates the cache
    if done.is_file() and done.read_text().strip() == stamp:
        log(f"reusing synthetic archive {d}")
        return d / "amass", d / "body_models", float("nan")
    shutil.rmtree(d, ignore_errors=True)
    log(f"synthesizing ~{frames:,} source frames into {d} …")
    res = synth(d, seed=seed, target_frames=frames)
    done.write_text(stamp)
    # Flush the new archive's gigabytes to disk now: left dirty, the builds' per-part fsyncs would
    # wait for them (ext4 commits them with the journal), and the timings would measure the synthesis.
    os.sync()
    return res.amass_root, res.body_models, res.seconds
