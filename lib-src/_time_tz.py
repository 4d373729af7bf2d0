# POSIX TZ strings (the rule form of tzset(3): "EST+05EDT,M3.2.0,M11.1.0") for portlib's time
# module. Written for portlib. A board has no zoneinfo database, so a TZ string that carries
# its own rules is the only time zone it can know; time.tzset() imports this module only when
# TZ is set, so UTC costs nothing.

import time as _time


class Zone:
    # std/dst: names; stdoff/dstoff: seconds WEST of UTC (CPython's time.timezone sign);
    # start/end: (rule, seconds after local midnight) of the switch to and from DST.
    def __init__(self, std, stdoff, dst=None, dstoff=None, start=None, end=None):
        self.std = std
        self.stdoff = stdoff
        self.dst = dst
        self.dstoff = dstoff
        self.start = start
        self.end = end

    def isdst(self, secs):
        # Whether the UTC instant secs falls in daylight saving time. Switches happen at a
        # local time: the start one in standard time, the end one in daylight time.
        if self.dst is None:
            return False
        year = _time._civil_from_days((secs - self.stdoff) // 86400)[0]
        start = _day(self.start[0], year) * 86400 + self.start[1] + self.stdoff
        end = _day(self.end[0], year) * 86400 + self.end[1] + self.dstoff
        if start < end:
            return start <= secs < end
        # Southern hemisphere: DST spans the new year.
        return not end <= secs < start


def _leap(y):
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def _day(rule, year):
    # Days since the epoch of the date a rule names in a year.
    jan1 = _time._days_from_civil(year, 1, 1)
    kind, a = rule[0], rule[1]
    if kind == "J":
        # Julian day 1..365, February 29 never counted.
        return jan1 + a - 1 + (1 if _leap(year) and a >= 60 else 0)
    if kind == "n":
        return jan1 + a
    # Mm.w.d: day d (0 = Sunday) of week w (5 = the last) of month m.
    m, w, d = a, rule[2], rule[3]
    first = _time._days_from_civil(year, m, 1)
    nxt = _time._days_from_civil(year + (m == 12), m % 12 + 1, 1)
    # 1970-01-01 was a Thursday (4).
    day = first + (d - (first + 4) % 7) % 7 + (w - 1) * 7
    while day >= nxt:
        day -= 7
    return day


def _num(s, i):
    j = i
    while j < len(s) and s[j].isdigit():
        j += 1
    if j == i:
        raise ValueError
    return int(s[i:j]), j


def _name(s, i):
    if s[i:i + 1] == "<":
        j = s.index(">", i)
        return s[i + 1:j], j + 1
    j = i
    while j < len(s) and s[j].isalpha():
        j += 1
    if j - i < 3:
        raise ValueError
    return s[i:j], j


def _offset(s, i):
    # [+|-]hh[:mm[:ss]] in seconds.
    sign = 1
    if s[i:i + 1] in ("+", "-"):
        sign = -1 if s[i] == "-" else 1
        i += 1
    secs = 0
    for unit in (3600, 60, 1):
        n, i = _num(s, i)
        secs += n * unit
        if unit == 1 or s[i:i + 1] != ":":
            break
        i += 1
    return sign * secs, i


def _rule(s, i):
    c = s[i:i + 1]
    if c == "M":
        m, i = _num(s, i + 1)
        if s[i:i + 1] != ".":
            raise ValueError
        w, i = _num(s, i + 1)
        if s[i:i + 1] != ".":
            raise ValueError
        d, i = _num(s, i + 1)
        if not (1 <= m <= 12 and 1 <= w <= 5 and 0 <= d <= 6):
            raise ValueError
        rule = ("M", m, w, d)
    elif c == "J":
        n, i = _num(s, i + 1)
        if not 1 <= n <= 365:
            raise ValueError
        rule = ("J", n)
    else:
        n, i = _num(s, i)
        if n > 365:
            raise ValueError
        rule = ("n", n)
    t = 7200
    if s[i:i + 1] == "/":
        t, i = _offset(s, i + 1)
    return (rule, t), i


def parse(s):
    # A Zone, or None when s is not a POSIX rule (a zoneinfo name like "Europe/Paris", which
    # needs a database the VM does not have).
    try:
        std, i = _name(s, 0)
        stdoff, i = _offset(s, i)
        if i == len(s):
            return Zone(std, stdoff)
        dst, i = _name(s, i)
        dstoff = stdoff - 3600
        if i < len(s) and s[i] != ",":
            dstoff, i = _offset(s, i)
        if i == len(s):
            # No rules given: glibc's default ones, the United States' since 2007.
            s += ",M3.2.0,M11.1.0"
        if s[i] != ",":
            return None
        start, i = _rule(s, i + 1)
        if s[i:i + 1] != ",":
            return None
        end, i = _rule(s, i + 1)
        if i != len(s):
            return None
        return Zone(std, stdoff, dst, dstoff, start, end)
    except (ValueError, IndexError):
        return None
