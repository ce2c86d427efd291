"""``lumos_studio.display``: every hostile string becomes plain, visible, bounded display text."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console
from rich.text import Text

from lumos_core.telemetry import semconv as sc
from lumos_studio.display import (
    ELLIPSIS,
    NAME_LIMIT,
    fit_cells,
    fit_text,
    safe_json,
    safe_str,
    safe_text,
)
from lumos_studio.present import format_time, rich_tree, status_text
from lumos_studio.ui.widgets.span_detail import render_span
from tests.builders import T0, make_span
from tests.hostile import CORPUS, FORBIDDEN, HUGE, VISIBLE

SGR = re.compile(r"\x1b\[[0-9;]*m")


def printed(renderable: object) -> str:
    """What a terminal would receive, colours and all."""
    buffer = io.StringIO()
    Console(file=buffer, force_terminal=True, color_system="truecolor", width=200,
            legacy_windows=False).print(renderable)
    return buffer.getvalue()


@pytest.mark.parametrize("key", sorted(CORPUS))
def test_every_hostile_string_is_shown_as_written_with_its_controls_visible(key: str) -> None:
    shown = safe_str(CORPUS[key])
    assert VISIBLE[key] in shown
    assert not any(char in shown for char in FORBIDDEN)
    assert len(shown) <= NAME_LIMIT


def test_escape_sequences_read_as_their_pictures() -> None:
    assert safe_str("a\x1b[2J b") == "a␛[2J b"
    assert safe_str("\x1b]52;c;SGVsbG8=\x07") == "␛]52;c;SGVsbG8=␇"
    assert safe_str("\x00\x7f") == "␀␡"
    assert safe_str("\x9b2J") == "\\x9b2J"
    assert safe_str("abc\u202egnp.exe") == "abc\\u202egnp.exe"
    assert safe_str("a\u200bb") == "a\\u200bb"
    assert safe_str("bad\ud800") == "bad\ufffd"


def test_one_line_text_shows_newlines_and_tabs_and_many_line_text_keeps_them() -> None:
    assert safe_str("a\tb\nc\r\nd") == "a␉b␊c␍␊d"
    assert safe_str("a\tb\nc\r\nd", multiline=True) == "a\tb\nc\nd"
    assert safe_str("x\x1b[2J\ny", multiline=True) == "x␛[2J\ny"


def test_long_text_is_cut_with_an_ellipsis_at_the_limit() -> None:
    assert safe_str(HUGE) == "A" * (NAME_LIMIT - 1) + ELLIPSIS
    assert safe_str("abcdef", 4) == "abc…"
    assert safe_str("abcd", 4) == "abcd"
    assert safe_str(HUGE, None) == HUGE
    # Escapes take room: the limit is of what is shown.
    assert safe_str("\x9b" * 10, 9) == "\\x9b\\x9b" + ELLIPSIS


def test_clean_text_comes_back_unchanged() -> None:
    name = "invoke_agent weather — 天気 🌦"
    assert safe_str(name) is name


@pytest.mark.parametrize("emoji", [
    "\U0001f469\u200d\U0001f4bb",  # woman technologist
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # family
    "\U0001f3f3\ufe0f\u200d\U0001f308",  # rainbow flag, with its VS16
])
def test_a_joined_emoji_is_drawn_as_one_picture(emoji: str) -> None:
    assert safe_str(f"by {emoji} today") == f"by {emoji} today"
    assert safe_str(f"{emoji}\n", multiline=True) == f"{emoji}\n"


@pytest.mark.parametrize(
    "text", ["ad\u200dmin", "a\u200d\U0001f308", "\U0001f308\u200da", "\u200d"])
def test_a_joiner_that_joins_no_emoji_is_shown_as_an_escape(text: str) -> None:
    shown = safe_str(text)
    assert "\u200d" not in shown
    assert shown == text.replace("\u200d", "\\u200d")


def test_values_that_are_not_text_are_shown_as_their_str() -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert safe_str(42) == "42"
    assert safe_str(None) == "None"
    assert safe_str(Hostile()) == "<unprintable Hostile>"


def test_a_text_is_never_read_as_markup() -> None:
    text = safe_text("[bold red]x[/] [link=https://example.com]y", style="cyan")
    assert isinstance(text, Text)
    assert text.plain == "[bold red]x[/] [link=https://example.com]y"
    assert str(text.style) == "cyan" and not text.spans


@pytest.mark.parametrize("key", sorted(CORPUS))
def test_what_reaches_a_colour_terminal_holds_no_escape_but_the_console_colours(key: str) -> None:
    output = printed(safe_text(CORPUS[key], limit=None, multiline=True, style="bold"))
    body = SGR.sub("", output)  # the colours the console itself writes
    assert not any(char in body for char in FORBIDDEN)


def test_json_of_outside_data_is_highlighted_plain_text_with_long_strings_cut() -> None:
    text = safe_json({"k\x1b[2J": ["\x9b", "x" * 50, 1, None]}, string_limit=10)
    assert '"k\\u001b[2J"' in text.plain  # JSON's own escape: visible, not obeyed
    assert '"\\x9b"' in text.plain
    assert '"xxxxxxxxx…"' in text.plain
    assert text.spans  # highlighted
    assert "\x1b" not in text.plain and "\x9b" not in text.plain


def test_json_of_text_with_lone_surrogates_does_not_fail() -> None:
    assert "bad\ufffd" in safe_json({"a": "bad\ud800"}).plain


def test_span_labels_trees_and_statuses_show_hostile_names_literally() -> None:
    span = make_span("[/] x \x1b[2J", status="ERROR")
    output = printed(rich_tree("[bold]\x1b]52;c;SGVsbG8=\x07", [span]))
    assert "[/] x ␛[2J" in output
    assert "[bold]␛]52;c;SGVsbG8=␇" in output
    assert "\x1b[2J" not in output and "\x1b]52" not in output
    assert status_text("SUSPENDED").plain == "SUSPENDED"
    assert status_text("[/]\x1b[2J").plain == "[/]␛[2J"
    assert status_text("UNSET").plain == "OK"


def test_times_and_counts_no_clock_can_show_do_not_fail() -> None:
    assert format_time(10**30) == "?"
    assert format_time(T0) == "16:00:00"
    span = make_span("chat", attributes={
        sc.USAGE_INPUT_TOKENS: "many", sc.USAGE_OUTPUT_TOKENS: float("inf"),
        sc.RESPONSE_TIME_TO_FIRST_CHUNK: 1e300, sc.REQUEST_STREAM: True})
    shown = printed(render_span(span))
    assert "0 in · 0 out" in shown and "streamed" in shown


def test_fit_cuts_to_the_cells_with_an_ellipsis_and_keeps_what_fits() -> None:
    assert fit_cells("weather", 7) == "weather"
    assert fit_cells("weather", 5) == "weat" + ELLIPSIS
    assert fit_cells("東京の天気", 5) == "東京" + ELLIPSIS  # two cells a character
    assert fit_cells("weather", 0) == ELLIPSIS  # what a zero-width column's caller crops
    styled = Text("long agent name", style="bold")
    assert fit_text(styled, 20) is styled
    cut = fit_text(styled, 11)
    assert cut.plain == "long agent" + ELLIPSIS and cut.cell_len <= 11  # no space before …
    assert cut.style == "bold" and styled.plain == "long agent name"  # a copy, styles kept
