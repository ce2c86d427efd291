"""LLM-as-judge: a model grades the output against a rubric, through an agent, so the judge's
own call is a span under the case it judges (and the scripted model can play judge offline)."""

from __future__ import annotations

import re
from typing import Any

import orjson

from lumos_core.agent import Agent
from lumos_core.evals.scoring import Sample, Score, Scorer, output_text
from lumos_core.models import Model

__all__ = ["JUDGE_INSTRUCTIONS", "LLMJudge", "parse_verdict"]

JUDGE_INSTRUCTIONS = (
    "You grade an AI system's answer. Reply with one JSON object and nothing else: "
    '{"score": a number from 0 to 1, "label": one word, "explanation": one sentence}.'
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class LLMJudge(Scorer):
    """Ask ``model`` to grade each sample by ``rubric``; its reply is JSON ``{"score",
    "label", "explanation"}`` (also read: ``PASS``/``FAIL`` or a bare number)."""

    def __init__(self, model: Model | str, rubric: str, *, name: str = "judge",
                 threshold: float = 0.5, show_expected: bool = True) -> None:
        self.name, self.rubric, self.threshold = name, rubric, threshold
        self.show_expected = show_expected
        self.agent: Agent = Agent(f"judge {name}", f"{JUDGE_INSTRUCTIONS}\n\nRubric: {rubric}",
                                  model=model)

    def prompt(self, sample: Sample) -> str:
        """What the judge is shown: the input, the expected output when known, the answer."""
        parts = [f"Input:\n{output_text(sample.input)}"]
        if self.show_expected and sample.expected is not None:
            parts.append(f"Expected:\n{output_text(sample.expected)}")
        parts.append(f"Answer:\n{output_text(sample.output)}")
        return "\n\n".join(parts)

    async def score(self, sample: Sample) -> Score:
        result = await self.agent.run(self.prompt(sample))
        reply = str(result.output)
        verdict = parse_verdict(reply)
        if verdict is None:
            return self.unscored(f"the judge's reply is not a verdict: {reply[:200]!r}")
        value, label, explanation = verdict
        return self.verdict(value, label, explanation)


def parse_verdict(reply: str) -> tuple[float, str, str] | None:
    """(score in 0..1, label, explanation) from a judge's reply, or None."""
    text = reply.strip()
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        try:
            value: Any = orjson.loads(text[start : end + 1])
        except orjson.JSONDecodeError:
            value = None
        if isinstance(value, dict) and isinstance(value.get("score"), int | float):
            score = min(max(float(value["score"]), 0.0), 1.0)
            return score, str(value.get("label") or ""), str(value.get("explanation") or "")
    word = text.split(maxsplit=1)[0].strip(".:,").upper() if text else ""
    if word in ("PASS", "YES", "CORRECT"):
        return 1.0, "pass", text
    if word in ("FAIL", "NO", "INCORRECT"):
        return 0.0, "fail", text
    number = _NUMBER.match(text)
    if number is not None:
        return min(max(float(number.group()), 0.0), 1.0), "", text
    return None
