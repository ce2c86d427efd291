"""The remembered layout: reading a saved file defensively, toggling and resizing within bounds."""

from __future__ import annotations

import json
from pathlib import Path

from lumos_studio.ui.layout import Layout


def test_a_missing_file_gives_the_stylesheets_layout(tmp_path: Path) -> None:
    layout = Layout.load(tmp_path / "layout.json")
    assert layout == Layout()
    assert layout.sessions and layout.state and layout.sessions_width is None


def test_a_saved_layout_comes_back_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "layout.json"
    saved = Layout().toggled("state").resized("sessions", 2, current=32)
    saved.save(path)
    assert Layout.load(path) == saved
    assert Layout.load(path).state is False
    assert Layout.load(path).sessions_width == 40


def test_a_broken_or_foreign_file_falls_back_field_by_field(tmp_path: Path) -> None:
    path = tmp_path / "layout.json"
    path.write_text("{not json")
    assert Layout.load(path) == Layout()
    path.write_text(json.dumps([1, 2]))
    assert Layout.load(path) == Layout()
    path.write_text(json.dumps({
        "detail": False,          # kept
        "state": "no",            # wrong type: default
        "sessions_width": True,   # a bool is not a size: default
        "state_height": 999,      # clamped to the largest
        "future_field": 1,        # unknown: ignored
    }))
    layout = Layout.load(path)
    assert layout.detail is False
    assert layout.state is True
    assert layout.sessions_width is None
    assert layout.state_height == 40


def test_resizing_steps_from_the_size_on_screen_and_stays_in_bounds() -> None:
    layout = Layout()
    assert layout.resized("state", 1, current=12).state_height == 14
    assert layout.resized("state", -1, current=12).state_height == 10
    assert layout.resized("detail", 1, current=40).detail_percent == 45
    assert layout.resized("sessions", -20, current=32).sessions_width == 24
    assert layout.resized("traces", 30, current=8).traces_height == 40


def test_toggling_twice_restores_the_pane() -> None:
    layout = Layout()
    assert layout.toggled("sessions").sessions is False
    assert layout.toggled("sessions").toggled("sessions") == layout


def test_growing_stops_at_the_room_the_screen_has_and_never_shrinks_the_pane() -> None:
    layout = Layout()
    assert layout.resized("traces", 1, current=8, most=20).traces_height == 10
    assert layout.resized("traces", 1, current=8, most=9).traces_height == 9
    assert layout.resized("traces", 1, current=8, most=6).traces_height == 8  # no room: stays
    assert layout.resized("traces", -1, current=8, most=6).traces_height == 6
