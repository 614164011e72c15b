"""Shared look, text fitting and file writing for every metasr figure.

Figures are plain `matplotlib.figure.Figure` objects (no pyplot: no figure manager, nothing to
close) written by the SVG and Agg canvases, atomically (temp file + rename) so that a killed job
never leaves half a figure that Snakemake would take as up to date. A PNG is rendered only when a
PNG path is given. SVG output is byte-identical across reruns: fixed `svg.hashsalt`, no creation
date.
"""

from __future__ import annotations

import io
import logging
import math
import os
import warnings
from contextlib import contextmanager
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib import colors as mcolors
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import RendererSVG, _generate_transform, _short_float_fmt
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, fontManager
from matplotlib.ft2font import FaceFlags, FT2Font, GlyphIndexType, Kerning, LoadFlags
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import FixedFormatter, FixedLocator, MaxNLocator, NullLocator
from matplotlib.transforms import IdentityTransform

from metasr import measures
from metasr.display import finite, is_number, tick  # noqa: F401  (figures use them as style.*)
from metasr.io import atomic_path

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

log = logging.getLogger(__name__)

# What svg_layout lays text out with: a figure at an SVG's 72 dpi and the SVG renderer.
_MEASURING_FIGURE = Figure(dpi=72)
_MEASURING_RENDERER = RendererSVG(72, 72, io.StringIO())

FONT_SIZE = 8.0
PNG_DPI = 300

COLOURS = {
    "study": "#1f4e79",
    "pooled": "#111111",
    "subtotal": "#555555",
    "prediction": "#b03a2e",
    "null": "#666666",
    "grid": "#dddddd",
    "filled": "#ffffff",
    "published": "#c0392b",
    "muted": "#777777",
}

RC_PARAMS: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": FONT_SIZE,
    # Text stays text in the SVG: searchable, selectable and small; DejaVu Sans is metric-safe.
    "svg.fonttype": "none",
    "svg.hashsalt": "metasr",
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "path.simplify": False,
    # Figure text is text, never mathtext: a label such as "Smith $\alpha$ 2019" or "Jones $1 & $ 2023"
    # (from the sheets) is drawn as written. Texts made in `style()` read this; add_text and
    # PlainText also say it themselves, since a PNG draws their `Text` outside that context.
    "text.parse_math": False,
}


def display(pooled: dict, outcome_cfg: dict | None = None) -> measures.Display:
    """How an outcome's numbers are shown: its pooled result's transform (metasr.measures)."""
    return measures.display_of(pooled, outcome_cfg)


def new_figure(width_in: float, height_in: float):
    """A figure with the metasr style applied (the style is set per figure, not globally)."""
    with matplotlib.rc_context(RC_PARAMS):
        fig = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(fig)  # as pyplot's Agg backend would: fig.canvas.get_renderer() works
    return fig


@contextmanager
def style():
    """Apply the metasr rcParams while drawing."""
    with matplotlib.rc_context(RC_PARAMS):
        yield


# ---------------------------------------------------------------------------------------------
# Figure text that costs little to make and write to an SVG.


class PlainText(Artist):
    """One line of unrotated, baseline-aligned figure text, written to an SVG as matplotlib's `Text`
    writes it, byte for byte (tested), at a fraction of the cost.

    With `svg.fonttype: none` matplotlib writes such a text as a <text> element at its anchor point
    with a CSS `text-anchor`, so its measured extent never reaches the file; yet `Text.draw`
    measures every string first, and a `Text` sets some thirty properties when made. A forest plot
    has hundreds of texts: at 2,000 outcomes their making and drawing was a sixth of an outcome
    job's time (bench/RESULTS.md). Any other renderer (a PNG) draws an ordinary `Text` made from the
    same arguments.
    """

    zorder = Text.zorder  # drawn in the same order as the `Text` it stands for

    def __init__(self, x: float, y: float, text: str, kwargs: dict[str, Any]):
        super().__init__()
        self._x, self._y, self._text, self._kwargs = float(x), float(y), text, kwargs
        self._ha = kwargs.get("ha", "left")
        self._rgba = mcolors.to_rgba(kwargs.get("color", matplotlib.rcParams["text.color"]))
        self._fontproperties = _font_properties(
            tuple(_hashable(matplotlib.rcParams[key]) for key in _FONT_RC), kwargs.get("fontsize"),
            kwargs.get("weight"))

    # What the SVG renderer asks of the `Text` it writes (RendererSVG._draw_text_as_text).
    def get_unitless_position(self) -> tuple[float, float]:
        return self._x, self._y

    def get_ha(self) -> str:
        return self._ha

    def get_rotation_mode(self) -> str:
        return "default"

    def as_text(self) -> Text:
        """The matplotlib `Text` this one stands for."""
        text = Text(self._x, self._y, self._text, fontproperties=self._fontproperties, parse_math=False,
                    **{k: v for k, v in self._kwargs.items() if k not in ("fontsize", "weight")})
        figure = self.get_figure(root=False)
        if figure is not None:
            text.set_figure(figure)
        text.set_transform(self.get_transform())
        return text

    def draw(self, renderer):
        if not self.get_visible():
            return None
        # print_svg hands artists a MixedModeRenderer around its RendererSVG.
        svg = isinstance(getattr(renderer, "_renderer", renderer), RendererSVG)
        posx, posy = self.get_transform().transform((self._x, self._y))
        if not (svg and matplotlib.rcParams["svg.fonttype"] == "none"
                and math.isfinite(posx) and math.isfinite(posy)):
            return self.as_text().draw(renderer)
        renderer.open_group("text", self.get_gid())
        _, canvas_h = renderer.get_canvas_width_height()
        baseline = canvas_h - posy - self._baseline_dy()
        if self._written_plainly():
            # What RendererSVG._draw_text_as_text writes for an unrotated text anchored here, with
            # its arithmetic (it moves the anchor to the baseline), the style made once per look.
            anchor = canvas_h - posy
            y = anchor + (baseline - anchor)
            svg = getattr(renderer, "_renderer", renderer)
            svg.writer.element("text", self._text, attrib={
                "style": _svg_text_style(self._fontproperties.copy(), self._rgba, self._ha),
                "x": _short_float_fmt(posx), "y": _short_float_fmt(y),
                "transform": _generate_transform([("rotate", (-0.0, posx, y))])})
        else:
            gc = renderer.new_gc()
            gc.set_foreground(self._rgba, isRGBA=True)
            gc.set_alpha(self.get_alpha())
            gc.set_url(self.get_url())
            gc.set_antialiased(matplotlib.rcParams["text.antialiased"])
            gc.set_snap(self.get_snap())
            self._set_gc_clip(gc)
            renderer.draw_text(gc, posx, baseline, self._text, self._fontproperties, 0.0, ismath=False, mtext=self)
            gc.restore()
        renderer.close_group("text")
        self.stale = False
        return None

    def _written_plainly(self) -> bool:
        """Whether the renderer would write it with nothing around it: no clip, link or alpha."""
        clipped = self.get_clip_on() and (self.get_clip_box() is not None or self.get_clip_path() is not None)
        return not clipped and self.get_url() is None and self.get_alpha() is None

    def _baseline_dy(self) -> float:
        """Where the baseline is drawn above the anchor, in points (an SVG's units)."""
        return 0.0


