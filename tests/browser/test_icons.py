"""The Opt-In icons in a real Chromium, Debian's, which has no emoji font: they are the app's
own SVG drawings, they load, and an opted-out one looks it. Read from the page's computed
styles and pixels of the drawings, not from screenshots."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# How many of a drawing's pixels are clearly coloured (not grey), drawn into a canvas.
COLOURED_PIXELS = """img => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 48;
  const context = canvas.getContext("2d");
  context.drawImage(img, 0, 0, 48, 48);
  const data = context.getImageData(0, 0, 48, 48).data;
  let coloured = 0;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b, a] = data.slice(i, i + 4);
    if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
  }
  return coloured;
}"""
LOOK = "e => [getComputedStyle(e).filter, getComputedStyle(e).opacity]"


def icon(page, name: str):
    return page.get_by_role("img", name=name, exact=True).first


@pytest.mark.parametrize("path", ["/contacts/?sms=hard", "/contacts/?calls=hard"])
def test_every_icon_is_a_drawing_that_loads(login, app_url, path):
    page = login("admin")  # icons that open menus
    page.goto(f"{app_url}{path}")
    images = page.locator(".opt-in-icon img.glyph")
    expect(images.first).to_be_visible()
    loaded = images.evaluate_all(
        "images => images.map(i => [i.complete, i.naturalWidth, new URL(i.src).pathname])"
    )
    assert len(loaded) == 2 * page.locator("td.opt-in-cell").count() > 0
    for complete, width, src in loaded:
        assert complete and width > 0, f"{src} did not load"
        assert src in ("/static/icons/sms.svg", "/static/icons/calls.svg")
    assert "📩" not in page.content() and "📞" not in page.content()


def test_a_subscribed_icon_is_in_colour_and_an_opted_out_one_greyed(login, app_url):
    page = login("staff")
    page.goto(f"{app_url}/contacts/?q=Contact+B")
    subscribed = icon(page, "SMS: subscribed").locator("img")
    assert subscribed.evaluate(COLOURED_PIXELS) > 20  # a drawing in colour, to be greyed
    assert subscribed.evaluate(LOOK) == ["none", "1"]
    page.goto(f"{app_url}/contacts/?q=Contact+A")
    soft = icon(page, "SMS: opted out (soft)").locator("img")
    assert soft.evaluate("i => i.naturalWidth") > 0
    assert soft.evaluate(LOOK) == ["grayscale(1)", "0.4"]


def test_a_hard_icon_is_greyed_in_a_red_ring_with_a_cross(login, app_url):
    page = login("staff")
    page.goto(f"{app_url}/contacts/?calls=hard")
    hard = icon(page, "Calls & Voicemails: opted out (hard)")
    assert hard.locator("img").evaluate(LOOK) == ["grayscale(1)", "0.4"]
    ring = hard.evaluate(
        "e => [getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineColor,"
        " getComputedStyle(e).borderRadius, getComputedStyle(e, '::after').content]"
    )
    assert ring == ["solid", "rgb(186, 33, 33)", "50%", '"✕"']
    box = hard.bounding_box()
    assert 16 <= box["width"] <= 24 and 16 <= box["height"] <= 24  # the ring hugs the icon


def test_the_contact_page_draws_the_same_icons(login, app_url):
    page = login("staff")
    page.goto(f"{app_url}/contacts/?q=Contact+A")
    page.get_by_role("link", name="Contact A", exact=True).first.click()
    # Until the contact's page has loaded, images and all: a click waits for neither.
    page.wait_for_url(re.compile(r"/contacts/\d+/$"), wait_until="load")
    images = page.locator(".card .opt-in-icon img.glyph")
    expect(images).to_have_count(2)
    widths = images.evaluate_all("images => images.map(i => i.complete && i.naturalWidth)")
    assert all(width > 0 for width in widths)
    soft = icon(page, "SMS: opted out (soft)").locator("img")
    assert soft.evaluate(LOOK) == ["grayscale(1)", "0.4"]
