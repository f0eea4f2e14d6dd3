"""``[insights]``: whether runs refresh insights, the topic cap, fallback phrases (cheap to import)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import dlt

from sources.common.errors import ConfigurationError

DEFAULT_MAX_TOPICS = 30
DEFAULT_CANNED_MIN_TOPICS = 2
DEFAULT_MIN_TOPIC_SHARE = 0.02
DEFAULT_LABEL_LANGUAGE = "en"
DEFAULT_FEATURE_CHARS = 2_000


@dataclass(frozen=True)
class InsightsSettings:
    """The ``[insights]`` section, checked.

    Attributes:
        enabled: ``chatsync run`` refreshes insights after loading (``INSIGHTS__ENABLED``).
        max_topics: The most topics; fewer when the data has fewer.
        min_topic_share: A topic holding less of the conversations folds into its nearest (or ``other``).
        label_language: The team's language: topics are labelled in it where they have questions in it.
        fallback_phrases: The user's own fallback phrases, beside the built-in ones.
        canned_min_topics: A canned fallback is a first reply given, verbatim, in at least this many
            topics whose questions mean different things.
        feature_chars: How much of a message is featurised (a 100 KB paste is cut).
    """

    enabled: bool = True
    max_topics: int = DEFAULT_MAX_TOPICS
    min_topic_share: float = DEFAULT_MIN_TOPIC_SHARE
    label_language: str = DEFAULT_LABEL_LANGUAGE
    fallback_phrases: tuple[str, ...] = ()
    canned_min_topics: int = DEFAULT_CANNED_MIN_TOPICS
    feature_chars: int = DEFAULT_FEATURE_CHARS

    @classmethod
    def from_config(cls) -> InsightsSettings:
        """Reads ``[insights]`` (or ``INSIGHTS__*``).

        Raises:
            ConfigurationError: A value of the wrong kind or out of range.
        """
        try:
            settings = cls(
                enabled=_flag(_setting("enabled", True)),
                max_topics=int(_setting("max_topics", DEFAULT_MAX_TOPICS)),
                min_topic_share=float(_setting("min_topic_share", DEFAULT_MIN_TOPIC_SHARE)),
                label_language=str(_setting("label_language", DEFAULT_LABEL_LANGUAGE)).strip().lower(),
                fallback_phrases=_phrases(_setting("fallback_phrases", None)),
                canned_min_topics=int(_setting("canned_min_topics", DEFAULT_CANNED_MIN_TOPICS)),
                feature_chars=int(_setting("feature_chars", DEFAULT_FEATURE_CHARS)),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"[insights]: {exc} (see docs/insights.md, configuration)") from None
        if (
            settings.max_topics < 1
            or settings.canned_min_topics < 2
            or settings.feature_chars < 100
            or not 0 <= settings.min_topic_share < 0.5
            or len(settings.label_language) != 2
        ):
            raise ConfigurationError(
                "[insights]: max_topics must be ≥ 1, canned_min_topics ≥ 2, feature_chars ≥ 100, "
                "min_topic_share in [0, 0.5) and label_language a two-letter code (en)"
            )
        return settings


def _setting(key: str, default: Any) -> Any:
    """One key of ``[insights]``, from the TOML files or ``INSIGHTS__<KEY>`` (one key at a time: dlt's
    environment provider cannot answer for a whole section)."""
    value: Any = dlt.config.get(f"insights.{key}")
    return default if value is None else value


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"enabled = {value!r} is not true or false")


def _phrases(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = json.loads(value) if value.strip().startswith("[") else [value]
    if not isinstance(value, list | tuple):
        raise ValueError(f"fallback_phrases = {value!r} is not a list of phrases")
    return tuple(str(phrase) for phrase in value if str(phrase).strip())
