"""Replay: saved traces back into a store, playback on the recorded clock, comparing two runs.

``loader`` opens files (OTLP JSON lines, gzip, a studio ``.db``) into a temporary store,
``timeline`` says what a trace looked like at any instant, ``compare`` aligns two runs.
"""
