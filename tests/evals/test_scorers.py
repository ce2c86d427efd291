"""Each scorer on a passing and a failing sample."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from lumos_core import ScriptedModel
from lumos_core.evals import (
    Case,
    Contains,
    CostBudget,
    Exact,
    Latency,
    LLMJudge,
    Regex,
    Sample,
    Score,
    TokenBudget,
    ValidAs,
    parse_verdict,
    scorer,
)
from lumos_core.messages import Usage

USED = Usage(10, 5)


def sample(output: Any, expected: Any = None, *, duration: float = 0.1,
           usage: Usage = USED, case_input: Any = "question") -> Sample:
    return Sample(Case(case_input, expected, id="c"), output, (), duration, usage)


async def test_exact_compares_text_and_says_what_differs() -> None:
    assert (await Exact().score(sample("Paris ", "Paris"))).passed
    failed = await Exact().score(sample("paris", "Paris"))
    assert (failed.value, failed.passed, failed.label) == (0.0, False, "fail")
    assert "expected 'Paris', got 'paris'" in failed.explanation
    assert (await Exact(case_sensitive=False).score(sample("paris", "Paris"))).passed
    assert (await Exact().score(sample({"b": 1, "a": 2}, {"a": 2, "b": 1}))).passed
    missing = await Exact().score(sample("x"))
    assert (missing.value, missing.passed, missing.label) == (None, False, "error")


async def test_contains_gives_partial_credit_for_several_texts() -> None:
    assert (await Contains().score(sample("Sunny in PARIS", "paris"))).passed
    partial = await Contains(["sunny", "rome"]).score(sample("Sunny in Paris"))
    assert (partial.value, partial.passed) == (0.5, False)
    assert "missing 'rome'" in partial.explanation
    assert not (await Contains(case_sensitive=True).score(sample("paris", "Paris"))).passed


async def test_regex_searches_the_output() -> None:
    assert (await Regex(r"\d+ °C").score(sample("Sunny, 21 °C"))).passed
    failed = await Regex(r"\d+ °F").score(sample("Sunny, 21 °C"))
    assert not failed.passed
    assert "/\\d+ °F/" in failed.explanation


class Forecast(pydantic.BaseModel):
    city: str
    degrees: int


async def test_valid_as_reads_json_text_and_objects() -> None:
    valid = ValidAs(Forecast)
    assert (await valid.score(sample('{"city": "Paris", "degrees": 21}'))).passed
    assert (await valid.score(sample(Forecast(city="Paris", degrees=21)))).passed
    assert (await valid.score(sample({"city": "Paris", "degrees": 21}))).passed
    failed = await valid.score(sample('{"city": "Paris", "degrees": "warm"}'))
    assert not failed.passed
    assert failed.explanation.startswith("degrees: ")
    assert (await ValidAs(list[int]).score(sample("[1, 2]"))).passed


async def test_budgets_pass_within_and_fail_over() -> None:
    assert (await Latency(0.5).score(sample("x", duration=0.2))).label == "within"
    over = await Latency(0.5).score(sample("x", duration=0.75))
    assert (over.passed, over.label, over.explanation) == (False, "over",
                                                            "0.750 s (budget 0.5 s)")
    assert (await TokenBudget(15).score(sample("x"))).passed
    tokens = await TokenBudget(max_output=4).score(sample("x"))
    assert (tokens.passed, tokens.explanation) == (False, "output 5 > 4")
    cost = CostBudget(0.00002, input_per_million=1.0, output_per_million=2.0)  # $0.00002 spent
    assert (await cost.score(sample("x"))).passed
    assert not (await cost.score(sample("x", usage=Usage(10, 6)))).passed
    with pytest.raises(ValueError, match="needs max_total"):
        TokenBudget()


async def test_functions_score_with_bools_numbers_or_scores() -> None:
    @scorer
    def short(output: str, expected: Any) -> bool:
        return len(output) < 10

    @scorer(threshold=0.5, name="words")
    async def word_share(s: Sample) -> float:
        return len(str(s.output).split()) / 4

    @scorer
    def custom(s: Sample) -> Score:
        return Score("custom", 0.3, True, "ok", "mine")

    assert short.name == "short"
    assert (await short.score(sample("tiny"))).passed
    assert not (await short.score(sample("far too long"))).passed
    words = await word_share.score(sample("two words"))
    assert (words.name, words.value, words.passed) == ("words", 0.5, True)
    assert await custom.score(sample("x")) == Score("custom", 0.3, True, "ok", "mine")


def judge_model(reply: str) -> ScriptedModel:
    """A scripted judge that also checks it was shown the answer."""

    def grade(messages: Any, tools: Any) -> str:
        assert "Answer:\nSunny in Paris" in messages[-1].text
        return reply

    return ScriptedModel(grade)


async def test_llm_judge_reads_a_json_verdict_from_the_scripted_model() -> None:
    judge = LLMJudge(judge_model('{"score": 0.9, "label": "good", "explanation": "right city"}'),
                     "Is the city right?")
    score = await judge.score(sample("Sunny in Paris", "Paris"))
    assert score == Score("judge", 0.9, True, "good", "right city")
    low = await LLMJudge(judge_model("FAIL: wrong city"), "Is the city right?").score(
        sample("Sunny in Paris"))
    assert (low.value, low.passed, low.label) == (0.0, False, "fail")
    odd = await LLMJudge(judge_model("hmm"), "r").score(sample("Sunny in Paris"))
    assert odd.value is None and "not a verdict" in odd.explanation


def test_parse_verdict_clamps_and_reads_numbers() -> None:
    assert parse_verdict('Here: {"score": 7}') == (1.0, "", "")
    assert parse_verdict("0.25 because") == (0.25, "", "0.25 because")
    assert parse_verdict("PASS.") == (1.0, "pass", "PASS.")
    assert parse_verdict("") is None


def test_a_judge_is_an_agent_named_for_it() -> None:
    judge = LLMJudge(ScriptedModel(["PASS"]), "rubric", name="polite")
    assert judge.agent.name == "judge polite"
    assert "Rubric: rubric" in judge.agent.instructions
