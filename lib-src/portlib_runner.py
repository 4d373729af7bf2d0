# portlib's board-side test runner.
#
# The host (`portlib test`, `portlib mem`) starts a fresh VM for every test module and runs
#     import portlib_runner; portlib_runner.main(MODE, MODULE)
# with MODE "test" (import the module, run its unittest tests) or "mem" (import it and report
# the heap it keeps). Everything the host needs comes back as event lines on stdout:
#     "\x1e@portlib:" NAME "\t" FIELD "\t" FIELD ... "\n"
# Fields are escaped (backslash, tab, CR, LF and the \x1e sentinel byte), so a field never ends
# an event early; the host finds the sentinel even after a partial line the test printed, and
# shows an event cut short by a dying VM as output, never as an event. Text outside events is
# the test's own output.
#
# Events (PROTOCOL 1):
#   hello  PROTOCOL IMPL VERSION MEM_FREE MEM_ALLOC MAXSIZE
#                                                         first line: heap once the runner is
#                                                         loaded; MAXSIZE tells 32 from 64 bit
#   import MODULE MEM_ALLOC MEM_FREE                      about to import (after gc.collect())
#   imported MODULE MEM_ALLOC MEM_FREE MS                 import done (after gc.collect())
#   skipmodule MODULE REASON                              unittest.SkipTest at import
#   start  TEST_ID                                        a test begins
#   result TEST_ID STATUS MS EXC_TYPE DETAIL              ok|fail|error|skip|xfail|xpass
#   error  PHASE EXC_TYPE DETAIL                          an exception outside any test
#   done   TESTS_RUN MS MEM_ALLOC MEM_FREE                the runner finished normally
#
# It runs on MicroPython, CircuitPython and CPython, against CPython 3.4's unittest API
# (TestLoader.loadTestsFromModule, TestSuite.run, the TestResult hooks) so it works with the
# ported unittest. Kept small: every byte of this module is heap the test cannot use.

try:
    import usys as sys
except ImportError:
    import sys
import gc

try:
    # `u` names reach the built-in even when the bundle's lib/ has a ported time.py or io.py.
    from utime import ticks_ms as _ms, ticks_diff as _diff
except ImportError:
    try:
        from time import monotonic_ns as _ns

        def _ms():
            return _ns() // 1000000

    except ImportError:
        try:
            from time import monotonic as _mono

            def _ms():
                return int(_mono() * 1000)

        except ImportError:
            # A firmware without any clock module (the emulated board): durations read 0.
            def _ms():
                return 0

    def _diff(a, b):
        return a - b


try:
    import uio as _io
except ImportError:
    import io as _io

PROTOCOL = 1
SENTINEL = "\x1e@portlib:"


def _mem():
    gc.collect()
    try:
        return gc.mem_alloc(), gc.mem_free()
    except AttributeError:
        return -1, -1


def _esc(s):
    if not isinstance(s, str):
        s = str(s)
    for c in "\\\t\n\r\x1e":
        if c in s:
            return (
                s.replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
                .replace("\x1e", "\\x1e")
            )
    return s


def _emit(*fields):
    # One write per event, preceded by a newline-free sentinel: the host finds the sentinel
    # even when the test left a partial line on stdout.
    sys.stdout.write(SENTINEL + "\t".join([_esc(f) for f in fields]) + "\n")
    try:
        sys.stdout.flush()
    except AttributeError:
        pass


def _name(t):
    try:
        return t.__name__
    except AttributeError:
        return str(t)


def _fmt(exc):
    # Traceback text of an exception instance; a MemoryError here must not hide the first one.
    try:
        buf = _io.StringIO()
        if hasattr(sys, "print_exception"):
            sys.print_exception(exc, buf)
        else:
            import traceback

            traceback.print_exception(type(exc), exc, exc.__traceback__, None, buf)
        return buf.getvalue()
    except MemoryError:
        return _name(type(exc)) + ": (no memory left to format the traceback)"


