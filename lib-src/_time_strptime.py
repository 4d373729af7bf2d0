# time.strptime() for portlib's time module, in the C locale. Written for portlib; a
# hand-rolled scanner instead of CPython's regex-built _strptime, since MicroPython's re has
# no named groups. Imported only when strptime() is called.

import time as _time

_NAMES = {"a": [d[:3] for d in _time._DAYS], "A": list(_time._DAYS),
          "b": [m[:3] for m in _time._MONTHS], "B": list(_time._MONTHS), "p": ["AM", "PM"]}
# directive -> (max digits, low, high)
_NUMS = {"d": (2, 1, 31), "m": (2, 1, 12), "y": (2, 0, 99), "Y": (4, 0, 9999),
         "H": (2, 0, 23), "I": (2, 1, 12), "M": (2, 0, 59), "S": (2, 0, 61),
         "j": (3, 1, 366), "w": (1, 0, 6), "U": (2, 0, 53), "W": (2, 0, 53), "f": (6, 0, 999999),
         "e": (2, 1, 31)}


def _bad(string, format):
    return ValueError("time data %r does not match format %r" % (string, format))


def strptime(string, format="%a %b %d %H:%M:%S %Y"):
    if not isinstance(string, str) or not isinstance(format, str):
        raise TypeError("strptime() argument must be str")
    for k, v in _time._COMPOSITE.items():
        format = format.replace("%" + k, v)
    got = {}
    i = 0
    n = len(string)
    j = 0
    while j < len(format):
        c = format[j]
        j += 1
        if c != "%":
            if c.isspace():
                while i < n and string[i].isspace():
                    i += 1
            elif i < n and string[i] == c:
                i += 1
            else:
                raise _bad(string, format)
            continue
        if j == len(format):
            raise ValueError("stray %% in format %r" % format)
        c = format[j]
        j += 1
        if c == "%":
            if i < n and string[i] == "%":
                i += 1
                continue
            raise _bad(string, format)
        if c in _NUMS:
            width, lo, hi = _NUMS[c]
            if c == "e":
                while i < n and string[i] == " ":
                    i += 1
            k = i
            while k < n and k - i < width and string[k].isdigit():
                k += 1
            if k == i:
                raise _bad(string, format)
            v = int(string[i:k])
            if c == "f":
                v *= 10 ** (6 - (k - i))
            elif not lo <= v <= hi:
                raise _bad(string, format)
            got[c] = v
            i = k
        elif c in _NAMES:
            for idx, name in enumerate(_NAMES[c]):
                if string[i:i + len(name)].lower() == name.lower():
                    got[c] = idx
                    i += len(name)
                    break
            else:
                raise _bad(string, format)
        elif c == "Z":
            k = i
            while k < n and string[k].isalpha():
                k += 1
            zone = string[i:k]
            if zone.upper() not in ("UTC", "GMT") + _time.tzname:
                raise _bad(string, format)
            got[c] = zone
            i = k
        elif c == "z":
            sign = string[i:i + 1]
            digits = string[i + 1:i + 5]
            if sign not in ("+", "-") or len(digits) != 4 or not digits.isdigit():
                raise _bad(string, format)
            off = int(digits[:2]) * 3600 + int(digits[2:]) * 60
            got[c] = -off if sign == "-" else off
            i += 5
        else:
            raise ValueError("%r is a bad directive in format %r" % ("%" + c, format))
    if i != n:
        raise ValueError("unconverted data remains: %s" % string[i:])
    return _assemble(got)


def _assemble(got):
    year = got.get("Y")
    if year is None:
        year = 1900
        if "y" in got:
            y = got["y"]
            year = y + (2000 if y < 69 else 1900)
    month = got.get("m", 1)
    for c in "bB":
        if c in got:
            month = got[c] + 1
    day = got.get("d", got.get("e", 1))
    hour = got.get("H", 0)
    if "I" in got:
        hour = got["I"] % 12 + (12 if got.get("p") == 1 else 0)
    wday = got.get("a", got.get("A"))
    if wday is None and "w" in got:
        wday = (got["w"] - 1) % 7
    yday = got.get("j")
    if yday is not None and "m" not in got and "b" not in got and "B" not in got:
        days = _time._days_from_civil(year, 1, 1) + yday - 1
        year, month, day = _time._civil_from_days(days)
    days = _time._days_from_civil(year, month, day)
    if yday is None:
        yday = days - _time._days_from_civil(year, 1, 1) + 1
    if wday is None:
        wday = (days + 3) % 7
    isdst = -1
    if "Z" in got:
        # The daylight name of the zone tzset() set up means DST; UTC, GMT and the standard
        # name mean not.
        zone = got["Z"].lower()
        isdst = int(bool(_time.daylight) and zone == _time.tzname[1].lower()
                    and zone != _time.tzname[0].lower())
    st = _time.struct_time((year, month, day, hour, got.get("M", 0), got.get("S", 0), wday,
                            yday, isdst))
    st._zone = got.get("Z")
    st._gmtoff = got.get("z")
    return st
