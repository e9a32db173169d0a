"""Runtime settings, read from the environment (prefix ``CREDO_``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob a deployment can turn. Defaults suit a single-user SQLite install."""

    model_config = SettingsConfigDict(env_prefix="CREDO_", extra="ignore")

    database_url: str = Field("sqlite:///credo.db", description="SQLAlchemy URL of the operational store.")
    max_batch_events: int = Field(1000, ge=1, le=10000, description="Largest batch POST /v1/events accepts.")
    ingest_chunk_events: int = Field(5000, ge=1, description="Events per committed transaction in bulk ingest.")
    data_dir: str = Field("../shared/data", description="Where the real benchmark datasets live.")
    model_dir: str = Field("models", description="Directory of the trained model bundle.")
    serving_model: Literal["champion", "challenger"] = Field(
        "champion", description="Which trained model answers score requests."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
