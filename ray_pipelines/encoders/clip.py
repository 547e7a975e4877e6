"""CLIP image/text encoder (open_clip), loaded offline by default.

Weights come from a configured local checkpoint, or a pretrained tag when downloads are allowed;
otherwise the same architecture is built with random weights and every artifact says
`weights="random-init"`. `trendflow-clip-tiny` is a small built-in architecture for tests and the
laptop demo (ViT-B-32 embeds ~19 frames/s on 2 CPU threads).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ray_pipelines.config import ClipConfig
from trendflow.config import ConfigError

RANDOM_INIT = "random-init"
BUILTIN_CONFIGS = {
    "trendflow-clip-tiny": {
        "embed_dim": 128,
        "vision_cfg": {"image_size": 64, "layers": 2, "width": 128, "patch_size": 16},
        "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 128, "heads": 4, "layers": 2},
    },
}
OPENAI_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
OPENAI_STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)


def _register_builtin_configs() -> None:
    import open_clip
    if all(name in open_clip.list_models() for name in BUILTIN_CONFIGS):
        return
    folder = tempfile.mkdtemp(prefix="trendflow-clip-configs-")
    for name, cfg in BUILTIN_CONFIGS.items():
        with open(os.path.join(folder, f"{name}.json"), "w") as f:
            json.dump(cfg, f)
    open_clip.add_model_config(folder)


def image_size(model_name: str) -> int:
    """Input side of the model, known before loading it (the decode stage resizes to it)."""
    import open_clip
    _register_builtin_configs()
    cfg = open_clip.get_model_config(model_name)
    if cfg is None:
        raise ConfigError(f"extract.clip.model_name: unknown open_clip model {model_name!r}")
    size = cfg["vision_cfg"]["image_size"]
    return size if isinstance(size, int) else size[0]


def resolve_weights(cfg: ClipConfig) -> str | None:
    """What to pass to open_clip as `pretrained`; refuses a hub download unless allowed."""
    if cfg.pretrained is None:
        return None
    if os.path.exists(cfg.pretrained):
        return cfg.pretrained
    if not cfg.allow_download:
        raise ConfigError(
            f"extract.clip.pretrained={cfg.pretrained!r} is not a local file; set allow_download: true to "
            f"fetch it from the model hub, or give a local checkpoint path")
    return cfg.pretrained


def to_model_input(frames: np.ndarray, size: int) -> np.ndarray:
    """(N,H,W,3) uint8 RGB → (N,size,size,3) uint8: resize the short side, centre-crop (CLIP's recipe)."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()  # (N,3,H,W)
    h, w = x.shape[-2:]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    x = F.interpolate(x, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)
    top, left = (nh - size) // 2, (nw - size) // 2
    x = x[..., top:top + size, left:left + size]
    return x.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


@dataclass
class ClipEncoder:
    model: torch.nn.Module
    tokenizer: object
    device: str
    dtype: torch.dtype
    image_size: int
    model_name: str
    weights: str  # checkpoint path/tag, or "random-init"

    @property
    def model_version(self) -> str:
        return RANDOM_INIT if self.weights == RANDOM_INIT else f"{self.model_name}:{os.path.basename(self.weights)}"

    @torch.inference_mode()
    def embed_images(self, frames: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """(N,S,S,3) uint8 at image_size → (N,D) float32, L2-normalised."""
        mean = torch.tensor(OPENAI_MEAN, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(OPENAI_STD, device=self.device).view(1, 3, 1, 1)
        out = []
        for i in range(0, len(frames), batch_size):
            x = torch.from_numpy(np.array(frames[i:i + batch_size])).to(self.device).permute(0, 3, 1, 2)
            x = ((x.float() / 255.0 - mean) / std).to(self.dtype)  # (B,3,S,S)
            out.append(F.normalize(self.model.encode_image(x).float(), dim=-1).cpu())
        if not out:
            return np.zeros((0, self.embed_dim), np.float32)
        return torch.cat(out).numpy().astype(np.float32)

    @torch.inference_mode()
    def embed_texts(self, texts: list[str]) -> np.ndarray:
        tokens = self.tokenizer(texts).to(self.device)
        return F.normalize(self.model.encode_text(tokens).float(), dim=-1).cpu().numpy().astype(np.float32)

    @property
    def embed_dim(self) -> int:
        return int(self.model.text_projection.shape[1]) if hasattr(self.model, "text_projection") else \
            int(self.model.visual.output_dim)

    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.exp().item())


def load_clip(cfg: ClipConfig, device: str = "cpu") -> ClipEncoder:
    import open_clip
    _register_builtin_configs()
    pretrained = resolve_weights(cfg)
    torch.manual_seed(0)  # random-init weights are reproducible across actors and runs
    model = open_clip.create_model(cfg.model_name, pretrained=pretrained, device=device)
    model.eval()
    dtype = torch.float16 if (device.startswith("cuda") and cfg.fp16_on_gpu) else torch.float32
    model = model.to(dtype)
    return ClipEncoder(model=model, tokenizer=open_clip.get_tokenizer(cfg.model_name), device=device,
                       dtype=dtype, image_size=image_size(cfg.model_name), model_name=cfg.model_name,
                       weights=pretrained or RANDOM_INIT)