def _tid(test):
    try:
        return test.id()
    except Exception:
        return str(test)


def _make_result(unittest):
    class Result(unittest.TestResult):
        # Counts only; the base class's lists of formatted tracebacks would cost heap.
        def __init__(self, *args, **kwargs):
            unittest.TestResult.__init__(self, *args, **kwargs)
            self._cur = None
            self._t0 = 0

        def startTest(self, test):
            unittest.TestResult.startTest(self, test)
            self._cur = _tid(test)
            self._t0 = _ms()
            _emit("start", self._cur)

        def stopTest(self, test):
            unittest.TestResult.stopTest(self, test)
            self._cur = None

        def _report(self, test, status, etype, detail):
            tid = _tid(test)
            ms = _diff(_ms(), self._t0) if tid == self._cur else 0
            _emit("result", tid, status, ms, etype, detail)

        def _report_err(self, test, status, err):
            self._report(test, status, _name(err[0]), _fmt(err[1]))

        def addSuccess(self, test):
            self._report(test, "ok", "", "")

        def addFailure(self, test, err):
            self._report_err(test, "fail", err)

        def addError(self, test, err):
            self._report_err(test, "error", err)

        def addSkip(self, test, reason):
            self._report(test, "skip", "", reason)

        def addExpectedFailure(self, test, err):
            self._report_err(test, "xfail", err)

        def addUnexpectedSuccess(self, test):
            self._report(test, "xpass", "", "")

        def addSubTest(self, test, subtest, err):
            if err is not None:
                fail = issubclass(err[0], test.failureException)
                self._report_err(subtest, "fail" if fail else "error", err)

    return Result


def _error(phase, exc):
    _emit("error", phase, _name(type(exc)), _fmt(exc))


def _run_tests(unittest, mod):
    result = _make_result(unittest)()
    main = getattr(mod, "test_main", None)
    if main is not None:
        # CPython 3.4 modules with test_main() pick their own classes and fixtures and hand
        # them to test.support.run_unittest(); route its suite runner through our result.
        support = sys.modules.get("test.support")
        if support is not None and hasattr(support, "_run_suite"):

            def run_suite(suite):
                suite.run(result)

            support._run_suite = run_suite
            main()
            return result
    suite = unittest.TestLoader().loadTestsFromModule(mod)
    suite.run(result)
    return result


def _load(name, skip):
    # Import `name` between two heap readings; None when it raised (already reported).
    alloc, free = _mem()
    _emit("import", name, alloc, free)
    ti = _ms()
    try:
        __import__(name)
        mod = sys.modules[name]
    except BaseException as e:
        if skip is not None and isinstance(e, skip):
            _emit("skipmodule", name, str(e))
        else:
            _error("import", e)
        e = None
        return None
    ms = _diff(_ms(), ti)
    alloc, free = _mem()
    _emit("imported", name, alloc, free, ms)
    return mod


def test(name):
    t0 = _ms()
    _hello()
    try:
        import unittest
    except BaseException as e:
        _error("unittest", e)
        e = None
        _done(0, t0)
        return
    mod = _load(name, unittest.SkipTest)
    run = 0
    if mod is not None:
        try:
            result = _run_tests(unittest, mod)
            run = result.testsRun
            result = None
        except BaseException as e:
            _error("run", e)
            e = None
    _done(run, t0)


def mem(name):
    t0 = _ms()
    _hello()
    mod = _load(name, None)
    mod = None
    _done(0, t0)


def _hello():
    alloc, free = _mem()
    _emit("hello", PROTOCOL, sys.implementation.name, sys.version, free, alloc, sys.maxsize)


def _done(run, t0):
    alloc, free = _mem()
    _emit("done", run, _diff(_ms(), t0), alloc, free)


def main(mode, name):
    if mode == "mem":
        mem(name)
    else:
        test(name)
