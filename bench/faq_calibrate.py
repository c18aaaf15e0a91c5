"""Choose the thresholds of the FAQ decision (core/faq_talk.Decision) on the TUNED set only.

Prints, for a grid of thresholds, the tuned set's in-scope / out-of-scope / small-talk shares
and the minimum of the three; the defaults in ``Decision`` are the best row (ties: the simpler
rule). The frozen held-out set is never read here.

    .venv/bin/python bench/faq_calibrate.py
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402


def main() -> None:
    from core.faq.index import FaqIndex, load_faq
    from core.faq.eval import evaluate
    from core.faq.talk import Decision, load_smalltalk, understand

    folder = ROOT / "content" / "faq"
    index = FaqIndex.build(load_faq(folder))
    talk = load_smalltalk(folder)
    tuned = yaml.safe_load((ROOT / "tests" / "faq_questions.yaml").read_text(encoding="utf-8"))
    rows = []
    for answer, margin_answer, margin, part in itertools.product(
            (0.34, 0.36, 0.38, 0.40, 0.42), (0.28, 0.30, 0.32, 0.34, 1.0), (1.3, 1.6, 2.0),
            (0.38, 0.45, 0.50)):
        if margin_answer > answer and margin_answer != 1.0:
            continue
        decision = Decision(answer=answer, margin_answer=min(margin_answer, answer),
                            margin=margin, part=part)
        figures = evaluate(lambda text: understand(index, talk, text, decision), tuned)
        shares = [figures.share(k) for k in ("in_scope", "out_of_scope", "smalltalk")]
        rows.append((min(shares[0], shares[1]), sum(shares[:2]), shares, decision))
    rows.sort(key=lambda r: (-r[0], -r[1]))
    for worst, _, shares, d in rows[:15]:
        print(f"answer {d.answer:.2f} margin_answer {d.margin_answer:.2f} margin {d.margin} "
              f"part {d.part:.2f}: in {shares[0]:.1%} out {shares[1]:.1%} talk {shares[2]:.1%}")


if __name__ == "__main__":
    main()
