"""Logfire's integrations: the GenAI attributes plus a few of its own.

``gen_ai.usage.raw`` holds the provider's usage object (cache and reasoning counts the GenAI keys
leave out); ``gen_ai.response.finish_reasons`` arrives as a JSON string (read in ``_draft``);
older releases put the request and response in ``request_data`` / ``response_data``. A streamed call
is two spans: the request, and a zero-length sibling (``logfire.span_type = log``, "streaming
response from …") that holds the output and usage; that sibling is marked streaming.
"""

from __future__ import annotations

from typing import Any, Final

from lumos_studio.semantics._draft import Draft, as_float, as_str
from lumos_studio.semantics.parts import openai_message, openai_messages
from lumos_studio.semantics.view import Dialect, OperationKind

SCOPE_PREFIX: Final = "logfire"


def _raw_usage(d: Draft, raw: Any) -> None:
    """OpenAI (``prompt_tokens``…) or Anthropic (``input_tokens``…) usage objects."""
    if not isinstance(raw, dict):
        return
    prompt_details = raw.get("prompt_tokens_details")
    completion_details = raw.get("completion_tokens_details")
    d.set_usage_value("input_tokens", raw.get("prompt_tokens", raw.get("input_tokens")))
    d.set_usage_value("output_tokens", raw.get("completion_tokens", raw.get("output_tokens")))
    d.set_usage_value("total_tokens", raw.get("total_tokens"))
    if isinstance(prompt_details, dict):
        d.set_usage_value("cache_read_tokens", prompt_details.get("cached_tokens"))
    if isinstance(completion_details, dict):
        d.set_usage_value("reasoning_tokens", completion_details.get("reasoning_tokens"))
    d.set_usage_value("cache_read_tokens", raw.get("cache_read_input_tokens"))
    d.set_usage_value("cache_creation_tokens", raw.get("cache_creation_input_tokens"))


def read_logfire(d: Draft, keys: list[str]) -> None:
    a = d.attrs
    before = len(d.read)
    if "gen_ai.usage.raw" in a:
        raw = d.json("gen_ai.usage.raw")
        if isinstance(raw, dict):
            _raw_usage(d, raw)
            d.read.add("gen_ai.usage.raw")
    request = d.json("request_data") if "request_data" in a else None
    if isinstance(request, dict):
        d.read.add("request_data")
        d.request_model = d.request_model or as_str(request.get("model"))
        if not d.input_messages:
            d.input_messages = openai_messages(request.get("messages")) or ()
        if request.get("stream") is True and d.streaming is None:
            d.streaming = True
    response = d.json("response_data") if "response_data" in a else None
    if isinstance(response, dict):
        d.read.add("response_data")
        message = response.get("message")
        if isinstance(message, dict) and not d.output_messages:
            d.output_messages = (openai_message(message, "assistant"),)
        _raw_usage(d, response.get("usage"))
    if as_str(a.get("logfire.span_type")) == "log" and as_str(
        a.get("logfire.msg_template")
    ).startswith("streaming response"):
        d.streaming = True if d.streaming is None else d.streaming
        d.set_kind(OperationKind.LLM)
    if "operation.cost" in a and d.cost is None:
        d.cost = as_float(a["operation.cost"])
        if d.cost is not None:
            d.read.add("operation.cost")
    for key in keys:
        if key.startswith("logfire."):
            d.read.add(key)
    if len(d.read) > before:
        d.add_dialect(Dialect.LOGFIRE)
