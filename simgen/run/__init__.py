"""Running a generation: `generate` (plan, resume, loop, finalize) and the backends that run
its scenes: inline, a local process pool, Ray actors."""
