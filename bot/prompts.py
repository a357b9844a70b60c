"""Prompt templates: prompts/*.txt with string.Template ``$placeholders``, checked at start-up.

The templates are package data of the top-level ``prompts`` package, read with importlib.resources,
so a wheel installed anywhere finds them (not only an editable clone beside its prompts/ folder).

string.Template rather than str.format because article text is full of braces. Each template
must use exactly its known placeholders: a missing one (the refusal sentence, the excerpts) or an
unknown one (a typo) is a ``ConfigError`` when the answerer is built, not a surprise mid-answer.

Excerpts are wrapped in ``<excerpt n="..."> ... </excerpt>``; any such tag inside article text is
defused first, so an article cannot close its excerpt and speak as the user.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable

from index.errors import ConfigError

# The package holding the templates (prompts/ at the top of the repository).
PROMPTS_PACKAGE = "prompts"

# Each template and the placeholders it must use (all of them, and no others).
PLACEHOLDERS: Mapping[str, frozenset[str]] = {
    "system": frozenset({"refusal"}),
    "user": frozenset({"excerpts", "question", "language", "refusal"}),
    "excerpt": frozenset({"n", "title", "source", "published", "text"}),
    "translator": frozenset(),
    "translate": frozenset({"language", "text"}),
}

_TAG = re.compile(r"<(/?)\s*excerpt\b", re.IGNORECASE)

LANGUAGE_NAMES = {
    "ar": "Arabic", "en": "English", "fr": "French", "de": "German", "es": "Spanish",
    "it": "Italian", "pt": "Portuguese", "nl": "Dutch", "tr": "Turkish", "id": "Indonesian",
}  # fmt: skip


@dataclass(frozen=True)
class Excerpt:
    """One numbered excerpt as the model sees it."""

    n: int
    text: str
    title: str | None = None
    source: str | None = None
    published: str | None = None


def defuse(text: str) -> str:
    """Article text with excerpt tags made inert, so it cannot break out of its delimiters."""
    return _TAG.sub(lambda m: f"‹{m.group(1)}excerpt", text)


def language_name(code: str | None) -> str:
    """'Arabic' for 'ar'; an unknown code reads as 'the language of the question'."""
    return LANGUAGE_NAMES.get(code or "", "the language of the question")


@dataclass(frozen=True)
class Prompts:
    """The loaded templates; ``render`` gives the (system, user) messages for one question."""

    system: string.Template
    user: string.Template
    excerpt: string.Template
    translator: string.Template
    translate: string.Template

    def render(
        self, question: str, excerpts: Sequence[Excerpt], language: str, refusal: str
    ) -> tuple[str, str]:
        blocks = [
            self.excerpt.substitute(
                n=str(e.n),
                title=defuse(_one_line(e.title) or "(untitled)"),
                source=defuse(_one_line(e.source) or "unknown"),
                published=defuse(_one_line((e.published or "")[:10]) or "undated"),
                text=defuse(e.text.strip()),
            ).strip()
            for e in excerpts
        ]
        system = self.system.substitute(refusal=refusal).strip()
        user = self.user.substitute(
            excerpts="\n\n".join(blocks),
            question=_one_line(question),
            language=language,
            refusal=refusal,
        ).strip()
        return system, user

    def translation(self, text: str, language: str) -> tuple[str, str]:
        """(system, user) messages asking for ``text`` (one quoted sentence) in ``language``."""
        system = self.translator.substitute().strip()
        user = self.translate.substitute(text=defuse(_one_line(text)), language=language)
        return system, user.strip()


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def load_prompts(folder: Traversable | None = None) -> Prompts:
    """Read and check every template in ``folder`` (default: the ``prompts`` package); raise
    ConfigError naming what is wrong."""
    folder = folder if folder is not None else files(PROMPTS_PACKAGE)
    templates: dict[str, string.Template] = {}
    for name, expected in PLACEHOLDERS.items():
        path = folder / f"{name}.txt"
        try:
            template = string.Template(path.read_text("utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read the prompt template {path}: {exc.strerror}") from None
        if not template.is_valid():
            raise ConfigError(
                f"prompt template {path} has a malformed placeholder (write $$ for a dollar sign)"
            )
        found = set(template.get_identifiers())
        if missing := expected - found:
            raise ConfigError(f"prompt template {path} lacks ${', $'.join(sorted(missing))}")
        if unknown := found - expected:
            raise ConfigError(
                f"prompt template {path} uses unknown ${', $'.join(sorted(unknown))} "
                f"(known: ${', $'.join(sorted(expected))})"
            )
        templates[name] = template
    return Prompts(**templates)
