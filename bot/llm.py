"""The generation seam: a chat model that turns a system and a user prompt into text.

Two implementations, chosen by settings (``make_chat_model``):

- ``OpenAICompatible``: any OpenAI-compatible ``/v1/chat/completions`` server (Ollama,
  llama.cpp's server, vLLM, hosted APIs) at ``NEWSBOT_LLM_URL``, through the ``openai`` client.
- ``LocalGGUF``: a GGUF file at ``NEWSBOT_LLM_GGUF`` run in-process by xllamacpp (extra
  ``[local]``). Nothing is ever downloaded: the file must already be on disk.

Errors::

    NewsbotError
    +-- ConfigError     the model cannot be set up (missing file, missing extra): at start-up
    +-- LLMError        one generation failed (server down, timeout, HTTP error, malformed or
                        empty reply); its message is the one-line notice shown with the
                        extractive answer that replaces it
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from index.errors import ConfigError, NewsbotError
from index.settings import Settings

logger = logging.getLogger(__name__)

OnToken = Callable[[str], None]


class LLMError(NewsbotError):
    """One generation failed; ``user_message`` says why in one line."""


class ChatModel(Protocol):
    """Writes a reply to one system + user prompt; ``on_token`` receives it piece by piece."""

    name: str

    def chat(self, system: str, user: str, on_token: OnToken | None = None) -> str: ...


def make_chat_model(settings: Settings) -> ChatModel | None:
    """The configured model, or None when generation is off (neither URL nor GGUF set)."""
    if settings.llm_url:
        if settings.llm_gguf:
            logger.info("both llm_url and llm_gguf are set: using the server at llm_url")
        return OpenAICompatible(settings)
    if settings.llm_gguf:
        return LocalGGUF(settings)
    return None


def _checked(text: str | None) -> str:
    if text is None or not text.strip():
        raise LLMError("the language model returned an empty answer")
    return text


# --- OpenAI-compatible server ------------------------------------------------------------------


class OpenAICompatible:
    """A chat model behind an OpenAI-compatible HTTP API."""

    def __init__(self, settings: Settings) -> None:
        import openai

        assert settings.llm_url
        self.url = settings.llm_url.rstrip("/")
        self.timeout = settings.llm_timeout
        self.name = f"{settings.llm_model} at {self.url}"
        self.model = settings.llm_model
        self.max_tokens = settings.llm_max_tokens
        self.temperature = settings.llm_temperature
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
        # The client keeps the key in an attribute of its own; its repr is object's and shows
        # none of them, and it sends the key only in the Authorization header, never logged.
        self._llm = openai.OpenAI(
            base_url=self.url,
            api_key=key or "none",  # local servers want no key, the client wants a string
            timeout=settings.llm_timeout,
            max_retries=0,  # a retry would double the wait before the extractive fallback
        )

    def chat(self, system: str, user: str, on_token: OnToken | None = None) -> str:
        messages: list[Any] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        options: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }
        started = time.perf_counter()
        try:
            if on_token is None:
                reply = self._llm.chat.completions.create(**options)
                text = reply.choices[0].message.content
            else:
                pieces: list[str] = []
                for chunk in self._llm.chat.completions.create(**options, stream=True):
                    delta = chunk.choices[0].delta.content if chunk.choices else None
                    if delta:
                        pieces.append(delta)
                        on_token(delta)
                text = "".join(pieces)
        except LLMError:
            raise
        except Exception as exc:
            raise self._translate(exc) from exc
        logger.info("generated %d characters in %.2f s", len(text or ""), _since(started))
        return _checked(text)

    def _translate(self, exc: Exception) -> LLMError:
        import httpx
        import openai

        # While a stream is read, httpx errors arrive untranslated by the openai client.
        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            return LLMError(f"the language model did not answer within {self.timeout:g} s")
        if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
            return LLMError(f"could not reach the language model at {self.url}")
        if isinstance(exc, openai.APIStatusError):
            return LLMError(f"the language model server answered HTTP {exc.status_code}")
        logger.warning("malformed reply from the language model: %s", type(exc).__name__)
        logger.debug("malformed reply", exc_info=exc)
        return LLMError("the language model sent a malformed reply")


# --- in-process GGUF model ---------------------------------------------------------------------


class LocalGGUF:
    """A GGUF model run in this process by xllamacpp; one generation at a time."""

    def __init__(self, settings: Settings) -> None:
        assert settings.llm_gguf
        path = Path(settings.llm_gguf).expanduser()
        if not path.is_file():
            raise ConfigError(f"no GGUF model file at {path} (NEWSBOT_LLM_GGUF)")
        try:
            import xllamacpp
        except ImportError:
            raise ConfigError(
                "NEWSBOT_LLM_GGUF needs the local extra: pip install 'newsbot[local]'"
            ) from None
        self.name = path.name
        self.max_tokens = settings.llm_max_tokens
        self.temperature = settings.llm_temperature
        threads = settings.llm_threads or os.cpu_count() or 1
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = settings.llm_context
        params.n_parallel = 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.warmup = False
        params.verbosity = -1
        started = time.perf_counter()
        try:
            self._server: Any = xllamacpp.Server(params)
        except Exception as exc:
            raise ConfigError(f"cannot load the GGUF model {path}: {exc}") from exc
        logger.info("loaded %s in %.2f s", path.name, _since(started))
        self._lock = threading.Lock()

    def chat(self, system: str, user: str, on_token: OnToken | None = None) -> str:
        request: dict[str, Any] = {
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }
        started = time.perf_counter()
        with self._lock:
            try:
                if on_token is None:
                    reply = self._server.handle_chat_completions(request)
                    text = _local_text(reply)
                else:
                    text = self._stream(request, on_token)
            except LLMError:
                raise
            except Exception as exc:
                logger.debug("local model failure", exc_info=exc)
                raise LLMError(f"the local language model failed: {type(exc).__name__}") from exc
        logger.info("generated %d characters in %.2f s", len(text or ""), _since(started))
        return _checked(text)

    def _stream(self, request: dict[str, Any], on_token: OnToken) -> str:
        pieces: list[str] = []
        errors: list[str] = []

        def receive(chunk: Any) -> None:
            if isinstance(chunk, dict) and "error" in chunk:
                errors.append(str(chunk["error"]))
                return
            for choice in (chunk or {}).get("choices") or ():
                delta = (choice.get("delta") or {}).get("content")
                if delta:
                    pieces.append(delta)
                    on_token(delta)

        reply = self._server.handle_chat_completions({**request, "stream": True}, receive)
        if isinstance(reply, dict) and "error" in reply:
            errors.append(str(reply["error"]))
        if errors:
            raise LLMError(f"the local language model failed: {errors[0][:120]}")
        return "".join(pieces)


def _local_text(reply: Any) -> str | None:
    if not isinstance(reply, dict):
        raise LLMError("the local language model sent a malformed reply")
    if "error" in reply:
        raise LLMError(f"the local language model failed: {str(reply['error'])[:120]}")
    try:
        return reply["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LLMError("the local language model sent a malformed reply") from None


def _since(started: float) -> float:
    return time.perf_counter() - started