class _StyleOf:
    """What RendererSVG._draw_text_as_text asks of the text it writes, to make its style once."""

    def __init__(self, ha: str):
        self._ha = ha

    def get_transform(self):
        return IdentityTransform()

    def get_unitless_position(self) -> tuple[float, float]:
        return 0.0, 0.0

    def get_rotation_mode(self) -> str:
        return "default"

    def get_ha(self) -> str:
        return self._ha


class _Recorder:
    """Stands for an SVG writer: keeps the attributes of the element written."""

    attrib: dict

    def element(self, tag, text=None, attrib=None, **extra):
        self.attrib = {**(attrib or {}), **extra}


@lru_cache(maxsize=512)
def _svg_text_style(prop: FontProperties, rgba: tuple, ha: str) -> str:
    """The style attribute the SVG renderer gives a text in this font, colour and alignment: made
    by the renderer itself (into a recorder), once per look."""
    renderer = RendererSVG(72, 72, io.StringIO())
    recorder = renderer.writer = _Recorder()
    gc = renderer.new_gc()
    gc.set_foreground(rgba, isRGBA=True)
    renderer._draw_text_as_text(gc, 0.0, 0.0, "x", prop, 0.0, False, mtext=_StyleOf(ha))
    return recorder.attrib["style"]


_FONT_RC: tuple[RcKeyType, ...] = ("font.family", "font.style", "font.variant", "font.weight", "font.stretch",
                                   "font.size")
_PLAIN_ARGUMENTS = frozenset({"fontsize", "weight", "color", "ha", "va"})


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value  # font.family is a list


@lru_cache(maxsize=256)
def _font_properties(rc: tuple, size: float | None, weight: str | None) -> FontProperties:
    # Shared by the texts of a figure and never changed: what `Text` would make from the rcParams.
    family, font_style, variant, default_weight, stretch, default_size = rc
    return FontProperties(family=list(family), style=font_style, variant=variant, stretch=stretch,
                          weight=default_weight if weight is None else weight,
                          size=default_size if size is None else size)


class TickLabel(PlainText):
    """A tick label as a `Tick` draws it (its label's alignment, transform and font), written to an
    SVG byte for byte as that `Text` (tested), laid out once per text and font (svg_layout)."""

    def __init__(self, x: float, y: float, text: str, label: Text, zorder: float):
        super().__init__(x, y, text, {"ha": label.get_horizontalalignment(), "va": label.get_verticalalignment(),
                                      "color": label.get_color()})
        self._fontproperties = label.get_fontproperties()  # fall_back copies it before changing it
        self._linespacing = label.get_linespacing()
        self.set_transform(label.get_transform())
        self.set_clip_on(False)
        self.zorder = zorder

    def _baseline_dy(self) -> float:
        return self._svg_layout()[0]

    def svg_box(self):
        """Its box about its anchor in an SVG, in points."""
        return self._svg_layout()[1]

    def _svg_layout(self):
        return svg_layout(self._text, self._fontproperties, self._ha, self._kwargs["va"], self._linespacing)


def svg_layout(text: str, prop: FontProperties, ha: str, va: str, linespacing) -> tuple[float, Any]:
    """(baseline's height above the anchor, bounding box about the anchor), in points, of one
    unrotated line as `Text` lays it out for an SVG (72 dpi, the SVG renderer's measure)."""
    return _svg_layout(text, prop.copy(), ha, va, linespacing)  # a copy: the cache's key stays as it was


