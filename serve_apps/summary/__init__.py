"""The grounded summary of a forecast (issue #12): deterministic RU/EN templates over artifact and model
values, optional LLM rephrasing. Entry point: `Summarizer` (see `serve_apps/summary/summarizer.py`)."""

from serve_apps.summary.config import LLMConfig, SummaryConfig
from serve_apps.summary.shots import shots_from_store
from serve_apps.summary.summarizer import Summarizer, SummaryInputError

__all__ = ["LLMConfig", "Summarizer", "SummaryConfig", "SummaryInputError", "shots_from_store"]
