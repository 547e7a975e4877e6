"""loudness: BS.1770-4 accuracy against references computed without pyloudnorm.

References:
- a full-scale 997 Hz sine in one channel reads -3.01 LUFS (ITU-R BS.1770-4 / EBU Tech 3341);
  a sine at gain g dB therefore reads -3.01 + g per channel carrying it.
- white noise of variance s² in each of C channels reads -0.691 + 10·log10(C · s² · mean|H_K(f)|²),
  with H_K the standard's published 48 kHz K-weighting biquads (integrated with scipy.freqz).
- EBU Tech 3342 test 1: 20 s of a 1 kHz sine at -20 dBFS then 20 s at -30 dBFS has LRA 10 ± 1 LU.
"""

import numpy as np
import pytest
import scipy.signal

from ray_pipelines.audio_config import AudioConfig
from ray_pipelines.stages import loudness
from ray_pipelines.stages.audio_extract import extract_audio, from_array
from trendflow.artifacts import ArtifactStore, RunKey
from trendflow.synth.video import Shot, write_video

CFG = AudioConfig()
# ITU-R BS.1770-4 Table 1 and 2: K-weighting stage 1 (shelf) and stage 2 (RLB high-pass) at 48 kHz.
K1 = ([1.53512485958697, -2.69169618940638, 1.19839281085285], [1.0, -1.69065929318241, 0.73248077421585])
K2 = ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621])


