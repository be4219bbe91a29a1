"""Physics-world tests (helpers in conftest.py)."""
