"""Ray nodes on this machine for multi-node tests and benchmarks: `ray start` on loopback, each node with
its own temp dir and free ports (other sessions on the machine never see it); stopped by killing the
processes it started (never `ray stop`, which would stop every Ray on the machine)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

RAY = str(Path(sys.executable).with_name("ray"))
START_ATTEMPTS = 3


def free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Node:
    """One `ray start` node, known by its temp dir (every process it starts names it)."""

    def __init__(self, temp_dir: Path, head_address: str | None = None, cpus: int = 1):
        self.temp_dir = temp_dir
        agent, grpc, runtime_env, metrics, client, dashboard, gcs = free_ports(7)
        args = [RAY, "start", f"--num-cpus={cpus}", "--num-gpus=0", f"--temp-dir={temp_dir}",
                f"--dashboard-agent-listen-port={agent}", f"--dashboard-agent-grpc-port={grpc}",
                f"--runtime-env-agent-port={runtime_env}", f"--metrics-export-port={metrics}",
                "--min-worker-port=0", "--max-worker-port=0", "--disable-usage-stats"]
        if head_address is None:
            args += ["--head", f"--port={gcs}", f"--ray-client-server-port={client}", "--include-dashboard=false",
                     f"--dashboard-port={dashboard}"]
        else:
            args += [f"--address={head_address}"]
        for attempt in range(START_ATTEMPTS):
            r = subprocess.run(args, capture_output=True, text=True, timeout=300, env=ray_env())
            if r.returncode == 0:
                break
            self.kill()  # Ray waits a fixed 30 s for its raylet to register: a loaded machine can miss it
        else:
            raise RuntimeError(f"ray start failed {START_ATTEMPTS} times: {r.stdout[-2000:]}\n{r.stderr[-2000:]}")
        self.address = (temp_dir / "ray_current_cluster").read_text().strip() if head_address is None \
            else head_address

    def processes(self) -> set:
        mine = {p for p in psutil.process_iter(["cmdline"]) if str(self.temp_dir) in " ".join(p.info["cmdline"] or [])}
        for p in list(mine):
            try:
                mine.update(p.children(recursive=True))  # workers (ray::...) are the raylet's children
            except psutil.Error:
                pass
        return mine

    def kill(self) -> int:
        """SIGKILL every process of this node (a machine that died): raylet, agents, workers."""
        procs = self.processes()
        for p in procs:
            try:
                p.send_signal(signal.SIGKILL)
            except psutil.Error:
                pass
        psutil.wait_procs(list(procs), timeout=30)
        return len(procs)


def ray_env() -> dict:
    return {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def alive_nodes(address: str, expect: int, timeout_s: float = 240) -> list[str]:
    """Node ids of the alive nodes once there are `expect` of them (a short-lived driver process)."""
    code = ("import ray, sys, time\n"
            f"ray.init(address='{address}', log_to_driver=False)\n"
            f"deadline = time.time() + {timeout_s}\n"
            "while True:\n"
            "    ids = [n['NodeID'] for n in ray.nodes() if n['Alive']]\n"
            f"    if len(ids) == {expect} or time.time() > deadline:\n"
            "        print(' '.join(ids)); break\n"
            "    time.sleep(1)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout_s + 120,
                       env=ray_env())
    return r.stdout.split()


