"""Frozen encoders shared by the batch pipeline and the Serve apps (no training/serving skew)."""
