"""Benchmark and accuracy of the FAQ: tuning and frozen figures, speed, build time, memory.

Builds the FAQ service from content/faq (prints the index build time and the memory it adds),
runs every labelled question through the same decision the bot makes, and prints for each set:
in-scope right-as-first-message %, out-of-scope honest fallback %, small talk %. The sets:

- TUNING: tests/faq_questions.yaml ("TUNED") and tests/faq_heldout.yaml ("RETIRED frozen set,
  now tuning" — the first frozen set, retired to tuning on 2026-11-30) and
  tests/faq_questions_round4.yaml ("ROUND 4 tuning set", written blind for round 4 on 2026-11-30)
  and tests/faq_questions_round5.yaml ("ROUND 5 tuning set", written blind for round 5 on
  2026-11-30; its first measurement is the honest one), reported separately. ``--misses`` lists
  the misses of every tuning file, question by question.
- FROZEN: tests/faq_frozen.yaml, written on 2026-11-30 before that session's FAQ changes and
  never tuned on. Only its aggregate figures are printed, never a question: there is no option
  to list its misses, so it stays an honest measure of questions the bot has never seen.

Then p50/p95 time per question over --repeat runs of the tuned set.

    .venv/bin/python bench/faq.py [--repeat 20] [--misses] [--no-frozen]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

TUNED = ROOT / "tests" / "faq_questions.yaml"
RETIRED = ROOT / "tests" / "faq_heldout.yaml"
ROUND4 = ROOT / "tests" / "faq_questions_round4.yaml"
ROUND5 = ROOT / "tests" / "faq_questions_round5.yaml"
FROZEN = ROOT / "tests" / "faq_frozen.yaml"
TARGETS = {"in_scope": 0.95, "out_of_scope": 0.95, "smalltalk": 1.0}
P95_CEILING_MS = 5.0
BUILD_CEILING_S = 2.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    position = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[position]


def report(name: str, figures) -> None:  # type: ignore[no-untyped-def]
    print(f"{name}:")
    for kind, label in (("in_scope", "in scope, right answer as the first message"),
                        ("out_of_scope", "out of scope, honest fallback"),
                        ("smalltalk", "small talk answered as small talk")):
        share = figures.share(kind)
        print(f"  {label}: {figures.right[kind]}/{figures.total[kind]} = {share:.1%} "
              f"(target {TARGETS[kind]:.0%}, ratio {share / TARGETS[kind]:.2f})")
    total_in = figures.total["in_scope"] or 1
    with_guess = figures.right["in_scope"] + figures.guessed["in_scope"]
    print(f"  in scope, right facts in the first message counting a marked best guess: "
          f"{with_guess}/{figures.total['in_scope']} = {with_guess / total_in:.1%}; "
          f"out of scope shown a marked guess: {figures.guessed['out_of_scope']}"
          f"/{figures.total['out_of_scope']}")


def print_misses(figures) -> None:  # type: ignore[no-untyped-def]
    """A tuning set's misses, one line each (never called for the frozen set)."""
    for item, found in figures.misses:
        best = found.best
        alts = [a.entry.id for a in best.alternatives[:3]] if best else []
        print(f"  MISS {item['q'][:70]!r} expected {item.get('expect', item.get('parts'))}"
              f" got {found.kind} {found.talk or found.entry_ids}"
              f" score {best.score if best else '-'} alts {alts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs of every tuned question")
    parser.add_argument("--misses", action="store_true",
                        help="list the misses of both tuning files (never the frozen set's)")
    parser.add_argument("--no-frozen", action="store_true",
                        help="skip the frozen set (while tuning: each look at it is counted)")
    args = parser.parse_args()

    from core.faq.index import FaqIndex, load_faq
    from core.faq.eval import evaluate
    from core.faq.talk import load_smalltalk, understand

    before = rss_mb()
    started = time.perf_counter()
    book = load_faq(ROOT / "content" / "faq")
    loaded = time.perf_counter()
    index = FaqIndex.build(book)
    talk = load_smalltalk(ROOT / "content" / "faq")
    built = time.perf_counter()
    print(f"entries: {len(book.entries)} in {len(book.topics)} topics")
    print(f"load content: {(loaded - started) * 1000:.0f} ms")
    print(f"build index: {built - loaded:.2f} s (ceiling {BUILD_CEILING_S} s, ratio "
          f"{(built - loaded) / BUILD_CEILING_S:.2f}; includes the morphology dictionaries)")
    print(f"memory added by the FAQ and its language data: {rss_mb() - before:.0f} MB RSS")

    def ask(text: str):  # type: ignore[no-untyped-def]
        return understand(index, talk, text)

    tuned = yaml.safe_load(TUNED.read_text(encoding="utf-8"))
    tuning = [(f"TUNED set ({len(tuned)} questions, {TUNED.name})", tuned)]
    if RETIRED.is_file():
        retired = yaml.safe_load(RETIRED.read_text(encoding="utf-8"))
        tuning.append((f"RETIRED frozen set, now tuning ({len(retired)} questions, "
                       f"{RETIRED.name})", retired))
    if ROUND4.is_file():
        round4 = yaml.safe_load(ROUND4.read_text(encoding="utf-8"))
        tuning.append((f"ROUND 4 tuning set ({len(round4)} questions, {ROUND4.name})", round4))
    if ROUND5.is_file():
        round5 = yaml.safe_load(ROUND5.read_text(encoding="utf-8"))
        tuning.append((f"ROUND 5 tuning set ({len(round5)} questions, {ROUND5.name})", round5))
    for name, questions in tuning:
        figures = evaluate(ask, questions)
        report(name, figures)
        if args.misses:
            print_misses(figures)
    if args.no_frozen:
        print("FROZEN set: skipped (--no-frozen)")
    elif FROZEN.is_file():
        frozen = yaml.safe_load(FROZEN.read_text(encoding="utf-8"))
        report(f"FROZEN set ({len(frozen)} questions, {FROZEN.name}; never tuned on, "
               "aggregates only)", evaluate(ask, frozen))
    else:
        print(f"FROZEN set: {FROZEN.name} not found")

    questions = [item["q"] for item in tuned]
    timings: list[float] = []
    for _ in range(args.repeat):
        for text in questions:
            t0 = time.perf_counter()
            ask(text)
            timings.append((time.perf_counter() - t0) * 1000)
    p95 = percentile(timings, 0.95)
    print(f"time per question ({len(questions)} x {args.repeat}): "
          f"p50 {percentile(timings, 0.50):.2f} ms, p95 {p95:.2f} ms "
          f"(ceiling {P95_CEILING_MS} ms, ratio {p95 / P95_CEILING_MS:.2f}), "
          f"mean {statistics.fmean(timings):.2f} ms, max {max(timings):.2f} ms")


if __name__ == "__main__":
    main()
