"""The per-sequence pipeline: body models, resampling, kinematics, orientation, floor, contacts, quality."""
