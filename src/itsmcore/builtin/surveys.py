"""The standard survey methods: NPS (0-10), CSAT (1-5) and CES (1-7), with 95 % intervals.

Each method scores a histogram ``{answer: count}`` so the counting happens in the
database; nothing here loops over individual responses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import attrs

from ..components import ComponentContext, SurveyComponent, SurveyScore
from ..i18n import N_

Z95 = 1.959964


def _check(name: str, low: int, high: int, score: object) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        raise ValueError(f"{name} answers are whole numbers from {low} to {high}")
    return score


@attrs.frozen(kw_only=True)
class NpsSettings:
    question: str = attrs.field(
        default=N_("How likely are you to recommend IT's service to a colleague? (0-10)"),
        metadata={"doc": "The question customers see."},
    )


@attrs.frozen(kw_only=True)
class CsatSettings:
    question: str = attrs.field(
        default=N_("How satisfied are you with how we handled this? (1-5)"),
        metadata={"doc": "The question customers see."},
    )


@attrs.frozen(kw_only=True)
class CesSettings:
    question: str = attrs.field(
        default=N_("How easy was it to get what you needed? (1 = very hard, 7 = very easy)"),
        metadata={"doc": "The question customers see."},
    )


class Nps:
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6), from -100 to 100."""

    low, high = 0, 10

    def __init__(self, settings: NpsSettings, _ctx: ComponentContext | None = None):
        self.question = settings.question

    def validate(self, score: int) -> int:
        return _check("NPS", self.low, self.high, score)

    def category(self, score: int) -> str:
        return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"

    def summarise(self, counts: Mapping[int, int]) -> SurveyScore:
        n = sum(counts.values())
        if n == 0:
            return SurveyScore(method="nps", value=None, n=0, label="no answers")
        pro = sum(c for s, c in counts.items() if s >= 9) / n
        det = sum(c for s, c in counts.items() if s <= 6) / n
        value = 100 * (pro - det)
        if n == 1:  # one answer says nothing about spread: the interval is the whole scale
            return SurveyScore(method="nps", value=value, n=1, low=-100.0, high=100.0, label="NPS")
        # variance of the +1 / 0 / -1 coding of each answer
        var = pro + det - (pro - det) ** 2
        half = 100 * Z95 * math.sqrt(var / n)
        return SurveyScore(
            method="nps", value=value, n=n, low=max(-100.0, value - half), high=min(100.0, value + half), label="NPS"
        )


class Csat:
    """Customer satisfaction: the share of answers 4 or 5 (satisfied), as a percentage."""

    low, high = 1, 5

    def __init__(self, settings: CsatSettings, _ctx: ComponentContext | None = None):
        self.question = settings.question

    def validate(self, score: int) -> int:
        return _check("CSAT", self.low, self.high, score)

    def category(self, score: int) -> str:
        return "satisfied" if score >= 4 else "neutral" if score == 3 else "dissatisfied"

    def summarise(self, counts: Mapping[int, int]) -> SurveyScore:
        n = sum(counts.values())
        if n == 0:
            return SurveyScore(method="csat", value=None, n=0, label="no answers")
        p = sum(c for s, c in counts.items() if s >= 4) / n
        # Wilson score interval: sound for small samples and shares near 0 or 1
        denom = 1 + Z95**2 / n
        centre = (p + Z95**2 / (2 * n)) / denom
        half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
        return SurveyScore(
            method="csat",
            value=100 * p,
            n=n,
            low=100 * max(0.0, centre - half),
            high=100 * min(1.0, centre + half),
            label="CSAT %",
        )


class Ces:
    """Customer effort: the mean answer from 1 (very hard) to 7 (very easy)."""

    low, high = 1, 7

    def __init__(self, settings: CesSettings, _ctx: ComponentContext | None = None):
        self.question = settings.question

    def validate(self, score: int) -> int:
        return _check("CES", self.low, self.high, score)

    def category(self, score: int) -> str:
        return "easy" if score >= 5 else "neutral" if score == 4 else "hard"

    def summarise(self, counts: Mapping[int, int]) -> SurveyScore:
        n = sum(counts.values())
        if n == 0:
            return SurveyScore(method="ces", value=None, n=0, label="no answers")
        mean = sum(s * c for s, c in counts.items()) / n
        if n == 1:
            return SurveyScore(method="ces", value=mean, n=1, low=float(self.low), high=float(self.high), label="CES")
        var = sum(c * (s - mean) ** 2 for s, c in counts.items()) / (n - 1)
        half = Z95 * math.sqrt(var / n)
        return SurveyScore(
            method="ces",
            value=mean,
            n=n,
            low=max(float(self.low), mean - half),
            high=min(float(self.high), mean + half),
            label="CES",
        )


def survey_components() -> list[SurveyComponent]:
    return [
        SurveyComponent(name="nps", factory=Nps, settings=NpsSettings, description="Net Promoter Score, 0-10."),
        SurveyComponent(name="csat", factory=Csat, settings=CsatSettings, description="Customer satisfaction, 1-5."),
        SurveyComponent(name="ces", factory=Ces, settings=CesSettings, description="Customer effort, 1-7 (7 = easy)."),
    ]
