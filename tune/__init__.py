"""Ray Tune sweeps over the training recipes (search spaces and the sweep runner). Not built yet."""
