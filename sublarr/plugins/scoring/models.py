from sqlalchemy import Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sublarr.core.models import Base
from sublarr.core.schema import int_default, legacy_now


class ScoringWeights(Base):
    __tablename__ = "scoring_weights"
    __table_args__ = (
        UniqueConstraint("score_type", "weight_key"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    score_type: Mapped[str] = mapped_column(Text, nullable=False)
    weight_key: Mapped[str] = mapped_column(Text, nullable=False)
    weight_value: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())


class ProviderScoreModifier(Base):
    __tablename__ = "provider_score_modifiers"

    provider_name: Mapped[str] = mapped_column(Text, primary_key=True)
    modifier: Mapped[int] = mapped_column(Integer, nullable=False, server_default=int_default(0))
    updated_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())
