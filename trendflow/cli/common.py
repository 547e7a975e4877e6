"""Arguments and helpers shared by commands that work on a result store."""

from __future__ import annotations

import argparse

from trendflow.artifacts import ArtifactStore
from trendflow.config import IndexConfig, StorageConfig, load_section
from trendflow.index import ArtifactIndex


def add_config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="CFG.yaml", default=None,
                   help="YAML config (sections: storage, index, retention, sampling, extract, audio, train...). "
                        "Env overrides: TRENDFLOW__<SECTION>__<FIELD>=value.")


def add_store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", default=None,
                   help="result store: a local folder or s3://bucket/prefix (default: storage.store in "
                        "the config, else ./result_store)")
    add_config_arg(p)


def storage_config(args: argparse.Namespace) -> StorageConfig:
    overrides = {"store": args.store} if getattr(args, "store", None) else None
    return load_section(args.config, "storage", StorageConfig, overrides)


def open_store(args: argparse.Namespace) -> ArtifactStore:
    return ArtifactStore.from_config(storage_config(args))


def open_index(args: argparse.Namespace, store: ArtifactStore) -> ArtifactIndex:
    return ArtifactIndex(store, load_section(args.config, "index", IndexConfig).capacity)
