"""The `summary` settings (part of the Serve app's `serve:` section as `serve.summary`).

    # serve.yaml                      # used by: trendflow serve --models M --store S --config serve.yaml
    serve:
      summary:
        levers: [audio_integrated_lufs, shots_per_min, brightness_mean]
        low_percentile: 25
        high_percentile: 75
        llm:                          # off unless given
          base_url: http://127.0.0.1:8080/v1
          model: qwen2.5-7b-instruct
          api_key_env: LLM_API_KEY

Every number a summary prints comes from the training data's reference statistics, the model's
own predictions (what-if runs) or the v0 model's per-feature contributions; these settings only
choose which features are talked about and when a value counts as far from typical.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from trendflow.config import Section

from serve_apps.summary.levers import DEFAULT_LEVERS, LEVERS

PROMPT_VERSION = "1"


class LLMConfig(Section):
    """An OpenAI-compatible chat endpoint that may only rephrase the template text (never add numbers)."""
    base_url: str = Field(..., description="Base URL of the OpenAI-compatible API, e.g. http://127.0.0.1:8080/v1; "
                                           "requests go to <base_url>/chat/completions.")
    model: str = Field(..., description="Model name sent in the request; recorded as `llm_model` in every answer.")
    api_key_env: str | None = Field(None, description="Name of the environment variable holding the API key "
                                                      "(sent as `Authorization: Bearer`); None: no key.")
    timeout_s: float = Field(20.0, gt=0, description="Per-request timeout; on timeout the template text is used.")
    prompt_version: str = Field(PROMPT_VERSION, description="Version of the rephrasing prompt; part of the cache "
                                                            "key through `prompt_hash`.")
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature sent to the endpoint.")
    cache_size: int = Field(10_000, ge=0, description="Rephrased texts kept in memory per replica (LRU); 0 = none.")


class SummaryConfig(Section):
    levers: list[str] = Field(list(DEFAULT_LEVERS), description=f"Features an author can change, talked about "
                              f"in 'strong'/'weak'/'actions' (training-data column names; known: {sorted(LEVERS)}). "
                              f"A lever the training data or the video lacks is said to be missing.")
    low_percentile: float = Field(25.0, ge=0, lt=50, description="A lever at or below this percentile of its "
                                  "category's training videos is far from typical (a what-if candidate).")
    high_percentile: float = Field(75.0, gt=50, le=100, description="A lever at or above this percentile is far "
                                   "from typical.")
    min_effect_pct: float = Field(1.0, ge=0, description="A what-if change smaller than this (percent of the "
                                  "predicted growth) is not reported as strong, weak or an action.")
    n_actions: int = Field(3, ge=1, le=10, description="Actions kept (the largest predicted gains).")
    n_contributions: int = Field(3, ge=1, le=20, description="Largest v0 per-feature contributions in 'why'.")
    min_category_rows: int = Field(20, ge=1, description="A category with fewer training videos than this uses "
                                   "the statistics of all training videos instead (the text says which).")
    target: str | None = Field(None, description="Target the actions are measured on; None: the model card's first "
                               "target (views).")
    horizon: int | None = Field(None, description="Horizon (days) the actions are measured at; None: the middle "
                                "horizon of the model card (14 for 7/14/21).")
    llm: LLMConfig | None = Field(None, description="Optional LLM renderer; None (default): template text only.")

    @field_validator("levers")
    @classmethod
    def _known_levers(cls, v: list[str]) -> list[str]:
        unknown = [n for n in v if n not in LEVERS]
        if unknown:
            raise ValueError(f"unknown lever(s) {unknown}; known levers: {sorted(LEVERS)}")
        return list(dict.fromkeys(v))