@lru_cache(maxsize=4096)
def _svg_layout(text: str, prop: FontProperties, ha: str, va: str, linespacing) -> tuple[float, Any]:
    label = Text(0, 0, text, fontproperties=prop, ha=ha, va=va, parse_math=False, linespacing=linespacing)
    label.set_figure(_MEASURING_FIGURE)
    with warnings.catch_warnings():  # a glyph no font has: save_figure says which, once
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)
        box, lines, _ = label._get_layout(_MEASURING_RENDERER)  # type: ignore[attr-defined]  # what Text.draw uses
    return lines[0][-1][1], box


def set_ticks(axis, ticks, labels=None) -> None:
    """`axis.set_ticks(ticks, labels)` (labels by position, the view widened to the ticks) without
    making a `Tick` per tick, which matplotlib's `set_ticklabels` does to label them."""
    ticks = [float(t) for t in ticks]
    if ticks:
        axis.set_view_interval(min(ticks), max(ticks))  # as Axis.set_ticks: only ever widened
    axis.set_major_locator(FixedLocator(ticks))
    if labels is not None:
        axis.set_major_formatter(FixedFormatter([str(label) for label in labels]))


def light_ticks(fig) -> None:
    """Draw each axis' major ticks with one marker line and a `TickLabel` per tick instead of
    matplotlib's `Tick`s, where the axis is drawn the usual way (below / left, no grid, minor
    ticks, second side, rotation or offset text): the same marks and texts, and the axis label
    where the tick labels would have put it. A `Tick` is five artists set up from the rcParams,
    about a millisecond each to make; with the labels laid out at every draw they were a quarter
    of an outcome's figure time (bench/RESULTS.md)."""
    for ax in fig.axes:
        if ax.axison:
            for axis in (ax.xaxis, ax.yaxis):
                _light_axis(ax, axis)


def _light_axis(ax, axis) -> None:
    if not _drawn_plainly(ax, axis):
        return
    tick = axis.majorTicks[0]  # the axis' first tick, which every other copies its look from
    locs = list(axis.get_majorticklocs())
    labels = axis.major.formatter.format_ticks(locs)
    if axis.major.formatter.get_offset():
        return
    shown = _in_view(axis, locs)
    x_axis = axis.axis_name == "x"
    if shown:
        marks = Line2D([locs[i] if x_axis else 0 for i in shown], [0 if x_axis else locs[i] for i in shown],
                       transform=tick.tick1line.get_transform(), linestyle="none",
                       zorder=axis.get_zorder())
        marks.update_from(tick.tick1line)
        marks.set_clip_on(False)
        marks.set_visible(tick.tick1line.get_visible())
        ax.add_artist(marks)
    label = tick.label1
    # The axis label keeps its place: past the tick labels' boxes and the ticks (the bottom / left
    # spine's extent counts them), as Axis._update_label_position puts it.
    outside = tick.get_tick_padding() if shown else 0.0
    for i in shown if label.get_visible() else ():
        text = str(labels[i])
        if not text:  # matplotlib draws nothing, yet counts the anchor in the labels' box
            outside = max(outside, tick._pad)
            continue
        light = TickLabel(locs[i] if x_axis else 0, 0 if x_axis else locs[i], text, label, axis.get_zorder())
        _fall_back_text(light)  # measured in the fonts it is drawn in
        box = light.svg_box()
        outside = max(outside, tick._pad - (box.y0 if x_axis else box.x0))
        ax.add_artist(light)
    axis.set_major_locator(NullLocator())
    axis.labelpad += outside


def _drawn_plainly(ax, axis) -> bool:
    tick = axis.majorTicks[0]
    side = "bottom" if axis.axis_name == "x" else "left"
    spine = ax.spines.get(side)
    return (axis.get_visible() and axis.get_label_position() == side
            and isinstance(axis.get_minor_locator(), NullLocator)
            and not tick.gridline.get_visible() and not tick.tick2line.get_visible()
            and not tick.label2.get_visible() and tick._tickdir in ("out", "in")
            and tick.label1.get_rotation() == 0
            and tick.label1.get_verticalalignment() in ("top", "center_baseline")
            and spine is not None and spine.get_position() in (("outward", 0.0), ("outward", 0)))


def _in_view(axis, locs: list[float]) -> list[int]:
    """Indices of the ticks Axis._update_ticks would draw: inside the view interval, give or take rounding."""
    scale = axis.get_transform()
    low, high = sorted(scale.transform(sorted(axis.get_view_interval())))
    slack = (high - low) * 1e-10  # matplotlib's transforms._interval_contains_close
    return [i for i, loc in enumerate(locs) if low - slack <= scale.transform(loc) <= high + slack]


def add_text(fig, x, y, text, title: str | None = None, **kwargs) -> Artist:
    """`fig.text(x, y, text, **kwargs)` (figure coordinates): a `PlainText` for one line of text
    on its baseline, else a `Text`. With a `title` other than the text (the whole of a shortened
    label) the SVG carries it as the text's tooltip."""
    text = "" if text is None else str(text)  # as `Text.set_text` reads it
    plain = (kwargs.get("va", "baseline") == "baseline" and _PLAIN_ARGUMENTS.issuperset(kwargs)
             and text and "\n" not in text)
    artist = PlainText(x, y, text, kwargs) if plain else Text(x, y, text, parse_math=False, **kwargs)
    fig.add_artist(artist)
    if title and title != text:
        set_tooltip(fig, artist, title)
    return artist


