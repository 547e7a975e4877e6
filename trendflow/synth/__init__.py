"""Synthetic test data: datasets, videos and audio with known ground truth.

- `corpus`: `trendflow synth` — a whole dataset in the SPEC §2 layout (videos, metadata, snapshots)
- `growth`: the documented growth function the corpus uses (content → future growth)
- `audio`: waveforms with known tempo and loudness (drums/clicks at a BPM, sine/noise at a LUFS, silence)
- `video`: mp4 files with known cuts (`Shot`, `write_video`)
"""
