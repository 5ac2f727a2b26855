"""Sizes and counts written the way people read them."""

from __future__ import annotations


def format_bytes(n: int) -> str:
    """A size as people read it: "1.2 GB", "850 MB", "12 KB" (powers of 1024, like the OS)."""
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if round(value, 1) < 1024 or unit == "TB":
            break
    if unit in ("GB", "TB") or round(value, 1) < 10:
        return f"{value:.1f} {unit}"
    return f"{value:.0f} {unit}"


def format_parameter_count(n: int) -> str:
    """A parameter count as model names write it: "260K", "1.1B", "494M", "70B"."""
    if n < 1000:
        return str(n)
    value, unit = n / 1e12, "T"
    for divisor, name in ((1e3, "K"), (1e6, "M"), (1e9, "B")):
        if round(n / divisor) < 1000:
            value, unit = n / divisor, name
            break
    text = f"{value:.1f}" if round(value, 1) < 10 else f"{value:.0f}"
    return text.removesuffix(".0") + unit


def format_duration(seconds: float) -> str:
    """A time left as people say it: "about 20 s", "about 3 min", "about 1 h 5 min"."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"about {max(seconds, 1)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60} min"
