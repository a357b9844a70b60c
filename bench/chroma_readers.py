"""Readers while another process writes: raw Chroma, then newsbot's Answerer during a reindex.

Usage (from the repository root; about 15 minutes on 2 busy cores)::

    nohup .venv/bin/python bench/chroma_readers.py > bench/out/chroma_readers.txt 2>&1 &

Options: ``--runs N`` (reload runs per variant, default 3), ``--seconds S`` (per run, default
30), ``--paragraphs N`` (XQuAD paragraphs reindexed under the reader, default 80), ``--only
raw|newsbot``, ``--out DIR`` (default bench/out/readers; results in ``DIR/results.json``).

raw (chromadb 1.5.9's embedded PersistentClient, no newsbot code):

- ``stale``: a reader loads a collection, another process replaces half of its ids; the reader
  queries again with the same client, with a new client, and with a new client after dropping
  Chroma's per-folder System cache.
- ``reload``: for ``--seconds``, a reader opens a new client and queries the newest vectors in a
  loop while a writer upserts 32 vectors and deletes older ones in another loop; ``--runs``
  times, without a lock, then with newsbot's protocol (an ``flock`` shared to read, exclusive to
  write). A reader process killed by a signal (SIGSEGV: exit -11) counts as a crash.

newsbot: the sample article is indexed; then a reader process keeps one Answerer (as the bot and
``chat`` do) and asks, one after the other, the sample question and XQuAD questions of articles
already in the manifest, while ``newsbot reindex`` adds ``--paragraphs`` XQuAD paragraphs in
another process; then ten more after it ends. Embedded, and against a real ``chroma run``. Each
answer is checked: no error, citations only of articles the manifest held, the December sentence
for the sample question.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from xquad import xquad_rows

REPO = Path(__file__).resolve().parents[1]
NEWSBOT = str(Path(sys.executable).parent / "newsbot")
SAMPLE = REPO / "data" / "articles" / "000_df79775a9f276dd4.txt"
XQUAD = REPO.parent / "shared" / "eval" / "xquad" / "xquad.ar.json"

RAW = r"""
import fcntl, json, os, sys, time
import numpy as np
import chromadb
from chromadb.config import Settings as CS

path, role, seconds, locked = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4] == "1"
lock = open(os.path.join(path, "bench.lock"), "a+")
rng = np.random.default_rng(os.getpid())

def flock(kind):
    if locked:
        fcntl.flock(lock, kind)

def vecs(n):
    v = rng.normal(size=(n, 384)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)

def client():
    return chromadb.PersistentClient(path=path, settings=CS(anonymized_telemetry=False))

def collection(c):
    return c.get_or_create_collection(
        "bench", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)

if role == "init":
    col = collection(client())
    base = vecs(200)
    np.save(os.path.join(path, "base.npy"), base)
    col.upsert(ids=[f"a{i}" for i in range(200)], embeddings=base)
elif role == "replace":  # a0..a99 become b0..b99 (same vectors): an article update
    col = collection(client())
    base = np.load(os.path.join(path, "base.npy"))
    col.upsert(ids=[f"b{i}" for i in range(100)], embeddings=base[:100])
    col.delete(ids=[f"a{i}" for i in range(100)])
elif role == "stale":
    from chromadb.api.shared_system_client import SharedSystemClient
    base = np.load(os.path.join(path, "base.npy"))
    c = client(); col = collection(c)
    def probe():
        out = {}
        try:
            r = col.query(query_embeddings=base[:1], n_results=1, include=["distances"])
            out["nearest_to_a0"] = r["ids"][0][0]
        except Exception as e:
            out["query_error"] = f"{type(e).__name__}: {e}"[:120]
        try:
            out["get_b0"] = col.get(ids=["b0"], include=["embeddings"])["ids"]
        except Exception as e:
            out["get_error"] = f"{type(e).__name__}: {e}"[:120]
        return out
    result = {"before": probe()}
    print("loaded", flush=True)
    sys.stdin.readline()  # the writer replaces half the ids meanwhile
    result["same_client"] = probe()
    col = collection(client()); result["new_client"] = probe()
    SharedSystemClient.clear_system_cache(); col = collection(client())
    result["new_client_after_dropping_the_cache"] = probe()
    print(json.dumps(result), flush=True)
