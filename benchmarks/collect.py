"""Rebuilds BENCHMARKS.md from the result files the benchmark scripts write.

Usage: python benchmarks/collect.py   (from the repository root)
"""

from __future__ import annotations

from pathlib import Path

from keras_gvae.io import write_text

ROOT = Path(__file__).resolve().parents[1]
ORDER = [
    "pipeline_vs_training.md",
    "shapes_pipeline.md",
    "shapes_calibration.md",
    "evaluation_protocol.md",
    "export_tflite.md",
]
HEADER = """# Benchmarks

Measured on the project's machine (2 CPU cores shared with other jobs, no GPU). Timings vary
between runs; compare numbers within one table (ratios measured in the same run). Each
section is written by the script it names (see `benchmarks/README.md`); rebuild this file
with `python benchmarks/collect.py` after re-running one.
"""


def main():
    results = ROOT / "benchmarks" / "results"
    names = [n for n in ORDER if (results / n).exists()]
    names += sorted(p.name for p in results.glob("*.md") if p.name not in ORDER)
    parts = [HEADER]
    for name in names:
        text = (results / name).read_text().strip()
        # Demote headings one level so each result file becomes a section.
        text = "\n".join("#" + line if line.startswith("#") else line for line in text.splitlines())
        parts.append(text)
    write_text(ROOT / "BENCHMARKS.md", "\n\n".join(parts) + "\n")
    print(f"wrote BENCHMARKS.md from {len(names)} result files")


if __name__ == "__main__":
    main()
