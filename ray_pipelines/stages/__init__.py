"""Pipeline stages, one per file: each computes one component (or one Ray step) for a video."""
