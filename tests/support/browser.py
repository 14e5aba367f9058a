"""What the browser tests share: a phone's viewport, and an organizer signing in on one."""

from playwright.async_api import Browser, BrowserContext, Page

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


async def on_a_phone(browser: Browser) -> BrowserContext:
    return await browser.new_context(**PHONE)  # type: ignore[arg-type]


async def sign_in(page: Page, site: str, email: str, password: str) -> None:
    """Through the sign-in page, ending on the console."""
    await page.goto(f"{site}/login")
    await page.get_by_label("E-mail address").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{site}/console/")


async def fits(page: Page) -> bool:
    """Nothing wider than the screen: the page never scrolls sideways."""
    return bool(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
