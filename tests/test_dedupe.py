"""Near-duplicates: MinHash sketches, clusters kept in the manifest through reindexes, and
retrieval showing each story once by its newest version."""

from __future__ import annotations

import json

import pytest

from bot.retrieve import Retriever
from index import dedupe
from index.manifest import Manifest
from index.reindex import reindex

STORY = (
    "The central bank raised its main interest rate to 5 percent on Wednesday, citing stubborn "
    "inflation in food and energy prices. The governor said further rises were possible if "
    "prices kept climbing, and that the bank would review its forecasts next month. Markets had "
    "expected a smaller increase, and the currency strengthened after the announcement."
)
UPDATE = STORY.replace("5 percent", "5.5 percent") + " Banks began raising mortgage rates."
OTHER = (
    "Heavy snow closed mountain roads in the north for a third day, and schools in several "
    "villages stayed shut while crews cleared the passes. Forecasters expect milder weather by "
    "the weekend."
)


def test_similarity_separates_versions_from_other_stories():
    a, b, c = dedupe.sketch(STORY), dedupe.sketch(UPDATE), dedupe.sketch(OTHER)
    assert dedupe.similarity(a, a) == 1.0
    assert dedupe.similarity(a, b) >= dedupe.SAME_STORY
    assert dedupe.similarity(a, c) < 0.1


def test_arabic_spelling_variants_do_not_count_as_differences():
    a = "أعلنت الوزارة أن الاجتماع سيعقد في أوائل كانون الأول لبحث الأوضاع الإنسانية في غزة"
    b = "اعلنت الوزارة ان الاجتماع سيعقد في اوائل كانون الاول لبحث الاوضاع الانسانية في غزة"
    assert dedupe.similarity(dedupe.sketch(a), dedupe.sketch(b)) == 1.0


def test_clusters_are_transitive_and_named_by_their_smallest_id():
    v1 = STORY
    v2 = STORY + " Banks began raising mortgage rates within hours."
    v3 = v2 + " The finance minister welcomed the decision in a statement."
    sigs = {k: dedupe.sketch(t) for k, t in {"c": v1, "a": v2, "b": v3, "z": OTHER}.items()}
    found = dedupe.clusters(sigs)
    assert found == {"a": "a", "b": "a", "c": "a", "z": "z"}
    empty = {"x": dedupe.sketch(""), "y": dedupe.sketch("")}
    assert dedupe.clusters(empty) == {"x": "x", "y": "y"}  # empty texts are nobody's copies


def test_collapse_shows_the_newest_version_at_the_best_rank():
    article = {"old:1": "old", "new:1": "new", "new:2": "new", "x:1": "x", "mid:1": "mid"}
    cluster = {"old": "s", "new": "s", "mid": "s", "x": "x"}
    newness = {"old": 1.0, "mid": 2.0, "new": 3.0, "x": 0.0}
    ranked = ["old:1", "x:1", "mid:1", "new:2", "new:1"]
    order, hidden = dedupe.collapse(ranked, article.__getitem__, cluster, newness.__getitem__)
    # the story takes its best rank (first), shown by the newest article's best chunk
    assert order == ["new:2", "x:1", "new:1"]
    assert hidden == {"new:2": ["old:1", "mid:1"]}
    assert dedupe.collapse(["x:1"], article.__getitem__, cluster, newness.__getitem__) == (
        ["x:1"],
        {},
    )


def test_the_manifest_keeps_sketches_and_clusters(tmp_path):
    """record_sketches / recluster / cluster_of, without the model: rows written by hand."""
    manifest = Manifest(tmp_path / "m.sqlite3")
    try:
        for aid, text in {"b": STORY, "a": UPDATE, "c": OTHER, "old": STORY}.items():
            manifest.db.execute("INSERT INTO articles (id) VALUES (?)", (aid,))
            manifest.db.execute(
                "INSERT INTO chunks (id, article_id, ordinal, text) VALUES (?, ?, 0, ?)",
                (f"{aid}:1", aid, text),
            )
        manifest.record_sketches([("b", STORY), ("a", UPDATE), ("c", OTHER), ("gone", STORY)])
        # "gone" has no article (its sketch is dropped); "old" has no sketch (made from chunks)
        assert manifest.recluster() == 1
        assert manifest.cluster_of(["a", "b", "c", "old", "gone", "unknown"]) == {
            "a": "a", "b": "a", "old": "a", "c": "c", "gone": "gone", "unknown": "unknown"
        }  # fmt: skip
        assert manifest.cluster_of([]) == {}
    finally:
        manifest.close()


@pytest.fixture
def corpus(settings, write_files):
    records = [
        {"id": "rate-v1", "title": "Bank raises rates", "source": "Reuters",
         "published": "2024-11-13T08:00:00Z", "text": STORY},
        {"id": "rate-v2", "title": "Bank raises rates to 5.5%", "source": "Reuters",
         "published": "2024-11-13T12:00:00Z", "text": UPDATE},
        {"id": "rate-copy", "title": "Bank raises rates", "source": "Daily Star",
         "published": "2024-11-13T10:00:00Z", "text": STORY},
        {"id": "snow", "title": "Snow closes roads", "source": "AP",
         "published": "2024-11-12", "text": OTHER},
    ]  # fmt: skip
    path = settings.articles_dir / "wire.jsonl"
    write_files(settings.articles_dir, {"wire.jsonl": "\n".join(json.dumps(r) for r in records)})
    return settings, path, records


def _clusters(settings) -> dict[str, str]:
    manifest = Manifest(settings.manifest_path, create=False)
    try:
        return dict(manifest.db.execute("SELECT article_id, cluster FROM sketches"))
    finally:
        manifest.close()


def test_reindex_keeps_clusters_and_retrieval_shows_a_story_once(corpus, embedder):
    settings, path, records = corpus
    reindex(settings)
    clusters = _clusters(settings)
    assert clusters["rate-v1"] == clusters["rate-v2"] == clusters["rate-copy"]
    assert clusters["snow"] == "snow"

    retriever = Retriever(settings, embedder=embedder)
    found = retriever.search("What interest rate did the central bank set?", k=5)
    articles = [p.chunk.article_id for p in found.passages]
    assert articles[0] == "rate-v2"  # the newest version, once
    assert not {"rate-v1", "rate-copy"} & set(articles)
    assert {h.chunk.article_id for h in found.passages[0].hidden} == {"rate-v1", "rate-copy"}
    retriever.manifest.close()

    # The newest version removed: the cluster shrinks, the copy of v1 now leads.
    path.write_text("\n".join(json.dumps(r) for r in records if r["id"] != "rate-v2"), "utf-8")
    reindex(settings)
    assert set(_clusters(settings)) == {"rate-v1", "rate-copy", "snow"}
    retriever = Retriever(settings, embedder=embedder)
    found = retriever.search("What interest rate did the central bank set?", k=5)
    assert found.passages[0].chunk.article_id == "rate-copy"
    assert [h.chunk.article_id for h in found.passages[0].hidden] == ["rate-v1"]
    retriever.manifest.close()
