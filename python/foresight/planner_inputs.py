"""What a capacity plan is asked: the target rate, the SLO, the GPU types and their prices, read from
command-line text or Python values, each mistake one InputError naming the argument."""
import re

from . import InputError

_NUMBER = r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def _number(value, pattern, error):
    """A float from a number, or from text whose first group of `pattern` is one; else InputError(error)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    m = re.fullmatch(pattern, str(value).strip())
    if not m:
        raise InputError(error)
    return float(m.group(1))


def rate(value, what="--rate"):
    """Requests per second from 40, "40" or "40/s"."""
    r = _number(value, _NUMBER + r"\s*(?:/\s*s)?", f"{what} {value}: expected requests per second, e.g. 40/s")
    if not r > 0:
        raise InputError(f"{what} {value}: must be positive")
    return r


def usd_per_hour(value, what):
    """Dollars per hour from 2.5, "2.5", "2.5/h" or "$2.5/h"; `what` prefixes the value in errors
    ("--budget ", "--price h100-sxm-80gb=")."""
    v = _number(value, r"\$?\s*(-?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(?:/\s*h)?",
                f"{what}{value}: expected dollars per hour, e.g. 2.5/h")
    if not v > 0:
        raise InputError(f"{what}{value}: a price must be positive")
    return v


def _ms(key, text):
    m = re.fullmatch(_NUMBER + r"\s*(ms|s)?", text.strip())
    if not m:
        raise InputError(f"--slo {key}={text}: expected a time such as 500ms or 0.5s")
    v = float(m.group(1)) * (1000.0 if m.group(2) == "s" else 1.0)
    if not v > 0:
        raise InputError(f"--slo {key}={text}: must be positive")
    return v


def slo(value):
    """{"ttft_ms", "tpot_ms", "percentile"} (any subset) from "ttft=500ms,tpot=40ms,p=99" or a dict
    with those keys (ttft/tpot in ms)."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        items = [(k, str(v)) for k, v in value.items()]
    else:
        items = []
        for part in str(value).split(","):
            if "=" not in part:
                raise InputError(f"--slo {part}: expected key=value (ttft=500ms, tpot=40ms, p=99)")
            k, v = part.split("=", 1)
            items.append((k.strip(), v.strip()))
    out = {}
    for k, v in items:
        if k in ("ttft", "ttft_ms"):
            out["ttft_ms"] = _ms(k, v)
        elif k in ("tpot", "tpot_ms"):
            out["tpot_ms"] = _ms(k, v)
        elif k in ("p", "percentile"):
            p = float(v) if re.fullmatch(_NUMBER, v) else -1
            if not 0 < p < 100:
                raise InputError(f"--slo {k}={v}: a percentile between 0 and 100 (exclusive)")
            out["percentile"] = p
        else:
            raise InputError(f"--slo {k}: unknown key; expected ttft, tpot or p")
    return out


def prices(value):
    """{gpu or system id: $/GPU-hour} from "h100-sxm-80gb=2.5/h,h200-sxm-141gb=3.5/h", a list of such
    strings, or a dict."""
    if not value:
        return {}
    if isinstance(value, dict):
        pairs = list(value.items())
    else:
        parts = [value] if isinstance(value, str) else list(value)
        pairs = []
        for text in parts:
            for item in str(text).split(","):
                if "=" not in item:
                    raise InputError(f"--price {item}: expected gpu=dollars/h, e.g. h100-sxm-80gb=2.5/h")
                k, v = item.split("=", 1)
                pairs.append((k.strip(), v.strip()))
    out = {}
    for k, v in pairs:
        if k in out:
            raise InputError(f"--price {k}: given twice")
        out[k] = usd_per_hour(v, f"--price {k}=")
    return out


def int_list(value, what):
    """[1, 2, 4] from "1,2,4" or a list; every value a positive integer."""
    items = value.split(",") if isinstance(value, str) else list(value)
    out = []
    for x in items:
        try:
            v = int(str(x).strip())
        except ValueError:
            raise InputError(f"{what} {x}: expected a positive integer") from None
        if v <= 0:
            raise InputError(f"{what} {x}: expected a positive integer")
        out.append(v)
    if not out:
        raise InputError(f"{what}: at least one value")
    return sorted(set(out))
