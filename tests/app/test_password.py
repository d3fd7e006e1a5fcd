"""The studio's password: the scrypt hash and its check, `python -m recdash.passwords`, and the
sign-in gate in front of every page (AppTest, with the hash set as `at.secrets`)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from streamlit.proto.TextInput_pb2 import TextInput as TextInputProto
from streamlit.testing.v1 import AppTest

from recdash.errors import RecdashError
from recdash.passwords import check_password, hash_password
from tests.app_helpers import REPO, labelled, start_app

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_password(PASSWORD)


# The hash ---------------------------------------------------------------------------------------
def test_the_right_password_passes_and_a_wrong_one_fails(stored: str) -> None:
    assert stored.startswith("scrypt$16384$8$1$")
    assert check_password(PASSWORD, stored)
    assert not check_password(PASSWORD + " ", stored)
    assert not check_password("", stored)


def test_two_hashes_of_one_password_differ_by_their_salt(stored: str) -> None:
    again = hash_password(PASSWORD)
    assert again != stored
    assert again.split("$")[4] != stored.split("$")[4]  # the salt
    assert check_password(PASSWORD, again)


B64 = "AAAAAAAAAAAAAAAAAAAAAA=="  # 16 bytes


@pytest.mark.parametrize("bad", ["", "hunter2", "bcrypt$16384$8$1$AAAA$AAAA",
                                 f"scrypt$16384$8$1$not base64!${B64}",
                                 f"scrypt$1000$8$1${B64}${B64}",  # n not a power of two
                                 f"scrypt$16384$8$1${B64}"])
def test_a_malformed_stored_value_names_the_setting_and_the_fix(bad: str) -> None:
    with pytest.raises(RecdashError) as err:
        check_password(PASSWORD, bad)
    assert "password_hash" in str(err.value) and ".streamlit/secrets.toml" in str(err.value)
    assert "python -m recdash.passwords" in str(err.value)


def test_the_command_prints_the_line_to_paste() -> None:
    out = subprocess.run([sys.executable, "-m", "recdash.passwords"], input=PASSWORD + "\n",
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    line = tomllib.loads(out.stdout)
    assert check_password(PASSWORD, line["password_hash"])
    assert "[studio]" in out.stderr


# The gate ---------------------------------------------------------------------------------------
def signed_out(at: AppTest) -> bool:
    """Only the sign-in form is drawn: no page title, no dataset picker, no page menu."""
    return ([t.value for t in at.title] == ["recdash"] and not at.sidebar.selectbox
            and not at.selectbox and not at.dataframe)


def test_without_secrets_the_studio_opens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    at = start_app(tmp_path, monkeypatch)
    assert not at.exception
    assert at.title[0].value == "Welcome to recdash"
    assert not [t for t in at.text_input if t.label == "Password"]
    assert not [b for b in at.button if b.label == "Sign out"]


def test_with_a_password_nothing_but_the_form_shows_until_sign_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stored: str) -> None:
    at = start_app(tmp_path, monkeypatch, secrets={"studio": {"password_hash": stored}})
    assert not at.exception and signed_out(at)
    assert labelled(at.text_input, "Password").proto.type == TextInputProto.PASSWORD
    assert not (tmp_path / "datasets").exists()  # nothing ran past the gate: no demo shop yet

    labelled(at.text_input, "Password").input("wrong")
    labelled(at.button, "Sign in").click().run()
    assert not at.exception and signed_out(at)
    assert [e.value for e in at.error] == ["Wrong password"]

    labelled(at.text_input, "Password").input(PASSWORD)
    labelled(at.button, "Sign in").click().run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Welcome to recdash"
    assert labelled(at.sidebar.selectbox, "Dataset").value == "demo"

    labelled(at.button, "Sign out").click().run()
    assert signed_out(at)


def test_a_page_opened_directly_still_asks_for_the_password(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stored: str) -> None:
    at = start_app(tmp_path, monkeypatch, page="pages/serve.py",
                   secrets={"studio": {"password_hash": stored}})
    assert not at.exception and signed_out(at)
    assert not at.code  # no curl commands, no keys


def test_a_setting_that_is_not_text_keeps_the_studio_locked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start_app(tmp_path, monkeypatch, secrets={"studio": {"password_hash": 12345}})
    assert not at.exception and [t.value for t in at.title] == ["recdash"]
    assert "password_hash" in at.error[0].value and not at.text_input
