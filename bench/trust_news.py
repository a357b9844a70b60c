"""The real-news corpus of the trust benchmark (issue 17, 1c), rebuilt from fetched mirrors.

Usage (from the repository root)::

    python bench/trust_news.py [--ant GIT_DIR] [--wikinews GIT_DIR] [--out DIR] [--pick]

Reads two public GitHub repositories, fetched at benchmark-building time (the ``fetch`` tool
leaves bare mirrors under /work/.mirror/), and writes ``DIR/corpus_ar.jsonl`` and
``DIR/corpus_en.jsonl`` (default DIR: /work/measure/trust/news). The articles are never
committed; the committed key, bench/trust/news_key.json, lists the articles by id with the
repository and commit they come from, and this script rebuilds the same corpus from it.

- Arabic: ANT Corpus v1.1 (GitHub antcorpus/antcorpus.data: 10,161 Arabic news articles of the
  Tunisian radio Jawhara FM, 2014-2017; citation licence: cite Chouigui, Ben Khiroun and Elayeb,
  "ANT Corpus: An Arabic News Text Collection for Textual Classification", AICCSA 2017; the
  repository's code is Apache-2.0). Only articles dated 2015-09-01 or later are used.
  Issue 17 names SaudiNewsNet (inparallel/SaudiNewsNet) with only its files dated 2015-09-01
  or later, but that repository holds files from 2015-07-21 to 2015-08-11 only, all of them
  held out: none is read.
- English: Wikinews articles of 2020 (GitHub vanatteveldt/wikinews, data/wikinews_2020.csv,
  CC BY 2.5, https://en.wikinews.org).

``--pick`` draws a new key (deterministic: articles ordered by SHA-1 of their id, the first
``--ar`` Arabic ones of at least 300 characters, every English one of 300 to 8,000) instead
of reading it.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HERE = Path(__file__).resolve().parent
KEY = HERE / "trust" / "news_key.json"
QUESTIONS = HERE / "trust" / "news_questions.jsonl"
OUT = Path("/work/measure/trust/news")
MIRRORS = Path("/work/.mirror")
ANT = MIRRORS / "antcorpus+antcorpus.data" / "repo" / ".git"
WIKINEWS = MIRRORS / "vanatteveldt+wikinews" / "repo"
ANT_REPO, WIKINEWS_REPO = "antcorpus/antcorpus.data", "vanatteveldt/wikinews"
WIKINEWS_FILE = "data/wikinews_2020.csv"
EARLIEST = "2015-09-01"  # ANT articles dated before this (or undated) are not used
EN_CHARS = (300, 8000)  # English articles outside this length range are left out
CATEGORIES = ("internationalNews", "politic", "economy", "society", "localNews", "culture",
              "technology", "sport", "diverse")  # fmt: skip


def git(git_dir: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "--git-dir", str(git_dir), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"error: git {' '.join(args)} in {git_dir}: {done.stderr.strip()}")
    return done.stdout


def read_blobs(git_dir: Path, commit: str, paths: list[str]) -> dict[str, str]:
    """The files at ``commit``, read in one ``git cat-file --batch``."""
    request = "".join(f"{commit}:{p}\n" for p in paths).encode()
    done = subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "--batch"],
        input=request, capture_output=True, check=True,
    )  # fmt: skip
    out, data, pos = {}, done.stdout, 0
    for path in paths:
        header_end = data.index(b"\n", pos)
        header = data[pos:header_end].decode()
        if header.endswith("missing"):
            raise SystemExit(f"error: {path} missing at {commit} in {git_dir}")
        size = int(header.split()[2])
        out[path] = data[header_end + 1 : header_end + 1 + size].decode("utf-8")
        pos = header_end + 1 + size + 1
    return out


def ant_date(name: str) -> str | None:
    """The ISO date at the end of an ANT DOCNO or file name: yyyymmdd, or ddmmyyyy in a few."""
    m = re.search(r"-(\d{8})(?:\.txt)?$", name)
    if not m:
        return None
    d = m.group(1)
    y, mo, day = (d[:4], d[4:6], d[6:]) if d[:2] == "20" else (d[4:], d[2:4], d[:2])
    if not ("2010" <= y <= "2019" and "01" <= mo <= "12" and "01" <= day <= "31"):
        return None
    return f"{y}-{mo}-{day}"


def _tag(doc: str, tag: str) -> str:
    m = re.search(rf"<{tag}>(.*?)</{tag}>", doc, re.S)
    return m.group(1).strip() if m else ""


def ant_article(path: str, doc: str) -> dict[str, Any]:
    docno = _tag(doc, "DOCNO")
    lines = [" ".join(line.split()) for line in _tag(doc, "TEXT").splitlines()]
    return {
        "id": f"ant-{docno}",
        "title": _tag(doc, "TITLE"),
        "text": "\n\n".join(line for line in lines if line),
        "published": ant_date(docno),  # from the DOCNO: the TIME field's format varies
        "language": "ar",
        "url": _tag(doc, "URL") or None,
        "source": "Jawhara FM (ANT Corpus)",
        "_path": path,
    }


def wikinews_articles(text: str) -> list[dict[str, Any]]:
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        slug = row["url"].rstrip("/").rsplit("/", 1)[-1]
        paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", row["text"])]
        out.append(
            {
                "id": "wn-" + hashlib.sha1(slug.encode()).hexdigest()[:12],
                "title": row["title"].strip(),
                "text": "\n\n".join(p for p in paras if p),
                "published": row["date"] or None,
                "language": "en",
                "url": row["url"].replace("org//wiki", "org/wiki"),
                "source": "Wikinews",
                "_slug": slug,
            }
        )
    return out


def pick(ant: Path, wikinews: Path, n_ar: int) -> dict[str, Any]:
    """A new key: which articles, from which commits."""
    ant_commit = git(ant, "rev-parse", "HEAD").strip()
    paths = [
        p
        for p in git(ant, "ls-tree", "-r", "--name-only", ant_commit).splitlines()
        if p.endswith(".txt") and p.split("/")[0] in CATEGORIES
    ]
    recent = [p for p in paths if (ant_date(p) or "") >= EARLIEST]
    recent.sort(key=lambda p: hashlib.sha1(p.encode()).hexdigest())
    docs = read_blobs(ant, ant_commit, recent[: n_ar * 3])
    chosen = []
    for p in recent[: n_ar * 3]:
        art = ant_article(p, docs[p])
        if len(art["text"]) >= 300 and len(chosen) < n_ar:
            chosen.append(p)
    wn_commit = git(wikinews, "rev-parse", "HEAD").strip()
    wn = wikinews_articles(read_blobs(wikinews, wn_commit, [WIKINEWS_FILE])[WIKINEWS_FILE])
    return {
        "about": "bench/trust_news.py rebuilds the 1c corpus from these; never commit the articles",
        "ar": {"repo": ANT_REPO, "commit": ant_commit, "licence": "ANT Corpus citation licence "
               "(cite Chouigui et al., AICCSA 2017); Apache-2.0 code", "files": sorted(chosen)},
        "en": {"repo": WIKINEWS_REPO, "commit": wn_commit, "licence": "CC BY 2.5 (Wikinews)",
               "file": WIKINEWS_FILE, "slugs": sorted(
                   a["_slug"] for a in wn if EN_CHARS[0] <= len(a["text"]) <= EN_CHARS[1]
                   and not a["title"].startswith("TEST PAGE"))},
    }  # fmt: skip


def build(key: dict[str, Any], ant: Path, wikinews: Path, out: Path) -> tuple[int, int]:
    ar_docs = read_blobs(ant, key["ar"]["commit"], key["ar"]["files"])
    ar = [ant_article(p, ar_docs[p]) for p in key["ar"]["files"]]
    wn_text = read_blobs(wikinews, key["en"]["commit"], [key["en"]["file"]])[key["en"]["file"]]
    wanted = set(key["en"]["slugs"])
    en = [a for a in wikinews_articles(wn_text) if a["_slug"] in wanted]
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("corpus_ar.jsonl", ar), ("corpus_en.jsonl", en)):
        with (out / name).open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(
                    json.dumps({k: v for k, v in row.items() if not k.startswith("_")},
                               ensure_ascii=False) + "\n"
                )  # fmt: skip
    return len(ar), len(en)


def check(questions: Path, out: Path) -> list[str]:
    """Problems in the committed questions against the built corpus: an unknown article, a gold
    sentence not in its article, an answer not in its gold sentence."""
    from bot.evaluate import contains_answer

    texts = {}
    for name in ("corpus_ar.jsonl", "corpus_en.jsonl"):
        for line in (out / name).read_text("utf-8").splitlines():
            row = json.loads(line)
            texts[row["id"]] = " ".join(row["text"].split())
    problems = []
    for line in questions.read_text("utf-8").splitlines():
        q = json.loads(line)
        for aid in q["relevant"]:
            gold = " ".join((q.get("gold_sentence") or "").split())
            if aid not in texts:
                problems.append(f"{q['id']}: article {aid} not in the corpus")
            elif gold not in texts[aid]:
                problems.append(f"{q['id']}: gold sentence not in {aid}")
            elif not contains_answer(gold, q.get("answers") or ()):
                problems.append(f"{q['id']}: no answer in the gold sentence")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ant", type=Path, default=ANT, help="git dir of the ANT Corpus mirror")
    parser.add_argument("--wikinews", type=Path, default=WIKINEWS, help="git dir of Wikinews")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--key", type=Path, default=KEY)
    parser.add_argument("--pick", action="store_true", help="draw a new key and write it")
    parser.add_argument("--ar", type=int, default=450, help="Arabic articles (with --pick)")
    args = parser.parse_args(argv)
    if args.pick:
        key = pick(args.ant, args.wikinews, args.ar)
        args.key.parent.mkdir(parents=True, exist_ok=True)
        args.key.write_text(json.dumps(key, indent=1, ensure_ascii=False) + "\n", "utf-8")
    else:
        key = json.loads(args.key.read_text("utf-8"))
    n_ar, n_en = build(key, args.ant, args.wikinews, args.out)
    print(f"wrote {n_ar} Arabic and {n_en} English articles to {args.out}", file=sys.stderr)
    problems = check(QUESTIONS, args.out) if QUESTIONS.exists() else []
    for problem in problems:
        print(f"question check: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
