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
    # Abuse limits (kernel.ratelimit): requests a second and burst; a rate of 0 is off.
    rate_per_address: float = 200.0
    burst_per_address: int = 2000
    rate_per_participant: float = 50.0
    burst_per_participant: int = 500
    # Machine tokens (kernel.tokens): accept the directory's access tokens for this
    # service's audience, verified with its published key(s), kid -> base64url raw key.
    token_issuer: str = ""
    token_audience: str = ""
    token_keys: dict[str, str] = {}
