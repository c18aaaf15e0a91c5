"""Would another signal make the FAQ generalise? Each candidate against the matcher as it is,
compared where it matters: in-scope right vs out-of-scope honest, at every answer threshold.

Only the tuning sets are read (tests/faq_questions.yaml, faq_heldout.yaml,
faq_questions_round4.yaml); never the frozen set. A signal "wins" only if, at the same share of
honest fallbacks, it answers more in-scope questions right — a higher in-scope figure bought
with more confident answers to off-topic questions is the threshold moving, not a better signal.

    .venv/bin/python bench/faq_signals.py [--phrasings] [--chars] [--navec PATH.tar]

--phrasings  5-fold cross-validation: the labelled questions of four folds added to the entries
             as phrasings (as coordinators' «Добавить в справку» would), measured on the fifth.
--chars      character 3–5-grams of the question's words, best cosine against each entry's
             phrasings, blended into the score (catches word forms, typos, coined words).
--navec      a classifier over averaged navec word vectors (the Russian embeddings shipped in
             natasha's wheel: pip install navec numpy; natasha/data/emb/navec_news_*.tar),
             trained on the entries' phrasings, re-ranking the best five candidates.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from core.faq.eval import Figures, evaluate, kind_of  # noqa: E402
from core.faq.index import FaqIndex, lemma, load_faq  # noqa: E402
from core.faq.talk import Decision, load_smalltalk, understand  # noqa: E402

FAQ = ROOT / "content" / "faq"
SETS = ("faq_questions.yaml", "faq_heldout.yaml", "faq_questions_round4.yaml")
THRESHOLDS = (0.30, 0.34, 0.38, 0.42, 0.46)
Rescore = Callable[[Sequence[str], list[tuple[int, float]]], list[tuple[int, float]]]


def load_sets() -> dict[str, list[dict]]:
    return {name: yaml.safe_load((ROOT / "tests" / name).read_text(encoding="utf-8"))
            for name in SETS}


def with_rescore(index: FaqIndex, rescore: Rescore | None) -> FaqIndex:
    """The same index whose ranking passes through ``rescore`` (None: unchanged)."""
    if rescore is not None:
        plain = index.scores
        index.scores = lambda terms: rescore(terms, plain(terms)) if terms else plain(terms)  # type: ignore[method-assign]
    return index


def sweep(index: FaqIndex, items: list[dict]) -> dict[float, Figures]:
    talk = load_smalltalk(FAQ)
    out = {}
    for threshold in THRESHOLDS:
        decision = Decision(answer=threshold, margin_answer=threshold)
        out[threshold] = evaluate(lambda text: understand(index, talk, text, decision), items)
    return out


def frontier(name: str, rows: dict[float, list[Figures]]) -> None:
    for threshold, figures in rows.items():
        cells = "  ".join(f"{f.share('in_scope'):6.1%} / {f.share('out_of_scope'):6.1%}"
                          for f in figures)
        print(f"  {name:<28} answer ≥ {threshold:.2f}: {cells}")


def compare(signals: dict[str, Callable[[], FaqIndex]]) -> None:
    sets = load_sets()
    print("in scope right / out of scope honest, per set: " + ", ".join(SETS))
    for name, build in signals.items():
        index = build()
        per_set = [sweep(index, items) for items in sets.values()]
        frontier(name, {t: [s[t] for s in per_set] for t in THRESHOLDS})


def cross_validated_phrasings(folds: int = 5) -> None:
    items = [item for items in load_sets().values() for item in items]
    random.Random(7).shuffle(items)
    totals: dict[tuple[str, float], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for fold in range(folds):
        test = items[fold::folds]
        learned: dict[str, list[str]] = defaultdict(list)
        for number, item in enumerate(items):
            if number % folds != fold and kind_of(item) == "in_scope" and "expect" in item:
                learned[item["expect"][0]].append(item["q"])
        folder = Path(tempfile.mkdtemp(prefix="faq-cv-"))
        (folder / "phrasings.yaml").write_text(yaml.safe_dump(dict(learned), allow_unicode=True),
                                               encoding="utf-8")
        for name, extra in (("as it is", None), ("+ labelled phrasings", folder)):
            index = FaqIndex.build(load_faq(FAQ, extra))
            for threshold, figures in sweep(index, test).items():
                total = totals[(name, threshold)]
                total[0] += figures.right["in_scope"]
                total[1] += figures.total["in_scope"]
                total[2] += figures.right["out_of_scope"]
                total[3] += figures.total["out_of_scope"]
    print(f"{folds}-fold cross-validation over all tuning sets ({len(items)} messages):")
    for (name, threshold), (r_in, n_in, r_out, n_out) in totals.items():
        print(f"  {name:<28} answer ≥ {threshold:.2f}: {r_in / n_in:6.1%} / {r_out / n_out:6.1%}")


def char_grams(index: FaqIndex, weight: float) -> FaqIndex:
    def grams(terms: Sequence[str]) -> Counter[str]:
        found: Counter[str] = Counter()
        for term in terms:
            word = f"<{term}>"
            for size in (3, 4, 5):
                found.update(word[i:i + size] for i in range(len(word) - size + 1))
        return found

    phrases = [(n, grams(index.query_terms(p))) for n, e in enumerate(index.entries)
               for p in (e.title, e.short, *e.phrasings)]
    df: Counter[str] = Counter(g for _, found in phrases for g in found)
    idf = {g: math.log(len(phrases) / (1 + c)) + 1 for g, c in df.items()}
    postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
    owners = []
    for at, (owner, found) in enumerate(phrases):
        vector = {g: c * idf[g] for g, c in found.items()}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        for g, v in vector.items():
            postings[g].append((at, v / norm))
        owners.append(owner)

    def rescore(terms: Sequence[str], ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
        query = {g: c * idf.get(g, 1.0) for g, c in grams(terms).items()}
        norm = math.sqrt(sum(v * v for v in query.values())) or 1.0
        cosine: dict[int, float] = defaultdict(float)
        for g, v in query.items():
            for at, w in postings.get(g, ()):
                cosine[at] += v / norm * w
        best: dict[int, float] = {}
        for at, value in cosine.items():
            best[owners[at]] = max(best.get(owners[at], 0.0), value)
        scores = dict(ranked)
        for owner, value in best.items():
            scores[owner] = (1 - weight) * scores.get(owner, 0.0) + weight * value
        return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))

    return with_rescore(index, rescore)


def navec_classifier(index: FaqIndex, path: Path, weight: float) -> FaqIndex:
    import numpy as np
    from navec import Navec

    vectors = Navec.load(str(path))
    stop = index.text.stop_words

    def embed(text: str):  # type: ignore[no-untyped-def]
        found = [v for v in (vectors.get(w) if vectors.get(w) is not None else vectors.get(lemma(w))
                             for w in index.text.words(text) if w not in stop) if v is not None]
        if not found:
            return None
        mean = np.mean(found, axis=0)
        return mean / (np.linalg.norm(mean) + 1e-9)

    rows, labels = [], []
    for number, entry in enumerate(index.entries):
        for phrase in (entry.title, entry.short, *entry.phrasings):
            vector = embed(phrase)
            if vector is not None:
                rows.append(vector)
                labels.append(number)
    x, classes = np.array(rows), len(index.entries)
    onehot = np.eye(classes)[labels]
    w, b = np.zeros((x.shape[1], classes)), np.zeros(classes)
    for _ in range(300):  # softmax regression, plain gradient descent
        z = x @ w + b
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        w -= 0.5 * (x.T @ (p - onehot) / len(x) + 1e-4 * w)
        b -= 0.5 * (p - onehot).mean(0)

    def rescore(terms: Sequence[str], ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
        vector = embed(" ".join(terms))
        if vector is None or not ranked:
            return ranked
        z = vector @ w + b
        p = np.exp(z - z.max())
        p /= p.sum()
        top, best = ranked[:5], ranked[0][1]
        order = sorted(top, key=lambda kv: -(kv[1] + weight * p[kv[0]]))
        return [(order[0][0], best), *order[1:], *ranked[5:]]  # the decision keeps its score

    return with_rescore(index, rescore)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phrasings", action="store_true")
    parser.add_argument("--chars", action="store_true")
    parser.add_argument("--navec", type=Path)
    args = parser.parse_args()
    book = load_faq(FAQ)
    signals: dict[str, Callable[[], FaqIndex]] = {"as it is": lambda: FaqIndex.build(book)}
    if args.chars:
        for weight in (0.2, 0.3):
            signals[f"+ char n-grams × {weight}"] = (
                lambda weight=weight: char_grams(FaqIndex.build(book), weight))
    if args.navec:
        for weight in (0.2, 0.5):
            signals[f"+ navec classifier × {weight}"] = (
                lambda weight=weight: navec_classifier(FaqIndex.build(book), args.navec, weight))
    compare(signals)
    if args.phrasings:
        cross_validated_phrasings()


if __name__ == "__main__":
    main()
