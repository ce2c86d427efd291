"""Outside text made safe to show: the one way any string from outside reaches a screen.

Span names, attribute keys and values, agent, tool and model names, log bodies, ids read from
files and error texts quoting them may hold anything. What leaves here is plain text: never
parsed as markup (``Text``, not ``Text.from_markup``), with every character that would act on the
terminal or hide what is written made visible instead:

- C0 controls as their Unicode pictures (ESC → ``␛``, so ``ESC[2J`` reads ``␛[2J``; NUL ``␀``),
  DEL as ``␡``; one-line text shows tabs and newlines that way too;
- C1 controls (``\\x9b`` is a one-byte CSI) as ``\\x9b``;
- BiDi overrides, embeddings, isolates and marks, zero-width characters, line separators and
  Unicode tag characters as ``\\u202e``-style escapes — but a zero-width joiner between two
  emoji stays, since it is what draws 👩‍💻 as one picture (and hides nothing there);
- lone surrogates (text decoded from invalid UTF-8) as ``�``;
- very long text cut, ending in ``…``.

Each function runs on every rendered row: clean text costs one precompiled regex scan.

Text copied to the clipboard (``y``) leaves the same way, since it is pasted into a shell next:
``ESC[201~`` in a copied prompt would end a bracketed paste and run what follows it.
``clipboard_str`` makes those characters visible as the screen does; ``clipboard_json`` writes
them as JSON escapes, so the JSON still means what the span held.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.highlighter import JSONHighlighter
from rich.text import Text

NAME_LIMIT = 200  # span, agent, tool and model names; attribute keys; ids
VALUE_LIMIT = 2_000  # one-line values: an error message, a status message
BODY_LIMIT = 50_000  # many-line text: a message, a log body, a tool's result
RAW_STRING_LIMIT = 20_000  # each string of the raw JSON view
COPY_LIMIT = 1_000_000  # what ``y`` puts on the clipboard (OSC 52 carries it as base64)
ELLIPSIS = "…"

# Made visible wherever they are: they act on the terminal or hide what the text says.
_INVISIBLE = (
    "\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f"  # C0 but tab and newline, DEL, C1
    "\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\ufeff\\ufff9-\\ufffb"
    "\\ud800-\\udfff\\U000e0000-\\U000e007f"
)
_UNSAFE_MULTILINE = re.compile(f"[{_INVISIBLE}]")
_UNSAFE_LINE = re.compile(f"[\\t\\n{_INVISIBLE}]")
# Pictographs a zero-width joiner may bind into one emoji (👨‍👩‍👧, 🏳️‍🌈); after one, a VS16.
_EMOJI = "\\u2600-\\u27bf\\U0001f000-\\U0001faff"
# A joiner anywhere else is escaped: between letters it makes look-alike names differ unseen.
# Only text the screens above caught is searched for it, joiner first (clean text stays one
# character-class scan: the lookbehinds tried at every character made it six times slower).
_LONE_JOINER = re.compile(
    f"\\u200d(?:(?<![{_EMOJI}]\\u200d)(?<![{_EMOJI}]\\ufe0f\\u200d)|(?![{_EMOJI}]))"
)


def _escapes() -> dict[int, str]:
    """Code point → what is shown for it."""
    table: dict[int, str] = {code: chr(0x2400 + code) for code in range(0x20)}  # ␀ … ␛ …
    table[0x7F] = "\u2421"  # ␡
    table.update({code: f"\\x{code:02x}" for code in range(0x80, 0xA0)})
    for low, high in ((0x061C, 0x061C), (0x180E, 0x180E), (0x200B, 0x200C), (0x200E, 0x200F),
                      (0x2028, 0x202E),
                      (0x2060, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB)):
        table.update({code: f"\\u{code:04x}" for code in range(low, high + 1)})
    table.update({code: "\ufffd" for code in range(0xD800, 0xE000)})
    table.update({code: f"\\U{code:08x}" for code in range(0xE0000, 0xE0080)})
    return table


_LINE_TABLE = _escapes()
# Many-line text keeps its tabs and newlines; a carriage return is dropped (CRLF text reads
# right, and a lone one can no longer send the cursor back over what was written).
_MULTILINE_TABLE = {**_LINE_TABLE, 0x09: "\t", 0x0A: "\n", 0x0D: ""}


def safe_str(value: object, limit: int | None = NAME_LIMIT, *, multiline: bool = False) -> str:
    """``value`` as plain display text: controls visible, at most ``limit`` characters.

    For places that need a ``str`` and take it as plain text (option prompts built as ``Text``,
    a notification with markup off, a Segment); anywhere markup might be read, use ``safe_text``.
    ``multiline`` keeps tabs and newlines; otherwise they show as ``␉`` and ``␊``.
    """
    text = value if type(value) is str else _as_str(value)
    cut = limit is not None and len(text) > limit
    if cut:
        text = text[:limit]
    if (_UNSAFE_MULTILINE if multiline else _UNSAFE_LINE).search(text) is not None:
        text = _LONE_JOINER.sub(r"\\u200d", text)
        text = text.translate(_MULTILINE_TABLE if multiline else _LINE_TABLE)
        if limit is not None and len(text) > limit:
            cut, text = True, text[:limit]
    if cut:
        assert limit is not None
        text = text[: max(0, limit - 1)] + ELLIPSIS
    return text


def safe_text(
    value: object, *, limit: int | None = NAME_LIMIT, style: str = "", multiline: bool = False
) -> Text:
    """``value`` as a ``rich.text.Text``: shown as written, never read as markup."""
    return Text(safe_str(value, limit, multiline=multiline), style=style)


def safe_json(value: Any, *, string_limit: int = RAW_STRING_LIMIT, indent: int = 2) -> Text:
    """Outside data as highlighted JSON; each string (key or value) cut at ``string_limit``."""
    dumped = json.dumps(_cut_strings(value, string_limit), indent=indent, ensure_ascii=False,
                        default=str)
    text = safe_text(dumped, limit=None, multiline=True)
    JSONHighlighter().highlight(text)
    text.no_wrap, text.overflow = True, None  # as ``rich.json.JSON`` shows it
    return text


def clipboard_str(value: object, limit: int = COPY_LIMIT) -> str:
    """Many-line outside text for the clipboard: controls visible, at most ``limit`` characters
    (a terminal drops a clipboard write it finds too long, rather than cutting it)."""
    return safe_str(value, limit, multiline=True)


def editor_json(value: Any, *, indent: int | None = 2) -> str:
    """Outside data as JSON to edit in a ``TextArea`` or paste, strings whole: a character that
    would act on a terminal or hide text is a ``\\uXXXX`` escape, valid JSON for the same value
    (so it parses back to it). ``indent=None``: on one line."""
    dumped = json.dumps(value, indent=indent, ensure_ascii=False, default=_as_str,
                        separators=None if indent is not None else (", ", ": "))
    return _UNSAFE_MULTILINE.sub(_json_escape, dumped)


def clipboard_json(value: Any, limit: int = COPY_LIMIT) -> str:
    """Outside data as indented JSON for the clipboard, strings whole: a character that would act
    on a terminal or hide text is a ``\\uXXXX`` escape, valid JSON for the same value. Longer
    than ``limit``: cut and ended with ``…`` (no longer JSON, and said so where it is copied)."""
    dumped = editor_json(value)
    if len(dumped) > limit:
        dumped = dumped[: max(0, limit - 1)] + ELLIPSIS
    return dumped


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # a tag character: JSON writes it as its UTF-16 pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def fit_cells(text: str, cells: int) -> str:
    """``text`` in ``cells`` terminal cells at most: cut with … when wider (a name beside a
    column, a key in its column)."""
    if cell_len(text) <= cells:
        return text
    return set_cell_size(text, max(0, cells - 1)) + ELLIPSIS


def fit_text(text: Text, cells: int) -> Text:
    """``text`` (its styles kept) in ``cells`` cells at most: cut with … after a word, not a
    space, when wider (a table's cell in a column too narrow for it)."""
    if text.cell_len <= cells:
        return text
    cut = text.copy()
    cut.truncate(max(0, cells - 1))
    cut.rstrip()
    cut.append(ELLIPSIS)
    return cut


def _cut_strings(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= limit else f"{value[: limit - 1]}{ELLIPSIS}"
    if isinstance(value, dict):
        return {_cut_strings(str(k), limit): _cut_strings(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cut_strings(v, limit) for v in value]
    return value


def _as_str(value: object) -> str:
    """``str(value)``, or a placeholder when even that fails (a hostile ``__str__``)."""
    try:
        return str(value)
    except Exception:  # any failure of outside code ends the same way
        return f"<unprintable {type(value).__name__}>"
