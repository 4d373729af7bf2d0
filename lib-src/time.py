# time: CPython 3.4's time API on top of MicroPython's built-in time (reached as `utime`, or
# on firmware without the `u` aliases by an import that cannot see /lib, since this file
# shadows the built-in `time`).
#
# Written for portlib; not derived from CPython's timemodule.c. Calendar arithmetic is done
# here in Python integers (proleptic Gregorian, any year a C int holds) instead of the VM's
# gmtime, whose range and epoch differ between ports. The VM has no time zone data: local
# time is UTC until tzset() reads a POSIX rule from TZ (see _time_tz).

try:
    import utime as _t
except ImportError:
    import sys as _sys

    _path = _sys.path
    _sys.path = ()
    try:
        import time as _t
    except ImportError:
        # Nothing to build on; callers that can do without a clock catch this.
        raise ImportError("time: the firmware has no built-in time module (no clock)")
    finally:
        _sys.path = _path
    del _sys, _path

_STRUCT_TM_ITEMS = 11

timezone = 0
altzone = 0
daylight = 0
tzname = ("UTC", "UTC")
# The TZ rule in force when it has daylight saving time (a _time_tz.Zone), else None.
_zone = None

_INT_MAX = 0x7FFFFFFF
_INT_MIN = -_INT_MAX - 1
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


class struct_time(tuple):
    # The nine classic fields are the tuple; tm_zone and tm_gmtoff ride along as attributes
    # (None when the value was built from a plain 9-tuple, as in CPython).
    def __init__(self, seq, dict=None):
        if len(seq) != 9:
            raise TypeError("time.struct_time() takes a 9-sequence (%d-sequence given)" % len(seq))

    def __setattr__(self, name, value):
        if name[0] != "_":
            raise AttributeError("readonly attribute")
        object.__setattr__(self, name, value)

    def __repr__(self):
        return "time.struct_time(tm_year=%d, tm_mon=%d, tm_mday=%d, tm_hour=%d, tm_min=%d, " \
            "tm_sec=%d, tm_wday=%d, tm_yday=%d, tm_isdst=%d)" % self

    tm_year = property(lambda s: s[0])
    tm_mon = property(lambda s: s[1])
    tm_mday = property(lambda s: s[2])
    tm_hour = property(lambda s: s[3])
    tm_min = property(lambda s: s[4])
    tm_sec = property(lambda s: s[5])
    tm_wday = property(lambda s: s[6])
    tm_yday = property(lambda s: s[7])
    tm_isdst = property(lambda s: s[8])
    tm_zone = property(lambda s: getattr(s, "_zone", None))
    tm_gmtoff = property(lambda s: getattr(s, "_gmtoff", None))


# --- calendar arithmetic -------------------------------------------------------------------


def _days_from_civil(y, m, d):
    # Days since 1970-01-01 of a proleptic Gregorian date; the year is shifted to start in
    # March so the leap day is the last day of its "year" and eras repeat every 400 years.
    if m <= 2:
        y -= 1
    era = y // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z):
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, d


def _secs(secs):
    if secs is None:
        return int(time())
    if not isinstance(secs, (int, float)):
        raise TypeError("an integer is required")
    # A 64-bit time_t, as on the platforms CPython's tests expect.
    if not -9.2e18 < secs < 9.2e18:
        raise OverflowError("timestamp out of range for platform time_t")
    return int(secs)


def _struct(secs, zone, gmtoff, isdst=0):
    days, rem = divmod(secs, 86400)
    y, m, d = _civil_from_days(days)
    if not _INT_MIN <= y - 1900 <= _INT_MAX:
        raise OSError(75, "Value too large for defined data type")
    hh, rem = divmod(rem, 3600)
    mm, ss = divmod(rem, 60)
    st = struct_time(
        (y, m, d, hh, mm, ss, (days + 3) % 7, days - _days_from_civil(y, 1, 1) + 1, isdst))
    st._zone = zone
    st._gmtoff = gmtoff
    return st


def gmtime(seconds=None):
    return _struct(_secs(seconds), "UTC", 0)


def localtime(seconds=None):
    secs = _secs(seconds)
    dst = 1 if _zone is not None and _zone.isdst(secs) else 0
    off = altzone if dst else timezone
    return _struct(secs - off, tzname[dst], -off, dst)


def tzset():
    # TZ as os.environ has it (posix keeps what os.environ sets), else the VM's getenv (a
    # CircuitPython board reads settings.toml).
    global timezone, altzone, daylight, tzname, _zone
    import posix

    tz = posix.environ.get(b"TZ")
    if tz is not None:
        tz = tz.decode()
    elif hasattr(posix._os, "getenv"):
        tz = posix._os.getenv("TZ")
    timezone = altzone = daylight = 0
    tzname = ("UTC", "UTC")
    _zone = None
    if tz:
        from _time_tz import parse

        z = parse(tz)
        if z is not None:
            timezone = altzone = z.stdoff
            tzname = (z.std, z.std)
            if z.dst is not None:
                altzone = z.dstoff
                daylight = 1
                tzname = (z.std, z.dst)
                _zone = z


