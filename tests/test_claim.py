"""theorems.claim: the Verdict record every claim module's judge step returns."""
import dataclasses

import pytest

from theorems.claim import Verdict
from theorems.report import VERDICTS


@pytest.mark.parametrize("v", VERDICTS)
def test_every_report_verdict_is_accepted_and_frozen(v):
    rec = Verdict(v, False, "c")
    assert (rec.verdict, rec.passed, rec.caveat) == (v, False, "c")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.verdict = "refuted"


@pytest.mark.parametrize("v", ["", "Holds", "holds ", "maybe", "proved"])
def test_other_verdicts_are_refused_naming_the_field(v):
    with pytest.raises(ValueError, match="verdict"):
        Verdict(v, True)
