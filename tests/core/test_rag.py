"""RAG: chunking, the BM25 + vector index, traced retrieval and the retrieve tool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import Agent, DocumentIndex, ScriptedModel, retrieve_tool
from lumos_core.messages import Message
from lumos_core.rag import Retrieved, chunk_document, split_markdown, split_text
from lumos_core.rag.tool import NO_RESULTS
from lumos_core.telemetry import semconv as sc

GUIDE = """# Guide
Intro words about the guide.

## Install
### Linux
Use the AppImage or the .deb package.

```sh
# not a heading: a shell comment
./install.sh
```

### macOS
Drag the app to Applications.

## Use
Open a notebook and start typing.
"""


def test_split_text_respects_the_size_prefers_paragraphs_and_overlaps() -> None:
    paragraphs = "\n\n".join(f"Paragraph {i} " + "word " * 20 for i in range(6))
    chunks = split_text(paragraphs, chunk_size=300, chunk_overlap=120)
    assert all(len(c) <= 300 for c in chunks)
    assert all(c.startswith("Paragraph") for c in chunks)  # cut at paragraph breaks
    assert len(chunks) == 5  # two paragraphs each, the second repeated as the next one's first
    # One paragraph overlaps.
    assert chunks[0].split("\n\n")[-1].strip() == chunks[1].split("\n\n")[0].strip()
    sentence = "one two three four five six seven eight nine ten " * 10
    pieces = split_text(sentence, chunk_size=50, chunk_overlap=10)
    assert all(len(p) <= 50 for p in pieces) and all(p.endswith(("n", "e", "o", "x", "t", "r"))
                                                     for p in pieces)  # whole words
    assert split_text("x" * 25, chunk_size=10, chunk_overlap=0) == ["x" * 10, "x" * 10, "x" * 5]
    with pytest.raises(ValueError, match="chunk_overlap"):
        split_text("x", chunk_size=10, chunk_overlap=10)


def test_markdown_chunks_keep_their_heading_path_and_ignore_code_comments() -> None:
    sections = split_markdown(GUIDE, chunk_size=500, chunk_overlap=0)
    assert [path for path, _ in sections] == [
        ("Guide",), ("Guide", "Install", "Linux"), ("Guide", "Install", "macOS"), ("Guide", "Use"),
    ]
    assert "# not a heading" in sections[1][1]
    chunks = chunk_document(GUIDE, "guide", source="guide.md")
    assert chunks[2].id == "guide#2" and chunks[2].heading == "Guide › Install › macOS"
    assert chunks[2].indexed_text == "Guide › Install › macOS\nDrag the app to Applications."
    plain = chunk_document("no headings here", "p")
    assert plain[0].heading_path == () and plain[0].indexed_text == "no headings here"


def make_index(**kwargs: object) -> DocumentIndex:
    index = DocumentIndex(name="kb", **kwargs)  # type: ignore[arg-type]
    index.add("Reset your password from the sign-in screen with the emailed link.", id="reset")
    index.add("Billing: invoices are PDF files you can download every month.", id="invoices")
    index.add("Synchronisation runs every few seconds while you are online.", id="sync")
    index.add(GUIDE, id="guide", source="guide.md")
    return index


def test_each_method_finds_what_it_is_good_at_and_hybrid_finds_both() -> None:
    index = make_index()
    assert len(index) == 7
    exact = index.search("invoices PDF", 1, mode="bm25")
    assert exact[0].chunk.document_id == "invoices" and exact[0].ranks == {"bm25": 1}
    typo = index.search("pasword resett", 1, mode="vector")  # no word in common
    assert typo[0].chunk.document_id == "reset"
    assert index.search("pasword resett", 3, mode="bm25") == []
    both = index.search("pasword resett", 1)
    assert both[0].chunk.document_id == "reset" and set(both[0].ranks) == {"vector"}
    linux = index.search("install on linux", 2)
    assert linux[0].chunk.heading == "Guide › Install › Linux"
    assert linux[0].ranks == {"bm25": 1, "vector": 1}
    assert linux[0].score == pytest.approx(2 / 61)
    assert index.search("   ", 3) == []
    with pytest.raises(ValueError, match="mode"):
        index.search("x", mode="magic")  # type: ignore[arg-type]


def test_a_rerank_hook_reorders_the_candidates_before_the_cut() -> None:
    index = make_index()
    seen: list[int] = []

    def prefer_sync(query: str, found: list[Retrieved]) -> list[Retrieved]:
        seen.append(len(found))
        return sorted(found, key=lambda r: r.chunk.document_id != "sync")

    top = index.search("password", 1, rerank=prefer_sync)
    assert top[0].chunk.document_id == "sync" and seen[0] >= 2


def test_documents_are_replaced_skipped_when_unchanged_and_removed(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    index = make_index(path=path)
    first = index.chunks("reset")
    assert index.add("Reset your password from the sign-in screen with the emailed link.",
                     id="reset") == first
    index.add("Passwords are reset by support.", id="reset")
    assert [c.text for c in index.chunks("reset")] == ["Passwords are reset by support."]
    assert index.search("emailed link", 3, mode="bm25") == []  # the old text is gone from FTS
    index.close()
    reopened = DocumentIndex(path, name="kb")  # a file index survives the process
    assert len(reopened) == 7
    assert reopened.remove("guide") and not reopened.remove("guide")
    assert len(reopened) == 3


def test_retrieval_is_a_span_with_the_query_ids_and_scores(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    index = make_index(tracer_provider=tracer_provider)
    found = index.search("how do I reset my password", 2)
    span = exporter.get_finished_spans()[-1]
    assert span.name == "retrieval kb"
    attributes = span.attributes
    assert attributes[sc.OPERATION_NAME] == "retrieval"
    assert attributes[sc.DATA_SOURCE_ID] == "kb"
    assert attributes[sc.RETRIEVAL_QUERY_TEXT] == "how do I reset my password"
    assert attributes[sc.REQUEST_TOP_K] == 2
    assert list(attributes[sc.LUMOS_RETRIEVAL_IDS]) == [r.chunk.id for r in found]
    assert list(attributes[sc.LUMOS_RETRIEVAL_SCORES]) == [r.score for r in found]
    documents = json.loads(attributes[sc.RETRIEVAL_DOCUMENTS])
    assert documents[0]["id"] == "reset#0" and documents[0]["content"].startswith("Reset your")


def test_an_agent_retrieves_with_the_tool_and_the_chat_records_what_it_saw(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    built: list[int] = []

    def lazy() -> DocumentIndex:
        built.append(1)
        return make_index()

    tool = retrieve_tool(lazy, top_k=2)
    assert tool.name == "retrieve" and set(tool.parameters_schema["properties"]) == {"query"}
    assert built == []  # nothing indexed until the first question
    model = ScriptedModel([ScriptedModel.call("retrieve", query="reset password"), "Use the link."])
    agent = Agent("docs", model=model, tools=[tool])
    result = agent.run_sync("how do I reset my password?", tracer_provider=tracer_provider)

    passages = result.messages[2].parts[0].result
    assert passages.startswith("[1] reset (id reset#0, score ")
    assert "\nReset your password from the sign-in screen" in passages and "\n\n[2] " in passages
    spans = {s.name: s for s in exporter.get_finished_spans()}
    tool_span = spans["execute_tool retrieve"]
    assert spans["retrieval kb"].parent.span_id == tool_span.context.span_id
    chats = [s for s in exporter.get_finished_spans() if s.name == "chat scripted"]
    assert sc.LUMOS_CONTEXT_SUMMARY not in chats[0].attributes
    summary = json.loads(chats[1].attributes[sc.LUMOS_CONTEXT_SUMMARY])
    assert summary["retrieved"][0]["id"] == "reset#0"
    assert summary["retrieved"][0]["data_source"] == "kb"
    assert tool("?!") == NO_RESULTS and built == [1]  # no words: nothing to match


def test_retrieve_tool_formats_markdown_sources_with_their_headings() -> None:
    index = DocumentIndex()
    index.add(GUIDE, id="guide.md", source="guide.md")
    text = retrieve_tool(index, top_k=1)("macOS applications")
    assert text.startswith("[1] guide.md › Guide › Install › macOS (id guide.md#2, score")
    assert Message.user(text).text.endswith("Drag the app to Applications.")
