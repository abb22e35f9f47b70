"""Layout of the contour and slice figures: nothing drawn over something else.

A real browser showed two overlaps (issue 14): the contour's right panel's y-axis title on
the left colorbar's tick labels, and the slice's legend on the title's second line. The unit
tests check the layout numbers, in pixels, for a figure 700 and 960 px wide (the figure's
height is fixed, its width follows the notebook): the room between the two panels, where the
colorbars and the legend are, what the top margin holds. The browser test (marked
``browser``, skipped without Chromium and Playwright) draws the figures in Chromium and checks
that no two texts of the figure overlap.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import axnb
from axnb.analysis import compute_contour, compute_slice, draw_contour, draw_slice

WIDTHS = (700, 960)
CHAR_PX = 7  # mean width of a character of a tick label (font size 12)
LINE_PX = 20  # a title line (font 15; the subtitle's <sup> line is smaller)
SUBPLOT_TITLE_PX = 25
X_AXIS_PX = 50  # x tick labels and the x-axis title, under the plot area
LEGEND_ROW_PX = 25
COLORBAR_LABELS_PX = 40  # a vertical colorbar's tick labels (e.g. "0.125")
COLORBAR_TICKS_PX = 20  # a horizontal colorbar's tick labels, under it
Y_TITLE_PX = 30  # a y-axis title and the padding of its tick labels
OPTIMIZERS = ["adam", "sgd", "rmsprop_centered"]


@pytest.fixture(autouse=True, scope="module")
def quick_fits():
    import axnb.engine.models as models

    saved = models.FIT_MAXITER
    models.FIT_MAXITER = 50
    yield
    models.FIT_MAXITER = saved


@pytest.fixture(scope="module")
def exp(tmp_path_factory):
    """Float, log and choice parameters (one choice is long), 10 results, one excluded."""
    exp = axnb.Experiment(
        "layout",
        [
            axnb.Range("x", 0.0, 1.0),
            axnb.Range("learning_rate", 1e-4, 1.0, log=True),
            axnb.Choice("optimizer", OPTIMIZERS),
        ],
        objective="validation_loss",
        path=tmp_path_factory.mktemp("layout"),
        seed=0,
        initial_trials=4,
    )
    rng = np.random.default_rng(0)
    for i in range(10):
        p = {
            "x": float(rng.random()),
            "learning_rate": float(10 ** rng.uniform(-4, 0)),
            "optimizer": OPTIMIZERS[i % 3],
        }
        loss = (p["x"] - 0.3) ** 2 + 0.02 * (math.log10(p["learning_rate"]) + 2) ** 2
        exp.attach(p, result=loss + 0.1 * OPTIMIZERS.index(p["optimizer"]))
    exp.exclude(exp.trials[1].index, reason="bad run")
    return exp


FAMILIES = [
    "gradient_boosting",
    "random_forest_large",
    "logistic_regression",
    "support_vector_rbf",
    "k_nearest_neighbors",
    "naive_bayes_gaussian",
    "extra_trees_classifier",
    "multilayer_perceptron",
]


@pytest.fixture(scope="module")
def long_exp(tmp_path_factory):
    """Eight long choices: plotly turns their tick labels under a 700 px figure."""
    exp = axnb.Experiment(
        "long",
        [axnb.Choice("model_family", FAMILIES), axnb.Range("learning_rate", 1e-4, 1.0, log=True)],
        objective="validation_loss",
        path=tmp_path_factory.mktemp("long"),
        seed=0,
        initial_trials=4,
    )
    rng = np.random.default_rng(1)
    for i in range(12):
        p = {"model_family": FAMILIES[i % 8], "learning_rate": float(10 ** rng.uniform(-4, 0))}
        exp.attach(p, result=0.1 * (i % 8) + (math.log10(p["learning_rate"]) + 2) ** 2)
    return exp


@pytest.fixture(scope="module")
def contours(exp, long_exp):
    return {
        "numeric": draw_contour(compute_contour(exp, "x", "learning_rate", grid=12)),
        "category": draw_contour(compute_contour(exp, "x", "optimizer", grid=12)),
        "long_x": draw_contour(compute_contour(long_exp, "model_family", "learning_rate", grid=12)),
    }


@pytest.fixture(scope="module")
def long_slice(long_exp):
    return draw_slice(compute_slice(long_exp, "model_family", acquisition=False))


@pytest.fixture(scope="module")
def slice_fig(exp):
    return draw_slice(compute_slice(exp, "x", grid=30))


# ----------------------------------------------------------------------------- helpers
def plot_size(fig, width: int) -> tuple[float, float]:
    """The plot area's width and height in px for a figure ``width`` px wide."""
    m = fig.layout.margin
    return width - m.l - m.r, fig.layout.height - m.t - m.b


