"""cluster/serve.yaml is what `serve build serve_apps.app:app` generates today (only the app's name differs),
and the KubeRay RayService deploys that same application."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _apps(doc):
    return {a.pop("name"): a for a in doc["applications"]}


def test_serve_yaml_is_in_sync_with_serve_build(tmp_path):
    out = tmp_path / "serve.yaml"
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    for var in ("TRENDFLOW_SERVE_MODELS", "TRENDFLOW_SERVE_STORE", "TRENDFLOW_SERVE_CACHE", "TRENDFLOW_SERVE_CONFIG"):
        env.pop(var, None)
    serve_bin = Path(sys.executable).parent / "serve"
    subprocess.run([str(serve_bin), "build", "serve_apps.app:app", "-o", str(out)], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)
    generated = yaml.safe_load(out.read_text())
    committed = yaml.safe_load((ROOT / "cluster" / "serve.yaml").read_text())
    assert list(_apps(generated)) == ["app1"]
    assert _apps(committed).keys() == {"trendflow"}
    generated = yaml.safe_load(out.read_text())
    committed = yaml.safe_load((ROOT / "cluster" / "serve.yaml").read_text())
    generated["applications"][0]["name"] = "trendflow"
    assert committed == generated, "cluster/serve.yaml is stale: regenerate it (command in its header)"


def test_rayservice_deploys_the_same_app():
    docs = [d for d in yaml.safe_load_all((ROOT / "cluster" / "kuberay-rayservice.yaml").read_text()) if d]
    (svc,) = [d for d in docs if d.get("kind") == "RayService"]
    serve_cfg = yaml.safe_load(svc["spec"]["serveConfigV2"])
    committed = yaml.safe_load((ROOT / "cluster" / "serve.yaml").read_text())
    (app,), (built,) = serve_cfg["applications"], committed["applications"]
    assert app["import_path"] == built["import_path"] == "serve_apps.app:app"
    assert {d["name"] for d in app["deployments"]} == {d["name"] for d in built["deployments"]}
    env = {e["name"] for c in svc["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"]
           for e in c.get("env", [])}
    assert {"TRENDFLOW_SERVE_MODELS", "TRENDFLOW_SERVE_STORE", "TRENDFLOW_SERVE_CACHE"} <= env
