"""Scenario files: loading and validation (`load`) and drawing concrete scenes (`sample`)."""

from simgen.scenario.load import Scenario, load

__all__ = ["Scenario", "load"]