def set_tooltip(fig, artist: Artist, title: str) -> None:
    """Give `artist` an SVG <title> (a viewer's tooltip): matplotlib writes none, so the artist's
    group gets a numbered id that save_figure finds and puts the title in."""
    titles = fig.__dict__.setdefault("_metasr_titles", {})
    gid = f"metasr-title-{len(titles) + 1}"  # numbered in drawing order: reruns write the same file
    artist.set_gid(gid)
    titles[gid] = title


def _with_titles(svg: bytes, titles: dict[str, str]) -> bytes:
    """The SVG with each titled group's <title> as its first child."""
    from xml.sax.saxutils import escape

    for gid, title in titles.items():
        opening = f'<g id="{gid}">'.encode()
        svg = svg.replace(opening, opening + f"\n   <title>{escape(title)}</title>".encode(), 1)
    return svg


# ---------------------------------------------------------------------------------------------
# Text measurement and fitting: labels never overlap, they wrap or are cut with a visible "…".


class _Advances:
    """Advance widths and kerning of one font file, in font units, read once per glyph.

    Figures are SVG text laid out by the viewer, which places glyphs by their unhinted advances
    and the font's kerning: that sum is the width a label takes there. Matplotlib's own measure
    (`get_text_width_height_descent`) shapes the whole string through FreeType and HarfBuzz on
    every call, about 0.3 ms per string, a fifth of an outcome's figure time at 2,000 outcomes
    (bench/RESULTS.md); summing cached advances costs microseconds.
    """

    def __init__(self, path: str):
        self._font = FT2Font(path)  # its own face: matplotlib's shared ones change size per draw
        self.units_per_em = self._font.units_per_EM
        self._kerned = bool(self._font.face_flags & FaceFlags.KERNING)
        self._glyphs: dict[str, tuple[GlyphIndexType, int]] = {}  # character -> (glyph index, advance)
        self._kerning: dict[tuple[GlyphIndexType, GlyphIndexType], int] = {}

    def _glyph(self, char: str) -> tuple[GlyphIndexType, int]:
        glyph = self._glyphs.get(char)
        if glyph is None:
            index = self._font.get_char_index(ord(char))  # 0, the .notdef box, when missing
            advance = self._font.load_glyph(index, LoadFlags.NO_SCALE).horiAdvance
            fallback = fallback_font(char) if index == 0 else None
            if fallback is not None:  # drawn in the installed font that has it (fall_back): its width
                advance = round(_fallback_advances(fallback[1]).width_em(char) * self.units_per_em)
            glyph = self._glyphs[char] = (index, advance)
        return glyph

    def has(self, char: str) -> bool:
        return char.isspace() or self._font.get_char_index(ord(char)) != 0

    def _kern(self, left: GlyphIndexType, right: GlyphIndexType) -> int:
        pair = (left, right)
        value = self._kerning.get(pair)
        if value is None:
            value = self._kerning[pair] = self._font.get_kerning(left, right, Kerning.UNSCALED)
        return value

    def width_em(self, text: str) -> float:
        """Width of one line of text in ems (multiples of the font size)."""
        total, previous = 0, None
        for char in text:
            index, advance = self._glyph(char)
            total += advance
            if self._kerned and previous is not None:
                total += self._kern(previous, index)
            previous = index
        return total / self.units_per_em


@cache
def _advances(weight: str) -> _Advances:
    return _Advances(findfont(FontProperties(family=RC_PARAMS["font.family"], weight=weight)))


@cache
def _fallback_advances(path: str) -> _Advances:
    return _Advances(path)


# ---------------------------------------------------------------------------------------------
# Characters the figures' font lacks (a Chinese, Japanese or Korean name): drawn in an installed
# font that has them (matplotlib's font fallback), else named in a warning.

FONT_HINT = "install a font that has them (Debian/Ubuntu: the fonts-noto-cjk package for Chinese, Japanese and Korean)"


@cache
def _installed_fonts() -> tuple[tuple[str, str], ...]:
    """(family, file) of the installed fonts that may stand in for the figures' font: one upright
    face per family, its regular weight where there is one. Not matplotlib's own fonts: STIX and
    Computer Modern are for mathematics, and its Last Resort font draws every character as a box."""
    own = Path(matplotlib.get_data_path()).resolve()
    first = str(RC_PARAMS["font.family"])
    faces: dict[str, tuple[int, str]] = {}
    for entry in fontManager.ttflist:
        if entry.style != "normal" or entry.name == first or own in Path(entry.fname).resolve().parents:
            continue
        weight = entry.weight if isinstance(entry.weight, int) else 400
        if entry.name not in faces or abs(weight - 400) < abs(faces[entry.name][0] - 400):
            faces[entry.name] = (weight, entry.fname)
    return tuple(sorted((name, path) for name, (_, path) in faces.items()))


@cache
def _charmap(path: str) -> frozenset[int]:
    try:
        return frozenset(FT2Font(path).get_charmap())
    except (OSError, RuntimeError):  # a font file matplotlib listed but cannot read
        return frozenset()


@lru_cache(maxsize=4096)
def fallback_font(char: str) -> tuple[str, str] | None:
    """(family, file) of the first installed font (by name) that has a character; None if none has."""
    return next(((family, path) for family, path in _installed_fonts() if ord(char) in _charmap(path)), None)


@lru_cache(maxsize=20000)
def missing_glyphs(text: str) -> str:
    """The characters of `text` the figures' font has no glyph for, each once."""
    advances = _advances("normal")
    return "".join(dict.fromkeys(c for c in str(text) if not advances.has(c)))


def _texts(fig) -> list[Text | PlainText]:
    return fig.findobj(lambda artist: isinstance(artist, (Text, PlainText)))