def _tuple(t, who):
    if not isinstance(t, tuple):
        raise TypeError("Tuple or struct_time argument required")
    if len(t) != 9:
        raise TypeError("%s(): illegal time tuple argument" % who)
    for v in t:
        if not isinstance(v, int):
            raise TypeError("an integer is required")
    if not _INT_MIN <= t[0] <= _INT_MAX:
        raise OverflowError("year out of range")
    return t


def mktime(t):
    y, m, d, hh, mm, ss = _tuple(t, "mktime")[:6]
    # Out-of-range fields are normalised, like C mktime does.
    y += (m - 1) // 12
    m = (m - 1) % 12 + 1
    secs = (_days_from_civil(y, m, 1) + d - 1) * 86400 + hh * 3600 + mm * 60 + ss
    dst = t[8]
    if dst < 0:
        # Unknown: whatever is in force at that local time read as standard time.
        dst = _zone is not None and _zone.isdst(secs + timezone)
    return float(secs + (altzone if dst else timezone))


def _checked(t, who):
    # CPython's checktm(): 0 stands for the first month/day/yday, other values are bounded.
    t = list(_tuple(t, who))
    for i, lo, hi, name in ((1, 1, 12, "month"), (2, 1, 31, "day of month"),
                            (3, 0, 23, "hour"), (4, 0, 59, "minute"), (5, 0, 61, "seconds"),
                            (7, 1, 366, "day of year")):
        if t[i] == 0 and lo == 1:
            t[i] = 1
        elif not lo <= t[i] <= hi:
            raise ValueError("%s out of range" % name)
    if t[6] < -1:
        raise ValueError("day of week out of range")
    t[6] %= 7
    return t


def asctime(t=None):
    t = localtime() if t is None else _checked(t, "asctime")
    return "%s %s%3d %02d:%02d:%02d %d" % (
        _DAYS[t[6]][:3], _MONTHS[t[1] - 1][:3], t[2], t[3], t[4], t[5], t[0])


def ctime(seconds=None):
    return asctime(localtime(seconds))


# --- strftime --------------------------------------------------------------------------------

# The C locale's composite formats, as glibc spells them.
_COMPOSITE = {"c": "%a %b %e %H:%M:%S %Y", "x": "%m/%d/%y", "X": "%H:%M:%S", "D": "%m/%d/%y",
              "F": "%Y-%m-%d", "T": "%H:%M:%S", "R": "%H:%M", "r": "%I:%M:%S %p",
              "h": "%b"}


