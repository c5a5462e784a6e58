"""Configuration from the environment, one settings object per service.

Every service subclasses :class:`ServiceSettings` and adds its own fields; nothing
reads ``os.environ`` at import time, so tests build settings explicitly.
"""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every service needs: where its database is and how it logs."""

    model_config = SettingsConfigDict(env_prefix="IES_", extra="ignore")

    database_url: str = "sqlite:///./var/ies.db"
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
    max_body_bytes: int = 64 * 1024 * 1024
