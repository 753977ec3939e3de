"""`make bench`: speed, memory and size of the whole pipeline against baselines measured in the same run.

On one synthetic archive (`synth(target_frames=N)`, mixed 60/100/120/250 fps) it measures:
  read floor   loading every input `.npz`'s numeric arrays with numpy and nothing else (best of 2)
  build        `amass-arrow build --fps 30` (FK + contacts) in a subprocess, 1 and 2 workers, the faster of
               BUILD_RUNS runs: wall time, source frames/s, peak RSS of the process tree (a /proc sampler
               summing the tree's RSS; the largest of the runs) and the largest single process
               (getrusage RUSAGE_CHILDREN)
  smplx        what a user would otherwise write: per sequence, np.load, every k-th frame to ~30 fps,
               smplx forward pass for the joints (models created once, not timed); a bounded sample of
               SMPL+H sequences, extrapolated to source frames/s
  export       `build_splits` of the official split to a HF DatasetDict (unit frame)
  loading      frames/s of shuffled batches of 1024 from the train split: amass_arrow.loader.FrameLoader
               (one full epoch) vs `DataLoader(load_from_disk(...).with_format("torch"), batch_size=1024,
               shuffle=True)` (a bounded number of batches)
  ray          the 2-worker build again with `--executor ray` (a local Ray the build starts): its overhead
  size         store bytes / input `.npz` bytes
  humanml3d    `export --kind humanml3d --recipe official` of a synthetic clone of HumanML3D's size (29,232 clips)
               from a `--resample none` store of synthetic sources (tools/bench/humanml3d.py; `--humanml3d SCALE`)
then the same build at 2N (`scaling`) to show how time and memory grow. `run()` returns one dict (also
written to OUT/bench.json); `format_table()` prints it with a pass/fail column per target.

Modules: `targets` (settings, targets, ratios), `measure` (one function per measurement), `archive` (the
cached synthetic archives), `humanml3d` (the HumanML3D row and its synthetic world), `run` (a whole run -> bench.json), `table` (the printed table).
"""

from amass_arrow.tools.bench.run import machine, measure_size, run
from amass_arrow.tools.bench.table import format_table
from amass_arrow.tools.bench.targets import BUILD_RUNS, TARGETS, check_targets, ratios

__all__ = ["BUILD_RUNS", "TARGETS", "check_targets", "format_table", "machine", "measure_size", "ratios", "run"]
