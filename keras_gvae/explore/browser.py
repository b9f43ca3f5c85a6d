"""The explorer's page in a headless Chromium: move a slider, read the image, take a screenshot.

Drives the system's Chromium (Debian: ``apt-get install chromium chromium-driver``) with
Selenium and its matching ``chromedriver``; nothing is downloaded. Used by the browser test
(tests/test_explore.py) and to take the README's screenshot:

    python -m keras_gvae.explore.browser guided_shapes --out docs/explore_shapes.png
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import shutil
import time
from pathlib import Path

# Where Debian (and most distributions) put the browser and its driver.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DRIVERS = ("chromedriver",)
WINDOW = (1400, 1000)


class BrowserUnavailable(RuntimeError):
    """No headless Chromium can be driven here (the message says what is missing)."""


def find_chromium():
    """``(browser, chromedriver)`` paths; `BrowserUnavailable` naming what is missing."""
    try:
        import selenium  # noqa: F401
    except ImportError as err:
        raise BrowserUnavailable(
            "selenium is not installed; expected pip install selenium (the test extra)"
        ) from err
    browser = next((p for p in map(shutil.which, BROWSERS) if p), None)
    driver = next((p for p in map(shutil.which, DRIVERS) if p), None)
    if browser is None or driver is None:
        missing = " and ".join(
            name for name, found in (("chromium", browser), ("chromedriver", driver)) if not found
        )
        raise BrowserUnavailable(
            f"no {missing} on PATH; expected apt-get install chromium chromium-driver"
        )
    return browser, driver


def open_browser(window=WINDOW):
    """A headless Chromium driven by Selenium (close it with ``.quit()``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = find_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    options.page_load_strategy = "eager"
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        f"--window-size={window[0]},{window[1]}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def open_page(driver, url, timeout=60):
    """Loads the explorer at ``url`` and waits until its first slider and image are drawn."""
    driver.get(url)
    wait_for(driver, lambda: slider_input(driver, 0) and image_loaded(driver), timeout)


def slider_input(driver, unit):
    """The range input of unit ``unit``'s slider, or None before it is drawn."""
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, f"#z{unit} input[type=range]")
    return found[0] if found else None


def image_element(driver, name="main"):
    """The ``img`` of decoder ``name``'s image (or of the element with id ``name``)."""
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, f"#image-{name} img, #{name} img")
    return found[0] if found else None


def image_source(driver, name="main"):
    """The ``src`` of decoder ``name``'s image on the page (None before it is drawn)."""
    element = image_element(driver, name)
    return element.get_attribute("src") if element is not None else None


def image_loaded(driver, name="main"):
    """Whether decoder ``name``'s image has loaded its current ``src`` and is laid out."""
    element = image_element(driver, name)
    script = (
        "const image = arguments[0];"
        "return image.complete && image.naturalWidth > 0"
        " && image.getBoundingClientRect().width > 0;"
    )
    return element is not None and bool(driver.execute_script(script, element))


def image_pixels(driver, name="main"):
    """The image as the page shows it, as PNG bytes (a screenshot of the element)."""
    return base64.b64decode(image_element(driver, name).screenshot_as_base64)


def set_slider(driver, unit, value):
    """Sets unit ``unit``'s slider to ``value`` with the arrow keys (from its current value)."""
    from keras_gvae.explore.app import SLIDER_STEP

    slider = slider_input(driver, unit)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", slider)
    slider.send_keys("")  # focus without a click, which would move it
    now = float(slider.get_attribute("value"))
    steps = round((value - now) / SLIDER_STEP)
    if steps:
        from selenium.webdriver.common.keys import Keys

        key = Keys.ARROW_RIGHT if steps > 0 else Keys.ARROW_LEFT
        slider.send_keys(key * abs(steps))
    return float(slider.get_attribute("value"))


def wait_for_new_image(driver, before, name="main", timeout=30):
    """Waits until decoder ``name``'s image ``src`` differs from ``before``; returns it."""
    wait_for(driver, lambda: image_source(driver, name) not in (None, before), timeout)
    return image_source(driver, name)


def wait_for(driver, condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise TimeoutError(f"the page at {driver.current_url} did not update within {timeout} s")


@dataclasses.dataclass
class SliderMove:
    """What the page showed before and after a slider was moved."""

    value: float  # the slider's value after the move
    source_before: str  # the main image's src
    source_after: str
    pixels_before: bytes  # the main image as drawn on the page (PNG)
    pixels_after: bytes


def move_slider_and_capture(url, unit=0, value=1.5, screenshot=None, walk=False, window=WINDOW):
    """Opens the explorer at ``url`` in a headless Chromium, moves unit ``unit``'s slider
    to ``value`` with the arrow keys, waits for the new main image and returns a
    :class:`SliderMove`; with ``walk``, then also draws the walk of the first unit; with
    ``screenshot``, saves the page (the window's view) as a PNG there."""
    driver = open_browser(window)
    try:
        open_page(driver, url)
        before = image_source(driver)
        pixels_before = image_pixels(driver)
        moved = set_slider(driver, unit, value)
        after = wait_for_new_image(driver, before)
        wait_for(driver, lambda: image_loaded(driver), 10)
        if walk:
            from selenium.webdriver.common.by import By

            driver.find_element(By.ID, "walk").click()
            wait_for(driver, lambda: image_loaded(driver, "walk-image"), 30)
        if screenshot is not None:
            Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(screenshot))
        return SliderMove(moved, before, after, pixels_before, image_pixels(driver))
    finally:
        driver.quit()


def main(argv=None):
    """Serves a model's explorer on a free 127.0.0.1 port and screenshots it."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("model", help="a pretrained name, run directory or .keras file")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--unit", type=int, default=0, help="the slider to move")
    parser.add_argument("--value", type=float, default=1.5, help="where to move it")
    parser.add_argument("--height", type=int, default=1200, help="the window's height")
    args = parser.parse_args(argv)

    from keras_gvae.explore import ui
    from keras_gvae.pretrained import resolve_model

    page, _ = ui.page_for(resolve_model(args.model))
    url = ui.launch(page, port=ui.free_port())
    try:
        move_slider_and_capture(
            url,
            unit=args.unit,
            value=args.value,
            screenshot=args.out,
            walk=True,
            window=(WINDOW[0], args.height),
        )
    finally:
        page.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
