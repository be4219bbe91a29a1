"""Trust tools: read a finished dataset and check it (verify, and its mix variant), re-make its
images from their provenance (regen), describe it (report)."""
