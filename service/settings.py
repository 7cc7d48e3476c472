"""All configuration, read once from the environment (prefix ROLEQA_) at the edges."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

import limits
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.encoder import Backend

MIN_KEY_CHARS = 16


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLEQA_", env_file=".env", extra="ignore")

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    model_path: Path | None = Field(
        default=None, description="sentence-transformers model folder; default: the packaged one"
    )
    encoder: Backend = Field(
        default="onnx",
        description="query encoder: the index's own int8 ONNX export, or torch (the reference)",
    )
    encoder_threads: int = Field(
        default=1, ge=1, description="onnxruntime threads per encoding; requests run side by side"
    )
    cache_size: int = Field(
        default=4096, ge=0, description="answers, and text vectors, remembered (LRU each); 0: none"
    )
    search_threads: int = Field(
        default=2,
        ge=1,
        description="searches run at once on worker threads, and onnxruntime threads for a "
        "search with no other request in flight (one per core)",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    max_question_chars: int = Field(default=1000, ge=1)
    max_top_k: int = Field(default=50, ge=1)
    max_batch: int = Field(default=1000, ge=1)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="larger bodies get 413")
    max_in_flight: int = Field(
        default=64, ge=1, description="requests worked on at once; past it, 503 with Retry-After"
    )
    request_timeout_s: float = Field(
        default=30.0, gt=0, description="a request still running after this gets 504"
    )
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="comma-separated keys; when set, the API needs one"
    )
    public_search: bool = Field(
        default=False,
        description="let GET /search through without a key (for the search page and widget)",
    )
    rate_limit: str = Field(
        default="600/minute",
        description="per client (API key, else address), in `limits` notation; empty: no limit",
    )
    watch_index_s: float = Field(
        default=0.0, ge=0, description="poll the index pointer this often and reload; 0: off"
    )

    @field_validator("cors_origins", "api_keys", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: list[str]) -> list[str]:
        if "*" in value:
            raise ValueError("ROLEQA_CORS_ORIGINS may not be '*': name the intranet origins")
        return value

    @field_validator("api_keys")
    @classmethod
    def _long_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        if any(len(k.get_secret_value()) < MIN_KEY_CHARS for k in value):
            raise ValueError(f"each of ROLEQA_API_KEYS must be at least {MIN_KEY_CHARS} characters")
        return value

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        if value.strip():
            try:
                limits.parse_many(value)
            except ValueError:
                raise ValueError(
                    f"ROLEQA_RATE_LIMIT {value!r} is not a rate like '600/minute' or '10/second'"
                ) from None
        return value.strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
