from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select

from sublarr.core.domain import (
    MAX_COMPOSITE_KEY_BYTES,
    MAX_INDEXED_BYTES,
    Repository,
    require_int,
    require_str,
)
from sublarr.core.timeutil import now_iso

from .models import provider_score_modifiers as modifiers
from .models import scoring_weights as weights

# The built-in weights (exact legacy values). The private names are imported by the app's
# routes, so they stay; the public names are the same dict objects. No function here mutates them.
_DEFAULT_EPISODE_WEIGHTS = {
    "hash": 359, "series": 180, "year": 90, "season": 30, "episode": 30, "release_group": 14,
    "source": 7, "audio_codec": 3, "resolution": 2, "hearing_impaired": 1, "format_bonus": 50,
}
_DEFAULT_MOVIE_WEIGHTS = {
    "hash": 119, "title": 60, "year": 30, "release_group": 13, "source": 7, "audio_codec": 3,
    "resolution": 2, "hearing_impaired": 1, "format_bonus": 50,
}
DEFAULT_EPISODE_WEIGHTS = _DEFAULT_EPISODE_WEIGHTS
DEFAULT_MOVIE_WEIGHTS = _DEFAULT_MOVIE_WEIGHTS
_DEFAULTS = {"episode": _DEFAULT_EPISODE_WEIGHTS, "movie": _DEFAULT_MOVIE_WEIGHTS}


class ScoringRepository(Repository):
    """Weight overrides per score type and score modifiers per provider.

    ``score_type`` is the app's ``"episode"`` or ``"movie"``; the storage functions accept any
    non-empty string (as legacy did), only :meth:`get_effective_weights` needs a known type.
    """

    domain = "scoring"

    # -- weights --------------------------------------------------------------------------------

    def get_scoring_weights(self, score_type: str) -> dict[str, int]:
        """The stored overrides only (``{}`` if none), in the order they were first set."""
        require_str("score_type", score_type, allow_empty=False)
        with self.read() as conn:
            rows = conn.execute(select(weights.c.weight_key, weights.c.weight_value)
                                .where(weights.c.score_type == score_type).order_by(weights.c.id))
            return dict(rows.all())

    def set_scoring_weights(self, score_type: str, weights_dict: Mapping[str, Any]) -> None:
        """Store overrides; each value goes through ``int()`` as in the legacy layer.

        Fixes: all or nothing (every key and value is checked before anything is written, so
        one bad value changes nothing; legacy left the rows before it pending in the shared
        connection); an existing override is updated in place and keeps its row id (legacy
        INSERT OR REPLACE gave it a new one).
        """
        require_str("score_type", score_type, allow_empty=False, max_bytes=MAX_INDEXED_BYTES)
        if not isinstance(weights_dict, Mapping):
            raise ValueError(f"weights_dict must be a mapping, got {type(weights_dict).__name__}")
        now = now_iso()
        rows = [
            {"score_type": score_type,
             "weight_key": require_str("weight key", key, allow_empty=False, max_bytes=MAX_INDEXED_BYTES),
             "weight_value": _as_int(f"weight {key!r}", value), "updated_at": now}
            for key, value in weights_dict.items()
        ]
        if not rows:
            return
        for row in rows:  # (score_type, weight_key) is a unique key
            require_str("score_type + weight key", score_type + str(row["weight_key"]), max_bytes=MAX_COMPOSITE_KEY_BYTES)
        with self.write() as conn:
            conn.execute(self.storage.upsert(weights, None, key=["score_type", "weight_key"],
                                update=["weight_value", "updated_at"]), rows)

    def get_effective_weights(self, score_type: str) -> dict[str, int]:
        """New: the built-in weights of ``score_type`` with its overrides applied.

        Key order is the defaults first, then override keys the defaults lack (as legacy
        ``get_all_scoring_weights``). ValueError for a type without built-in weights.
        """
        if not isinstance(score_type, str) or score_type not in _DEFAULTS:
            raise ValueError(f"score_type must be one of {', '.join(_DEFAULTS)}, got {score_type!r}")
        return {**_DEFAULTS[score_type], **self.get_scoring_weights(score_type)}

    def get_all_scoring_weights(self) -> dict[str, dict[str, int]]:
        """``{"episode": {...}, "movie": {...}}``: defaults merged with overrides."""
        return {score_type: self.get_effective_weights(score_type) for score_type in _DEFAULTS}

    def reset_scoring_weights(self, score_type: str | None = None) -> None:
        """Delete the overrides of ``score_type``, or all overrides when it is None or ``""``
        (legacy truthiness check kept)."""
        self._delete_all_or_matching(weights, "score_type", score_type)

    # -- provider modifiers ---------------------------------------------------------------------

    def get_provider_modifier(self, provider_name: str) -> int:
        """The provider's modifier; 0 when none is set (as legacy)."""
        require_str("provider_name", provider_name)
        with self.read() as conn:
            value = conn.execute(select(modifiers.c.modifier)
                                 .where(modifiers.c.provider_name == provider_name)).scalar()
        return 0 if value is None else value

    def get_all_provider_modifiers(self) -> dict[str, int]:
        """``{provider_name: modifier}`` ordered by provider name.

        Sorted in Python (code-point order, SQLite's BINARY collation) so the order is the same
        on PostgreSQL, whose ORDER BY follows the database's locale.
        """
        with self.read() as conn:
            rows = conn.execute(select(modifiers.c.provider_name, modifiers.c.modifier)).all()
        return dict(sorted(rows))

    def set_provider_modifier(self, provider_name: str, modifier: int) -> None:
        """Insert or update a provider's modifier (``int(modifier)``, as legacy)."""
        row = {"provider_name": require_str("provider_name", provider_name, allow_empty=False,
                                            max_bytes=MAX_INDEXED_BYTES),
               "modifier": _as_int("modifier", modifier), "updated_at": now_iso()}
        with self.write() as conn:
            conn.execute(self.storage.upsert(modifiers, row, key=["provider_name"]))

    def delete_provider_modifier(self, provider_name: str) -> None:
        """Delete a provider's modifier; no error when it has none."""
        require_str("provider_name", provider_name)
        with self.write() as conn:
            conn.execute(delete(modifiers).where(modifiers.c.provider_name == provider_name))


def _as_int(name: str, value: Any) -> int:
    """``int(value)`` like the legacy layer (``"12"`` and ``12.7`` are accepted), but a value that
    does not convert, or does not fit the INTEGER column, is a ValueError."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be convertible to an integer, got {value!r}") from None
    return require_int(name, number)
