"""A real two-node Ray cluster on this machine (tests/cluster/raynodes.py), 1 CPU per node."""

import pytest

from tests.cluster.raynodes import Node, alive_nodes


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory):
    """Head + one worker node (1 CPU each). Yields a dict: head, workers (list, may grow), address."""
    base = tmp_path_factory.mktemp("raynodes")
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
