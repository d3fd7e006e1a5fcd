"""The studio's password gate: a sign-in form in front of every page where one is set.

The password is set as a hash (`recdash.passwords`) under `[studio]` in `.streamlit/secrets.toml`
(`password_hash = "scrypt$..."`, the line `python -m recdash.passwords` prints). Without it the
gate is off, as on a local machine. A secrets file that exists but cannot be read keeps the
studio locked, saying why, rather than opening it: a typo must not turn the password off.
"""

from __future__ import annotations

import time

import streamlit as st

from recdash.errors import RecdashError
from recdash.passwords import check_password

SECTION, SETTING = "studio", "password_hash"
SIGNED_IN = "signed_in_hash"  # session state: the hash this session signed in against
PASSWORD = "sign_in_password"  # the sign-in form's password box
MISS_DELAY_S = 0.5  # a wrong password waits this long: guessing stays slow


def password_hash() -> str | None:
    """The configured password hash, or None when the gate is off (no secrets file, no
    `[studio] password_hash`).

    Raises:
        RecdashError: a secrets file that cannot be parsed, or a setting that is not text.
    """
    try:
        section = st.secrets.get(SECTION)
    except FileNotFoundError as exc:  # Streamlit's StreamlitSecretNotFoundError
        if getattr(exc, "error_id", None) == "no-secrets-found" \
                or str(exc).startswith("No secrets found"):
            return None
        raise RecdashError(f"{exc}. Fix the file (TOML) and reload; the studio stays locked "
                           "until then") from None
    if section is None:
        return None
    value = section.get(SETTING) if hasattr(section, "get") else None
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecdashError(f"`{SETTING}` under `[{SECTION}]` in `.streamlit/secrets.toml` must "
                           "be a quoted string; paste the line `python -m recdash.passwords` "
                           "prints")
    return value


def require_password() -> None:
    """Stop the run at a sign-in form unless the gate is off or this session has signed in.

    Call it right after `state.init_state()`, before anything else is drawn; when signed in it
    adds a "Sign out" button to the sidebar.
    """
    try:
        stored = password_hash()
    except RecdashError as exc:
        st.title("recdash")
        st.error(str(exc), icon=":material/lock:")
        st.stop()
    if stored is None:
        return
    # Signed in against this hash: a new password in secrets.toml signs every session out.
    if st.session_state.get(SIGNED_IN) == stored:
        st.sidebar.button("Sign out", icon=":material/logout:", on_click=_sign_out)
        return
    st.title("recdash")
    with st.form("sign_in", clear_on_submit=True):
        password = st.text_input("Password", type="password", key=PASSWORD)
        submitted = st.form_submit_button("Sign in")
    if submitted:
        try:
            right = check_password(password or "", stored)
        except RecdashError as exc:
            st.error(str(exc), icon=":material/error:")
            st.stop()
        if right:
            st.session_state[SIGNED_IN] = stored
            st.rerun()
        time.sleep(MISS_DELAY_S)
        st.error("Wrong password", icon=":material/error:")
    st.stop()


def _sign_out() -> None:
    st.session_state.pop(SIGNED_IN, None)
