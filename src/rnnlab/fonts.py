"""A font with Chinese glyphs for pictures that hold Chinese text (poems, couplets, attention maps).

matplotlib's own font (DejaVu Sans) has no CJK glyphs: Chinese would come out as empty boxes.
:func:`cjk_font` finds a font that has them — the ``cjk`` extra (``pip install "rnnlab[cjk]"``
installs Noto Sans CJK from PyPI), else a CJK font of the system (Noto Sans CJK, Source Han Sans,
WenQuanYi, …) — and :func:`missing_glyphs` checks a text against it, so a test can prove that
every character of a picture is drawn.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .errors import RnnlabError

#: the PyPI package of the ``cjk`` extra, and the module it installs
CJK_PACKAGE, CJK_MODULE = "cvttf-notosanscjk-regular", "cvttf_NotoSansCJK_Regular"
_SYSTEM_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK JP", "Noto Serif CJK SC",
                    "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
                    "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "AR PL UMing CN")
_PROBE = "春眠不觉晓"


class FontNotFoundError(RnnlabError):
    """No font with Chinese glyphs is installed."""


def _has_glyphs(path: str | Path, text: str = _PROBE) -> bool:
    return not missing_glyphs(text, path)


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    """The file of a font with CJK glyphs; :class:`FontNotFoundError` (saying how to install one) if none."""
    try:
        import importlib
        module = importlib.import_module(CJK_MODULE)
        path = Path(module.get_TTF_path())
        if path.is_file() and _has_glyphs(path):
            return path
    except (ImportError, OSError):
        pass
    from matplotlib import font_manager
    for entry in font_manager.fontManager.ttflist:
        if entry.name in _SYSTEM_FAMILIES and _has_glyphs(entry.fname):
            return Path(entry.fname)
    raise FontNotFoundError(f"no font with Chinese glyphs found: pictures with Chinese text need one — "
                            f"pip install \"rnnlab[cjk]\" (the {CJK_PACKAGE} package), or install a system CJK "
                            f"font (e.g. Debian: apt install fonts-noto-cjk)")


def cjk_font():
    """``matplotlib.font_manager.FontProperties`` of :func:`cjk_font_path` (registered with matplotlib)."""
    from matplotlib import font_manager
    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path))


def missing_glyphs(text: str, path: str | Path | None = None) -> list[str]:
    """The distinct characters of ``text`` (whitespace aside) the font at ``path`` (default:
    :func:`cjk_font_path`) has no glyph for — an empty list means every one is drawn."""
    from matplotlib import ft2font
    font = ft2font.FT2Font(str(path if path is not None else cjk_font_path()))
    return sorted({c for c in text if not c.isspace() and font.get_char_index(ord(c)) == 0})