def _text_of(artist: Text | PlainText) -> str:
    return artist._text if isinstance(artist, PlainText) else artist.get_text()


def fall_back(fig) -> list[str]:
    """Let each text with characters the figures' font lacks fall back on installed fonts that have
    them (in the SVG's font-family too); returns the texts with characters no installed font has."""
    return [_text_of(artist) for artist in _texts(fig) if not _fall_back_text(artist)]


def _fall_back_text(artist: Text | PlainText) -> bool:
    """Give one text the fonts its missing characters fall back on; False if some are in none."""
    missing = missing_glyphs(_text_of(artist))
    if not missing:
        return True
    fonts = [fallback_font(c) for c in missing]
    families = list(dict.fromkeys(font[0] for font in fonts if font is not None))
    if families:
        if isinstance(artist, PlainText):
            props = artist._fontproperties.copy()  # its own now: the cached one is shared
            props.set_family(list(dict.fromkeys([*props.get_family(), *families])))
            artist._fontproperties = props
        else:
            props = artist.get_fontproperties()
            props.set_family(list(dict.fromkeys([*props.get_family(), *families])))
            artist.set_fontproperties(props)
    return None not in fonts


def _warn_unfound(name: str, texts: list[str]) -> None:
    chars = "".join(dict.fromkeys(c for text in texts for c in missing_glyphs(text)
                                  if fallback_font(c) is None))
    shown = "; ".join(f"'{t}'" for t in texts[:3]) + (f" and {len(texts) - 3} more" if len(texts) > 3 else "")
    log.warning("%s: no installed font has the characters %s of %s: they are drawn as empty boxes in the PNG "
                "(an SVG viewer may have the font); %s.", name, chars, shown, FONT_HINT)


@lru_cache(maxsize=20000)
def text_width_in(text: str, size: float = FONT_SIZE, weight: str = "normal") -> float:
    """Width of one line of text in the figures' font (an SVG viewer's layout), in inches."""
    if not text:
        return 0.0
    return _advances(weight).width_em(text) * size / 72.0


def truncate_to_width(text: str, width_in: float, size: float = FONT_SIZE, weight="normal") -> str:
    """Cut text to fit `width_in`, ending in a visible ellipsis when anything was removed."""
    text = str(text)
    if text_width_in(text, size, weight) <= width_in:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits together with the ellipsis
        mid = (lo + hi + 1) // 2
        if text_width_in(text[:mid].rstrip() + "…", size, weight) <= width_in:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


# A label cut in its middle keeps about this share of the width for its end: a label's end (the
# year, "(second report)", "grade 3") is what tells studies of one author apart.
TAIL_SHARE = 0.4


def cut_middle(text: str, width_in: float, size: float = FONT_SIZE, weight="normal",
               tail_share: float = TAIL_SHARE) -> str:
    """Cut text to fit `width_in` by replacing its middle with a visible "…": the start and the
    last words (about `tail_share` of the width) are kept."""
    text = str(text)
    if text_width_in(text, size, weight) <= width_in:
        return text
    tail_room = width_in * tail_share
    start = len(text)
    while start > 0 and text_width_in(text[start - 1:], size, weight) <= tail_room:
        start -= 1
    if 0 < start and text[start - 1] != " ":  # begin the end at a whole word: its start if that
        before = text.rfind(" ", 0, start) + 1  # fits with a little more room, else the next one
        after = text.find(" ", start)
        if before > 0 and text_width_in(text[before:], size, weight) <= tail_room * 1.35:
            start = before
        elif after != -1 and after + 1 < len(text):
            start = after + 1
    tail = text[start:].lstrip() if start < len(text) else ""
    lo, hi = 0, start
    while lo < hi:  # the longest start that fits together with the ellipsis and the end
        mid = (lo + hi + 1) // 2
        if text_width_in(text[:mid].rstrip() + "…" + _spaced(tail), size, weight) <= width_in:
            lo = mid
        else:
            hi = mid - 1
    return text[:_word_end(text, lo)].rstrip() + "…" + _spaced(tail)


def _word_end(text: str, cut: int) -> int:
    """Where to end a label's start that fits up to `cut`: at the last space when one is in its
    second half (no word cut in two), and never inside a number (a year reads wrong cut)."""
    if cut >= len(text) or text[cut].isspace() or text[cut - 1].isspace():
        return cut
    space = text.rfind(" ", 0, cut)
    if space > cut / 2:
        return space
    while cut > 0 and text[cut - 1].isdigit() and text[cut].isdigit():
        cut -= 1
    return cut


def _spaced(tail: str) -> str:
    return f" {tail}" if tail else ""


def shorten_labels(texts, width_in: float, size: float = FONT_SIZE, weight="normal") -> dict[str, str]:
    """Each text, cut in its middle to fit `width_in` (cut_middle), so that no two different texts
    read the same: texts whose cuts would meet keep more of their end, else of their start."""
    texts = list(dict.fromkeys(str(t) for t in texts))
    short = {t: cut_middle(t, width_in, size, weight) for t in texts}
    for share in (0.55, 0.7, 0.85, 0.25, 0.1, 0.0):
        merged = _merged(short)
        if not merged:
            break
        for text in merged:
            short[text] = cut_middle(text, width_in, size, weight, share)
    alike = dict(short)
    for text in _merged(short):  # alike at both ends: show where it differs from the others
        others = [t for t in texts if t != text and alike[t] == alike[text]]
        differs = min(len(os.path.commonprefix([text, other])) for other in others)
        start = text.rfind(" ", 0, differs) + 1
        short[text] = truncate_to_width("…" + text[start:], width_in, size, weight)
    return short


