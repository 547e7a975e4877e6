"""A real two-node Ray cluster on this machine (tests/cluster/raynodes.py), 1 CPU per node."""

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.cluster.raynodes import Node, alive_nodes


@pytest.fixture(scope="module")
def two_nodes():
    """Head + one worker node (1 CPU each). Yields a dict: head, workers (list, may grow), address."""
    base = Path(tempfile.mkdtemp(prefix="tfr-", dir="/tmp"))  # short: Ray's socket paths must stay under 107 bytes
    nodes = []
    try:
        head = Node(base / "head")
        nodes.append(head)
        nodes.append(Node(base / "worker1", head.address))
        ids = alive_nodes(head.address, 2)
        assert len(ids) == 2, f"the worker node did not join: {ids}"
        cluster = {"head": head, "workers": nodes[1:], "address": head.address, "base": base, "nodes": nodes}
        yield cluster
    finally:
        for node in reversed(nodes):
            node.kill()
        shutil.rmtree(base, ignore_errors=True)
