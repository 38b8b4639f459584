"""Builtin fulfilment actions: notify, notify.send_link, cmdb.verify_device, approval."""

from __future__ import annotations

import re
from typing import Any

import attrs

from ..components import ActionComponent, ActionRequest, ActionResult, ComponentContext, NeedsCustomer, NoSettings
from ..errors import PermanentFailure
from ..model import Link


def _values(request: ActionRequest, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The flat placeholders a message template may use: no attribute access, no code."""
    d, c, s = request.demand, request.customer, request.service
    values: dict[str, Any] = {
        "demand_id": d.id,
        "summary": d.summary,
        "customer_id": c.id,
        "customer_name": c.name,
        "first_name": c.name.split()[0] if c.name else c.id,
        "service_key": s.key if s else "",
        "service_name": s.name if s else d.summary,
    }
    values.update({f"answer_{k}": v for k, v in d.answers.items()})
    values.update({f"output_{k}": v for k, v in request.outputs.items() if isinstance(v, str | int | float)})
    values.update(extra or {})
    return values


@attrs.frozen(kw_only=True)
class NotifyParams:
    """A plan step that sends the customer a message."""

    text: str = attrs.field(
        default="", metadata={"doc": "Message; placeholders like {first_name}, {service_name}, {url}, {answer_NAME}."}
    )
    subject: str = attrs.field(default="{service_name}", metadata={"doc": "Subject line (channels that have one)."})
    channel: str = attrs.field(default="", metadata={"doc": "Channel name; empty for the customer's preferred one."})
    url: str = attrs.field(default="", metadata={"doc": "A link to include (e.g. a download link)."})
    title: str = attrs.field(default="Open", metadata={"doc": "The link's title."})
    address_from: str = attrs.field(
        default="", metadata={"doc": "An answer holding the address to use (e.g. the mobile number given)."}
    )


class NotifyAction:
    """Send a message with links through a channel, as a plan step the customer sees."""

    default_text = "{service_name}: {url}"

    def __init__(self, _settings: Any, _ctx: ComponentContext):
        pass

    def run(self, request: ActionRequest) -> ActionResult:
        from ..text import render

        p: NotifyParams = request.params
        values = _values(request, {"url": p.url})
        text = render(p.text or self.default_text, values)
        links = (Link(title=render(p.title, values), url=render(p.url, values)),) if p.url else ()
        customer = request.customer
        if p.address_from:
            addr = request.demand.answers.get(p.address_from)
            if addr:
                customer = (
                    attrs.evolve(customer, mobile=addr) if "@" not in addr else attrs.evolve(customer, email=addr)
                )
        name, address, note = request.desk.deliver(
            customer,
            subject=render(p.subject, values),
            text=text,
            links=links,
            channel=p.channel or None,
            demand_id=request.demand.id,
            purpose="progress",
            key=request.idempotency_key,
        )
        behind = f"message sent by {name} to {address}" + (f" ({note})" if note else "")
        return ActionResult(customer_sees=text, behind_scenes=behind, links=links, channel=name)


class SendLinkAction(NotifyAction):
    default_text = "Hi {first_name}, here is your link for {service_name}: {url}"


@attrs.frozen(kw_only=True)
class VerifyDeviceParams:
    answer: str = attrs.field(default="mobile_number", metadata={"doc": "The answer naming the device."})
    attribute: str = attrs.field(default="number", metadata={"doc": "The CI attribute the answer must match."})


_DIGITS = re.compile(r"[^0-9+]")


class VerifyDeviceAction:
    """Check in the CMDB that the device the customer gave is registered to them."""

    def __init__(self, _settings: Any, _ctx: ComponentContext):
        pass

    def run(self, request: ActionRequest) -> ActionResult:
        p: VerifyDeviceParams = request.params
        given = str(request.demand.answers.get(p.answer, ""))
        if not given:
            raise PermanentFailure(f"the request has no answer {p.answer!r} to verify")
        items = request.desk.configuration_items(request.customer.id)
        wanted = _DIGITS.sub("", given) if given.startswith("+") or given[:1].isdigit() else given
        for ci in items:
            value = ci.attributes.get(p.attribute, "")
            if ci.id == given or (value and _DIGITS.sub("", value) == wanted):
                os_ = ci.attributes.get("os", "")
                return ActionResult(
                    customer_sees=f"We checked that {ci.name} is registered to you.",
                    behind_scenes=f"CMDB: {ci.id} ({ci.name}{', ' + os_ if os_ else ''}) owned by "
                    f"{request.customer.id} matches {given}",
                    outputs={"device": ci.id},
                )
        # the customer's to correct (a typo, an old number), not the service desk's
        raise NeedsCustomer(f"{given} is not registered to you as one of your devices.", field=p.answer)


@attrs.frozen(kw_only=True)
class ApprovalParams:
    approver: str = attrs.field(
        default="manager", metadata={"doc": "'manager' (the customer's manager) or a customer id."}
    )


class ApprovalAction:
    """A manual step: the plan waits until the approver approves or rejects."""

    def __init__(self, _settings: Any, _ctx: ComponentContext):
        pass

    def run(self, request: ActionRequest) -> ActionResult:
        p: ApprovalParams = request.params
        if p.approver == "manager":
            approver_id = request.customer.manager
            if not approver_id:
                raise PermanentFailure(f"{request.customer.id} has no manager in the directory to approve this")
            relation = " (your manager)"
        else:
            approver_id, relation = p.approver, ""
        approver = request.desk.find_customer(approver_id)
        name = approver.name.split()[0] if approver else approver_id
        who = f"{name}{relation}"
        return ActionResult(
            customer_sees=f"Your request is waiting for approval from {who}.",
            behind_scenes=f"approval requested from {approver_id}",
            outputs={"approver": approver_id},
            wait_for=who,
            notify=True,
        )


def _component(name: str, cls: Any, params: type, description: str) -> ActionComponent:
    return ActionComponent(name=name, factory=cls, settings=NoSettings, params=params, description=description)


def action_components() -> list[ActionComponent]:
    return [
        _component("notify", NotifyAction, NotifyParams, "Send the customer a message with links."),
        _component("notify.send_link", SendLinkAction, NotifyParams, "Send the customer a link (e.g. a download)."),
        _component(
            "cmdb.verify_device",
            VerifyDeviceAction,
            VerifyDeviceParams,
            "Check a device is registered to the customer.",
        ),
        _component("approval", ApprovalAction, ApprovalParams, "Wait for an approver (by default the manager)."),
    ]
