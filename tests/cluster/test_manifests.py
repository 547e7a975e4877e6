"""Every deployment file in cluster/ loads, and what it names exists: trendflow commands (parsed by the
real CLI parser), python modules, files, config files (loaded with the real config loader)."""

import json
import os
import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "cluster"
YAMLS = sorted(CLUSTER.glob("*.yaml"))


def documents():
    for path in YAMLS:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                yield path, doc


def strings(node):
    """Every string in a YAML document (commands hide in entrypoints, start commands, args...)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)


def trendflow_commands(text: str) -> list[list[str]]:
    """argv of each `trendflow ...` command in a shell line (split on && ; |)."""
    out = []
    for part in re.split(r"&&|;|\|", text):
        argv = shlex.split(part.strip()) if part.strip() else []
        if len(argv) > 1 and os.path.basename(argv[0]) == "trendflow":  # a command, not the name
            out.append(argv[1:])
    return out


def all_trendflow_commands():
    return [(path.name, argv) for path, doc in documents() for s in strings(doc) for argv in trendflow_commands(s)]


def test_there_is_a_launcher_a_raycluster_and_rayjobs_for_extraction_and_training():
    kinds = {(doc.get("kind") or ("launcher" if "available_node_types" in doc else "other")) for _, doc in documents()}
    assert {"launcher", "RayCluster", "RayJob"} <= kinds
    subcommands = {argv[0] for _, argv in all_trendflow_commands()}
    assert {"extract", "train"} <= subcommands


def test_every_trendflow_command_parses_and_its_files_exist():
    from trendflow.cli import build_parser
    parser = build_parser()
    commands = all_trendflow_commands()
    assert commands
    for name, argv in commands:
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{name}: `trendflow {' '.join(argv)}` does not parse")
        if getattr(args, "config", None):
            assert (ROOT / args.config).is_file(), (name, args.config)
        for attr in ("dataset", "store", "data", "out"):
            value = getattr(args, attr, None)
            if value:  # cluster jobs read and write shared storage only
                assert value.startswith("s3://"), (name, attr, value)


def test_configs_named_by_the_jobs_load_and_use_shared_storage():
    from ray_pipelines.pipeline import Configs
    configs = {args_config for _, argv in all_trendflow_commands()
               for args_config in [argv[argv.index("--config") + 1]] if "--config" in argv}
    assert configs
    for rel in configs:
        cfg = Configs.load(str(ROOT / rel), None)
        assert cfg.storage.store.startswith("s3://"), rel
        assert cfg.extract.device == "gpu" and cfg.extract.max_actors  # a GPU tier that may start empty


def test_launcher_file_is_valid_for_ray_and_has_a_cpu_head_and_gpu_workers():
    import jsonschema
    import ray
    schema = json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json").read_text())
    launchers = [(p, d) for p, d in documents() if "available_node_types" in d]
    assert launchers
    for path, doc in launchers:
        jsonschema.validate(doc, schema)
        types = doc["available_node_types"]
        head = types[doc["head_node_type"]]
        assert head["resources"].get("GPU", 0) == 0, path
        assert any(t["resources"].get("GPU", 0) > 0 for k, t in types.items() if k != doc["head_node_type"])
        for src in doc.get("file_mounts", {}).values():
            if not src.startswith("~"):  # files of this repository (the token lives on the operator's machine)
                assert (ROOT / src).exists(), src
        for cmd in doc["head_start_ray_commands"] + doc["worker_start_ray_commands"]:
            for ray_bin in re.findall(r"~/trendflow/(\S+/ray)\b", cmd):
                assert ray_bin == ".venv/bin/ray"  # what `make venv` installs


def test_kuberay_manifests_name_the_image_and_a_gpu_group():
    clusters = [d for _, d in documents() if d.get("kind") == "RayCluster"]
    for c in clusters:
        assert c["apiVersion"] == "ray.io/v1" and c["spec"]["rayVersion"] == _ray_version()
        workers = c["spec"]["workerGroupSpecs"]
        gpu = [w for w in workers if any("nvidia.com/gpu" in ct["resources"]["limits"]
                                         for ct in w["template"]["spec"]["containers"])]
        assert gpu and all(w["minReplicas"] <= w["maxReplicas"] for w in workers)
        assert c["spec"]["headGroupSpec"]["rayStartParams"]["num-gpus"] == "0"
    jobs = [d for _, d in documents() if d.get("kind") == "RayJob"]
    names = {c["metadata"]["name"] for c in clusters}
    for j in jobs:
        assert j["spec"]["clusterSelector"]["ray.io/cluster"] in names


def test_runtime_env_is_a_valid_ray_runtime_env_and_the_jobs_inline_the_same():
    from ray.runtime_env import RuntimeEnv
    env = yaml.safe_load((CLUSTER / "runtime-env.yaml").read_text())
    RuntimeEnv(**env)  # raises on an unknown field
    for _, doc in documents():
        if doc.get("kind") == "RayJob":
            assert yaml.safe_load(doc["spec"]["runtimeEnvYAML"]) == env


def test_dockerfile_copies_what_exists_and_installs_the_lock():
    text = (CLUSTER / "Dockerfile").read_text()
    for line in text.splitlines():
        if line.startswith("COPY "):
            for src in line.split()[1:-1]:
                assert (ROOT / src).exists(), src
    assert "requirements.lock" in text and "pip install --no-cache-dir --no-deps -e ." in text


def _ray_version() -> str:
    import ray
    return ray.__version__
