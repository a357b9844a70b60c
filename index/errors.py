"""Errors that carry a message fit for a person.

The tree::

    NewsbotError            anything newsbot reports to a user (CLI: "error: ...", exit 1)
    +-- ConfigError         a setting is missing or malformed (token, URL, model)
    +-- SourceError         a source path or URL given by the user cannot be read at all
    +-- IndexMissingError   no index has been built yet; says how to build one
    +-- StoreUnavailable    the vector store cannot be reached (server down, locked)
    +-- IndexBusy           another reindex of the same index holds its lease
    +-- ManifestDamaged     the local manifest is not a readable SQLite file (moved aside)
    +-- StoreReadOnly       the store folder cannot be written (a reindex needs it)
    +-- DiskFull            the disk filled during a write (the previous index answers)
    +-- EmbeddingError      the embedding model cannot be loaded or run
    +-- FilterError         a search filter (since:, until:, source:) is malformed

A bad *item* inside a source (one broken file) is not an error: it is skipped with its reason.
"""

from __future__ import annotations


class NewsbotError(Exception):
    """Base class: ``user_message`` is safe to show to a person."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class ConfigError(NewsbotError):
    """A setting is missing or malformed."""


class SourceError(NewsbotError):
    """A source given by the user cannot be read at all."""


class IndexMissingError(NewsbotError):
    """No index has been built yet."""


class StoreUnavailable(NewsbotError):
    """The vector store cannot be reached."""


class EmbeddingError(NewsbotError):
    """The embedding model cannot be loaded or run."""


class FilterError(NewsbotError):
    """A search filter typed by a person is malformed (a bad date, since after until)."""


class IndexBusy(NewsbotError):
    """Another reindex of the same index is running (it holds the lease in the server)."""


class ManifestDamaged(NewsbotError):
    """The local manifest cannot be read as SQLite; it was moved aside to be rebuilt."""


class StoreReadOnly(NewsbotError):
    """The store folder cannot be written; reading still works."""


class DiskFull(NewsbotError):
    """The disk filled up while writing; nothing of that write was kept."""
