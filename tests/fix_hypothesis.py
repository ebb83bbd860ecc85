"""Hypothesis profiles, chosen with HYPOTHESIS_PROFILE (default ``dev``).

``ci``: derandomized (a fixed seed), 200 examples, so CI failures reproduce exactly.
``dev``: Hypothesis's randomised default budget. ``deep``: 10,000 examples for nightly runs.
Every profile disables the per-example deadline: tests assert behaviour, not wall-clock time.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, max_examples=200, deadline=None)
settings.register_profile("dev", deadline=None)
settings.register_profile("deep", max_examples=10_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
