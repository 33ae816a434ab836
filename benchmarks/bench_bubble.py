"""The pipeline bubble measured by the wall clock, next to GPipe's formula (a figure, not a test).

``simlib.engine.measure_bubble`` times the compiled step for ``M`` and ``2M`` microbatches and
reads the bubble off the difference (``1 - M t_tick / T(M)``; fixed costs of the step count as
bubble, so it is about the formula or more on a quiet machine). The test suite judges the bubble
by the idle ticks of the compiled program instead (``program_bubble``), which the machine's load
cannot move; this benchmark keeps the timed figure: 4 stages x 2 data replicas, a global batch
of 256, M = 2, 4, 8, 16. The baseline is the formula ``(S - 1)/(M + S - 1)``; no target.
"""

from __future__ import annotations

import os

os.environ.setdefault("JAX_NUM_CPU_DEVICES", "8")

STAGES, DATA, BATCH, MICROBATCHES, REPEATS = 4, 2, 256, (2, 4, 8, 16), 15


def main() -> list[dict]:
    from simlib.engine import PPConfig, measure_bubble, request_devices
    from simlib.sim import pipeline_cost

    devices = request_devices(STAGES * DATA)
    rows = []
    for m in MICROBATCHES:
        cfg = PPConfig(stages=STAGES, data=DATA, microbatches=m, batch_size=BATCH)
        measured = measure_bubble(cfg, devices, repeats=REPEATS)["bubble_fraction_measured"]
        formula = pipeline_cost(STAGES, m, schedule="gpipe").bubble_fraction
        rows.append({
            "name": f"pipeline bubble from step times, S={STAGES} M={m} (vs formula)",
            "value": measured, "baseline": formula, "ratio": measured / formula,
            "unit": "fraction", "target": None, "ok": True,
        })  # fmt: skip
    return rows


if __name__ == "__main__":
    for row in main():
        print(row)