elif role == "writer":
    col = collection(client())
    gen, end = 0, time.time() + seconds
    while time.time() < end:
        gen += 1
        v = vecs(32)
        np.save(os.path.join(path, f"g{gen}.npy"), v)
        flock(fcntl.LOCK_EX)
        try:
            col.upsert(ids=[f"g{gen}-{i}" for i in range(32)], embeddings=v)
            if gen > 3:
                col.delete(ids=[f"g{gen - 3}-{i}" for i in range(32)])
        finally:
            flock(fcntl.LOCK_UN)
        with open(os.path.join(path, "latest.tmp"), "w") as f:
            f.write(str(gen))
        os.replace(os.path.join(path, "latest.tmp"), os.path.join(path, "latest"))
    print(json.dumps({"writes": gen}), flush=True)
elif role == "reloader":
    c, n, found, errors, end = None, 0, 0, {}, time.time() + seconds
    while time.time() < end:
        try:
            gen = int(open(os.path.join(path, "latest")).read())
            v = np.load(os.path.join(path, f"g{gen}.npy"))
        except (OSError, ValueError):
            continue
        flock(fcntl.LOCK_SH)
        try:
            if c is not None:
                c.close()
            c = client(); col = collection(c); n += 1
            r = col.query(query_embeddings=v[:1], n_results=1, include=["distances"])
            found += r["ids"][0][:1] == [f"g{gen}-0"]
        except Exception as e:
            key = f"{type(e).__name__}: {e}"[:100]
            errors[key] = errors.get(key, 0) + 1
        finally:
            flock(fcntl.LOCK_UN)
    print(json.dumps({"reopens": n, "found_newest": found, "errors": errors}), flush=True)
"""


def raw(role: str, path: Path, seconds: float = 0, locked: bool = False, **kw: Any) -> Any:
    return subprocess.Popen(
        [sys.executable, "-c", RAW, str(path), role, str(seconds), "1" if locked else "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def fresh(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    init = raw("init", path)
    assert init.wait(timeout=300) == 0, init.stderr.read() if init.stderr else ""


def run_stale(work: Path) -> dict[str, Any]:
    path = work / "stale"
    fresh(path)
    reader = raw("stale", path, stdin=subprocess.PIPE)
    assert reader.stdout and reader.stdin
    assert reader.stdout.readline().strip() == "loaded"
    writer = raw("replace", path)
    assert writer.wait(timeout=300) == 0
    reader.stdin.write("go\n")
    reader.stdin.flush()
    out, err = reader.communicate(timeout=300)
    assert reader.returncode == 0, err[-2000:]
    return dict(json.loads(out.strip().splitlines()[-1]))


def run_reload(work: Path, runs: int, seconds: float, locked: bool) -> dict[str, Any]:
    outcomes = []
    for n in range(runs):
        path = work / f"reload-{'locked' if locked else 'unlocked'}-{n}"
        fresh(path)
        writer = raw("writer", path, seconds + 5, locked)
        deadline = time.monotonic() + 120
        while not (path / "latest").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        reader = raw("reloader", path, seconds, locked)
        out, err = reader.communicate(timeout=seconds + 300)
        wout, _ = writer.communicate(timeout=seconds + 300)
        outcome: dict[str, Any] = {"reader_exit": reader.returncode}
        if reader.returncode == 0:
            outcome |= json.loads(out.strip().splitlines()[-1])
        else:
            outcome["reader_stderr"] = err[-400:]
        if writer.returncode == 0:
            outcome |= json.loads(wout.strip().splitlines()[-1])
        outcomes.append(outcome)
        print(f"  reload {'locked' if locked else 'unlocked'} run {n + 1}: {outcome}", flush=True)
    return {
        "runs": runs,
        "seconds": seconds,
        "crashes": sum(1 for o in outcomes if o["reader_exit"] < 0),
        "reader_exits": [o["reader_exit"] for o in outcomes],
        "reopens": sum(o.get("reopens", 0) for o in outcomes),
        "found_newest": sum(o.get("found_newest", 0) for o in outcomes),
        "errors": sum(sum(o.get("errors", {}).values()) for o in outcomes),
        "outcomes": outcomes,
    }


# --- newsbot -------------------------------------------------------------------------------------

READER = r"""
import json, random, sys, time
from pathlib import Path
from index.settings import Settings
from index.manifest import Manifest
from bot.answer import Answerer

