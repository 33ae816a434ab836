"""Run every benchmark (``benchmarks/bench_*.py``) and print its figures as ratios.

Each benchmark module defines ``main() -> list[dict]``; a row has ``name``, ``value``,
``baseline`` (measured in the same run), ``ratio`` (value / baseline), ``target`` (the largest
ratio or value allowed, or None), ``unit`` and ``ok``. Results also go to
``benchmarks/out/results.json``. Usage: ``python benchmarks/run_all.py [NAME ...]``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

from simlib.files import write_text

HERE = Path(__file__).resolve().parent


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(names: list[str]) -> int:
    paths = sorted(HERE.glob("bench_*.py"))
    if names:
        paths = [p for p in paths if any(n in p.stem for n in names)]
    rows, failed = [], 0
    for path in paths:
        start = time.perf_counter()
        print(f"== {path.stem}", flush=True)
        for row in _load(path).main():
            row["benchmark"] = path.stem
            rows.append(row)
            failed += not row.get("ok", True)
            ratio = f"{row['ratio']:.3f}x" if row.get("ratio") is not None else "-"
            target = row.get("target")
            print(
                f"  {row['name']:<58} {row['value']:>12.4g} {row.get('unit', ''):<8} "
                f"baseline {row.get('baseline', float('nan')):>10.4g}  ratio {ratio:>8}  "
                f"target {target if target is not None else '-'}  "
                f"{'ok' if row.get('ok', True) else 'MISSED'}",
                flush=True,
            )
        print(f"   ({time.perf_counter() - start:.1f} s)")
    out = HERE / "out"
    write_text(out / "results.json", json.dumps(rows, indent=2))  # atomic, like every output
    print(f"{len(rows)} figures, {failed} missed target; written to {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
