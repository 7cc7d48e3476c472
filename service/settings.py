"""All configuration, read once from the environment (prefix ROLEQA_) at the edges."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLEQA_", env_file=".env", extra="ignore")

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    model_path: Path | None = Field(
        default=None, description="sentence-transformers model folder; default: the packaged one"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    max_question_chars: int = Field(default=1000, ge=1)
    max_top_k: int = Field(default=50, ge=1)
    max_batch: int = Field(default=1000, ge=1)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: list[str]) -> list[str]:
        if "*" in value:
            raise ValueError("ROLEQA_CORS_ORIGINS may not be '*': name the intranet origins")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
