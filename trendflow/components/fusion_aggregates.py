from trendflow.components import ArraySpec, ComponentSpec, register

SPEC = register(ComponentSpec(
    name="fusion_aggregates",
    version="1.0",
    schema_version=1,
    description="Per-video scalars for the tabular models (SPEC §8): quality, pacing, motion, diversity, "
                "loudness and tempo summaries. NaN + present=false where the source component is missing "
                "or empty, never zeros. Collected into <store>/tables/aggregates.parquet.",
    arrays=(
        ArraySpec("names", "str", ("n",), "feature names (stable order)"),
        ArraySpec("values", "float32", ("n",), "feature values, NaN where absent", invariants=("no_inf",)),
        ArraySpec("present", "bool", ("n",), "value was computed"),
    ),
))