store, articles, url, questions_file, stop_file = sys.argv[1:6]
settings = Settings(_env_file=None, store_dir=Path(store), articles_dir=Path(articles),
                    chroma_url=url or None)
questions = json.loads(Path(questions_file).read_text("utf-8"))
answerer = Answerer(settings)
manifest = Manifest(settings.manifest_path, create=False)
rng = random.Random(5)
after, n = None, 0
while after is None or after < 10:
    if after is None and Path(stop_file).exists():
        after = 0
    indexed = set(manifest.article_hashes())
    candidates = sorted(indexed & set(questions))
    if n % 4 == 0 or not candidates:
        article, question = "sample", "When is the US-Israel meeting?"
    else:
        article = rng.choice(candidates)
        question = rng.choice(questions[article])
    started = time.perf_counter()
    row = {"n": n, "during": after is None, "article": article}
    try:
        answer = answerer.answer(question)
        row["ms"] = round((time.perf_counter() - started) * 1000, 1)
        cited = {c.article_id for c in answer.citations}
        held = set(manifest.article_hashes())
        row["cites_unknown"] = sorted(cited - held)
        row["refused"] = answer.refused
        row["hit"] = article in cited or (
            article == "sample" and any("كانون الأول/ديسمبر" in c.quote for c in answer.citations))
    except Exception as exc:
        row["error"] = f"{type(exc).__name__}: {exc}"[:200]
        row["ms"] = round((time.perf_counter() - started) * 1000, 1)
    print(json.dumps(row), flush=True)
    n += 1
    if after is not None:
        after += 1
"""


BOT = r"""
import json, random, sys, time
from pathlib import Path
t0 = time.perf_counter()
from bot.answer import Answerer
from index.settings import Settings

questions_file, start_file, stop_file, watched = sys.argv[1:5]
questions = json.loads(Path(questions_file).read_text("utf-8"))
settings = Settings(_env_file=None)
answerer = Answerer(settings)  # an empty local folder: the cache is filled from the server
answerer.answer("When is the US-Israel meeting?")  # warm: the model, the background vectors
print(json.dumps({"ready_s": round(time.perf_counter() - t0, 2)}), flush=True)
rng = random.Random(sys.argv[5] if len(sys.argv) > 5 else 1)
manifest = answerer.retriever.manifest
while not Path(start_file).exists():
    time.sleep(0.01)
seen = False
while not Path(stop_file).exists():
    article = rng.choice(sorted(questions))
    question = rng.choice(questions[article])
    started = time.perf_counter()
    answer = answerer.answer(question)
    row = {"ms": round((time.perf_counter() - started) * 1000, 1), "at": time.time(),
           "hit": article in {c.article_id for c in answer.citations}}
    if not seen and watched in manifest.article_hashes():
        seen = True
        row["seen"] = watched
    print(json.dumps(row), flush=True)
