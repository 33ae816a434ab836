"""Test-wide setup: 8 virtual CPU devices, a headless plotting backend, shared helpers.

Hypothesis judges no example by its duration (``deadline=None``) and tolerates slow data
generation: on a loaded machine both are about the load, not about simlib. A test's own
``@settings`` still sets its example count.
"""

import os

from hypothesis import HealthCheck, settings

# Before anything can start JAX's backend: the lessons and the tests use 8 devices.
os.environ.setdefault("JAX_NUM_CPU_DEVICES", "8")
os.environ.setdefault("MPLBACKEND", "Agg")

settings.register_profile(
    "load-independent", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("load-independent")
