"""TrendFlow core: config, ids, storage, artifacts, index, dataset contract, targets, metrics, CLI.

The core imports only stdlib, numpy, pyarrow, pydantic and fsspec at import time; Ray and
torch live in the packages built on top of it (sampling, ray_pipelines, train, serve_apps).
"""

__version__ = "0.1.0"
# Version of the whole extraction stack; part of the artifact-index key, so bumping it
# invalidates every cached run.
DATAPROCESSOR_VERSION = "0.1.0"
