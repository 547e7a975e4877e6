"""The `extract` config section: what the extraction pipeline runs and with which resources.

    # cfg.yaml  (trendflow extract --dataset DIR --store STORE --config cfg.yaml)
    extract:
      clip: {model_name: ViT-B-32, pretrained: /models/clip-vit-b-32.pt, batch_size: 64}
      device: gpu        # an autoscaling cluster that starts with no GPU node
      max_actors: 8

Resource fields (device, pool sizes, GPU shares, assemblers, timeouts) are not part of config_hash:
they change how fast, not what, is computed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trendflow.config import Section

DEFAULT_SCENE_LABELS = (
    "a person talking to the camera", "an outdoor landscape", "an indoor room", "text on a screen",
    "a video game", "people playing music", "a sports game", "food and cooking", "animals",
    "cars and vehicles", "a city street", "a cartoon or animation",
)


class ClipConfig(Section):
    model_name: str = Field("ViT-B-32", description="open_clip architecture; 'trendflow-clip-tiny' is a small "
                                                    "built-in one for tests and the laptop demo.")
    pretrained: str | None = Field(
        None, description="Local checkpoint path, or an open_clip pretrained tag (needs allow_download). "
                          "None builds the architecture with random weights, labelled 'random-init' in meta.")
    allow_download: bool = Field(False, description="Allow fetching a pretrained tag from a model hub.")
    batch_size: int = Field(32, ge=1, description="Frames per forward pass.")
    fp16_on_gpu: bool = Field(True, description="Half precision when the actor has a GPU.")
    gpus_per_actor: float | None = Field(
        None, gt=0, le=8, description="GPU share per CLIP actor on GPU pools. Default: 1.0 visual-only, 0.5 with "
                                      "audio (a CLIP and a CLAP actor share each GPU). With audio, this plus "
                                      "audio.clap.gpus_per_actor must fit on one GPU node.")


class ExtractConfig(Section):
    clip: ClipConfig = Field(default_factory=ClipConfig)
    scene_labels: tuple[str, ...] = Field(DEFAULT_SCENE_LABELS, min_length=2,
                                          description="Zero-shot label set of scene_classification.")
    chunk_frames: int = Field(64, ge=1, le=1024, description="Frames per row sent to the CLIP pool: bounds "
                                                             "block size for long videos.")
    device: Literal["auto", "cpu", "gpu"] = Field(
        "auto", description="Where the model pools run, decided once per run. auto: GPUs if the cluster has "
                            "any when the run starts, else CPU. gpu: request GPUs even if none is up yet (an "
                            "autoscaling cluster that starts without GPU nodes; needs max_actors). cpu: never "
                            "request GPUs.")
    min_actors: int = Field(1, ge=1, description="Lower bound of each model pool (Ray Data's autoscaling actor "
                                                 "pools grow from here when resources appear).")
    max_actors: int | None = Field(None, ge=1, description="Upper bound of each model pool. Default: as many "
                                                           "(CLIP, CLAP) actor pairs as the GPUs present hold, or "
                                                           "CPUs - 1 (at least 1) without GPUs.")
    assemblers: int | None = Field(None, ge=1, description="Finalize actors (each owns a share of the videos, "
                                                           "by a hash of the video id). Default: one per alive "
                                                           "node, at least 2.")
    assembler_threads: int = Field(4, ge=1, le=64, description="Videos one finalize actor writes at once "
                                                               "(storage-latency bound, not CPU).")
    decode_cpus: float | None = Field(None, gt=0, description="CPUs reserved per decode/segment task. Default: "
                                                            "what the model pools leave, split so that one task "
                                                            "runs per CPU (1.0 when the models are on GPUs).")
    no_progress_timeout_s: float = Field(600, gt=0, description="Ray Data fails a stage that makes no progress "
                                                                "for this long (instead of hanging).")