def _field(c, t):
    # (value, default zero-padded width) of a numeric directive, or a string.
    y, mo, d, hh, mi, ss, wd, yd = t[:8]
    if c == "Y":
        return y, 1
    if c == "y":
        return y % 100, 2
    if c == "C":
        return y // 100, 2
    if c == "m":
        return mo, 2
    if c == "d":
        return d, 2
    if c == "e":
        return "%2d" % d
    if c == "H":
        return hh, 2
    if c == "I":
        return (hh % 12) or 12, 2
    if c == "M":
        return mi, 2
    if c == "S":
        return ss, 2
    if c == "j":
        return yd, 3
    if c == "w":
        return (wd + 1) % 7, 1
    if c == "u":
        return wd + 1, 1
    if c == "U":
        return (yd - 1 + 7 - (wd + 1) % 7) // 7, 2
    if c == "W":
        return (yd - 1 + 7 - wd) // 7, 2
    if c == "a":
        return _DAYS[wd][:3]
    if c == "A":
        return _DAYS[wd]
    if c == "b":
        return _MONTHS[mo - 1][:3]
    if c == "B":
        return _MONTHS[mo - 1]
    if c == "p":
        return "AM" if hh < 12 else "PM"
    if c == "P":
        return "am" if hh < 12 else "pm"
    if c == "k":
        return "%2d" % hh
    if c == "l":
        return "%2d" % ((hh % 12) or 12)
    if c == "s":
        return int(mktime(t)), 1
    if c in "GgV":
        # ISO 8601 weeks start on Monday; week 1 is the one holding the year's first Thursday.
        thu = yd - 1 - wd + 3  # day of the year (from 0) of this week's Thursday
        iy = y
        if thu < 0:
            iy -= 1
            thu += _days_from_civil(y, 1, 1) - _days_from_civil(iy, 1, 1)
        elif thu >= _days_from_civil(y + 1, 1, 1) - _days_from_civil(y, 1, 1):
            thu -= _days_from_civil(y + 1, 1, 1) - _days_from_civil(y, 1, 1)
            iy += 1
        return (thu // 7 + 1, 2) if c == "V" else (iy, 1) if c == "G" else (iy % 100, 2)
    if c == "Z":
        return t.tm_zone or tzname[t[8] > 0]
    if c == "z":
        off = t.tm_gmtoff
        if off is None:
            off = -(altzone if t[8] > 0 else timezone)
        return "%s%02d%02d" % ("-" if off < 0 else "+", abs(off) // 3600, abs(off) // 60 % 60)
    if c == "n":
        return "\n"
    if c == "t":
        return "\t"
    if c == "%":
        return "%"
    return None


def strftime(format, t=None):
    if not isinstance(format, str):
        raise TypeError("strftime() argument 1 must be str")
    if t is None:
        t = localtime()
    else:
        st = struct_time(_checked(t, "strftime"))
        st._zone = getattr(t, "tm_zone", None)
        st._gmtoff = getattr(t, "tm_gmtoff", None)
        t = st
    return _format(format, t)


def _format(format, t):
    out = []
    i = 0
    n = len(format)
    while i < n:
        c = format[i]
        i += 1
        if c != "%" or i == n:
            out.append(c)
            continue
        start = i - 1
        j = i
        while j < n and format[j] in "0123456789":
            j += 1
        width = int(format[i:j]) if j > i else 0
        if j == n:
            out.append(format[start:])
            break
        c = format[j]
        i = j + 1
        if c in _COMPOSITE:
            out.append(_format(_COMPOSITE[c], t))
            continue
        v = _field(c, t)
        if v is None:
            # glibc leaves an unknown conversion as it was written.
            out.append(format[start:i])
        elif isinstance(v, str):
            out.append(v)
        else:
            v, w = v
            w = max(w, width)
            s = str(abs(v))
            if len(s) < w:
                s = "0" * (w - len(s)) + s
            out.append("-" + s if v < 0 else s)
    return "".join(out)


def strptime(string, format="%a %b %d %H:%M:%S %Y"):
    # Kept in its own module: parsing is rare and costs heap only when used.
    from _time_strptime import strptime as parse

    return parse(string, format)


# --- clocks ----------------------------------------------------------------------------------

if hasattr(_t, "time_ns"):

    def time():
        return _t.time_ns() / 1000000000

else:

    def time():
        return float(_t.time())


# ticks_us() wraps around (2**30 us on most ports); accumulating differences gives a clock
# that does not, provided it is read at least every few minutes.
_last = _t.ticks_us()
_mono = 0
_slept = 0


def _mono_us():
    global _last, _mono
    now = _t.ticks_us()
    _mono += _t.ticks_diff(now, _last)
    _last = now
    return _mono


def monotonic():
    return _mono_us() / 1000000


perf_counter = monotonic


def process_time():
    # No CPU clock on MicroPython; the VM is the only process, so process time is the
    # monotonic time minus the time spent in sleep().
    return (_mono_us() - _slept) / 1000000


clock = process_time


def sleep(secs):
    global _slept
    if secs < 0:
        raise ValueError("sleep length must be non-negative")
    t0 = _mono_us()
    _t.sleep_us(int(secs * 1000000)) if hasattr(_t, "sleep_us") else _t.sleep(secs)
    _slept += _mono_us() - t0


class _ClockInfo:
    def __init__(self, implementation, monotonic, adjustable, resolution):
        self.implementation = implementation
        self.monotonic = monotonic
        self.adjustable = adjustable
        self.resolution = resolution

    def __repr__(self):
        return "namespace(adjustable=%r, implementation=%r, monotonic=%r, resolution=%r)" % (
            self.adjustable, self.implementation, self.monotonic, self.resolution)


CLOCK_REALTIME = 0
CLOCK_MONOTONIC = 1
CLOCK_PROCESS_CPUTIME_ID = 2


def _clock(clk_id):
    if clk_id not in (0, 1, 2):
        raise OSError(22, "Invalid argument")
    return clk_id


def clock_gettime(clk_id):
    return (time, monotonic, process_time)[_clock(clk_id)]()


def clock_getres(clk_id):
    return get_clock_info(("time", "monotonic", "process_time")[_clock(clk_id)]).resolution


def clock_settime(clk_id, t):
    if _clock(clk_id) != CLOCK_REALTIME:
        raise OSError(22, "Invalid argument")
    try:
        import machine

        rtc = machine.RTC()
    except (ImportError, AttributeError):
        # The unix port cannot set the host's clock, and a board without an RTC has none.
        from posix import PermissionError

        raise PermissionError(1, "Operation not permitted")
    y, mo, d, hh, mi, ss, wd = gmtime(t)[:7]
    rtc.datetime((y, mo, d, wd, hh, mi, ss, int(t % 1 * 1000000)))


def get_clock_info(name):
    if name == "time":
        return _ClockInfo("time_ns()" if hasattr(_t, "time_ns") else "time()", False, True,
                          1e-09 if hasattr(_t, "time_ns") else 1.0)
    if name in ("monotonic", "perf_counter"):
        return _ClockInfo("ticks_us()", True, False, 1e-06)
    if name in ("process_time", "clock"):
        return _ClockInfo("ticks_us() - sleep()", True, False, 1e-06)
    raise ValueError("unknown clock")
