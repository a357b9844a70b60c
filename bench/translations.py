"""Machine translations of quoted sentences by a local GGUF model, checked and kept for review.

Each sentence of the sample article (data/articles) is put to the model with the translation
prompt (prompts/translator.txt, prompts/translate.txt) as a generated answer puts a quote in
another language, into English; ``check_translation`` judges what it added, and the outputs are
written to bench/out/translations.jsonl to be read by a person (right or wrong is decided by
reading them: a check only sees added numbers and names).

    NEWSBOT_LLM_GGUF=bench/out/model.gguf OMP_WAIT_POLICY=PASSIVE \\
        .venv/bin/python bench/translations.py [--limit N]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bot.generate import _MARKER, check_translation
from bot.llm import make_chat_model
from bot.prompts import load_prompts
from index.settings import Settings
from index.text import sentence_spans

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "articles" / "000_df79775a9f276dd4.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="translate only the first N")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "translations.jsonl")
    args = parser.parse_args()
    settings = Settings()
    model = make_chat_model(settings)
    if model is None:
        raise SystemExit("set NEWSBOT_LLM_GGUF (or NEWSBOT_LLM_URL) to the model to measure")
    prompts = load_prompts()
    text = SAMPLE.read_text("utf-8")
    sentences = [text[a:b] for a, b in sentence_spans(text) if len(text[a:b]) > 20]
    if args.limit:
        sentences = sentences[: args.limit]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    flagged = 0
    with args.out.open("w", encoding="utf-8") as out:
        for sentence in sentences:
            system, user = prompts.translation(sentence, "English")
            t0 = time.perf_counter()
            raw = model.chat(system, user, None)
            seconds = time.perf_counter() - t0
            translation = " ".join(_MARKER.sub("", raw).split()).strip("“”\"' ")
            problems = check_translation(sentence, translation)
            flagged += bool(problems)
            row = {"original": sentence, "translation": translation, "problems": problems,
                   "seconds": round(seconds, 1)}  # fmt: skip
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
            print(json.dumps(row, ensure_ascii=False), flush=True)
    print(f"{len(sentences)} sentences, {flagged} translations flagged by the check")


if __name__ == "__main__":
    main()
