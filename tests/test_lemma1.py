"""theorems.lemma1 (claim L1): the prover, and compare / judge on rows built by hand."""
from approx import activations as A
from theorems import lemma1
from theorems.lemma1 import Identity, Row, proved_1d, proved_2d


def test_the_prover_rejects_false_identities():
    assert not proved_1d(lambda x: A.relu(x), lambda x: x)                  # wrong for x < 0
    assert not proved_1d(lambda x: A.relu_pow(x, 2), lambda x: x ** 2)      # wrong for x < 0
    assert not proved_1d(lambda x: A.polyrelu(x, [1, 1]), lambda x: A.relu(x))  # wrong constant
    assert not proved_2d(lambda x, y: x * y, lambda x, y: (A.relu_pow(x + y, 2) - A.relu_pow(x - y, 2)) / 4)


def test_the_prover_accepts_true_identities():
    assert proved_1d(lambda x: abs(x), lambda x: A.relu(x) + A.relu(-x))
    assert proved_2d(lambda x, y: x + y, lambda x, y: A.relu(x + y) - A.relu(-x - y))


def _row(name, proved, vector="", k=0, neurons=0):
    return Row(Identity(name, abs, abs, vector=vector, k=k, neurons=neurons), proved)


def test_compare_counts_proofs_and_reads_the_paper_vector():
    rows = [_row("a", True), _row("b", True)] + [_row(f"w{k}", True, "paper default", k, k + 1) for k in (1, 2, 3)]
    rows.append(_row("other vector", True, "random r=3", 1, 9))
    f = lemma1.compare(rows, max_order=4)
    assert (f.proved, f.checked, f.max_order) == (6, 6, 4)
    assert f.paper_neurons == (2, 3, 4)
    v = lemma1.judge(f)
    assert (v.verdict, v.passed) == ("holds", True)


def test_one_failed_proof_is_inconclusive_and_fails_the_check():
    f = lemma1.compare([_row("a", True), _row("b", False)], max_order=2)
    assert (f.proved, f.checked) == (1, 2)
    v = lemma1.judge(f)
    assert (v.verdict, v.passed) == ("inconclusive", False)
    rep = lemma1.render(f, v)
    assert rep.key_figure.startswith("1/2 identities proved")
    assert [r["result"] for r in rep.evidence] == ["proved", "FAILED"]
    assert rep.details["orders checked"] == "r = 1..2"


def test_measure_proves_a_true_identity_and_not_a_false_one():
    assert lemma1.measure(Identity("x = ReLU(x) - ReLU(-x)", lambda x: x, lambda x: A.relu(x) - A.relu(-x))).proved
    assert not lemma1.measure(Identity("xy = x^2", lambda x, y: x * y, lambda x, y: x * x, arity=2)).proved


def test_construct_asks_the_code_for_the_paper_vector_weights():
    cases = lemma1.construct("quick")
    paper = [c for c in cases if c.vector == "paper default"]
    assert [c.k for c in paper] == [1, 2, 3]
    assert all(c.neurons >= 1 for c in paper)
    assert len({c.name for c in cases}) == len(cases)
