"""Scenario files: loading and validation (`load`) and drawing concrete scenes (`sample`)."""

from simgen.scenario.load import Scenario, load, load_resolved

__all__ = ["Scenario", "load", "load_resolved"]
