"""Shared views of a dataset's validation report and headline numbers.

The Home page shows them for a stored dataset and the Data page also for files being imported, so
both draw the same `ValidationReport` (see `recdash.data.report`) the same way.
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from recdash.data.report import Finding, ValidationReport, printable
from recdash.errors import DataFileError


def plain(text: str) -> str:
    """Text with Markdown's special characters escaped ('$' would start a formula)."""
    return re.sub(r"([\\`*_$\[\]<>#|~])", r"\\\1", text)


def show_headline(stats: dict) -> None:
    """Four metrics: shoppers, products, events and the days the log covers.

    Args:
        stats: a report's `stats` (see `recdash.data.validation.summary_stats`).
    """
    shoppers, products, events, span = st.columns(4)
    sessions = stats.get("sequences") == "sessions"
    shoppers.metric("Sessions" if sessions else "Shoppers", f"{stats.get('users', 0):,}",
                    help="distinct user_id values" + (": each is one visit" if sessions else ""))
    products.metric("Products", f"{stats.get('catalog_items', 0):,}",
                    help=f"in the catalog; {stats.get('items_with_events', 0):,} have events")
    events.metric("Events", f"{stats.get('events', 0):,}",
                  help=f"{stats.get('view_events', 0):,} views, {stats.get('cart_events', 0):,} "
                       f"add-to-carts, {stats.get('purchase_events', 0):,} purchases")
    if "first_event" in stats:
        first, last = pd.Timestamp(stats["first_event"]), pd.Timestamp(stats["last_event"])
        dates = f"{first:%Y-%m-%d} to {last:%Y-%m-%d} (UTC)"
        days = (last.normalize() - first.normalize()).days + 1
        span.metric("Date range", f"{days:,} day" + ("" if days == 1 else "s"), help=dates)
        st.caption(f"Events from {dates}; a shopper has {stats.get('median_events_per_user', 0):g} "
                   "events at the median.")
    else:
        span.metric("Date range", "unknown", help="the interaction log has no timestamps")
    if stats.get("pseudonymised"):
        st.caption("Shopper IDs are pseudonymised: a keyed hash whose key stays in the "
                   "workspace, so no page, export or log shows a customer's own ID.")
    if "repeat_share" in stats:  # datasets imported before it was measured lack it
        from recdash.runs.defaults import protocol_defaults

        st.caption(f"How models are measured here by default: {protocol_defaults(stats).why}.")


def _examples(finding: Finding) -> None:
    if finding.examples:
        with st.expander(f"{len(finding.examples)} example rows"):
            st.dataframe(pd.DataFrame(list(finding.examples)), hide_index=True)


def _headline(finding: Finding) -> str:
    count = f" ({finding.count:,})" if finding.count else ""
    return f"**{plain(finding.code)}**{count}: {plain(finding.text('studio'))}"


def show_report(report: ValidationReport) -> None:
    """Errors in red and warnings in yellow, each with its example rows; then notes and columns.

    Args:
        report: what an import found.
    """
    errors, warnings, notes = report.errors, report.warnings, report.notes
    summary = f"{len(errors)} error(s), {len(warnings)} warning(s), {len(notes)} note(s)"
    if not errors and not warnings:
        st.success(f"Validation passed: {summary}.", icon=":material/check_circle:")
    for finding in errors:
        st.error(_headline(finding), icon=":material/error:")
        _examples(finding)
    for finding in warnings:
        st.warning(_headline(finding), icon=":material/warning:")
        _examples(finding)
    if notes:
        st.info("\n".join(f"- {plain(f.text('studio'))}" for f in notes), icon=":material/info:")
    if report.columns:
        with st.expander("How the columns were read"):
            for file, lines in report.columns.items():
                st.markdown(f"**{plain(file)}**\n" + "\n".join(f"- {plain(x)}" for x in lines))


def show_file_error(exc: DataFileError) -> None:
    """A file that cannot be read, in red: which file (and row), what is wrong, how to fix it.

    Args:
        exc: the reader's error.
    """
    where = exc.file + (f", row {exc.row}" if exc.row else "")
    text = [plain(printable(t)) for t in (where, exc.problem, exc.fix)]
    st.error(f"**{text[0]}**: {text[1]}. Fix: {text[2]}", icon=":material/error:")
