"""An admin on a phone (390 x 844, Debian's Chromium, through nginx as `make run` starts it)
creates an organisation, is shown an error beside the field with what they typed kept, then
creates a CoP and adds the organisation to it; a resident asks to join from the public page."""

import uuid

import pytest
from playwright.async_api import Browser

from tests import test_accounts_in_browser, test_pages_in_browser
from tests.support.browser import fits, on_a_phone, sign_in

pytestmark = pytest.mark.e2e

browser = test_pages_in_browser.browser  # the Chromium fixture
platform = test_accounts_in_browser.platform  # the platform and an admin's e-mail address


async def test_an_admin_creates_an_organisation_and_a_cop_on_a_phone(
    browser: Browser, platform: tuple[str, str]
) -> None:
    site, email = platform
    context = await on_a_phone(browser)
    page = await context.new_page()
    await sign_in(page, site, email, test_accounts_in_browser.PASSWORD)

    await page.get_by_role("link", name="Organisations").click()
    await page.get_by_role("link", name="New organisation").click()
    await page.get_by_label("Kind").select_option("union")
    await page.get_by_label("Name").fill("   ")
    await page.get_by_role("button", name="Save").click()
    assert await page.locator("#name-error").is_visible()
    assert await page.get_by_label("Kind").input_value() == "union"  # kept as chosen
    assert await fits(page)
    name = f"Machinists local {uuid.uuid4().hex[:6]}"
    await page.get_by_label("Name").fill(name)
    await page.keyboard.press("Enter")  # by keyboard
    await page.wait_for_url(f"{site}/console/organisations?saved=1")
    assert await page.get_by_text(name).is_visible()

    await page.goto(f"{site}/console/cops")
    await page.get_by_role("link", name="New CoP").click()
    await page.get_by_label("Topic").fill("Workforce Development")
    await page.get_by_label("Description").fill("Apprenticeships\nand training")
    await page.get_by_role("button", name="Save").click()
    await page.wait_for_url(f"{site}/console/cops/*")
    cop_url = page.url
    await page.get_by_label("or an organisation").select_option(label=name)
    await page.get_by_role("button", name="Add", exact=True).click()
    await page.wait_for_url("**?added=1#members")
    assert await page.get_by_role("status").inner_text() == "Member added."
    assert await page.locator("#members + form + ul").get_by_text(name).is_visible()
    assert await fits(page)

    resident = await on_a_phone(browser)
    public = await resident.new_page()
    await public.goto(f"{site}/cops/?lang=es")
    await public.get_by_role("link", name="Workforce Development").click()
    await public.get_by_label("Su nombre").fill("Luz")
    await public.get_by_label("Correo electrónico").fill("luz@example.org")
    await public.get_by_role("button", name="Pedir unirse").click()
    assert "Gracias" in await public.get_by_role("status").inner_text()
    await resident.close()

    await page.goto(cop_url)
    assert await page.get_by_text("luz@example.org").is_visible()
    await context.close()
