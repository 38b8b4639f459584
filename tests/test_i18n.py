"""Every customer-facing text in the customer's language (#20, item 3): catalogs, formats, messages."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from itsmcore import Desk
from itsmcore.catalogs import KEYWORDS, check_po, main, roots
from itsmcore.i18n import later, translator
from itsmcore.model import Demand, DemandKind, DemandState, Stage
from itsmcore.status import customer_status, stage_label

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _extracted(root: Path, source: Path) -> set[str]:
    """The message ids the code marks for translation now (what ``tox -e i18n`` would extract)."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (source / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords: dict[str, tuple[int, ...] | None] = {}
    for k in KEYWORDS:
        name, _, spec = k.partition(":")
        keywords[name] = tuple(int(x) for x in spec.split(",")) if spec else None
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(source), method_map, options_map, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.no_database
@pytest.mark.parametrize("root", roots(ROOT), ids=lambda r: r.domain)
def test_every_customer_facing_message_has_a_french_translation(root) -> None:
    from babel.messages.pofile import read_po

    po = root.locale / "fr" / "LC_MESSAGES" / f"{root.domain}.po"
    assert po.exists(), f"{root.domain} has no French catalog"
    with po.open("rb") as fh:
        # a plural message by its singular, as the extractor names it
        french = {m.id[0] if isinstance(m.id, tuple) else m.id: m for m in read_po(fh) if m.id}
    wanted = _extracted(ROOT, root.source)
    missing = sorted(
        m for m in wanted if m not in french or not french[m].string or french[m].fuzzy or not all(french[m].string)
    )
    assert not missing, f"no French translation in {po.relative_to(ROOT)} (run tox -e i18n, then translate): {missing}"
    assert not check_po(po), "the French catalog is well formed and compiled"


