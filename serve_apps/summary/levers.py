"""The features a summary can talk about: the levers an author can change, and labels for the rest.

A lever is a content aggregate (or a metadata feature) an author controls for the next video:
loudness, cutting rate, brightness, tempo, ... Names are the training data's column names: the
content aggregates of `ray_pipelines/stages/fusion_aggregates.py` (VISUAL_NAMES) and
`ray_pipelines/stages/audio_aggregates.py` (AUDIO_SCALAR_NAMES), and the temporal features of
`trendflow/temporal/features.py`. `SummaryConfig.levers` picks from `LEVERS` by name; a name that
is not here is a config error (no free-form names that would render unlabelled).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lever:
    """How to say a lever's value and its change, in each locale."""
    name: str
    unit: str            # printed after the value ("" for shares and 0..1 scores); English, see UNITS_RU
    decimals: int        # how the value is printed (every printed value is rounded to this)
    label: dict[str, str]  # locale -> "loudness"
    up: dict[str, str]     # locale -> what moving the value up means ("louder mix")
    down: dict[str, str]   # locale -> what moving it down means ("quieter mix")


    def unit_in(self, locale: str) -> str:
        return UNITS_RU.get(self.unit, self.unit) if locale == "ru" else self.unit


UNITS_RU = {"s": "с", "cuts/min": "склеек/мин", "chars": "симв.", "tags": "тегов"}


def _lever(name, unit, decimals, en, ru, up_en, up_ru, down_en, down_ru) -> Lever:
    return Lever(name, unit, decimals, {"en": en, "ru": ru}, {"en": up_en, "ru": up_ru}, {"en": down_en, "ru": down_ru})


LEVERS: dict[str, Lever] = {lv.name: lv for lv in (
    _lever("audio_integrated_lufs", "LUFS", 0, "loudness", "громкость",
           "louder mix", "громче сведение", "quieter mix", "тише сведение"),
    _lever("audio_lra", "LU", 1, "loudness range", "динамический диапазон громкости",
           "wider loudness range", "шире диапазон громкости", "more even loudness", "ровнее громкость"),
    _lever("audio_silence_share", "", 2, "share of silence", "доля тишины",
           "more pauses", "больше пауз", "fewer silent stretches", "меньше тишины"),
    _lever("audio_bpm", "BPM", 0, "music tempo", "темп музыки",
           "faster music", "быстрее музыка", "slower music", "медленнее музыка"),
    _lever("shots_per_min", "cuts/min", 1, "cutting rate", "частота склеек",
           "faster cutting", "чаще склейки", "slower cutting", "реже склейки"),
    _lever("shot_len_mean", "s", 1, "mean shot length", "средняя длина плана",
           "longer shots", "длиннее планы", "shorter shots", "короче планы"),
    _lever("fast_shot_share", "", 2, "share of fast shots", "доля быстрых планов",
           "more fast shots", "больше быстрых планов", "fewer fast shots", "меньше быстрых планов"),
    _lever("brightness_mean", "", 2, "brightness", "яркость",
           "brighter picture", "ярче картинка", "darker picture", "темнее картинка"),
    _lever("contrast_mean", "", 2, "contrast", "контраст",
           "more contrast", "больше контраста", "less contrast", "меньше контраста"),
    _lever("colorfulness_mean", "", 1, "colourfulness", "насыщенность цвета",
           "more colourful picture", "насыщеннее цвета", "calmer colours", "спокойнее цвета"),
    _lever("quality_mean", "", 2, "technical quality", "техническое качество",
           "cleaner, sharper picture", "чище и резче картинка", "rougher picture", "грубее картинка"),
    _lever("motion_mean", "", 1, "motion", "движение в кадре",
           "more motion", "больше движения", "calmer camera", "спокойнее камера"),
    _lever("duration_seconds", "s", 0, "duration", "длительность",
           "longer video", "длиннее видео", "shorter video", "короче видео"),
    _lever("title_length", "chars", 0, "title length", "длина названия",
           "longer title", "длиннее название", "shorter title", "короче название"),
    _lever("tag_count", "tags", 0, "number of tags", "число тегов",
           "more tags", "больше тегов", "fewer tags", "меньше тегов"),
)}

DEFAULT_LEVERS = ("audio_integrated_lufs", "shots_per_min", "brightness_mean", "audio_bpm", "quality_mean",
                  "colorfulness_mean", "motion_mean", "audio_silence_share", "duration_seconds", "title_length",
                  "tag_count")

# Labels for features that are not levers but show up among the model's contributions ("why").
FEATURE_LABELS: dict[str, dict[str, str]] = {
    "views_s1": {"en": "views at the first snapshot", "ru": "просмотры на первом срезе"},
    "likes_s1": {"en": "likes at the first snapshot", "ru": "лайки на первом срезе"},
    "comments_s1": {"en": "comments at the first snapshot", "ru": "комментарии на первом срезе"},
    "subscribers_s1": {"en": "channel subscribers", "ru": "подписчики канала"},
    "channel_videos_s1": {"en": "videos on the channel", "ru": "видео на канале"},
    "channel_views_s1": {"en": "channel views", "ru": "просмотры канала"},
    "views_per_hour": {"en": "views per hour so far", "ru": "просмотры в час до среза"},
    "likes_per_hour": {"en": "likes per hour so far", "ru": "лайки в час до среза"},
    "like_rate": {"en": "likes per view", "ru": "лайки на просмотр"},
    "comment_rate": {"en": "comments per view", "ru": "комментарии на просмотр"},
    "views_per_subscriber": {"en": "views per subscriber", "ru": "просмотры на подписчика"},
    "views_per_video_channel": {"en": "channel views per video", "ru": "просмотры канала на видео"},
    "video_age_hours_at_snapshot1": {"en": "video age at the first snapshot (h)",
                                     "ru": "возраст видео на первом срезе (ч)"},
    "publish_hour_utc": {"en": "publishing hour (UTC)", "ru": "час публикации (UTC)"},
    "publish_weekday": {"en": "publishing weekday", "ru": "день недели публикации"},
}


def feature_label(name: str, locale: str) -> str:
    """A readable name for any feature column: lever label, known label, `category = Music` for one-hot
    columns, else the column name itself (never invented)."""
    if name in LEVERS:
        return LEVERS[name].label[locale]
    if name in FEATURE_LABELS:
        return FEATURE_LABELS[name][locale]
    if "=" in name:
        col, level = name.split("=", 1)
        return f"{col} = {level}"
    return name
