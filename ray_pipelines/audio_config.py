"""The `audio` config section: how the audio track is decoded, windowed for CLAP, and measured.

    # cfg.yaml  (trendflow extract --dataset DIR --store STORE --config cfg.yaml)
    audio:
      window_s: 2.0
      hop_s: 1.0
      clap: {model_name: HTSAT-tiny, pretrained: /models/630k-audioset-best.pt, batch_size: 8}
      tempo: {windowed: true}

Visual-only extraction (no audio decode, no CLAP pool): `audio: {enabled: false}`.
Env override example: TRENDFLOW__AUDIO__CLAP__MODEL_NAME=trendflow-clap-tiny.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from trendflow.config import Section


class ClapConfig(Section):
    model_name: str = Field(
        "HTSAT-tiny", description="CLAP audio encoder architecture: HTSAT-tiny / HTSAT-base / HTSAT-large "
                                  "(LAION-CLAP), or 'trendflow-clap-tiny', a small built-in HTSAT for tests and "
                                  "the laptop demo.")
    pretrained: str | None = Field(
        None, description="Local LAION-CLAP checkpoint (.pt, e.g. 630k-audioset-best.pt), or a checkpoint name on "
                          "the lukewys/laion_clap hub repo (needs allow_download). None builds the architecture with "
                          "random weights, labelled 'random-init' in meta.")
    allow_download: bool = Field(False, description="Allow fetching a named checkpoint from the model hub.")
    batch_size: int = Field(8, ge=1, description="Windows per forward pass.")
    gpus_per_actor: float | None = Field(
        None, gt=0, le=8, description="GPU share per CLAP actor on GPU pools. Default 0.5: a CLIP and a CLAP "
                                      "actor share each GPU, so both pools overlap instead of CLAP waiting.")


class LoudnessConfig(Section):
    short_term_hop_s: float = Field(1.0, gt=0, le=3.0, description="Step of the stored short-term (3 s) loudness "
                                                                   "curve.")
    silence_lufs: float = Field(-50.0, description="Momentary (400 ms) loudness under which a block counts as "
                                                   "silence for silence_share.")


class TempoConfig(Section):
    sample_rate: int = Field(22050, ge=4000, le=96000, description="Rate the mono track is resampled to for "
                                                                    "onset analysis.")
    hop_length: int = Field(256, ge=32, le=4096, description="Onset envelope hop in samples (256 at 22.05 kHz = "
                                                             "11.6 ms, fine enough for 2% BPM accuracy).")
    min_duration_s: float = Field(4.0, gt=0, description="Shorter tracks get NaN BPM: too few beats to tell.")
    windowed: bool = Field(True, description="Also store a local BPM curve over time.")
    window_hop_s: float = Field(1.0, gt=0, description="Step of the local BPM curve.")


class AudioConfig(Section):
    enabled: bool = Field(True, description="False: visual-only extraction. No audio is decoded, the audio "
                                            "components (video_audio_extractor, loudness, tempo, clap_extractor) "
                                            "are not run nor written, the CLAP pool is not started, and the audio "
                                            "aggregates are NaN with present=False. Part of config_hash.")
    sample_rate: int = Field(48000, ge=8000, le=96000, description="Rate of the mono analysis waveform (CLAP "
                                                                   "needs the rate its model was trained at, 48 kHz).")
    window_s: float = Field(2.0, ge=0.25, le=10.0, description="CLAP window length in seconds (audio shorter than "
                                                               "a window gives one repeat-padded window).")
    hop_s: float = Field(1.0, gt=0, le=10.0, description="Step between CLAP windows; the last window is aligned to "
                                                         "the end of the track so no tail is lost.")
    windows_per_row: int = Field(16, ge=1, le=1024, description="Windows per row sent to the CLAP actor pool "
                                                                "(bounds block size for long videos).")
    silent_peak_dbfs: float = Field(-60.0, le=0, description="A track whose sample peak stays under this is "
                                                             "silent: the audio components write status empty.")
    max_duration_s: float = Field(3600.0, gt=0, description="Decode at most this much audio (memory bound); a "
                                                            "longer track is cut and meta says truncated.")
    envelope_hz: float = Field(10.0, gt=0, le=100, description="Rate of the RMS envelope kept in the "
                                                               "video_audio_extractor artifact.")
    clap: ClapConfig = Field(default_factory=ClapConfig)
    loudness: LoudnessConfig = Field(default_factory=LoudnessConfig)
    tempo: TempoConfig = Field(default_factory=TempoConfig)

    @model_validator(mode="after")
    def _hop_covers(self):
        if self.hop_s > self.window_s:
            raise ValueError(f"hop_s={self.hop_s} > window_s={self.window_s} would skip audio between windows")
        return self
