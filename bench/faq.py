"""Benchmark of the FAQ matcher.

Builds the index from content/faq (prints the build time), runs every labelled question of
tests/faq_questions.yaml 20 times and prints p50/p95 matching time per question.

    .venv/bin/python bench/faq.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from core.faq import FaqIndex, load_faq  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    position = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[position]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs of every question")
    args = parser.parse_args()

    started = time.perf_counter()
    book = load_faq(ROOT / "content" / "faq")
    loaded = time.perf_counter()
    index = FaqIndex.build(book)
    built = time.perf_counter()
    questions = [
        q["q"]
        for q in yaml.safe_load((ROOT / "tests" / "faq_questions.yaml").read_text(encoding="utf-8"))
    ]
    print(f"entries: {len(book.entries)} in {len(book.topics)} topics")
    print(f"load content: {(loaded - started) * 1000:.0f} ms")
    print(f"build index: {(built - loaded) * 1000:.0f} ms (includes loading the morphology dictionaries)")

    # The first pass fills the per-word caches, as the first days of a running bot would.
    first: list[float] = []
    for text in questions:
        t0 = time.perf_counter()
        index.match(text)
        first.append((time.perf_counter() - t0) * 1000)

    timings: list[float] = []
    for _ in range(args.repeat):
        for text in questions:
            t0 = time.perf_counter()
            index.match(text)
            timings.append((time.perf_counter() - t0) * 1000)

    print(f"questions: {len(questions)} x {args.repeat} runs")
    print(
        f"first pass (cold word caches): mean {statistics.fmean(first):.2f} ms, "
        f"p95 {percentile(first, 0.95):.2f} ms, max {max(first):.2f} ms"
    )
    print(
        f"match time per question: p50 {percentile(timings, 0.50):.2f} ms, "
        f"p95 {percentile(timings, 0.95):.2f} ms, mean {statistics.fmean(timings):.2f} ms, "
        f"max {max(timings):.2f} ms"
    )


if __name__ == "__main__":
    main()