"""


def run_scaling(work: Path, paragraphs: int, seconds: float, bots: int) -> dict[str, Any]:
    """``bots`` bot processes with empty local folders on one server: ask latency alone and
    together, and how long until an article another process indexes is seen by each."""
    folder = work / "scaling"
    shutil.rmtree(folder, ignore_errors=True)
    articles = folder / "articles"
    articles.mkdir(parents=True)
    server, url = start_chroma(folder / "chroma")
    data = json.loads(XQUAD.read_text("utf-8"))
    rows, questions = xquad_rows(data)
    # every other paragraph: neighbours of one XQuAD article are not all there
    indexed, new = rows[: 2 * paragraphs : 2], rows[2 * paragraphs + 1]
    (articles / "xquad.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in indexed) + "\n", "utf-8"
    )
    asked = {r["id"]: questions[r["id"]] for r in indexed}
    (folder / "questions.json").write_text(json.dumps(asked, ensure_ascii=False))
    base = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    base |= {"NEWSBOT_CHROMA_URL": url, "NEWSBOT_INDEX_NAME": "scale", "HF_HUB_OFFLINE": "1",
             "OMP_WAIT_POLICY": "PASSIVE", "NO_PROXY": "127.0.0.1,localhost",
             "NEWSBOT_ARTICLES_DIR": str(articles),
             "NEWSBOT_SOURCES_FILE": str(folder / "none.toml")}  # fmt: skip
    writer_env = base | {"NEWSBOT_STORE_DIR": str(folder / "writer")}
    sys.path.insert(0, str(REPO))
    from index.settings import Settings

    collection = Settings(_env_file=None, index_name="scale").collection_name
    out: dict[str, Any] = {"paragraphs": len(indexed), "bots": bots, "seconds": seconds}
    try:
        done = subprocess.run([NEWSBOT, "reindex", str(articles)], env=writer_env,
                              capture_output=True, cwd=folder)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]

        def phase(n: int, add_article: bool) -> dict[str, Any]:
            start, stop = folder / f"start{n}", folder / f"stop{n}"
            procs, files = [], []
            for i in range(n):
                f = (folder / f"bot{n}-{i}.jsonl").open("w")
                env = base | {"NEWSBOT_STORE_DIR": str(folder / f"bot{n}-{i}")}
                procs.append(subprocess.Popen(
                    [sys.executable, "-c", BOT, str(folder / "questions.json"), str(start),
                     str(stop), new["id"], str(i)],
                    env=env, cwd=folder, stdout=f, stderr=subprocess.STDOUT,
                ))  # fmt: skip
                files.append(f)
            while not all(
                (folder / f"bot{n}-{i}.jsonl").read_text().count("ready_s") for i in range(n)
            ):
                if any(p.poll() is not None for p in procs):
                    raise SystemExit((folder / f"bot{n}-0.jsonl").read_text()[-2000:])
                time.sleep(0.2)
            start.touch()
            began = time.time()
            published_at = None
            if add_article:
                time.sleep(seconds / 3)
                (articles / "new.jsonl").write_text(json.dumps(new, ensure_ascii=False) + "\n")
                before = published_generation(url, collection)
                reindex_started = time.time()
                writer = subprocess.Popen([NEWSBOT, "reindex", "--json", str(articles)],
                                          env=writer_env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)  # fmt: skip
                while published_at is None and writer.poll() is None:
                    if published_generation(url, collection) > before:
                        published_at = time.time()  # the batch with the new article is out
                    time.sleep(0.01)
                assert writer.wait(timeout=600) == 0
                reindex_ended = time.time()
            while time.time() - began < seconds:
                time.sleep(0.2)
            stop.touch()
            for p, f in zip(procs, files, strict=True):
                p.wait(timeout=600)
                f.close()
            rows_ = [
                json.loads(line)
                for i in range(n)
                for line in (folder / f"bot{n}-{i}.jsonl").read_text().splitlines()
                if line.startswith('{"ms"')
            ]
            ms = sorted(r["ms"] for r in rows_)
            result: dict[str, Any] = {
                "questions": len(ms),
                "ms_p50": round(statistics.median(ms), 1),
                "ms_p90": round(ms[int(0.9 * (len(ms) - 1))], 1),
                "hits": sum(r["hit"] for r in rows_),
            }
            result["ready_s"] = [
                json.loads(line)["ready_s"]
                for i in range(n)
                for line in (folder / f"bot{n}-{i}.jsonl").read_text().splitlines()
                if line.startswith('{"ready_s"')
            ]
            if add_article:
                seen = [r["at"] for r in rows_ if r.get("seen")]
                result["seen_by"] = len(seen)
                result["reindex_seconds"] = round(reindex_ended - reindex_started, 2)
                if published_at is not None:
                    result["published_after_s"] = round(published_at - reindex_started, 2)
                    result["seen_after_publish_s"] = sorted(
                        round(t - published_at, 2) for t in seen
                    )
            return result

        out["one_bot"] = phase(1, add_article=False)
        print("one bot:", json.dumps(out["one_bot"]), flush=True)
        out[f"{bots}_bots"] = phase(bots, add_article=True)
        print(f"{bots} bots:", json.dumps(out[f"{bots}_bots"]), flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    return out


def published_generation(url: str, collection: str) -> int:
    """The generation a server-mode index publishes in its collection's metadata."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    path = f"/api/v2/tenants/default_tenant/databases/default_database/collections/{collection}"
    try:
        with opener.open(url + path, timeout=2) as resp:
            return int((json.loads(resp.read()).get("metadata") or {}).get("generation", 0))
    except (OSError, ValueError):
        return -1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_chroma(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    chroma = str(Path(sys.executable).parent / "chroma")
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with opener.open(f"{url}/api/v2/heartbeat", timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("chroma run did not start")


def run_newsbot(work: Path, mode: str, paragraphs: int) -> dict[str, Any]:
    folder = work / f"newsbot-{mode}"
    shutil.rmtree(folder, ignore_errors=True)
    articles = folder / "articles"
    articles.mkdir(parents=True)
    shutil.copy(SAMPLE, articles / SAMPLE.name)
    server, url = start_chroma(folder / "chroma") if mode == "server" else (None, "")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env |= {
        "NEWSBOT_STORE_DIR": str(folder / "store"),
        "NEWSBOT_ARTICLES_DIR": str(articles),
        "NEWSBOT_CHROMA_URL": url,
        "HF_HUB_OFFLINE": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    try:
        first = subprocess.run(
            [NEWSBOT, "reindex", str(articles)], env=env, cwd=folder, capture_output=True
        )
        assert first.returncode == 0, first.stderr[-2000:]
        data = json.loads(XQUAD.read_text("utf-8"))
        rows, questions = xquad_rows(data)
        rows = rows[:paragraphs]
        (articles / "xquad.jsonl").write_text(
            "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8"
        )
        (folder / "questions.json").write_text(json.dumps(questions, ensure_ascii=False))
        stop = folder / "stop"
        # Files, not pipes: nobody reads a pipe during the reindex, and a full one (64 KB,
        # ~600 answers) would stall the reader.
        rows_file, err_file = folder / "reader.jsonl", folder / "reader.err"
        with rows_file.open("w") as rows_out, err_file.open("w") as err_out:
            reader = subprocess.Popen(
                [sys.executable, "-c", READER, str(folder / "store"), str(articles), url,
                 str(folder / "questions.json"), str(stop)],
                env=env, cwd=folder, stdout=rows_out, stderr=err_out,
            )  # fmt: skip
        started = time.monotonic()
        reindex = subprocess.run(
            [NEWSBOT, "reindex", str(articles)], env=env, cwd=folder, capture_output=True
        )
        reindex_seconds = time.monotonic() - started
        stop.touch()
        reader.wait(timeout=3600)
        out, err = rows_file.read_text(), err_file.read_text()
    finally:
        if server:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    (work.parent / f"newsbot-{mode}.jsonl").write_text(out)  # one line per question
    answers = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    during = [a for a in answers if a["during"]]
    times = [a["ms"] for a in answers if "error" not in a]
    return {
        "mode": mode,
        "paragraphs": paragraphs,
        "reindex_rc": reindex.returncode,
        "reindex_seconds": round(reindex_seconds, 1),
        "reader_rc": reader.returncode,
        "reader_stderr": err[-1000:] if reader.returncode else "",
        "questions": len(answers),
        "during_reindex": len(during),
        "errors": [a["error"] for a in answers if "error" in a],
        "cited_unknown_articles": sum(1 for a in answers if a.get("cites_unknown")),
        "december_every_time": all(a.get("hit") for a in answers if a["article"] == "sample"),
        "xquad_hits": sum(1 for a in answers if a["article"] != "sample" and a.get("hit")),
        "xquad_asked": sum(1 for a in answers if a["article"] != "sample"),
        "ms_median": round(statistics.median(times), 1) if times else None,
        "ms_max": max(times, default=None),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--paragraphs", type=int, default=80)
    parser.add_argument("--only", choices=("raw", "newsbot", "scaling"))
    parser.add_argument("--bots", type=int, default=3, help="scaling: bot processes")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "readers")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()  # the processes it starts run in other folders
    random.seed(5)
    work = args.out / "work"
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    if args.only in (None, "raw"):
        results["stale"] = run_stale(work)
        print("stale:", json.dumps(results["stale"]), flush=True)
        for locked in (False, True):
            key = "reload_locked" if locked else "reload_unlocked"
            results[key] = run_reload(work, args.runs, args.seconds, locked)
            summary = {k: v for k, v in results[key].items() if k != "outcomes"}
            print(f"{key}:", json.dumps(summary), flush=True)
    if args.only == "scaling":  # not in the default run: CPU heavy, its own figures
        results["scaling"] = run_scaling(work, args.paragraphs, args.seconds, args.bots)
        (args.out / "scaling.json").write_text(json.dumps(results, indent=2))
        return 0
    if args.only in (None, "newsbot"):
        for mode in ("embedded", "server"):
            results[f"newsbot_{mode}"] = run_newsbot(work, mode, args.paragraphs)
            print(f"newsbot {mode}:", json.dumps(results[f"newsbot_{mode}"]), flush=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
