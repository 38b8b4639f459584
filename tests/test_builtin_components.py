"""The builtin components pass the conformance kit, and the file directory refuses bad data."""

from __future__ import annotations

from pathlib import Path

import pytest

from itsmcore import ConfigError, Customer
from itsmcore.builtin.channels import LogChannel, LogChannelSettings, log_channel_component
from itsmcore.builtin.directory import FileDirectory, FileDirectorySettings, hash_password, verify_password
from itsmcore.builtin.surveys import Ces, CesSettings, Csat, CsatSettings, Nps, NpsSettings, survey_components
from itsmcore.testing import (
    DEFAULT_PASSWORD,
    ChannelContract,
    DirectoryContract,
    SurveyMethodContract,
    check_component_record,
    context_for,
    sample_customer,
    write_customers,
)


class TestLogChannel(ChannelContract):
    @pytest.fixture
    def channel(self, tmp_path: Path) -> LogChannel:
        return LogChannel(LogChannelSettings(path="outbox.txt"), context_for(tmp_path))

    def test_appends_to_its_file(self, channel: LogChannel, customer: Customer, tmp_path: Path) -> None:
        channel.send(self._message(customer, body="hello there"))
        assert "hello there" in (tmp_path / "outbox.txt").read_text()


class TestFileDirectory(DirectoryContract):
    @pytest.fixture
    def directory(self, tmp_path: Path) -> FileDirectory:
        write_customers(tmp_path / "customers.toml")
        return FileDirectory(FileDirectorySettings(path="customers.toml"), context_for(tmp_path))

    @pytest.fixture
    def known_login(self) -> str:
        return "steve"

    @pytest.fixture
    def known_password(self) -> str:
        return DEFAULT_PASSWORD

    def test_login_by_email_too(self, directory: FileDirectory) -> None:
        c = directory.authenticate("Steve@Eagle5.example", DEFAULT_PASSWORD)
        assert c is not None and c.id == "steve"

    def test_devices(self, directory: FileDirectory) -> None:
        (phone,) = directory.configuration_items("steve")
        assert phone.attributes == {"number": "+447700900123", "os": "iOS"}


@pytest.mark.parametrize("cls", [(Nps, NpsSettings), (Csat, CsatSettings), (Ces, CesSettings)])
class TestSurveys(SurveyMethodContract):
    @pytest.fixture
    def method(self, cls: tuple[type, type]) -> object:
        return cls[0](cls[1]())


def test_records_pass_the_record_checks() -> None:
    for record in [log_channel_component(), *survey_components()]:
        check_component_record(record)


def test_nps_and_friends_score_as_documented() -> None:
    nps = Nps(NpsSettings())
    s = nps.summarise({10: 5, 9: 1, 8: 2, 3: 2})  # 6 promoters, 2 detractors of 10
    assert s.value == pytest.approx(40.0) and s.n == 10
    assert Csat(CsatSettings()).summarise({5: 3, 4: 1, 2: 4}).value == pytest.approx(50.0)
    assert Ces(CesSettings()).summarise({7: 2, 5: 2}).value == pytest.approx(6.0)
    assert [nps.category(x) for x in (0, 6, 7, 8, 9, 10)] == ["detractor"] * 2 + ["passive"] * 2 + ["promoter"] * 2


def test_password_hashes() -> None:
    stored = hash_password("s3cret")
    assert stored.startswith("scrypt$") and "s3cret" not in stored
    assert verify_password("s3cret", stored) and not verify_password("S3cret", stored)
    assert hash_password("s3cret") != stored, "every hash has its own salt"
    assert not verify_password("s3cret", "s3cret") and not verify_password("", stored)


def _directory(tmp_path: Path, text: str, name: str = "customers.toml") -> FileDirectory:
    (tmp_path / name).write_text(text)
    return FileDirectory(FileDirectorySettings(path=name), context_for(tmp_path))


def test_plaintext_passwords_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _directory(tmp_path, '[[customers]]\nid = "a"\nname = "A"\npassword = "hunter2"\n')
    (p,) = info.value.problems
    assert p.path == "customers[0].password" and "scrypt" in p.message and "hash-password" in p.hint
    assert "hunter2" not in str(info.value)


def test_bad_entries_name_the_file_and_the_entry(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _directory(
            tmp_path,
            '[[customers]]\nid = "a"\nname = "A"\nemial = "a@x"\n\n[[customers]]\nid = "c"\nname = "C"\n\n'
            '[[customers]]\nid = "c"\nname = "Again"\n\n'
            '[[customers]]\nid = "b"\n\n[[devices]]\nid = "d"\nname = "D"\nowner = "zz"\n',
        )
    text = str(info.value)
    assert "customers.toml: customers[0].emial: unknown key; did you mean 'email'" in text
    assert "customers[2].id: duplicate customer id 'c'" in text
    assert "customers[3].name: missing required setting" in text
    assert "devices[0].owner: unknown customer 'zz'" in text


def test_csv_directory(tmp_path: Path) -> None:
    d = _directory(
        tmp_path,
        "id,name,email,role,groups,preferred_channels\nsteve,Steve Jones,steve@x.example,sales,sales;crm-users,email;sms\n",
        "people.csv",
    )
    c = d.get_customer("steve")
    assert c is not None and c.groups == ("sales", "crm-users") and c.preferred_channels == ("email", "sms")


def test_malformed_csv_and_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"people.csv: customers\[0\].colour: unknown key"):
        _directory(tmp_path, "id,name,colour\na,A,red\n", "people.csv")
    with pytest.raises(ConfigError, match="invalid TOML"):
        _directory(tmp_path, "[[customers]\n", "bad.toml")


def test_sample_customer_helper() -> None:
    assert sample_customer(role="x").role == "x"