def _merged(short: dict[str, str]) -> list[str]:
    """The texts whose shortened form is another text's too."""
    seen: dict[str, list[str]] = {}
    for text, cut in short.items():
        seen.setdefault(cut, []).append(text)
    return [text for group in seen.values() if len(group) > 1 for text in group]


def wrap_to_width(text: str, width_in: float, size: float = FONT_SIZE, weight="normal",
                  max_lines: int | None = None) -> list[str]:
    """Greedy word wrap by rendered width; words longer than a line are cut with an ellipsis.

    With `max_lines`, the last line is truncated visibly when text remains.
    """
    words = _bound(str(text).split())
    whole = " ".join(words)
    if text_width_in(whole, size, weight) <= width_in:  # what the loop below would find, at once
        return [whole] if whole else [""]
    lines: list[str] = []
    current = ""
    for word in words:
        trial = f"{current} {word}".strip()
        if text_width_in(trial, size, weight) <= width_in or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    lines = [truncate_to_width(line, width_in, size, weight) for line in lines]
    if max_lines is not None and len(lines) > max_lines:
        kept = lines[:max_lines]
        kept[-1] = truncate_to_width(kept[-1] + " " + lines[max_lines] + " …", width_in, size,
                                     weight)
        if not kept[-1].endswith("…"):
            kept[-1] = truncate_to_width(kept[-1] + "…", width_in, size, weight)
        lines = kept
    return lines or [""]


def _bound(words: list[str]) -> list[str]:
    """Words with each "=" bound to its neighbours: "ni = 12.59" is never broken across lines."""
    out: list[str] = []
    for word in words:
        if out and (word == "=" or out[-1].endswith("=")):
            out[-1] += " " + word
        else:
            out.append(word)
    return out


def split_clauses(text: str, width_in: float, size: float = FONT_SIZE) -> list[str]:
    """Break a statistics line ("a; b; c") at clause boundaries so that each line fits; a clause
    longer than a line is word-wrapped on from where the line stands, and the next clause goes on
    from its last line (no stray short line after it)."""
    clauses = [c.strip() for c in str(text).split(";") if c.strip()]
    lines: list[str] = []
    current = ""
    for clause in clauses:
        trial = f"{current}; {clause}" if current else clause
        if text_width_in(trial, size) <= width_in:
            current = trial
        elif current and text_width_in(clause, size) <= width_in:
            lines.append(current + ";")
            current = clause
        else:
            *done, current = wrap_to_width(trial, width_in, size)
            lines.extend(done)
    if current:
        lines.append(current)
    return lines


# ---------------------------------------------------------------------------------------------
# Axes. (How numbers read is metasr.display's, shared with the report.)


def nice_limit(x: float) -> float:
    """Round a positive half-width up to 1, 2 or 5 times a power of ten."""
    if not is_number(x) or x <= 0:
        return 1.0
    exponent = math.floor(math.log10(x))
    for step in (1, 1.5, 2, 2.5, 3, 5, 10):
        candidate = round(step * 10**exponent, 12)  # 3 * 0.1 is 0.30000000000000004
        if candidate >= x * 0.999:
            return candidate
    return 10 ** (exponent + 1)


def ratio_half_width(needed_log: float) -> float:
    """Half-width (log units) of a symmetric ratio axis at a familiar ratio: 1.5, 2, 5, 10..."""
    for r in (1.5, 2, 5, 10, 20, 50, 100, 1000):
        if math.log(r) >= needed_log * 0.999:
            return math.log(r)
    return math.log(1000)


# Familiar ratios in the order an axis takes them: 1, powers of ten outwards, then the 1-2-5 values
# between them. Each group is taken whole (the axis is symmetric about 1 and stays so).
RATIO_TICKS = ((1,), (0.1, 10), (0.01, 100), (0.001, 1000), (0.5, 2), (0.2, 5), (0.05, 20), (0.02, 50),
               (0.7, 1.5))


def ratio_ticks(lo_log: float, hi_log: float, width_in: float | None = None, most: int = 7) -> list[float]:
    """Log-scale tick positions at familiar ratio values within [lo, hi], taken in RATIO_TICKS
    order while there are at most `most` and, given the axis' length `width_in` (inches), their
    labels do not overlap: 0.001 to 1000 gets its seven powers of ten, not 0.1, 0.2, 0.5 and 1
    printed into each other."""
    per_in = width_in / (hi_log - lo_log) if width_in and hi_log > lo_log else None
    taken: list[tuple[float, str]] = []
    for group in RATIO_TICKS:
        new = [(math.log(c), tick(c)) for c in group if lo_log - 1e-9 <= math.log(c) <= hi_log + 1e-9]
        if new and len(taken) + len(new) <= most and \
                (per_in is None or all(labels_clear(x, label, taken, per_in) for x, label in new)):
            taken += new
    return sorted(x for x, _ in taken)


def labels_clear(x: float, label: str, taken: list[tuple[float, str]], per_in: float) -> bool:
    """Whether a tick label at `x` leaves TICK_GAP_IN beside each label taken (per_in: inches per
    unit of the axis)."""
    half = text_width_in(label, TICK_FONT_SIZE) / 2
    return all(abs(x - t) * per_in >= half + text_width_in(other, TICK_FONT_SIZE) / 2 + TICK_GAP_IN
               for t, other in taken)


