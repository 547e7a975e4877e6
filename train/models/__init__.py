"""Neural forecasters, one file per model; each registers itself in `train.registry`."""