def title_lines(fig) -> int:
    return fig.layout.title.text.count("<br>") + 1


def colorbars(fig):
    return [t.colorbar for t in fig.data if t.type == "heatmap"]


def y_tick_px(fig, axis: str) -> float:
    """Width of the widest y tick label: the longest category, else about 6 characters."""
    labels = fig.layout[axis].categoryarray or ()
    return max([6, *(len(str(v)) for v in labels)]) * CHAR_PX


def legend_in_top_margin(fig) -> bool:
    """A legend at or above the plot area's top (paper y >= 1 or anchored at its bottom
    above 0.9) sits where the title is."""
    lg = fig.layout.legend
    return lg.y is None or lg.y >= 0.9 or (lg.yanchor in (None, "auto", "bottom") and lg.y > 0)


# ----------------------------------------------------------------------------- contour
@pytest.mark.parametrize("kind", ["numeric", "category", "long_x"])
@pytest.mark.parametrize("width", WIDTHS)
def test_contour_gap_between_panels_holds_the_right_y_axis(contours, kind, width):
    """What lies between the panels (a vertical colorbar of the left panel, if any) leaves
    room for the right panel's y tick labels and title. The former layout (left colorbar at
    x=0.43 in a 0.43-0.57 gap) left ~20 px at 700 px for them."""
    fig = contours[kind]
    plot_w, _ = plot_size(fig, width)
    left_end, right_start = fig.layout.xaxis.domain[1], fig.layout.xaxis2.domain[0]
    gap = (right_start - left_end) * plot_w
    used = 0.0
    for cb in colorbars(fig):
        if (
            cb.orientation != "h"
            and left_end - 0.01 <= (cb.x if cb.x is not None else 1.02) < right_start
        ):
            thickness = cb.thickness if cb.thickness is not None else 30
            xpad = cb.xpad if cb.xpad is not None else 10
            used = max(used, (cb.x - left_end) * plot_w + xpad + thickness + COLORBAR_LABELS_PX)
    need = y_tick_px(fig, "yaxis2") + Y_TITLE_PX
    assert gap - used >= need, (kind, width, gap, used, need)
    assert fig.layout.yaxis2.title.text  # the right panel keeps its y-axis title


def x_label_px(fig, axis: str, panel_px: float) -> float:
    """Extra height of the x tick labels when plotly turns them (30 degrees: half their
    width; 90: all of it); 0 when level or numeric."""
    labels = fig.layout[axis].categoryarray or ()
    if not labels:
        return 0.0
    width = max(len(str(v)) for v in labels) * CHAR_PX
    step = panel_px / len(labels)
    return 0.0 if width + 8 <= step else width * (0.5 if step / 2 >= 15 else 1.0)


