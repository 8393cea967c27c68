"""A deterministic synthetic retail world with ground truth, for the demo, tests and benchmarks."""
