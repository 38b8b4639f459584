"""The service desk's team pages: each team's queue by what breaches first, the agent's own work, the workload.

``/desk/teams`` lists the teams; ``/desk/teams/{team}`` shows the team's open demands with
the service-level clock that falls due first (breached ones on top), the signed-in agent's
own demands, and how many each member holds, with a form to give a demand to another
member or team (the reason goes on its journey, behind the scenes).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

from itsmcore import Conflict, Desk, Forbidden, InvalidInput, NotFound, QueueItem
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .app import call, checked_form, field, need_agent, portal_of
from .security import csrf_token
from .views import _int, customer_names, render, say

#: How many demands a team's queue shows at first; ``?show=N`` shows more, up to :data:`QUEUE_MAX`.
QUEUE_LIMIT = 50
#: Most demands one queue page shows (the CLI and the API page through all of them).
QUEUE_MAX = 500


def _due_words(due: datetime | None, breached: bool, now: datetime) -> str:
    """When the clock falls due, as an agent reads it: "breached", "in 1 h 20 min", or nothing."""
    if due is None:
        return ""
    if breached or due <= now:
        return "breached"
    minutes = int((due - now).total_seconds() // 60)
    if minutes >= 24 * 60:
        return f"in {minutes // (24 * 60)} d {minutes % (24 * 60) // 60} h"
    return f"in {minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"in {minutes} min"


def _options(choices: Sequence[tuple[str, str]], selected: str | None) -> Markup:
    """``<option>`` elements (value, label), one selected: written once per page, not once per row."""
    return Markup(
        "".join(
            f'<option value="{escape(v)}"{" selected" if v == selected else ""}>{escape(label)}</option>'
            for v, label in choices
        )
    )


def _give_forms(
    items: Sequence[QueueItem],
    *,
    prefix: str,
    team: str,
    csrf: str,
    agent_options: dict[str, Markup],
    team_options: Markup,
) -> dict[int, Markup]:
    """Each row's "give" form (agent, team, reason), by demand id; ``prefix`` keeps the ids of the
    two lists on one page apart.

    Written here in one piece per row rather than in the template, where 50 rows escaped some
    thousand values one by one: about a seventh of the page's CPU time (a profile of the server).
    """
    action = escape(f"/desk/teams/{quote(team)}/assign/")
    token = escape(csrf)
    out: dict[int, Markup] = {}
    for q in items:
        i, key = int(q.demand.id), f"{prefix}-{int(q.demand.id)}"
        agents = agent_options.get(q.demand.assignee or "", agent_options[""])
        out[i] = Markup(
            f'<form method="post" action="{action}{i}" class="inline">'
            f'<input type="hidden" name="csrf" value="{token}">'
            f'<label for="a-{key}" class="sr-only">Agent for #{i}</label>'
            f'<select id="a-{key}" name="agent">{agents}</select>'
            f'<label for="t-{key}" class="sr-only">Team for #{i}</label>'
            f'<select id="t-{key}" name="team">{team_options}</select>'
            f'<label for="r-{key}" class="sr-only">Why, for #{i}</label>'
            f'<input id="r-{key}" name="reason" placeholder="Why" required>'
            '<button type="submit">Give</button></form>'
        )
    return out


async def teams_page(request: Request) -> Response:
    """Every team, with its members and how much it holds open."""
    await need_agent(request)
    desk = portal_of(request).desk
    teams = await call(desk.teams)
    loads = {t.key: await call(desk.workload, t.key) for t in teams}
    people = [p for t in teams for p in (t.lead, *t.members)]
    return await render(
        request,
        "desk/teams.html",
        {
            "title": "Teams",
            "teams": teams,
            "open": {k: sum(w.open for w in v) for k, v in loads.items()},
            "breached": {k: sum(w.breached for w in v) for k, v in loads.items()},
            "names": await call(customer_names, desk, people),
        },
    )


def _shown(request: Request) -> int:
    """How many of the queue to show: ``?show=N`` within 1 and :data:`QUEUE_MAX`, else :data:`QUEUE_LIMIT`."""
    try:
        return max(1, min(int(request.query_params.get("show", "")), QUEUE_MAX))
    except ValueError:
        return QUEUE_LIMIT


def _team_page(desk: Desk, key: str, me: str, limit: int, csrf: str) -> dict[str, object]:
    """What the team page shows, read in one trip to the threadpool and over one connection."""
    page = desk.team_overview(key, agent=me, limit=limit)
    team, queue, mine = page.team, page.queue, page.mine
    teams = desk.teams()
    now = desk.clock()
    shown = [q.demand for q in (*queue, *mine)]
    names = customer_names(
        desk, [team.lead, *team.members, *(d.customer_id for d in shown), *(d.assignee for d in shown)]
    )
    # the "give to" pick lists, written once per page: the members' by the row's assignee, the teams'
    people = [(m, names.get(m, m)) for m in team.members]
    agent_options = {m: _options(people, m) for m in team.members}
    agent_options[""] = _options(people, None)
    team_options = _options([(t.key, t.name) for t in teams], team.key)

    def forms(items: Sequence[QueueItem], prefix: str) -> dict[int, Markup]:
        return _give_forms(
            items, prefix=prefix, team=team.key, csrf=csrf, agent_options=agent_options, team_options=team_options
        )

    return {
        "title": team.name,
        "team": team,
        "queue": queue,
        "mine": mine,
        "due": {q.demand.id: _due_words(q.due_at, q.breached, now) for q in (*queue, *mine)},
        "give_queue": forms(queue, "q"),
        "give_mine": forms(mine, "m"),
        "workload": page.workload,
        "teams": teams,
        "names": names,
        "limit": limit,
        "more": QUEUE_MAX if len(queue) >= limit and limit < QUEUE_MAX else None,
    }


async def team_page(request: Request) -> Response:
    """One team: its queue, the agent's own work in it, and the workload per member."""
    me = await need_agent(request)
    desk = portal_of(request).desk
    key = request.path_params["team"]
    try:
        page = await call(_team_page, desk, key, me.id, _shown(request), csrf_token(request.session))
    except NotFound:
        raise HTTPException(404, f"There is no team {key}.") from None
    return await render(request, "desk/team.html", page)


async def team_assign(request: Request) -> Response:
    """Give a demand to a member of this team (or to another team), with the reason on its journey."""
    me = await need_agent(request)
    form = await checked_form(request)
    desk = portal_of(request).desk
    key = request.path_params["team"]
    did = _int(request.path_params["did"])
    to_team = field(form, "team") or None
    agent = field(form, "agent")
    try:
        d = await call(
            desk.assign,
            did,
            team=to_team if to_team != key else None,
            agent=agent if agent else ("" if to_team and to_team != key else None),
            reason=field(form, "reason"),
            actor=me.id,
        )
        who = f"{d.assignee}" if d.assignee else f"team {d.team}'s queue"
        say(request, f"Demand #{did} is with {who} now.")
    except (InvalidInput, Conflict, Forbidden, NotFound) as e:
        say(request, str(e))
    return RedirectResponse(f"/desk/teams/{quote(key)}", status_code=303)


def routes() -> Sequence[Route]:
    return [
        Route("/desk/teams", teams_page, methods=["GET"]),
        Route("/desk/teams/{team}", team_page, methods=["GET"]),
        Route("/desk/teams/{team}/assign/{did}", team_assign, methods=["POST"]),
    ]