@pytest.mark.parametrize("kind", ["numeric", "category", "long_x"])
def test_contour_colorbars_lie_under_their_panels_and_the_legend_under_them(contours, kind):
    fig = contours[kind]
    plot_w, plot_h = plot_size(fig, WIDTHS[0])
    domain = fig.layout.xaxis.domain
    turned = x_label_px(fig, "xaxis", (domain[1] - domain[0]) * plot_w)
    assert (turned > 0) == (kind == "long_x")
    cbs = colorbars(fig)
    assert len(cbs) == 2
    domains = [fig.layout.xaxis.domain, fig.layout.xaxis2.domain]
    bottoms = []
    for cb, (lo, hi) in zip(cbs, domains):
        assert cb.orientation == "h" and cb.yanchor == "top" and cb.xanchor == "center"
        assert cb.lenmode == "fraction"
        # within its own panel's width: nothing in the gap between the panels
        assert lo <= cb.x - cb.len / 2 and cb.x + cb.len / 2 <= hi
        top = -cb.y * plot_h  # px under the plot area's bottom
        assert top >= X_AXIS_PX + turned  # under the x tick labels and title
        bottoms.append(top + cb.thickness + COLORBAR_TICKS_PX)
    lg = fig.layout.legend
    assert lg.orientation == "h" and lg.yanchor == "top"
    legend_top = -lg.y * plot_h
    assert legend_top >= max(bottoms)  # under the colorbars' tick labels
    assert legend_top + LEGEND_ROW_PX <= fig.layout.margin.b  # one row fits the margin


@pytest.mark.parametrize("kind", ["numeric", "category", "long_x"])
def test_contour_top_margin_holds_the_title_and_the_subplot_titles(contours, kind):
    fig = contours[kind]
    assert title_lines(fig) == (1 if kind == "long_x" else 2)  # the held values' subtitle
    assert fig.layout.margin.t >= title_lines(fig) * LINE_PX + SUBPLOT_TITLE_PX + 10
    assert not legend_in_top_margin(fig)


def test_contour_spacing_grows_with_long_category_labels(contours):
    numeric, category = contours["numeric"], contours["category"]
    gap = {k: f.layout.xaxis2.domain[0] - f.layout.xaxis.domain[1] for k, f in contours.items()}
    assert gap["category"] > gap["numeric"]
    assert list(category.layout.yaxis2.categoryarray) == OPTIMIZERS
    assert numeric.layout.yaxis2.type == "log"


def test_turned_x_labels_grow_the_figure_not_shrink_the_plot(contours, long_slice, slice_fig):
    from axnb.analysis import contour, slice

    numeric, long_x = contours["numeric"], contours["long_x"]
    assert numeric.layout.height == contour.HEIGHT
    assert long_x.layout.height > contour.HEIGHT
    assert plot_size(long_x, 700)[1] == plot_size(numeric, 700)[1] == contour.PLOT_H
    assert slice_fig.layout.height == slice.HEIGHT
    assert long_slice.layout.height > slice.HEIGHT
    assert plot_size(long_slice, 700)[1] == slice.PLOT_H


def test_contour_without_a_model_keeps_the_layout(tmp_path):
    exp = axnb.Experiment(
        "empty",
        [axnb.Range("a", 0.0, 1.0), axnb.Range("b", 0.0, 1.0)],
        objective="loss",
        path=tmp_path,
        seed=0,
    )
    fig = draw_contour(compute_contour(exp, "a", "b", grid=5))
    assert not legend_in_top_margin(fig)
    assert all(cb.orientation == "h" for cb in colorbars(fig))


# ----------------------------------------------------------------------------- slice
@pytest.mark.parametrize("kind", ["numeric", "long_x"])
def test_slice_legend_is_under_the_plot_not_over_the_title(slice_fig, long_slice, kind):
    """The former layout put the legend at y=1.08 over the title's second line."""
    fig = slice_fig if kind == "numeric" else long_slice
    assert title_lines(fig) == 2
    assert not legend_in_top_margin(fig)
    lg = fig.layout.legend
    assert lg.orientation == "h" and lg.yanchor == "top" and lg.y < 0
    _, plot_h = plot_size(fig, WIDTHS[0])
    turned = x_label_px(fig, "xaxis", 560)  # 700 px less the margins and the right axis
    assert (turned > 0) == (kind == "long_x")
    legend_top = -lg.y * plot_h
    assert legend_top >= X_AXIS_PX + turned  # under the x tick labels and title
    assert legend_top + LEGEND_ROW_PX <= fig.layout.margin.b


