"""R@1 per direction on the trust benchmark's mixed-language stores for variants of the
retrieval weights (bot/retrieve.py ``Weights``): how the foreign-script bonus and the names
penalty were chosen, on the tuning half.

Usage (from the repository root, after ``python bench/trust.py`` built the stores)::

    python bench/trust_weights.py [--split tune] [--stores m1,m2] [--out DIR] \\
        "foreign=0.04" "foreign=0.035" "names=0.05,foreign=0.04"

Each variant is a comma-separated list of ``Weights`` fields; the others keep their defaults.
Prints, per store and variant, R@1 (the first passage's article is the relevant one) for every
question direction.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bot.retrieve import Retriever, Weights  # noqa: E402
from index.settings import Settings  # noqa: E402

OUT = Path("/work/measure/trust")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+", help='e.g. "foreign=0.035,names=0.1"')
    parser.add_argument("--split", default="tune", choices=("tune", "test"))
    parser.add_argument("--stores", default="m1,m2")
    parser.add_argument("--out", type=Path, default=OUT, help="bench/trust.py's --out")
    args = parser.parse_args(argv)
    fields = {f.name for f in dataclasses.fields(Weights)}
    stores = json.loads((args.out / "xquad" / "stores.json").read_text(encoding="utf-8"))
    for store in args.stores.split(","):
        settings = Settings(store_dir=args.out / "idx" / store, chroma_url=None)
        queries = [
            json.loads(line)
            for name in stores[store]["queries"]
            for line in (args.out / "xquad" / name).read_text(encoding="utf-8").splitlines()
        ]
        queries = [q for q in queries if q.get("split") == args.split and q.get("relevant")]
        retriever = Retriever(settings)
        for variant in args.variants:
            pairs = dict(kv.split("=") for kv in variant.split(",") if kv)
            unknown = set(pairs) - fields
            if unknown:
                parser.error(f"not a Weights field: {', '.join(sorted(unknown))}")
            retriever.weights = Weights(**{k: float(v) for k, v in pairs.items()})
            hits: collections.Counter[str] = collections.Counter()
            asked: collections.Counter[str] = collections.Counter()
            for q in queries:
                passages = retriever.search(q["question"], 5).passages
                top = passages[0].chunk.article_id if passages else None
                hits[q["direction"]] += top in q["relevant"]
                asked[q["direction"]] += 1
            r1 = {d: round(hits[d] / asked[d], 3) for d in sorted(asked)}
            print(store, variant, json.dumps(r1), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
