"""The console driven by the keyboard alone: Tab (or Shift+Tab) on to a control, every stop
with a focus the eye can see, then a key to act on it. Nothing here clicks."""

from __future__ import annotations

from playwright.async_api import Locator, Page, expect

from tests.conftest import PASSWORD

# Why the focused element does not show its focus, or "" if it does: focus left on <body>, or
# no focus ring (the console's is an outline; a box-shadow may be there without focus, as on an
# invalid field, so it does not count), or the element not on the screen.
_FOCUS_PROBLEM = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return "focus is on <body>";
  const what = e.outerHTML.slice(0, 120);
  const s = getComputedStyle(e);
  if (s.outlineStyle === "none" || parseFloat(s.outlineWidth) < 2)
    return "no focus ring on " + what;
  const box = e.getBoundingClientRect();
  if (box.width === 0 || box.height === 0) return "the focused element is not shown: " + what;
  return "";
}"""
ON_BODY = "focus is on <body>"

TABS = 80
"""Presses of Tab at most to reach a control: more is a page a keyboard user gives up on."""


async def focus_problem(page: Page) -> str:
    return str(await page.evaluate(_FOCUS_PROBLEM))


async def focused_on(page: Page, target: Locator) -> bool:
    return bool(await target.evaluate("e => e === document.activeElement"))


async def tab_to(page: Page, target: Locator, *, back: bool = False) -> None:
    """Presses Tab (Shift+Tab with ``back``) until ``target`` has the focus; fails at a stop
    whose focus cannot be seen, or if the target is never reached."""
    await expect(target).to_be_visible()
    key = "Shift+Tab" if back else "Tab"
    wrapped = False
    for _ in range(TABS):
        await page.keyboard.press(key)
        problem = await focus_problem(page)
        if problem == ON_BODY and not wrapped:
            wrapped = True  # past the page's last control; the next Tab starts again at the top
            continue
        assert not problem, problem
        if await focused_on(page, target):
            return
    raise AssertionError(f"{key} pressed {TABS} times never reached {target}")


async def press_on(page: Page, target: Locator, key: str = "Enter") -> None:
    """Tab on to ``target`` and press ``key`` on it."""
    await tab_to(page, target)
    await page.keyboard.press(key)


async def type_into(page: Page, target: Locator, text: str) -> None:
    """Tab on to a text field and replace what it holds with ``text``."""
    await tab_to(page, target)
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await page.keyboard.type(text)
    await expect(target).to_have_value(text)


async def choose(page: Page, select: Locator, text: str) -> None:
    """Tab on to a <select> and move its choice with the arrow keys to the option ``text``."""
    await tab_to(page, select)
    texts = await select.evaluate("s => [...s.options].map(o => o.text.trim())")
    now = await select.evaluate("s => s.selectedIndex")
    steps = texts.index(text) - now
    for _ in range(abs(steps)):
        await page.keyboard.press("ArrowDown" if steps > 0 else "ArrowUp")
    assert await select.evaluate("s => s.options[s.selectedIndex].text.trim()") == text


async def assert_focus_kept(page: Page) -> None:
    """After a partial update (htmx swapped what had the focus): the focus is in the page, on
    the new control or the part that came back, not lost to <body>, so the next Tab goes on
    from there."""
    where = await page.evaluate(
        "() => document.activeElement && document.activeElement !== document.body"
        " && document.activeElement.isConnected ? document.activeElement.outerHTML : ''"
    )
    assert where, "focus lost to <body>"


async def sign_in_by_keys(page: Page, url: str, login: str) -> None:
    """The sign-in page focuses its login field; type it, Tab, the password, Enter."""
    await page.goto(url + "/console/")
    await expect(page.get_by_label("Login")).to_be_focused()
    await page.keyboard.type(login)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