def test_slice_top_margin_holds_the_title_lines(slice_fig):
    fig = slice_fig
    assert fig.layout.margin.t >= title_lines(fig) * LINE_PX + 10
    _, plot_h = plot_size(fig, WIDTHS[0])
    assert plot_h >= 280  # the plot kept its height (the former one: 300 px)


# ----------------------------------------------------------------------------- browser
_TEXT_BOXES_JS = """() => {
  const root = document.querySelector('.js-plotly-plot');
  const groups = [['.g-gtitle', 'title'], ['.legend', 'legend'], ['.colorbar', 'colorbar'],
    ['.annotation', 'annotation'], ['.g-xtitle', 'xtitle'], ['.g-x2title', 'x2title'],
    ['.g-ytitle', 'ytitle'], ['.g-y2title', 'y2title'], ['.xtick', 'xtick'],
    ['.x2tick', 'x2tick'], ['.ytick', 'ytick'], ['.y2tick', 'y2tick']];
  const bars = [...root.querySelectorAll('.colorbar')];
  const kind = el => {
    for (const [sel, name] of groups) {
      const g = el.closest(sel);
      if (g) return sel === '.colorbar' ? name + bars.indexOf(g) : name;
    }
    return 'other';
  };
  const box = el => { const r = el.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom]; };
  const texts = [...root.querySelectorAll('text')]
    .filter(t => t.textContent.trim() && t.getBoundingClientRect().width > 0)
    .map(t => ({kind: kind(t), text: t.textContent.slice(0, 40), box: box(t)}));
  const areas = [...root.querySelectorAll('.draglayer .nsewdrag')].map(box);
  return {texts, areas};
}"""


def _overlap(a, b, pad=1.0):
    return a[0] < b[2] - pad and b[0] < a[2] - pad and a[1] < b[3] - pad and b[1] < a[3] - pad


def overlaps(measured) -> list[tuple[str, str, str, str]]:
    """Texts of different parts that overlap, and titles, legends or colorbar labels drawn
    on a plot area."""
    texts, found = measured["texts"], []
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            if a["kind"] != b["kind"] and _overlap(a["box"], b["box"]):
                found.append((a["kind"], a["text"], b["kind"], b["text"]))
        if a["kind"] in ("title", "legend") or a["kind"].startswith("colorbar"):
            found += [
                (a["kind"], a["text"], "plot area", "")
                for area in measured["areas"]
                if _overlap(a["box"], area)
            ]
    return found


@pytest.mark.browser
def test_no_text_overlaps_in_chromium(contours, slice_fig, long_slice, tmp_path):
    from browser.lab import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing")
    sync_api = pytest.importorskip("playwright.sync_api")
    import plotly

    js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    figs = {
        "contour": contours["numeric"],
        "contour_category": contours["category"],
        "contour_long_x": contours["long_x"],
        "slice": slice_fig,
        "slice_long_x": long_slice,
    }
    found = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for name, fig in figs.items():
                path = tmp_path / f"{name}.html"
                fig.write_html(path, include_plotlyjs=str(js), default_width="100%")
                for width in WIDTHS:
                    page = browser.new_page(viewport={"width": width, "height": 700})
                    page.goto(path.as_uri())
                    page.wait_for_selector("svg.main-svg")
                    page.wait_for_timeout(200)
                    found += [(name, width, *o) for o in overlaps(page.evaluate(_TEXT_BOXES_JS))]
                    page.close()
        finally:
            browser.close()
    assert not found, found
