"""Ray Data extraction: per-video stages composed into one streaming pipeline (`pipeline.py`).

Stages live one per file in `stages/`; encoders (CLIP, CLAP) that the batch pipeline and the
online service share live in `encoders/`.
"""
