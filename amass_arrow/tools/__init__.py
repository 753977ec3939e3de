"""Developer tools, not imported by the core: bench, fidelity, report, render, synthetic data."""