def sine(freq, seconds, rate, gain_db=0.0):
    t = np.arange(int(seconds * rate)) / rate
    return (10 ** (gain_db / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def k_weighted_white_noise_gain(rate):
    """mean |H_K(f)|² over 0..rate/2: K-weighted power of unit-variance white noise at this rate."""
    f = np.linspace(0, rate / 2, 20001)
    _, h1 = scipy.signal.freqz(*K1, worN=f, fs=48000)
    _, h2 = scipy.signal.freqz(*K2, worN=f, fs=48000)
    return float(np.mean(np.abs(h1 * h2) ** 2))


def measure(x, rate, **kw):
    return loudness.compute(from_array(x, rate, CFG, **kw), CFG)


@pytest.mark.parametrize("rate", [48000, 44100])
def test_full_scale_997hz_sine_reads_minus_3_01_lufs(rate):
    out = measure(sine(997, 5, rate), rate)
    assert abs(float(out["integrated_lufs"]) - (-3.01)) < 0.05
    assert abs(float(out["sample_peak_dbfs"])) < 0.01
    assert abs(float(out["rms_dbfs"]) - (-3.01)) < 0.01


@pytest.mark.parametrize("rate", [48000, 44100])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("target", [-14.0, -23.0, -30.0])
def test_sine_at_known_level(target, channels, rate):
    # Each channel carrying the sine adds its power: gain = target + 3.01 - 10·log10(channels).
    gain = target + 3.01 - 10 * np.log10(channels)
    x = np.repeat(sine(997, 6, rate, gain)[None], channels, axis=0)
    out = measure(x, rate)
    assert abs(float(out["integrated_lufs"]) - target) < 0.5
    assert abs(float(out["short_term_mean"]) - target) < 0.5  # a steady tone: short-term = integrated


@pytest.mark.parametrize("rate", [48000, 44100])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("target", [-14.0, -23.0, -30.0])
def test_white_noise_at_known_level(target, channels, rate):
    variance = 10 ** ((target + 0.691) / 10) / (channels * k_weighted_white_noise_gain(rate))
    x = np.random.default_rng(channels).standard_normal((channels, 8 * rate)) * np.sqrt(variance)
    out = measure(x, rate)
    assert abs(float(out["integrated_lufs"]) - target) < 0.5


def test_loudness_is_measured_on_the_original_channels_not_a_downmix():
    rate = 48000
    left = sine(997, 5, rate, -20.0)
    track = from_array(np.stack([left, -left]), rate, CFG)  # opposite phase: the mono downmix cancels
    assert np.max(np.abs(track.mono)) < 1e-3
    out = loudness.compute(track, CFG)
    assert abs(float(out["integrated_lufs"]) - (-20.0 - 3.01 + 3.01)) < 0.1  # two channels at -23.01 each
    same = loudness.compute(from_array(np.stack([left, left]), rate, CFG), CFG)
    mono = loudness.compute(from_array(left, rate, CFG), CFG)
    assert abs(float(same["integrated_lufs"]) - float(mono["integrated_lufs"]) - 3.01) < 0.05


def test_surround_weights_and_lfe_exclusion():
    rate = 48000
    x = np.zeros((6, 5 * rate), np.float32)
    x[4] = sine(997, 5, rate, -20.0)  # back-left only: BS.1770 weight 1.41 (+1.49 dB)
    x[3] = sine(60, 5, rate, 0.0)  # a loud LFE that must not count
    names = ("FL", "FR", "FC", "LFE", "BL", "BR")
    track = from_array(x, rate, CFG, channel_names=names)
    out = loudness.compute(track, CFG)
    assert abs(float(out["integrated_lufs"]) - (-20 - 3.01 + 10 * np.log10(1.41))) < 0.1
    assert loudness.meta(track)["channels_measured"] == 5
    quad = from_array(x[[0, 1, 4, 5]], rate, CFG, channel_names=("FL", "FR", "BL", "BR"))  # no centre channel
    assert abs(float(loudness.compute(quad, CFG)["integrated_lufs"]) - float(out["integrated_lufs"])) < 0.01
    seven_one = from_array(np.zeros((8, rate), np.float32) + 0.1, rate, CFG,
                           channel_names=("FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR"))
    out = loudness.compute(seven_one, CFG)
    assert np.isnan(out["integrated_lufs"]) and np.isfinite(out["sample_peak_dbfs"])
    assert "5.1" in loudness.meta(seven_one)["not_measured_reason"]


def test_loudness_range_ebu_tech_3342_case_1():
    rate = 48000
    x = np.concatenate([sine(1000, 20, rate, -20.0), sine(1000, 20, rate, -30.0)])
    out = measure(np.stack([x, x]), rate)
    assert abs(float(out["loudness_range_lu"]) - 10.0) < 1.0
    st = out["short_term_lufs"]
    assert len(st) == len(out["short_term_times_sec"]) and np.all(np.diff(out["short_term_times_sec"]) > 0)
    assert st[0] > st[-1] + 9  # the curve follows the 10 dB step


def test_silence_share_and_short_term_stats():
    rate = 44100
    x = np.concatenate([sine(440, 5, rate, -10.0), np.zeros(5 * rate, np.float32)])
    out = measure(x, rate)
    assert abs(float(out["silence_share"]) - 0.5) < 0.05
    assert abs(float(out["short_term_max"]) - float(out["momentary_max_lufs"])) < 0.5
    assert float(out["short_term_min"]) >= loudness.ABSOLUTE_GATE_LUFS  # stats use gated windows only
    assert out["short_term_lufs"].min() == pytest.approx(-120.0)  # digital silence floored, not -inf


def test_short_audio_gives_nan_where_undefined():
    rate = 22050
    tiny = measure(sine(440, 0.3, rate, -6.0), rate)  # < 400 ms: no gating block
    assert np.isnan(tiny["integrated_lufs"]) and np.isnan(tiny["loudness_range_lu"])
    assert len(tiny["short_term_lufs"]) == 0 and np.isnan(tiny["short_term_mean"])
    assert abs(float(tiny["sample_peak_dbfs"]) - (-6.0)) < 0.05
    two_s = measure(sine(440, 2.0, rate, -6.0), rate)  # < 3 s: integrated yes, LRA/short-term no
    assert np.isfinite(two_s["integrated_lufs"]) and np.isnan(two_s["loudness_range_lu"])
    assert len(two_s["short_term_lufs"]) == 0


def test_mp4_round_trip_keeps_loudness_and_writes_a_valid_artifact(tmp_path):
    rate = 44100
    target = -23.0
    gain = target + 3.01 - 10 * np.log10(2)
    audio = np.repeat(sine(997, 4, rate, gain)[None], 2, axis=0)
    path = tmp_path / "tone.mp4"
    write_video(path, [Shot("solid", 4.0)], fps=10, width=32, height=32, audio=audio, sample_rate=rate)
    track = extract_audio(path, CFG)
    assert (track.sample_rate, track.n_channels) == (rate, 2)
    arrays = loudness.compute(track, CFG)
    assert abs(float(arrays["integrated_lufs"]) - target) < 0.5  # AAC keeps a steady tone's level
    store = ArtifactStore(str(tmp_path / "store"))
    key = RunKey("youtube", "tone", "run-1")
    store.write(key, "loudness", arrays, status=track.status, empty_reason=track.empty_reason,
                extra_meta=loudness.meta(track))
    back = store.read(key, "loudness")
    assert back.meta["channels_measured"] == 2
    assert float(back.arrays["integrated_lufs"]) == pytest.approx(float(arrays["integrated_lufs"]))
