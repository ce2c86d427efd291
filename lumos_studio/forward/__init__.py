"""Passing on what the studio receives to the team's collector (``--forward URL``)."""

from __future__ import annotations

from lumos_studio.forward.forwarder import Forwarder, ForwardStatus, spool_dir_beside
from lumos_studio.forward.target import BadForwardTarget, ForwardTarget, parse_target

__all__ = ["BadForwardTarget", "ForwardStatus", "ForwardTarget", "Forwarder", "parse_target",
           "spool_dir_beside"]
