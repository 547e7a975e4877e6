"""video_audio_extractor on real mp4s written with PyAV: channels, rates, resampling, empty and broken tracks."""

import numpy as np
import pytest

from ray_pipelines.audio_config import AudioConfig
from ray_pipelines.stages import audio_extract
from ray_pipelines.stages.audio_extract import AudioDecodeError, extract_audio, from_array
from trendflow.artifacts import ArtifactStore, RunKey
from trendflow.synth import audio as synth
from trendflow.synth.video import Shot, write_video

CFG = AudioConfig()


def mp4(path, audio=None, rate=16000, seconds=2.0, **kw):
    write_video(path, [Shot("noise", seconds / 2), Shot("solid", seconds / 2)], fps=10, width=32, height=32,
                audio=audio, sample_rate=rate, **kw)
    return path


def peak_hz(x, rate):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)]


def write_artifact(tmp_path, track, arrays):
    store = ArtifactStore(str(tmp_path / "store"))
    key = RunKey("youtube", "v1", "run-1")
    store.write(key, "video_audio_extractor", arrays, status=track.status, empty_reason=track.empty_reason,
                extra_meta=audio_extract.meta(track))
    return store.read(key, "video_audio_extractor")


def test_stereo_44k_keeps_channels_and_rate_and_resamples_mono(tmp_path):
    rate = 44100
    left, right = synth.sine(440, 2.0, rate, amplitude=0.5)[0], synth.sine(440, 2.0, rate, amplitude=0.25)[0]
    track = extract_audio(mp4(tmp_path / "s.mp4", np.stack([left, right]), rate), CFG)
    assert track.status == "ok" and track.codec == "aac"
    assert (track.sample_rate, track.n_channels, track.channel_names) == (rate, 2, ("FL", "FR"))
    assert abs(track.duration_sec - 2.0) < 0.1
    mid = track.samples[:, rate // 2: 3 * rate // 2]
    rms = np.sqrt(np.mean(mid ** 2, axis=1))
    assert abs(rms[0] / rms[1] - 2.0) < 0.05  # channels were not mixed
    assert track.analysis_rate == 48000 and abs(len(track.mono) / 48000 - track.duration_sec) < 1e-3
    assert abs(peak_hz(track.mono[24000:72000], 48000) - 440) < 2
    art = write_artifact(tmp_path, track, audio_extract.compute(track, CFG))
    assert art.meta["status"] == "ok" and art.meta["channel_names"] == ["FL", "FR"]
    env = art.arrays["envelope_rms_dbfs"]
    assert len(env) == pytest.approx(track.duration_sec * CFG.envelope_hz, abs=1)
    assert abs(np.median(env) - 20 * np.log10(np.sqrt((0.5 ** 2 + 0.25 ** 2) / 4))) < 0.5


@pytest.mark.parametrize("rate", [8000, 22050, 32000, 44100])
def test_odd_sample_rates_mono(tmp_path, rate):
    track = extract_audio(mp4(tmp_path / f"m{rate}.mp4", synth.sine(440, 2.0, rate), rate), CFG)
    assert (track.sample_rate, track.n_channels, track.status) == (rate, 1, "ok")
    assert abs(track.duration_sec - 2.0) < 0.15
    assert abs(peak_hz(track.mono[24000:72000], 48000) - 440) < 2  # resampling kept the pitch
    arrays = audio_extract.compute(track, CFG)
    assert int(arrays["sample_rate"]) == rate and int(arrays["analysis_sample_rate"]) == 48000


def test_no_audio_stream_is_empty_not_an_error(tmp_path):
    track = extract_audio(mp4(tmp_path / "mute.mp4"), CFG)
    assert track.status == "empty" and track.empty_reason == "no audio stream" and not track.has_stream
    art = write_artifact(tmp_path, track, audio_extract.compute(track, CFG))
    assert art.meta["status"] == "empty" and not bool(art.arrays["has_audio_stream"])


def test_silent_track_is_empty_with_reason_and_metadata(tmp_path):
    track = extract_audio(mp4(tmp_path / "quiet.mp4", synth.silence(2.0, 16000, channels=2)), CFG)
    assert track.status == "empty" and "silent" in track.empty_reason and track.n_channels == 2
    art = write_artifact(tmp_path, track, audio_extract.compute(track, CFG))
    assert bool(art.arrays["has_audio_stream"]) and float(art.arrays["duration_sec"]) > 1.9
    assert np.all(art.arrays["envelope_rms_dbfs"] <= -100)


def test_short_audio_in_a_longer_video(tmp_path):
    track = extract_audio(mp4(tmp_path / "short.mp4", synth.sine(440, 0.3, 16000), 16000, seconds=2.0), CFG)
    assert track.status == "ok" and 0.25 < track.duration_sec < 0.45


def test_envelope_follows_tone_then_silence():
    rate = 16000
    x = np.concatenate([synth.sine(440, 1.0, rate, amplitude=0.5)[0], np.zeros(rate, np.float32)])
    env = audio_extract.rms_envelope_dbfs(x[None], rate, 10.0)
    assert len(env) == 20
    assert np.allclose(env[:10], 20 * np.log10(0.5 / np.sqrt(2)), atol=0.2)
    assert np.all(env[10:] == audio_extract.DB_FLOOR)


def test_lfe_is_left_out_of_the_mono_mix():
    rate = 8000
    x = np.zeros((6, rate), np.float32)
    x[3] = 0.9  # LFE only
    track = from_array(x, rate, CFG, channel_names=("FL", "FR", "FC", "LFE", "BL", "BR"))
    assert np.max(np.abs(track.mono)) < 1e-6 and track.status == "ok"  # the LFE is sound, just not in the mix


def test_max_duration_truncates_and_says_so(tmp_path):
    cfg = AudioConfig(max_duration_s=1.0)
    track = extract_audio(mp4(tmp_path / "long.mp4", synth.sine(440, 3.0, 16000), 16000, seconds=3.0), cfg)
    assert track.truncated and abs(track.duration_sec - 1.0) < 0.07
    assert bool(audio_extract.compute(track, cfg)["truncated"])


def test_broken_files(tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video" * 100)
    with pytest.raises(AudioDecodeError, match="garbage.mp4"):
        extract_audio(garbage, CFG)
    data = mp4(tmp_path / "full.mp4", synth.sine(440, 4.0, 16000), 16000, seconds=4.0, faststart=True).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    track = extract_audio(cut, CFG)  # index first: the first half still decodes
    assert track.status == "ok" and 0.5 < track.duration_sec < 3.5 and "stopped" in track.decode_warning


def write_late_audio(path, audio_start_s, rate=16000):
    """A 2 s video starting at t=0 whose AAC track starts at audio_start_s, with a click 0.25 s into the audio."""
    import av

    container = av.open(str(path), "w", format="mp4")
    video = container.add_stream("libx264", rate=10)
    video.width = video.height = 32
    video.pix_fmt = "yuv420p"
    audio = container.add_stream("aac", rate=rate, layout="mono")
    for k in range(20):
        frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
        frame.pts = k
        container.mux(video.encode(frame))
    container.mux(video.encode(None))
    x = np.zeros((1, 2 * rate), np.float32)
    x[0, rate // 4: rate // 4 + 48] = 0.8
    for s in range(0, x.shape[1], 1024):  # whole AAC frames: the encoder keeps their timing exactly
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[:, s:s + 1024]), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, int(audio_start_s * rate) + s
        container.mux(audio.encode(frame))
    container.mux(audio.encode(None))
    container.close()
    return path


def test_audio_is_aligned_to_the_videos_first_frame(tmp_path):
    path = write_late_audio(tmp_path / "late.mp4", 0.5)
    for offset, click_at in ((None, 0.75), (0.5, 0.25)):  # None: the video stream starts at 0
        track = extract_audio(path, CFG, time_offset_sec=offset)
        first_loud = np.argmax(np.abs(track.samples[0]) > 0.3) / track.sample_rate
        assert abs(first_loud - click_at) < 0.005
        assert abs(len(track.mono) / 48000 - track.duration_sec) < 1e-3


@pytest.mark.parametrize("rates", [(16000, 48000), (44100, 48000), (48000, 22050), (22050, 16000)])
def test_blockwise_resampling_equals_one_shot(rates):
    """Long tracks are resampled in blocks (bounded memory); every output sample must match one call."""
    import torch
    import torchaudio.functional as AF

    orig, new = rates
    x = np.random.default_rng(0).standard_normal(orig * 3 + 17).astype(np.float32)  # 3 s, odd length
    one_shot = AF.resample(torch.from_numpy(x), orig, new).numpy()
    blocks = audio_extract.resample(x, orig, new, block_sec=0.37)  # 9 blocks
    assert blocks.shape == one_shot.shape
    np.testing.assert_allclose(blocks, one_shot, atol=2e-6)


@pytest.mark.parametrize("orig, length", [(44100, 2552022), (22050, 1016777), (44100, 535215), (32000, 388291)])
def test_blockwise_resampling_keeps_torchaudios_length(orig, length):
    """torchaudio sizes its output with a float32 ceil that can be one sample off the exact ceil; the
    block-wise result must have the one-shot length anyway (the demo once lost 4 videos to this)."""
    import torch
    import torchaudio.functional as AF

    x = np.random.default_rng(1).standard_normal(length).astype(np.float32)
    one_shot = AF.resample(torch.from_numpy(x), orig, 48000).numpy()
    blocks = audio_extract.resample(x, orig, 48000, block_sec=7.0)
    assert blocks.shape == one_shot.shape
    np.testing.assert_allclose(blocks[-1000:], one_shot[-1000:], atol=2e-6)
