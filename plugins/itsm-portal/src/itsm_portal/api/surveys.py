"""Signed links answered through an integration: "is it sorted?" confirmations and survey answers."""

from __future__ import annotations

import attrs

from .routing import Call, Text, operation


@attrs.frozen(kw_only=True)
class Confirmation:
    token: Text
    fixed: bool


@attrs.frozen(kw_only=True)
class Confirmed:
    """The demand that carries on (reopened, or the one closed)."""

    demand_id: int


@attrs.frozen(kw_only=True)
class SurveyAnswer:
    token: Text
    score: int
    comment: str = ""
    channel: str = "api"


@attrs.frozen(kw_only=True)
class SurveyAnswered:
    id: int | None
    method: str
    score: int


@operation(
    "POST",
    "/confirm",
    scope="write",
    body=Confirmation,
    answer=Confirmed,
    conflict=True,
    summary="Answer a signed confirm link: is it sorted?",
)
def confirm(call: Call) -> Confirmed:
    b: Confirmation = call.body
    return Confirmed(demand_id=call.desk.confirm(b.token, b.fixed))


@operation(
    "POST",
    "/survey",
    scope="write",
    body=SurveyAnswer,
    answer=SurveyAnswered,
    status=201,
    conflict=True,
    summary="Answer a signed survey link",
)
def survey(call: Call) -> SurveyAnswered:
    b: SurveyAnswer = call.body
    response = call.desk.answer_survey(b.score, token=b.token, comment=b.comment[:4000], channel=b.channel or "api")
    return SurveyAnswered(id=response.id, method=response.method, score=response.score)
