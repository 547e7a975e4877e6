"""Optional LLM renderer: an OpenAI-compatible `/chat/completions` endpoint rephrases the template text.

It may only rephrase: a reply that adds, changes or drops a number (`numbers.numbers_kept`) is
rejected and the template text is used, and the answer's `renderer` says so. Versioned by
`llm_model`, `prompt_version` and `prompt_hash` (a hash of the prompt itself), cached in memory (LRU)
by `(video_id, run_id, profile, llm_model, prompt_hash, locale)`; a cached reply made from a
different template text (new model, new artifacts) is not reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from typing import Any

from serve_apps.summary.config import LLMConfig
from serve_apps.summary.numbers import numbers_kept

SYSTEM_PROMPTS = {
    "en": ("You edit summaries of a video's forecast for its author. Rephrase the text the user sends so it reads "
           "naturally and kindly. Keep the four section headings and every number exactly as written (digits, "
           "signs, units); do not add any number, fact or advice that is not in the text. Reply with the "
           "rephrased text only."),
    "ru": ("Ты редактируешь сводки прогноза для автора видео. Перефразируй присланный текст, чтобы он читался "
           "естественно и доброжелательно. Сохрани четыре заголовка разделов и все числа в точности как написано "
           "(цифры, знаки, единицы); не добавляй чисел, фактов и советов, которых нет в тексте. Ответь только "
           "перефразированным текстом."),
}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class LLMRenderer:
    def __init__(self, cfg: LLMConfig):
        self.cfg = cfg
        self._cache: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.calls = 0  # HTTP requests sent (what the cache saves)

    def prompt_hash(self, locale: str) -> str:
        return _sha(json.dumps({"version": self.cfg.prompt_version, "system": SYSTEM_PROMPTS[locale],
                                "temperature": self.cfg.temperature}, sort_keys=True))

    def versions(self, locale: str) -> dict[str, str]:
        return {"llm_model": self.cfg.model, "prompt_version": self.cfg.prompt_version,
                "prompt_hash": self.prompt_hash(locale)}

    def render(self, text: str, locale: str, cache_key: tuple | None) -> tuple[str, dict[str, Any]]:
        """(text to show, renderer info). Never raises: any failure falls back to `text`."""
        info: dict[str, Any] = {**self.versions(locale), "cached": False}
        key = (*cache_key, self.cfg.model, info["prompt_hash"], locale) if cache_key else None
        source = _sha(text)
        with self._lock:
            hit = self._cache.get(key) if key else None
            if hit is not None and hit["source"] == source:
                self._cache.move_to_end(key)
                return self._outcome(text, hit, {**info, "cached": True})
        try:
            reply = self._ask(text, locale)
        except Exception as e:  # the endpoint is optional: a failure is said, never raised
            return text, {**info, "kind": "template", "llm_error": f"{type(e).__name__}: {e}"}
        rejected = numbers_kept(text, reply, locale)
        entry = {"source": source, "reply": reply, "rejected": rejected}
        if key and self.cfg.cache_size:
            with self._lock:
                self._cache[key] = entry
                self._cache.move_to_end(key)
                while len(self._cache) > self.cfg.cache_size:
                    self._cache.popitem(last=False)
        return self._outcome(text, entry, info)

    @staticmethod
    def _outcome(text: str, entry: dict[str, Any], info: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if entry["rejected"]:
            return text, {**info, "kind": "template", "llm_rejected": entry["rejected"]}
        return entry["reply"], {**info, "kind": "llm"}

    def _ask(self, text: str, locale: str) -> str:
        import httpx
        headers = {}
        if self.cfg.api_key_env and os.environ.get(self.cfg.api_key_env):
            headers["Authorization"] = f"Bearer {os.environ[self.cfg.api_key_env]}"
        body = {"model": self.cfg.model, "temperature": self.cfg.temperature,
                "messages": [{"role": "system", "content": SYSTEM_PROMPTS[locale]},
                             {"role": "user", "content": text}]}
        self.calls += 1
        r = httpx.post(f"{self.cfg.base_url.rstrip('/')}/chat/completions", json=body, headers=headers,
                       timeout=self.cfg.timeout_s)
        r.raise_for_status()
        content = r.json()["choices"][0]["message"]["content"]
        if not isinstance(content, str) or not content.strip():
            raise ValueError("empty reply")
        return content.strip() + "\n"
