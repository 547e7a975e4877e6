"""Synthetic test data: datasets, videos and audio with known ground truth."""
