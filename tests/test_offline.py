"""Offline: tiktoken's encoding comes from local files, and a full reindex plus a query with
embedded Chroma connect to nothing outside 127.0.0.1 (so Chroma's default embedding function,
which downloads a model, never runs).

Run in a fresh interpreter: lru_caches, imported modules and the environment start clean there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, os, socket, sys, tempfile
from pathlib import Path

attempts = []

def local(host):
    if host is None:  # a lookup for binding, not for reaching anyone
        return True
    host = host.decode() if isinstance(host, bytes) else str(host)
    return host in ("localhost", "::1", "") or host.startswith("127.")

def guard(what, host):
    if not local(host):
        attempts.append(f"{what} {host}")
        raise OSError(f"network blocked by the test: {what} {host}")

real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
real_create, real_getaddrinfo = socket.create_connection, socket.getaddrinfo

def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        guard("connect", address[0])
    return real_connect(self, address)

def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        guard("connect", address[0])
    return real_connect_ex(self, address)

def create_connection(address, *args, **kwargs):
    guard("connect", address[0])
    return real_create(address, *args, **kwargs)

def getaddrinfo(host, *args, **kwargs):
    guard("resolve", host)
    return real_getaddrinfo(host, *args, **kwargs)

socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
socket.create_connection, socket.getaddrinfo = create_connection, getaddrinfo

out = {}
store, articles = Path(sys.argv[1]), Path(sys.argv[2])

# 1. Without a cache dir, tiktoken would download its encoding: blocked here, so it fails.
import tiktoken
try:
    tiktoken.get_encoding("o200k_base")
    out["bare_tiktoken"] = "loaded"
except Exception as exc:
    out["bare_tiktoken"] = type(exc).__name__
out["bare_attempts"] = attempts[:]
del attempts[:]

# 2. ensure_tiktoken_cache points it at llama-index's bundled files.
from index.chunking import encoding, ensure_tiktoken_cache
ensure_tiktoken_cache()
out["cache_dir"] = os.environ.get("TIKTOKEN_CACHE_DIR")
out["tokens"] = len(encoding().encode("أوائل كانون الأول/ديسمبر"))

# 3. A full reindex and a query with embedded Chroma.
from index.embedding import get_embedder
from index.reindex import reindex
from index.settings import Settings
from index.store import Vectors
settings = Settings(store_dir=store, articles_dir=articles, chroma_url=None)
report = reindex(settings, full=True)
vec = get_embedder(settings.embed_model).queries(["When is the US-Israel meeting?"])[0]
out["added"], out["chunks"] = report.added, report.chunks
out["hits"] = len(Vectors(settings).query(vec, 3))
out["attempts"] = attempts[:]

# 4. The guard itself works (this attempt must be recorded).
try:
    socket.create_connection(("example.org", 80), timeout=1)
except OSError:
    pass
out["control"] = attempts[len(out["attempts"]):]
print(json.dumps(out))
"""


def test_reindex_and_query_make_no_outside_connection(tmp_path):
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "a.txt").write_text(
        "سيجتمع مسؤولون أميركيون وإسرائيليون في أوائل كانون الأول/ديسمبر.\n\n"
        "The meeting will take place in early December, the State Department said.",
        encoding="utf-8",
    )
    empty_tmp = tmp_path / "tmp"  # tiktoken's fallback cache lives under the temp dir
    empty_tmp.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR", "HF_HUB_OFFLINE")
        and not k.startswith("NEWSBOT_")
    }
    env["TMPDIR"] = str(empty_tmp)
    env["NEWSBOT_SOURCES_FILE"] = str(tmp_path / "no-sources.toml")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "store"), str(articles)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # no .env there
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])

    # the check can fail: bare tiktoken tried the network and was stopped
    assert out["bare_tiktoken"] != "loaded"
    assert out["bare_attempts"], "tiktoken did not try to download: the test proves nothing"
    assert out["control"] == ["connect example.org"]

    cache = Path(out["cache_dir"])
    assert cache.parts[-2:] == ("_static", "tiktoken_cache") and cache.is_dir()
    assert out["tokens"] > 0
    assert (out["added"], out["chunks"], out["hits"]) == (1, 1, 1)
    assert out["attempts"] == []
