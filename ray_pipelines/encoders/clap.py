"""CLAP audio encoder (LAION-CLAP's HTSAT audio branch + audio projection), loaded offline by default.

Only the audio half of CLAP is built: `laion_clap`'s top-level package loads roberta/bart
tokenizers from the model hub at import time (it hangs offline), and the text branch is not
needed to embed audio. So `htsat.py` is imported from `laion_clap/clap_module/` as a bare package
(its `__init__` is skipped) and wrapped with the same attribute names as `laion_clap`'s `CLAP`
(`audio_branch`, `audio_projection`), so a LAION checkpoint's audio weights load by key.

Weights: a local checkpoint (e.g. 630k-audioset-best.pt), or a checkpoint name on the
lukewys/laion_clap hub repo when downloads are allowed; otherwise the same architecture with
random weights (seed 0), and every artifact says weights="random-init".
`trendflow-clap-tiny` is a small built-in HTSAT (3 M parameters, ~60 windows/s on one CPU
thread vs ~2.5 for HTSAT-tiny) for tests and the laptop demo.

Inputs are 48 kHz mono windows; each is repeat-padded to the model's 10 s clip (LAION's
"repeatpad" filling for short audio, what the pretrained model saw in training).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ray_pipelines.audio_config import ClapConfig
from trendflow.config import ConfigError

RANDOM_INIT = "random-init"
HUB_REPO = "lukewys/laion_clap"
LAION_ARCHS = ("HTSAT-tiny", "HTSAT-base", "HTSAT-large")
JOINT_DIM = 512  # LAION-CLAP's joint embedding size (CLAP(joint_embed_shape=512))
BUILTIN_ARCHS = {
    "trendflow-clap-tiny": {
        "audio_cfg": {"sample_rate": 48000, "clip_samples": 480000, "window_size": 1024, "hop_size": 960,
                      "mel_bins": 32, "fmin": 50, "fmax": 14000, "class_num": 527},
        "htsat": {"spec_size": 128, "patch_size": 4, "patch_stride": (4, 4), "embed_dim": 32,
                  "depths": [1, 1, 2, 1], "num_heads": [1, 2, 4, 8], "window_size": 8},
        "joint_dim": 128,
    },
}
_PKG = "_trendflow_laion_clap_module"


def _htsat():
    """laion_clap/clap_module/htsat.py, imported without running laion_clap/__init__.py (hub downloads)."""
    if f"{_PKG}.htsat" not in sys.modules:
        spec = importlib.util.find_spec("laion_clap")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("laion_clap is not installed (pip install laion-clap)")
        pkg = types.ModuleType(_PKG)
        pkg.__path__ = [os.path.join(spec.submodule_search_locations[0], "clap_module")]
        sys.modules[_PKG] = pkg
    return importlib.import_module(f"{_PKG}.htsat")


def architecture(model_name: str) -> dict:
    """{"audio_cfg": ..., "embed_dim": audio branch width, "joint_dim": output D, "htsat": ctor args or None}."""
    if model_name in BUILTIN_ARCHS:
        arch = BUILTIN_ARCHS[model_name]
        h = arch["htsat"]
        return {**arch, "embed_dim": h["embed_dim"] * 2 ** (len(h["depths"]) - 1)}
    if model_name in LAION_ARCHS:
        spec = importlib.util.find_spec("laion_clap")
        path = Path(spec.submodule_search_locations[0]) / "clap_module" / "model_configs" / f"{model_name}.json"
        cfg = json.loads(path.read_text())
        return {"audio_cfg": cfg["audio_cfg"], "embed_dim": cfg["embed_dim"], "joint_dim": JOINT_DIM, "htsat": None}
    raise ConfigError(f"audio.clap.model_name: unknown CLAP audio model {model_name!r}; known: "
                      f"{[*LAION_ARCHS, *BUILTIN_ARCHS]}")


def embed_dim(model_name: str) -> int:
    """D_a of the model's embeddings, known without loading it."""
    return int(architecture(model_name)["joint_dim"])


def sample_rate(model_name: str) -> int:
    return int(architecture(model_name)["audio_cfg"]["sample_rate"])