def clear_ticks(ticks: list[float], labels: list[str], lo: float, hi: float,
                width_in: float | None) -> tuple[list[float], list[str]]:
    """The ticks whose labels do not overlap on an axis [lo, hi] `width_in` long, taken from the
    middle of the axis outwards (all of them when the length is not known)."""
    if not width_in or hi <= lo:
        return ticks, labels
    taken: list[tuple[float, str]] = []
    for x, label in sorted(zip(ticks, labels, strict=True), key=lambda pair: abs(pair[0] - (lo + hi) / 2)):
        if labels_clear(x, label, taken, width_in / (hi - lo)):
            taken.append((x, label))
    taken.sort()
    return [x for x, _ in taken], [label for _, label in taken]


def fmt_ratio_tick(value_log: float) -> str:
    return tick(math.exp(value_log))


def log_ticks(lo_log: float, hi_log: float) -> list[float]:
    """Log-scale tick positions at 1-2-5 values (..., 0.5, 1, 2, 5, 10, 20, ...) within [lo, hi]."""
    low, high = math.floor(lo_log / math.log(10)), math.ceil(hi_log / math.log(10))
    values = [m * 10.0 ** e for e in range(low, high + 1) for m in (1, 2, 5)]
    return [math.log(v) for v in values if lo_log - 1e-9 <= math.log(v) <= hi_log + 1e-9]


def effect_ticks(lo: float, hi: float, disp: measures.Display,
                 width_in: float | None = None) -> tuple[list[float], list[str]]:
    """Tick positions on the analysis scale within [lo, hi], labelled as shown: ratios at
    familiar values, other back-transformed scales at round shown values (%, r, rates); a log
    mean's or log rate's axis spanning a wide range at 1-2-5 values (round values evenly spaced on the shown
    scale would crowd its upper end). Given the axis' length `width_in` (inches), the ticks of a
    scale stretched toward its bounds are spread so that they reach along the axis and no labels
    overlap (spread_ticks)."""
    if disp.ratio:
        ticks = ratio_ticks(lo, hi, width_in)
        return ticks, [fmt_ratio_tick(t) for t in ticks]
    if not disp.identity and disp.transform == "exp" and not disp.percent and len(log_ticks(lo, hi)) >= 3:
        ticks = log_ticks(lo, hi)
        return clear_ticks(ticks, [fmt_ratio_tick(t) for t in ticks], lo, hi, width_in)
    if disp.identity and not disp.percent:
        ticks = identity_ticks(lo, hi, [1, 2, 5, 10], disp.null is not None)
        if len(ticks) < 3:  # steps of 50 leave an axis from -5 to 90 (a mean) only 0 and 50: steps of 25
            ticks = identity_ticks(lo, hi, [1, 2, 2.5, 5, 10], disp.null is not None)
        return clear_ticks(ticks, [tick(t) for t in ticks], lo, hi, width_in)
    a, b = disp.shown(lo), disp.shown(hi)
    if a is None or b is None:
        return [], []
    if disp.percent and not disp.identity:
        return percent_ticks(lo, hi, disp, width_in)
    shown = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(a, b)
    pairs = [(disp.from_shown(round(t, 10)), round(t, 10)) for t in shown]
    kept = [(x, t) for x, t in pairs if x is not None and lo - 1e-9 <= x <= hi + 1e-9]
    if width_in is not None and hi > lo and not disp.identity and disp.shown_bounds is not None:
        kept = spread_ticks(kept, lo, hi, disp, width_in)  # Fisher's z: stretched toward r = ±1
    return clear_ticks([x for x, _ in kept], [tick(t) for _, t in kept], lo, hi, width_in)


def identity_ticks(lo: float, hi: float, steps: list[float], symmetric: bool) -> list[float]:
    """Round values within [lo, hi] at about four intervals (symmetric about a null at 0)."""
    locator = MaxNLocator(nbins=4, steps=steps, symmetric=symmetric)
    return [t for t in locator.tick_values(lo, hi) if lo - 1e-9 <= t <= hi + 1e-9]


TICK_FONT_SIZE = FONT_SIZE - 0.5  # the effect axes' tick labels (forest, summary, sensitivity)
TICK_GAP_IN = 0.06  # the least room between two tick labels


def spread_ticks(kept: list[tuple[float, float]], lo: float, hi: float, disp: measures.Display,
                 width_in: float, most: int = 7) -> list[tuple[float, float]]:
    """(position, shown value) ticks of a back-transformed axis [lo, hi], `width_in` long, whose
    labels do not overlap.

    Round values evenly spaced on the shown scale crowd where the back-transformation compresses
    it: Fisher's z axis that reaches r = 0.999 (z = 3.8) had only -0.5, 0 and 0.5, printed over
    each other near its middle. They are taken from the middle of the axis outwards while their
    labels fit; then, where the transform stretches toward a bound, values ever closer to it (r =
    0.9, 0.99, 0.999 ...) at least 1/`most` of the axis from every tick taken, so that the ticks
    reach out along the axis."""
    per_in = width_in / (hi - lo)
    taken: list[tuple[float, float]] = []

    def fits(x: float, value: float) -> bool:
        return labels_clear(x, tick(value), [(t, tick(v)) for t, v in taken], per_in)

    for x, value in sorted(kept, key=lambda pair: abs(pair[0] - (lo + hi) / 2)):
        if fits(x, value):
            taken.append((x, value))
    for value in toward_bounds(disp):
        at = disp.from_shown(value)
        if at is not None and lo - 1e-9 <= at <= hi + 1e-9 and fits(at, value) \
                and all(abs(at - t) >= (hi - lo) / most for t, _ in taken):
            taken.append((at, value))
    return sorted(taken)


