"""Exports of a simgen dataset to other training layouts (see `simgen.export.yolo`).

Kept light: nothing heavy is imported until an export runs.
"""

from __future__ import annotations
