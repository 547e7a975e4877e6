"""Ray Serve apps, one per file (embedding endpoints, predictor with v2 -> v1 -> v0 fallback). Not built yet."""
