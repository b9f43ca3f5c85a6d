"""`gvae explore`: time from a slider's change to the new images, for every shipped model.

    python benchmarks/explore_latency.py                 # every pretrained model
    python benchmarks/explore_latency.py --no-browser    # without the Chromium column
    python benchmarks/explore_latency.py --models guided_shapes --moves 20

For each model of `keras_gvae.pretrained.list_pretrained()` (saved_models/, found by name),
starting from the code of held-out image 0 (a prior draw when the dataset is absent), and
moving unit 0 by one slider step per change, it measures on this machine's CPU:

- eager: ``model.decode`` (and ``sub_decode``) called eagerly on one code, what a naive
  callback would do;
- callback: the page's slider callback (`keras_gvae.explore.app.slider_update`: the
  ``tf.function`` renderer and the uint8 display images, and the heads' table);
- server: one slider change through the running Gradio server over HTTP, as the page makes
  it: one POST to the (unqueued) endpoint, then the new images fetched;
- browser: in headless Chromium (Debian's, driven by Selenium), from the slider's ``input``
  event (an arrow key) to the ``load`` event of the last new image, timed in the page with
  ``performance.now()``.

Medians and 90th percentiles of ``--moves`` changes after 3 warm-up changes. The target is
100 ms or less from a slider's change to the new images (the browser column's median). The load
average is recorded before and after: the 2 cores are shared with other jobs.

Writes benchmarks/results/explore_latency.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import uuid
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import keras_gvae  # noqa: E402, F401  (registers the models)
from keras_gvae.explore import app, inputs, ui  # noqa: E402
from keras_gvae.io import write_text  # noqa: E402
from keras_gvae.pretrained import list_pretrained, load_pretrained, pretrained_path  # noqa: E402

HERE = Path(__file__).resolve().parent
TARGET_MS = 100.0
WARMUP = 3


def summary(times_ms):
    ordered = sorted(times_ms)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return statistics.median(ordered), p90


def moving_codes(code, moves):
    """``moves`` codes, unit 0 one slider step further each time (back and forth)."""
    codes = []
    for k in range(moves):
        moved = list(code)
        moved[0] = round(moved[0] + app.SLIDER_STEP * (1 + k % 20), 2)
        codes.append(moved)
    return codes


def time_calls(fn, codes):
    for code in codes[:WARMUP]:
        fn(code)
    times = []
    for code in codes[WARMUP:]:
        start = time.perf_counter()
        fn(code)
        times.append(1000.0 * (time.perf_counter() - start))
    return times


def time_server(url, codes):
    """One slider change as the page makes it (the event is not queued): one POST to the
    endpoint, then the new images fetched."""
    import httpx

    api = url.rstrip("/") + "/gradio_api"
    config = httpx.get(url.rstrip("/") + "/config", timeout=30).json()
    fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "update")
    times = []
    with httpx.Client(timeout=60) as client:
        for k, code in enumerate(codes):
            start = time.perf_counter()
            answer = client.post(
                f"{api}/run/{ui.UPDATE_API}",
                json={"data": code, "fn_index": fn_index, "session_hash": uuid.uuid4().hex},
            )
            answer.raise_for_status()
            for item in answer.json()["data"]:
                if isinstance(item, dict) and item.get("url"):
                    client.get(item["url"]).raise_for_status()
            if k >= WARMUP:
                times.append(1000.0 * (time.perf_counter() - start))
    return times


# Records, in the page, the time from the slider's input event to the load of the last
# decoder image that changes (every image of the frame).
PAGE_TIMER = """
const slider = document.querySelector('#z0 input[type=range]');
window.__latencies = [];
window.__pending = null;
const names = arguments[0];
slider.addEventListener('input', () => {
  window.__pending = {start: performance.now(), loaded: new Set()};
});
document.addEventListener('load', (event) => {
  const pending = window.__pending;
  if (!pending || event.target.tagName !== 'IMG') return;
  for (const name of names) {
    if (event.target.closest('#image-' + name)) pending.loaded.add(name);
  }
  if (pending.loaded.size === names.length) {
    window.__latencies.push(performance.now() - pending.start);
    window.__pending = null;
  }
}, true);
"""


def time_browser(url, names, moves):
    from selenium.webdriver.common.keys import Keys

    from keras_gvae.explore import browser

    driver = browser.open_browser()
    try:
        browser.open_page(driver, url)
        driver.execute_script(PAGE_TIMER, names)
        slider = browser.slider_input(driver, 0)
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", slider)
        slider.send_keys("")
        for k in range(moves + WARMUP):
            key = Keys.ARROW_RIGHT if (k // 10) % 2 == 0 else Keys.ARROW_LEFT
            slider.send_keys(key)
            browser.wait_for(
                driver, lambda k=k: driver.execute_script("return __latencies.length") > k, 30
            )
            time.sleep(0.1)  # a hand moving a slider
        return driver.execute_script("return __latencies")[WARMUP:]
    finally:
        driver.quit()


def measure(name, moves, use_browser):
    path = pretrained_path(name)
    model = load_pretrained(name)
    config = inputs.run_config(path)
    try:
        image = inputs.held_out_images(model, config, run_dir=path, count=1)[0]
        code, start = app.encode_image(model, image), "held-out image 0"
    except inputs.HeldOutError:
        code, start = app.prior_code(model, 0), "prior draw (seed 0)"
    code = app.slider_code(code)
    codes = moving_codes(code, moves + WARMUP)
    row = {"model": name, "class": type(model).__name__, "units": model.latent_dim}
    row["start"] = start
    row["decoders"] = ", ".join(model.decoders())

    def eager(c):
        z = np.float32([c])
        return [render(z).numpy() for render in model.decoders().values()]

    render = app.make_renderer(model)
    row["eager"] = summary(time_calls(eager, codes))
    row["callback"] = summary(time_calls(lambda c: app.slider_update(model, render, c), codes))
    page = ui.build_app(model, title=name)
    url = ui.launch(page, port=ui.free_port())
    try:
        row["server"] = summary(time_server(url, codes))
        if use_browser:
            row["browser"] = summary(time_browser(url, list(model.decoders()), moves))
    finally:
        page.close()
    return row


def load_average():
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def table(rows, use_browser):
    columns = ["eager", "callback", "server"] + (["browser"] if use_browser else [])
    head = "| model | class | units | decoders | " + " | ".join(
        f"{c} ms (median / p90)" for c in columns
    )
    lines = [
        head + " | <= 100 ms |",
        "|---|---|---:|---|" + "---:|" * len(columns) + "---|",
    ]
    for row in rows:
        cells = " | ".join(f"{row[c][0]:.1f} / {row[c][1]:.1f}" for c in columns)
        final = row[columns[-1]][0]
        lines.append(
            f"| {row['model']} | {row['class']} | {row['units']} | {row['decoders']} | {cells} | "
            f"{'yes' if final <= TARGET_MS else 'no'} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=None, help="comma-separated names (default: all)")
    parser.add_argument("--moves", type=int, default=30, help="slider changes timed per model")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium column")
    parser.add_argument("--out", default=str(HERE / "results" / "explore_latency.md"))
    args = parser.parse_args(argv)

    names = args.models.split(",") if args.models else list_pretrained()
    use_browser = not args.no_browser
    if use_browser:
        from keras_gvae.explore import browser

        try:
            browser.find_chromium()
        except browser.BrowserUnavailable as err:
            print(f"no browser column: {err}")
            use_browser = False
    before = load_average()
    started = time.strftime("%Y-%m-%d %H:%M")
    rows = []
    for name in names:
        rows.append(measure(name, args.moves, use_browser))
        print(rows[-1], flush=True)
    after = load_average()

    import gradio
    import tensorflow as tf

    text = "\n".join(
        [
            "# Explorer latency: a slider's change to the new images",
            "",
            f"Written by `benchmarks/explore_latency.py` ({started}; TF {tf.__version__}, "
            f"Gradio {gradio.__version__}, Python {platform.python_version()}, "
            f"{os.cpu_count()} CPU cores shared, {platform.machine()}). Load average (1 / 5 / "
            f"15 min) before: {before}; after: {after}.",
            "",
            f"{args.moves} changes of unit 0 (one slider step each) per model after "
            f"{WARMUP} warm-up changes, from held-out image 0's code. eager: `model.decode` "
            "(and `sub_decode`) called eagerly; callback: the page's slider callback "
            "(`app.slider_update`: the `tf.function` renderer, display images, heads' table); "
            "server: the change through the running Gradio server over HTTP (one POST, then "
            "the image downloads); browser: headless Chromium, slider `input` event to the "
            "`load` of the last new image. Target: <= 100 ms, judged on the browser column's "
            "median.",
            "",
            table(rows, use_browser),
            "",
        ]
    )
    write_text(args.out, text)
    print(text)
    return text


if __name__ == "__main__":
    main()
