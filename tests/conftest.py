"""Test-wide setup: 8 virtual CPU devices, a headless plotting backend, shared helpers."""

import os

# Before anything can start JAX's backend: the lessons and the tests use 8 devices.
os.environ.setdefault("JAX_NUM_CPU_DEVICES", "8")
os.environ.setdefault("MPLBACKEND", "Agg")
