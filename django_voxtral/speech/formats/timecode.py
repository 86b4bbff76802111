"""Subtitle timestamps: seconds to whole milliseconds and to SRT/WebVTT clock strings.

Pure arithmetic on numbers; never round twice (the classic ``00:00:00,1000`` bug) or clip hours.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal


def to_ms(seconds: float) -> int:
    """Whole milliseconds, rounded half up on the decimal value the number prints as.

    ``0.9995`` is stored as 0.99949999..., yet a person (and the JSON) reads 0.9995, so it rounds
    to 1000 ms. Negative and non-finite times (a broken service) become 0.
    """
    value = float(seconds)
    if not math.isfinite(value) or value <= 0:
        return 0
    return int(Decimal(repr(value)).scaleb(3).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_timestamp(seconds: float, *, decimal_marker: str = ",") -> str:
    """``HH:MM:SS,mmm`` (SRT) or, with ``decimal_marker="."``, ``HH:MM:SS.mmm`` (WebVTT).

    Hours take as many digits as they need (both formats allow more than two).
    """
    total_ms = to_ms(seconds)
    total_s, ms = divmod(total_ms, 1000)
    total_m, s = divmod(total_s, 60)
    h, m = divmod(total_m, 60)
    return f"{h:02d}:{m:02d}:{s:02d}{decimal_marker}{ms:03d}"