@pytest.mark.no_database
def test_the_checker_names_the_file_and_message_of_a_broken_placeholder(tmp_path: Path) -> None:
    po = tmp_path / "fr" / "LC_MESSAGES" / "itsmcore.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Fixed: {title}"\nmsgstr "Réparé : {title"\n\n'
        'msgid "{service} is working again."\nmsgstr "{serviec} fonctionne à nouveau."\n\n'
        'msgid "Known problem"\nmsgstr ""\n',
        encoding="utf-8",
    )
    problems = check_po(po)
    text = "\n".join(problems)
    assert f"{po}:5: msgid 'Fixed: {{title}}': broken placeholder" in text
    assert (
        "msgid '{service} is working again.': the translation uses {serviec}, which the message does not give" in text
    )
    assert "the translation drops {service}" in text
    assert "msgid 'Known problem': no translation" in text
    assert "itsmcore.mo is missing" in text
    done = subprocess.run(
        [sys.executable, "-m", "itsmcore.catalogs", "check", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1 and "broken placeholder" in done.stderr and str(po) in done.stderr
    assert main(["frobnicate"]) == 2


@pytest.mark.no_database
def test_the_status_model_speaks_french() -> None:
    fr = translator("fr")
    d = Demand(
        id=7,
        kind=DemandKind.FAILURE,
        customer_id="camille",
        summary="CRM",
        channel="portal",
        state=DemandState.AWAITING_APPROVAL,
        stage=Stage.FULFIL,
        waiting_for="your manager",
        created_at=NOW,
        updated_at=NOW,
    )
    status = customer_status(d, now=NOW, waiting_since=NOW - timedelta(hours=2), tr=fr)
    assert status.sentence == "En attente de l'approbation de votre responsable, demandé il y a 2 heures."
    assert status.label == "En attente d'approbation"
    english = customer_status(d, now=NOW, waiting_since=NOW - timedelta(hours=2))
    assert english.sentence == "Waiting for your manager to approve, asked 2 hours ago."
    assert stage_label(Stage.CONFIRM, fr) == "Vérification que tout fonctionne"
    assert fr.date(NOW) == "lundi 7 décembre" and translator("en").date(NOW) == "Monday 7 December"
    assert fr.clock(NOW.replace(hour=15)) == "15:00" and translator("en").clock(NOW.replace(hour=15)) == "3 pm"
    assert fr.number(1234.5) == "1\u202f234,5"
    # a locale with no catalog of its own falls back through its language, then to English
    assert translator("fr_CH")("Known problem") == "Problème connu"
    assert translator("de")("Known problem") == "Known problem"


@pytest.mark.no_database
def test_a_broken_translation_never_costs_the_customer_the_message(caplog: pytest.LogCaptureFixture) -> None:
    from babel.support import Translations

    broken = Translations()
    broken._catalog = {"Fixed: {title}": "Réparé : {titre}"}  # as a stale catalog might say
    from itsmcore.i18n import Translator

    tr = Translator("fr", broken)
    with caplog.at_level(logging.WARNING, logger="itsmcore.i18n"):
        assert tr.render(later("Fixed: {title}", title="CRM")) == "Fixed: CRM"
    assert "cannot be filled" in caplog.text


def _with_language(config: Path, customer: str, language: str) -> None:
    customers = config.parent / "customers.toml"
    text = customers.read_text()
    customers.write_text(text.replace(f'id = "{customer}"\n', f'id = "{customer}"\nlanguage = "{language}"\n', 1))


def test_a_french_customer_reads_the_outage_its_fix_and_the_survey_in_french(eagle5: Callable[..., Path]) -> None:
    config = eagle5()
    _with_language(config, "tony", "fr")
    _with_language(config, "steve", "xx-klingon")  # unknown: the deployment's default, English
    with Desk.open(config, entry_points=False) as desk:
        ann = desk.open_announcement(
            "crm", "The CRM web app does not load", workaround="Use the CRM mobile app.", estimate="soon"
        )
        tony = desk.affects_me(ann.id, "tony")
        desk.affects_me(ann.id, "steve")
        desk.resolve_announcement(ann.id, "")
        desk.run_due_jobs()
        tonys = {m["purpose"]: m for m in reversed(desk.messages(customer="tony"))}
        assert tonys["announcement"]["subject"] == "Réparé : The CRM web app does not load"
        assert "fonctionne à nouveau" in tonys["announcement"]["body"]
        assert "Oui, cela fonctionne à nouveau : http" in tonys["announcement"]["body"]
        assert tonys["acknowledgement"]["body"].startswith(f"Merci, nous avons bien reçu votre signalement (n° {tony})")
        seen = [e.customer_sees for e in desk.journey(tony)]
        assert f"Nous avons votre signalement (n° {tony})." in seen, "his journey is told in French too"
        assert any(x.startswith("Nous sommes au courant : The CRM web app does not load.") for x in seen)
        steves = {m["purpose"]: m for m in reversed(desk.messages(customer="steve"))}
        assert steves["announcement"]["subject"] == "Fixed: The CRM web app does not load"
        assert "Yes, it works again: http" in steves["announcement"]["body"]
        token = next(
            line.split("/confirm/", 1)[1].split("?", 1)[0]
            for line in tonys["announcement"]["body"].splitlines()
            if "fixed=yes" in line
        )
        desk.confirm(token, True)
        desk.run_due_jobs()
        survey = [m for m in desk.messages(customer="tony", demand_id=tony) if m["purpose"] == "survey"]
        assert survey, "a survey follows the confirmation"
        assert survey[0]["subject"] == f"n° {tony} : comment avons-nous fait ?"
        assert "recommandiez le service informatique" in survey[0]["body"]
        assert "Dites-nous comment cela s'est passé : http" in survey[0]["body"]


def test_an_unknown_language_code_falls_back_quietly_and_is_logged_once(
    eagle5: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    config = eagle5()
    _with_language(config, "steve", "xx-klingon")
    with Desk.open(config, entry_points=False) as desk, caplog.at_level("WARNING"):
        first = desk.submit("failure", "steve", "VPN drops").demand
        second = desk.submit("failure", "steve", "VPN drops again").demand
        desk.run_due_jobs()
        for d in (first, second):  # English, the deployment's default, and no error on his side
            assert desk.customer_status(d).text.startswith("Someone from the service desk will look at it"), d
    told = [r for r in caplog.records if "xx-klingon" in r.getMessage()]
    assert len(told) == 1, [r.getMessage() for r in told]
    assert "unknown language" in told[0].getMessage()


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_french_customer_is_answered_about_a_planned_change_and_refused_an_expired_link_in_french(
    eagle5: Callable[..., Path],
) -> None:
    from itsmcore.links import ExpiredLink, InvalidLink

    config = eagle5()
    _with_language(config, "tony", "fr")
    clock = _Clock(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))  # a Friday
    start, end = datetime(2026, 12, 9, 18, 0, tzinfo=UTC), datetime(2026, 12, 9, 22, 0, tzinfo=UTC)
    with Desk.open(config, entry_points=False, clock=clock) as desk:
        change = desk.new_change("Quote system upgrade", start=start, end=end, services=["crm"], approvers=["scott"])
        desk.approve_change(change.id, "scott")
        french = desk.suggest_answer("tony", "Will the quote system upgrade be done by Thursday?")
        assert french is not None and french.text == (
            "Quote system upgrade : l'intervention est approuvée et prévue du mer. 9 déc. 18:00 UTC "
            "au mer. 9 déc. 22:00 UTC. Donc oui, elle doit être terminée d'ici jeudi."
        )
        asked_in_french = desk.suggest_answer("tony", "La mise à jour quote system upgrade sera finie mardi ?")
        assert asked_in_french is not None and asked_in_french.text.endswith("se terminer après mardi."), (
            "a weekday named in French is understood"
        )
        english = desk.suggest_answer("steve", "Will the quote system upgrade be done by Thursday?")
        assert english is not None and english.text.endswith("So yes, it is planned to be done by Thursday.")

        ann = desk.open_announcement("crm", "The CRM web app does not load")
        tonys = desk.affects_me(ann.id, "tony")
        steves = desk.affects_me(ann.id, "steve")
        assert desk.get(tonys).summary == "Problème rencontré : The CRM web app does not load"
        assert desk.get(steves).summary == "Affected by: The CRM web app does not load"

        desk.resolve_announcement(ann.id, "")
        desk.run_due_jobs()
        body = next(m["body"] for m in desk.messages(customer="tony") if m["purpose"] == "announcement")
        token = next(
            line.split("/confirm/", 1)[1].split("?", 1)[0] for line in body.splitlines() if "/confirm/" in line
        )
        clock.now += timedelta(days=365)
        with pytest.raises(ExpiredLink) as expired:
            desk.confirm(token, True)
        assert desk.link_reader(token) == "tony", "a genuine link past its expiry still says whose it is"
        assert desk.translator("tony")(str(expired.value)).startswith("Ce lien a expiré.")
        with pytest.raises(InvalidLink) as broken:
            desk.confirm(token[:-3] + "abc", True)
        assert desk.link_reader(token[:-3] + "abc") is None
        assert desk.translator("tony")(str(broken.value)).startswith("Ce lien n'est pas valide.")


def test_a_french_customer_is_told_in_french_why_a_service_is_not_for_them(eagle5: Callable[..., Path]) -> None:
    config = eagle5()
    _with_language(config, "susan", "fr")  # in IT: Expensatron is for Sales
    with Desk.open(config, entry_points=False) as desk:
        (hit,) = [e for e in desk.search("expenses", customer="susan") if e.service.key == "expensatron"]
        assert not hit.eligible
        assert hit.reason == "Expensatron expenses app est réservé à Sales."
        assert hit.next_step in (
            "Adressez-vous au service informatique si vous en avez besoin pour votre travail.",
            *(f"Demandez à votre responsable, {n}, d'en faire la demande pour vous." for n in ("Scott", "Patrick")),
        )
        (same,) = [e for e in desk.search("expenses", customer="patrick") if e.service.key == "expensatron"]
        assert same.reason == "Expensatron expenses app is available to Sales.", "English stays English"


def test_a_french_customer_hears_a_known_errors_workaround_in_french(eagle5: Callable[..., Path]) -> None:
    config = eagle5()
    _with_language(config, "tony", "fr")
    with Desk.open(config, entry_points=False) as desk:
        tony = desk.submit("failure", "tony", "Le rapport du CRM est vide", service="crm").demand
        problem = desk.open_problem("CRM report empty", services=["crm"], incidents=[tony.id])
        desk.known_error(problem.id, root_cause="A locked row.", workaround="Lancez le rapport d'hier.")
        desk.run_due_jobs()
        seen = [e.customer_sees for e in desk.journey(tony.id)]
        assert "Nous savons d'où vient le problème. En attendant : Lancez le rapport d'hier." in seen
        (message,) = [m for m in desk.messages(demand_id=tony.id) if "Nous savons" in m["body"]]
        assert message["subject"] == f"n° {tony.id} : CRM report empty"
        assert "Ce que vous pouvez faire en attendant : http" in message["body"]


def test_a_french_customer_follows_a_task_in_french(eagle5: Callable[..., Path]) -> None:
    config = eagle5()
    _with_language(config, "steve", "fr")
    with Desk.open(config, entry_points=False) as desk:
        phone = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "visites"}).demand
        desk.approve(phone.id, "scott")
        (task,) = desk.tasks(demand_id=phone.id)
        waiting = next(e.customer_sees for e in desk.journey(phone.id) if e.kind == "task")
        assert waiting.startswith("En attente"), waiting
        desk.task_milestone(task.id, "ordered")
        desk.run_due_jobs()
        seen = [e.customer_sees for e in desk.journey(phone.id) if e.kind == "milestone"]
        assert seen == ["Votre phone : étape « ordered » franchie."]
        subjects = [m["subject"] for m in desk.messages(demand_id=phone.id) if m["purpose"] == "progress"]
        assert f"n° {phone.id} : Votre phone : étape « ordered » franchie" in subjects, subjects
