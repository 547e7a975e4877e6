"""`trendflow shots VIDEO_FILE [--json]`: detect and print the shots of one video file.

A thin command over `sampling.segment_video`: the same scan, cut detection and settings (config
section `sampling`, e.g. `sampling: {cuts: {min_shot_sec: 0.5}}`) the extraction pipeline uses.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "shots", help="detect the shots (cuts, fades, dissolves) of one video file and print them",
        description="Decode VIDEO_FILE once at a tiny size, detect its shot boundaries (cut_detection) "
                    "and print one line per shot: start/end time and frame, and the kind and confidence "
                    "of the cut that starts it. Exit code 2 when the file cannot be decoded.")
    p.add_argument("video", metavar="VIDEO_FILE", help="an mp4/webm/mkv/mov file")
    p.add_argument("--json", action="store_true", help="print JSON (the cut_detection arrays, shot by shot)")
    p.add_argument("--config", metavar="CFG.yaml", default=None,
                   help="YAML config whose `sampling` section sets the policy and cut thresholds; "
                        "env overrides TRENDFLOW__SAMPLING__<FIELD>=value")
    p.set_defaults(func=_shots)


def shots_report(result) -> dict:
    """JSON-ready description of a SegmentResult's shots."""
    s = result.shots
    shots = []
    for k in range(s.n_shots):
        shots.append({
            "shot": k,
            "start_sec": round(float(s.start_sec[k]), 4), "end_sec": round(float(s.end_sec[k]), 4),
            "start_frame": int(s.start_frame[k]), "end_frame": int(s.end_frame[k]),
            "cut_in": None if k == 0 else str(s.cut_kind[k - 1]),
            "cut_confidence": None if k == 0 else round(float(s.cut_confidence[k - 1]), 3),
        })
    return {
        "video": result.path, "n_frames": s.n_frames, "fps": round(s.fps, 3),
        "duration_sec": round(result.plan.duration_sec, 3), "n_shots": s.n_shots,
        "n_detected_shots": int(len(s.detected_start_frame)),
        "sampling_policy_version": result.sampling_policy_version,
        "decode_warning": result.decode_warning, "shots": shots,
    }


def _shots(args: argparse.Namespace) -> int:
    from sampling.decode import VideoDecodeError
    from sampling.policy import SamplingPolicy
    from sampling.segment import segment_video
    from trendflow.config import load_section

    policy = load_section(args.config, "sampling", SamplingPolicy)
    try:
        result = segment_video(args.video, policy)
    except VideoDecodeError as e:
        print(f"error: cannot decode {args.video}: {e}", file=sys.stderr)
        return 2
    report = shots_report(result)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{report['video']}: {report['n_frames']} frames at {report['fps']} fps, "
          f"{report['duration_sec']} s, {report['n_shots']} shots")
    if report["decode_warning"]:
        print(f"warning: {report['decode_warning']}")
    print(f"{'shot':>4s} {'start_s':>9s} {'end_s':>9s} {'frames':>13s}  cut in")
    for sh in report["shots"]:
        cut = "-" if sh["cut_in"] is None else f"{sh['cut_in']} ({sh['cut_confidence']:.2f})"
        print(f"{sh['shot']:4d} {sh['start_sec']:9.3f} {sh['end_sec']:9.3f} "
              f"{sh['start_frame']:6d}-{sh['end_frame']:<6d}  {cut}")
    return 0
