"""The analyst's first hour, in a real browser: `streamlit run app.py` and headless Chromium.

Upload the demo shop as CSV files (its user column renamed, so the mapping step must be
corrected by hand), import it, train a small attention model from the Train page, kill the
studio while the job trains and start it again (the job carries on and its run is usable), compare
on Evaluate, open a shopper, see the recommendations, edit the history and see them change, then
explain a recommendation on the Shopper page and another on the Explain page, and move the
diversity slider until the re-ranked list changes.
Each page is saved as a screenshot under test-artifacts/browser/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recdash.data.demo import generate_demo_shop
from tests.browser.harness import (
    Studio,
    chromium,
    go_to,
    open_page,
    pick,
    pick_dataset,
    table_column,
    wait_idle,
)

TRAIN_TIMEOUT_MS = 300_000
LAST_TABLE = """() => { const t = [...document.querySelectorAll('[data-testid="stTable"]')];
    return t.length ? t[t.length - 1].innerText : ''; }"""
REASONS = re.compile(r"(Because|Not because|No event)")  # the quick model takes about 30 s on one core; CI machines vary


def demo_csv_files(folder: Path) -> tuple[Path, Path]:
    """The demo shop (a small one) as an interaction log and a catalog in CSV files, with the
    user column called 'who', a name the importer does not guess."""
    events, catalog = generate_demo_shop(scale=0.4, seed=1)
    events.rename(columns={"user_id": "who"}).to_csv(folder / "events.csv", index=False)
    catalog.to_csv(folder / "products.csv", index=False)
    return folder / "events.csv", folder / "products.csv"


@pytest.mark.usefixtures("browser_ready")
def test_upload_train_restart_and_edit_a_shopper(tmp_path: Path, artifacts: Path) -> None:
    events, products = demo_csv_files(tmp_path)
    workspace, log = tmp_path / "ws", tmp_path / "streamlit.log"

    def shot(page, name: str) -> None:
        page.screenshot(path=str(artifacts / f"{name}.png"))

    studio = Studio(workspace, log).start()
    try:
        with chromium(1400, 2400, artifacts / "failure.png") as page:
            open_page(page, studio.url, "recdash")  # the first visit builds the demo shop
            shot(page, "01-home")

            go_to(page, "Data", "Data")
            uploads = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
            uploads.nth(0).set_input_files(str(events))
            wait_idle(page)
            uploads.nth(1).set_input_files(str(products))
            wait_idle(page)
            page.get_by_text("Check the columns").wait_for()
            pick(page, "user_id (required)", "who")  # not guessed from 'who': mapped by hand
            name = page.get_by_role("textbox", name="Dataset name")
            name.fill("shop")
            name.press("Enter")
            wait_idle(page)
            page.get_by_role("button", name="Validate and import").click()
            page.get_by_text("Imported 'shop'").first.wait_for(timeout=120_000)
            wait_idle(page)
            page.get_by_text("Validation passed").first.wait_for()
            assert page.get_by_text("1,000", exact=True).count() >= 1  # shoppers of the import
            shot(page, "02-data-imported")

            go_to(page, "Train", "Train a model")
            page.get_by_text("Dataset: shop").first.wait_for()
            # The quick demo model is the demo shop's; this shop trains a small model the same way.
            for label, value in (("Epochs", "5"), ("Max minutes", "3")):
                box = page.get_by_label(label, exact=True)
                box.fill(value)
                box.press("Enter")
                wait_idle(page)
            # One model in this story (baselines beside it are the Train page's app test's).
            page.get_by_text("Train baselines beside it", exact=True).click()
            wait_idle(page)
            page.get_by_role("button", name="Start").click()
            page.get_by_text("running", exact=True).first.wait_for(timeout=60_000)
            shot(page, "03-train-running")
        studio.kill()  # the studio dies while the job trains; the job must not

        studio = Studio(workspace, log).start()
        with chromium(1400, 2400, artifacts / "failure.png") as page:
            open_page(page, studio.url + "/train", "Train a model")
            pick_dataset(page, "shop")
            page.get_by_text("leave-one-out by time").first.wait_for(timeout=TRAIN_TIMEOUT_MS)
            wait_idle(page)
            assert table_column(page, "run") == ["attention #1"]
            assert float(table_column(page, "NDCG@10")[0]) > 0.05  # popularity gets ~0.03
            assert page.get_by_text("Jobs that did not finish").count() == 0
            shot(page, "04-train-finished-after-restart")

            go_to(page, "Evaluate", "Evaluate")
            page.get_by_text("leave-one-out by time").first.wait_for()
            shot(page, "05-evaluate")

            go_to(page, "Shopper", "Shopper")
            # The list is the page's static table; the history grid above has item IDs too.
            page.locator('[data-testid="stTable"]').first.wait_for(timeout=60_000)
            wait_idle(page)
            before = table_column(page, "item_id", static=True, filled=True)
            titles_of_list = table_column(page, "title", static=True, filled=True)
            assert len(before) == 10 and len(titles_of_list) == 10 and len(set(before)) == 10
            shot(page, "06-shopper")
            page.get_by_role("button", name="Start from an empty history (new visitor)").click()
            page.get_by_text("left the list").wait_for(timeout=60_000)
            wait_idle(page)
            after = table_column(page, "item_id")
            assert len(after) == 10 and after != before
            assert "new" in table_column(page, "change")
            shot(page, "07-shopper-edited")

            page.get_by_role("button", name="Reset edits").click()
            wait_idle(page)
            page.get_by_text("Explain a recommendation").click()  # the panel's toggle
            reason = page.locator('[data-testid="stAlertContentInfo"]').filter(
                has_text=REASONS).first
            reason.wait_for(timeout=120_000)
            wait_idle(page)
            assert page.get_by_text("model evaluations").count() >= 1
            shot(page, "08-shopper-explained")

            go_to(page, "Explain", "Explain recommendations")
            first = page.locator('[data-testid="stAlertContentInfo"]').filter(
                has_text=REASONS).first.inner_text()
            pick(page, "Recommendation to explain", "3. " + titles_of_list[2])
            page.get_by_text("What if they had not").first.wait_for()
            wait_idle(page)
            shot(page, "09-explain")
            assert first

            go_to(page, "Diversity", "Diversity")
            page.get_by_text("Relevance order").wait_for(timeout=120_000)
            wait_idle(page)
            before = table_column(page, "item_id")
            shown = page.evaluate(f"({LAST_TABLE})()")
            slider = page.locator('[data-testid="stSlider"]').filter(
                has=page.get_by_text("MMR strength")).get_by_role("slider")
            slider.focus()
            slider.press("End")  # strength 1: as diverse as MMR gets
            page.wait_for_function(f"(b) => ({LAST_TABLE})() !== b", arg=shown,
                                   timeout=60_000)
            wait_idle(page)
            after = table_column(page, "item_id")
            assert len(after) == 10 and after != before
            shot(page, "10-diversity")
    finally:
        studio.stop()