def toward_bounds(disp: measures.Display, most: int = 6) -> list[float]:
    """Shown values ever closer to the bounds of a bounded scale, nearest the middle first: for a
    correlation ±0.9, ±0.99, ... (a tenth, a hundredth ... of the half-range from each bound)."""
    bounds = disp.shown_bounds
    if bounds is None:
        return []
    half = (bounds[1] - bounds[0]) / 2
    return [round(bound - sign * half * 10.0**-k, 12) for k in range(1, most + 1)
            for bound, sign in ((bounds[1], 1), (bounds[0], -1))]


# Round percentages in the order an axis takes them: a transformed proportion axis (logit, arcsine,
# log) stretches the ends, so round values near 0 and 100 % are spread as widely as those near 50 %.
# 0 and 100 come right after 50: an axis that reaches a bound (arcsine, Freeman-Tukey) says so at
# its end; the logit never reaches them, and reaches 0.01 % only for a square past 0.1 %.
PERCENT_TICKS = (50, 0, 100, 10, 90, 1, 99, 25, 75, 5, 95, 0.1, 99.9, 20, 80, 2, 98, 30, 70, 40, 60,
                 0.01, 99.99)


def percent_ticks(lo: float, hi: float, disp: measures.Display, width_in: float | None = None,
                  most: int = 10) -> tuple[list[float], list[str]]:
    """Ticks of a transformed proportion axis spanning [lo, hi] (analysis scale): round
    percentages, taken in PERCENT_TICKS order when at least 1/`most` of the axis from every tick
    already taken and, given the axis' length `width_in` (inches), their labels clear of the
    others'. (1/7 left a logit axis from 12 to 99.9 % only 20, 50, 90 and 99: nothing between
    50 and 90, where its studies were.)"""
    gap = (hi - lo) / most
    per_in = width_in / (hi - lo) if width_in and hi > lo else None
    taken: list[tuple[float, float]] = []
    for value in PERCENT_TICKS:
        x = disp.from_shown(value)
        if x is None or not lo - 1e-9 <= x <= hi + 1e-9 or any(abs(x - t) < gap for t, _ in taken):
            continue
        if per_in is not None and not labels_clear(x, tick(value), [(t, tick(v)) for t, v in taken], per_in):
            continue
        taken.append((x, value))
    taken.sort()
    return [x for x, _ in taken], [tick(v) for _, v in taken]


def null_half_width(needed: float, disp: measures.Display) -> float:
    """Half-width of an axis symmetric about the null: familiar ratios, else a round number."""
    return ratio_half_width(needed) if disp.ratio else nice_limit(needed)


def value_limits(values, disp: measures.Display, minimum: float = 0.1) -> tuple[float, float]:
    """An axis (analysis scale) for these values: symmetric about the null where the measure has
    one, else their range with a margin."""
    values = [float(v) for v in values if is_number(v)]
    if disp.null is not None:
        half = null_half_width(max([abs(v - disp.null) for v in values] + [minimum]) * 1.05, disp)
        return disp.null - half, disp.null + half
    if not values:
        return -1.0, 1.0
    lo, hi = min(values), max(values)
    pad = max((hi - lo) * 0.08, 0.02)
    return lo - pad, hi + pad


# ---------------------------------------------------------------------------------------------
# Writing files.


def save_figure(fig, svg_path=None, png_path=None) -> None:
    """Write SVG (no date: reruns are byte-identical) and, only when `png_path` is given, a
    300-dpi PNG, atomically. Nothing is rendered for a file that is not asked for. Characters the
    figures' font lacks are drawn in an installed font that has them; those no font has are named
    in a warning of metasr's own (matplotlib's says only "Glyph 29579 missing")."""
    with style():  # as the ticks are laid out when drawn: their number follows the font size
        light_ticks(fig)
    unfound = fall_back(fig)
    if unfound and png_path:
        _warn_unfound(Path(png_path).name, unfound)
    with style(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)
        if svg_path:
            buffer = io.BytesIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None})
            with atomic_path(svg_path) as tmp:
                Path(tmp).write_bytes(_with_titles(buffer.getvalue(), fig.__dict__.get("_metasr_titles", {})))
        if png_path:
            with atomic_path(png_path) as tmp:
                fig.savefig(tmp, format="png", dpi=PNG_DPI, metadata={"Software": None})


def message_figure(title: str, message: str, width_in: float = 6.0):
    """A small figure that says why there is no plot (never an empty or invented one)."""
    lines = wrap_to_width(message, width_in - 0.4)
    title_lines = wrap_to_width(title, width_in - 0.4, size=FONT_SIZE + 2, weight="bold")
    height = 0.35 + 0.22 * len(title_lines) + 0.18 * len(lines) + 0.2
    fig = new_figure(width_in, height)
    y = height - 0.3
    for line in title_lines:
        fig.text(0.2 / width_in, y / height, line, fontsize=FONT_SIZE + 2, weight="bold",
                 va="baseline")
        y -= 0.22
    y -= 0.06
    for line in lines:
        fig.text(0.2 / width_in, y / height, line, fontsize=FONT_SIZE, va="baseline",
                 color="#333333")
        y -= 0.18
    return fig