class ClapAudioModel(nn.Module):
    """HTSAT audio branch + MLP projection, named like laion_clap's CLAP so checkpoints load by key."""

    def __init__(self, model_name: str):
        super().__init__()
        arch = architecture(model_name)
        audio_cfg = SimpleNamespace(**arch["audio_cfg"])
        htsat = _htsat()
        with warnings.catch_warnings():  # laion's Swin blocks call meshgrid without indexing=; harmless
            warnings.filterwarnings("ignore", message="torch.meshgrid")
            if arch["htsat"] is None:
                self.audio_branch = htsat.create_htsat_model(audio_cfg)
            else:
                self.audio_branch = htsat.HTSAT_Swin_Transformer(config=audio_cfg, num_classes=audio_cfg.class_num,
                                                                 **arch["htsat"])
        d, j = arch["embed_dim"], arch["joint_dim"]
        self.audio_projection = nn.Sequential(nn.Linear(d, j), nn.ReLU(), nn.Linear(j, j))
        self.clip_samples = int(audio_cfg.clip_samples)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """(B, clip_samples) float → (B, D) L2-normalised."""
        h = self.audio_branch({"waveform": waveform}, device=waveform.device)["embedding"]  # (B, embed_dim)
        return F.normalize(self.audio_projection(h), dim=-1)


def repeat_pad(windows: torch.Tensor, clip_samples: int) -> torch.Tensor:
    """(B, n) → (B, clip_samples): repeat the window as many whole times as fit, zero-pad the rest
    (LAION's "repeatpad"); windows longer than a clip keep their first clip_samples."""
    n = windows.shape[1]
    if n >= clip_samples:
        return windows[:, :clip_samples]
    x = windows.repeat(1, clip_samples // n)  # (B, reps·n)
    return F.pad(x, (0, clip_samples - x.shape[1]))


def resolve_checkpoint(cfg: ClapConfig) -> str | None:
    """Local checkpoint path, a hub download when allowed, or None (random init)."""
    if cfg.pretrained is None:
        return None
    if os.path.exists(cfg.pretrained):
        return cfg.pretrained
    if not cfg.allow_download:
        raise ConfigError(f"audio.clap.pretrained={cfg.pretrained!r} is not a local file; set allow_download: true "
                          f"to fetch it from {HUB_REPO}, or give a local checkpoint path")
    from huggingface_hub import hf_hub_download
    name = cfg.pretrained if cfg.pretrained.endswith(".pt") else f"{cfg.pretrained}.pt"
    return hf_hub_download(HUB_REPO, name)


def load_checkpoint(model: ClapAudioModel, path: str, model_name: str) -> None:
    """Load the audio weights of a LAION-CLAP checkpoint ({"state_dict": {"module.audio_branch...": ...}})."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is a config problem, said with its path
        raise ConfigError(f"audio.clap.pretrained={path!r}: cannot read checkpoint: {e}") from None
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ConfigError(f"audio.clap.pretrained={path!r}: not a state dict checkpoint")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    audio = {k: v for k, v in state.items() if k.startswith(("audio_branch.", "audio_projection."))}
    own = model.state_dict()
    missing = sorted(set(own) - set(audio))
    unexpected = sorted(set(audio) - set(own))
    reshaped = sorted(k for k in set(own) & set(audio) if own[k].shape != audio[k].shape)
    if missing or unexpected or reshaped:
        raise ConfigError(f"audio.clap.pretrained={path!r} does not fit {model_name}: "
                          f"{len(missing)} missing (e.g. {missing[:2]}), {len(unexpected)} unexpected "
                          f"(e.g. {unexpected[:2]}), {len(reshaped)} of another shape (e.g. {reshaped[:2]}); "
                          f"fusion checkpoints are not supported")
    model.load_state_dict(audio, strict=True)


@dataclass
class ClapEncoder:
    model: ClapAudioModel
    device: str
    model_name: str
    weights: str  # checkpoint path, or "random-init"
    sample_rate: int

    @property
    def model_version(self) -> str:
        return RANDOM_INIT if self.weights == RANDOM_INIT else f"{self.model_name}:{os.path.basename(self.weights)}"

    @property
    def embed_dim(self) -> int:
        return int(self.model.audio_projection[-1].out_features)

    @torch.inference_mode()
    def embed(self, windows: np.ndarray, batch_size: int = 8) -> np.ndarray:
        """(N, n_samples) float32 mono windows at sample_rate → (N, D) float32, L2-normalised."""
        out = []
        for i in range(0, len(windows), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(windows[i:i + batch_size], np.float32)).to(self.device)
            out.append(self.model(repeat_pad(x, self.model.clip_samples)).float().cpu())  # (B, D)
        if not out:
            return np.zeros((0, self.embed_dim), np.float32)
        return torch.cat(out).numpy().astype(np.float32)


def load_clap(cfg: ClapConfig, device: str = "cpu") -> ClapEncoder:
    checkpoint = resolve_checkpoint(cfg)
    torch.manual_seed(0)  # random-init weights are reproducible across actors and runs
    model = ClapAudioModel(cfg.model_name)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, cfg.model_name)
    model.eval().to(device)
    return ClapEncoder(model=model, device=device, model_name=cfg.model_name, weights=checkpoint or RANDOM_INIT,
                       sample_rate=sample_rate(cfg.model_name))
