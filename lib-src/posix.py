# posix: CPython's `posix` module (what `os` re-exports) on top of MicroPython's built-in os.
#
# Written for portlib; not derived from CPython's posixmodule.c. MicroPython's os works in
# plain ints and raises a bare OSError(errno); CPython code expects result objects with
# named fields and the PEP 3151 OSError subclasses, so this module adds exactly that layer.
# A ported os.py next to this file shadows the built-in os, so the built-in is reached by
# its `u` name, or, on firmware without the `u` aliases, by an import that cannot see /lib.

try:
    import usys as _sys
except ImportError:
    import sys as _sys
try:
    import uos as _os
except ImportError:
    _path = _sys.path
    _sys.path = ()
    try:
        import os as _os
    finally:
        _sys.path = _path
    del _path
import errno as _errno

error = OSError
_open = open  # the built-in; this module defines its own open()

# PEP 3151 subclasses. MicroPython has only OSError; define the ones the library and the
# tests name, and make them builtins where the VM allows it, so `except FileNotFoundError`
# in CPython code works and catches what this module raises.
_by_errno = {}
# CPython's OSError(errno, strerror, filename) attributes and message, which MicroPython's
# OSError lacks; from the arguments, so they cost nothing per instance.
def _str(e):
    a = e.args
    if len(a) > 2:
        return "[Errno %s] %s: %r" % a[:3]
    if len(a) == 2:
        return "[Errno %s] %s" % a
    return str(a[0]) if a else ""


_attrs = {
    "strerror": property(lambda s: s.args[1] if len(s.args) > 1 else None),
    "filename": property(lambda s: s.args[2] if len(s.args) > 2 else None),
    "__str__": _str,
}


def _sub(name, *codes):
    cls = type(name, (OSError,), _attrs)
    for c in codes:
        code = getattr(_errno, c, None)
        if code is not None:
            _by_errno[code] = cls
    return cls


FileNotFoundError = _sub("FileNotFoundError", "ENOENT")
FileExistsError = _sub("FileExistsError", "EEXIST")
NotADirectoryError = _sub("NotADirectoryError", "ENOTDIR")
IsADirectoryError = _sub("IsADirectoryError", "EISDIR")
PermissionError = _sub("PermissionError", "EACCES", "EPERM")
# errno lacks ENOTDIR/ENOTEMPTY on MicroPython; Linux numbers, used where the VM is Linux.
_by_errno.setdefault(20, NotADirectoryError)
_by_errno.setdefault(21, IsADirectoryError)
try:
    import builtins as _b

    for _c in (FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
               PermissionError):
        if not hasattr(_b, _c.__name__):
            setattr(_b, _c.__name__, _c)
        else:
            # Keep one class per name: the VM's, if it has one.
            globals()[_c.__name__] = getattr(_b, _c.__name__)
            _by_errno.update(
                {k: getattr(_b, _c.__name__) for k, v in _by_errno.items() if v is _c})
    del _c, _b
except (ImportError, AttributeError, TypeError):
    pass


def strerror(code):
    return _errno.errorcode.get(code, "Unknown error %d" % code)


def _raise(e, filename=None):
    # Re-raise a bare OSError as its PEP 3151 class with CPython's (errno, strerror,
    # filename) arguments.
    code = e.args[0] if e.args else None
    cls = _by_errno.get(code)
    if cls is None or isinstance(e, cls):
        raise e
    if filename is None:
        raise cls(code, strerror(code))
    raise cls(code, strerror(code), filename)


def _fs(path):
    # CPython 3.4 accepts str, bytes and other buffers as paths and rejects everything else
    # with TypeError; the VM takes exact str or bytes only.
    if type(path) in (str, bytes):
        return path
    if isinstance(path, str):
        return str(path)
    if isinstance(path, (bytes, bytearray, memoryview)):
        return bytes(path)
    raise TypeError("path should be string or bytes, not %s" % type(path).__name__)


class stat_result(tuple):
    # The 10 classic fields are the tuple; st_?time are floats as attributes and ints by index.
    def __init__(self, seq, dict=None):
        if len(seq) != 10:
            raise TypeError("os.stat_result() takes a 10-sequence (%d-sequence given)" % len(seq))

    def __setattr__(self, name, value):
        raise AttributeError("readonly attribute")

    st_mode = property(lambda s: s[0])
    st_ino = property(lambda s: s[1])
    st_dev = property(lambda s: s[2])
    st_nlink = property(lambda s: s[3])
    st_uid = property(lambda s: s[4])
    st_gid = property(lambda s: s[5])
    st_size = property(lambda s: s[6])
    st_atime = property(lambda s: float(s[7]))
    st_mtime = property(lambda s: float(s[8]))
    st_ctime = property(lambda s: float(s[9]))
    st_atime_ns = property(lambda s: s[7] * 1000000000)
    st_mtime_ns = property(lambda s: s[8] * 1000000000)
    st_ctime_ns = property(lambda s: s[9] * 1000000000)


class statvfs_result(tuple):
    def __init__(self, seq, dict=None):
        if len(seq) != 10:
            raise TypeError("os.statvfs_result() takes a 10-sequence")

    def __setattr__(self, name, value):
        raise AttributeError("readonly attribute")

    f_bsize = property(lambda s: s[0])
    f_frsize = property(lambda s: s[1])
    f_blocks = property(lambda s: s[2])
    f_bfree = property(lambda s: s[3])
    f_bavail = property(lambda s: s[4])
    f_files = property(lambda s: s[5])
    f_ffree = property(lambda s: s[6])
    f_favail = property(lambda s: s[7])
    f_flag = property(lambda s: s[8])
    f_namemax = property(lambda s: s[9])


def stat(path, *, dir_fd=None, follow_symlinks=True):
    if isinstance(path, int):
        return fstat(path)
    try:
        return stat_result(_os.stat(_fs(path)))
    except OSError as e:
        _raise(e, path)


# MicroPython's VFS has no symlinks to tell apart, so lstat is stat.
def lstat(path, *, dir_fd=None):
    return stat(path)


if hasattr(_os, "statvfs"):

    def statvfs(path):
        try:
            return statvfs_result(_os.statvfs(_fs(path)))
        except OSError as e:
            _raise(e, path)


def listdir(path="."):
    try:
        return _os.listdir(_fs(path))
    except OSError as e:
        _raise(e, path)


def _call(f, path, *args):
    try:
        return f(_fs(path), *args)
    except OSError as e:
        _raise(e, path)


def mkdir(path, mode=0o777, *, dir_fd=None):
    _call(_os.mkdir, path)


def rmdir(path, *, dir_fd=None):
    _call(_os.rmdir, path)


def remove(path, *, dir_fd=None):
    _call(_os.remove, path)


unlink = remove


def chdir(path):
    _call(_os.chdir, path)


def rename(src, dst, *, src_dir_fd=None, dst_dir_fd=None):
    _fs(dst)
    _call(_os.rename, src, dst)


replace = rename


def getcwd():
    return _os.getcwd()


def getcwdb():
    return _os.getcwd().encode()


F_OK = 0
X_OK = 1
W_OK = 2
R_OK = 4


def access(path, mode, *, dir_fd=None, effective_ids=False, follow_symlinks=True):
    # Existence only: the VFS has no permission bits worth trusting.
    try:
        _os.stat(_fs(path))
        return True
    except OSError:
        return False


# File descriptors. Where a file object has fileno() (the unix port) a descriptor is the
# kernel's own, so os.open() agrees with open().fileno() and a descriptor from either works
# with read()/write()/lseek()/fstat(). Elsewhere (a board's VFS) files have no descriptor and
# one is a key into the table (from 3, after the standard streams).
O_RDONLY = 0
O_WRONLY = 1
O_RDWR = 2
O_CREAT = 0o100
O_EXCL = 0o200
O_TRUNC = 0o1000
O_APPEND = 0o2000
# fd -> (file object, path or None). An object is dropped from the table only once its
# descriptor is closed: a dropped open one would close the descriptor from its finaliser,
# even after the number was reused.
_files = {}
# The unix port's files are VfsPosix ones, whose open() also takes a descriptor number.
_kernel_fds = hasattr(_os, "VfsPosix")
# Objects replaced in the table while they may still hold their number (a wrapper of a
# descriptor that its owner has closed since): closed, harmlessly, when the number is.
_stale = []


def _add(fd, f, path):
    old = _files.get(fd)
    if old is not None:
        _stale.append((fd, old[0]))
    _files[fd] = (f, path)


def open(path, flags, mode=0o777, *, dir_fd=None):
    exists = access(path, F_OK)
    if flags & O_CREAT:
        if exists and flags & O_EXCL:
            _raise(OSError(_errno.EEXIST), path)
        if not exists:
            _call(_open, path, "wb").close()
    elif not exists:
        _raise(OSError(_errno.ENOENT), path)
    acc = flags & 3
    if flags & O_APPEND:
        m = "ab"
    elif flags & O_TRUNC and acc:
        m = "wb"
    else:
        m = "rb" if acc == O_RDONLY else "r+b"
    f = _call(_open, path, m)
    try:
        fd = f.fileno()
    except AttributeError:
        fd = 3
        while fd in _files:
            fd += 1
    _add(fd, f, path)
    return fd


def _entry(fd):
    if not isinstance(fd, int):
        raise TypeError("an integer is required")
    e = _files.get(fd)
    if e is None:
        if fd < 0 or not _kernel_fds:
            raise OSError(_errno.EBADF, "Bad file descriptor")
        # A descriptor opened by other means (open().fileno()): the port's open() wraps a
        # descriptor number; the kernel reports EBADF on use if it is not open.
        e = _files[fd] = (_open(fd, "r+b"), None)
    return e


def _file(fd):
    return _entry(fd)[0]


def fstat(fd):
    if _kernel_fds:
        if not isinstance(fd, int):
            raise TypeError("an integer is required")
        # Linux shows each open descriptor as a link to its file: stat() follows it.
        try:
            return stat_result(_os.stat("/proc/self/fd/%d" % fd))
        except OSError:
            if access("/proc/self/fd", F_OK):
                raise OSError(_errno.EBADF, "Bad file descriptor")
    f, path = _entry(fd)
    if path is None:
        raise OSError(_errno.EBADF, "Bad file descriptor")
    # The table remembers the path: stat() of it (wrong only after a rename), with the size
    # the open file has (a board's file system may show the size of the last commit).
    st = list(stat(path))
    pos = f.tell()
    st[6] = f.seek(0, 2)
    f.seek(pos)
    return stat_result(st)


def close(fd):
    f = _file(fd)
    del _files[fd]
    f.close()
    for item in [s for s in _stale if s[0] == fd]:
        # Its descriptor is closed now: closing the object only marks it closed.
        _stale.remove(item)
        item[1].close()


def closerange(lo, hi):
    # Only the descriptors this module knows of: a board has no others, and on the unix port
    # wrapping every number in the range to close it would cost a file object each.
    for fd in range(lo, hi):
        if fd in _files:
            close(fd)


def read(fd, n):
    return _file(fd).read(n)


def readv(fd, buffers):
    f = _file(fd)
    total = 0
    for b in buffers:
        n = f.readinto(b) or 0
        total += n
        if n < len(b):
            break
    return total


def write(fd, data):
    if isinstance(data, str):
        raise TypeError("a bytes-like object is required, not 'str'")
    return _file(fd).write(data)


def writev(fd, buffers):
    f = _file(fd)
    return sum(f.write(b) for b in buffers)


def lseek(fd, pos, how):
    return _file(fd).seek(pos, how)


def isatty(fd):
    # A terminal is what answers tcgetattr(); without termios (a board) nothing is.
    try:
        import termios

        termios.tcgetattr(fd)
        return True
    except Exception:
        return False


def fdopen(fd, mode="r", buffering=-1, *args, **kwargs):
    # CPython's os.fdopen() (io.open() of a descriptor, which checks it first): a file object
    # that owns the descriptor.
    if _kernel_fds:
        fstat(fd)
    f, path = _entry(fd)
    if _kernel_fds:
        new = _open(fd, mode, buffering)
        # The old object shares the descriptor: it must not close it when collected.
        del _files[fd]
        _stale.append((fd, f))
        return new
    del _files[fd]
    if "b" in mode:
        return f
    pos = f.tell()
    f.close()
    new = _call(_open, path, mode)
    new.seek(pos)
    return new


def urandom(n):
    if n < 0:
        raise ValueError("negative argument not allowed")
    if hasattr(_os, "urandom"):
        return _os.urandom(n)
    import random as _r

    return bytes(_r.getrandbits(8) for _ in range(n))


class _Env:
    # The unix port can set but not list variables; Linux lists the initial ones in
    # /proc/self/environ. The file is scanned on each use and only changes are kept: a host's
    # environment can be several KB, which a 192K heap should not hold (a board has none).
    def __init__(self):
        self._set = {}
        self._deleted = set()
        # True once every initial variable counts as deleted (test.support's
        # EnvironmentVarGuard.clear()): deleting them one by one would keep a saved copy of
        # the whole host environment on the heap.
        self._cleared = False

    def _mp_state(self):
        return (dict(self._set), set(self._deleted), self._cleared)

    def _mp_restore(self, state):
        self._set, self._deleted, self._cleared = state

    def _mp_clear(self):
        self._set = {}
        self._deleted = set()
        self._cleared = True

    def _scan(self):
        try:
            f = _open("/proc/self/environ", "rb")
        except OSError:
            return
        with f:
            rest = b""
            while True:
                # Small reads: a fragmented heap may have no block for the whole file.
                chunk = f.read(128)
                if not chunk:
                    break
                items = (rest + chunk).split(b"\0")
                rest = items.pop()
                for item in items:
                    k, s, v = item.partition(b"=")
                    if s:
                        yield k, v

    def __getitem__(self, k):
        if k in self._set:
            return self._set[k]
        if k not in self._deleted and not self._cleared:
            for key, v in self._scan():
                if key == k:
                    return v
        raise KeyError(k)

    def __setitem__(self, k, v):
        self._set[k] = v
        self._deleted.discard(k)

    def __delitem__(self, k):
        if k not in self:
            raise KeyError(k)
        self._set.pop(k, None)
        self._deleted.add(k)

    def __iter__(self):
        yield from self._set
        if self._cleared:
            return
        for k, v in self._scan():
            if k not in self._set and k not in self._deleted:
                yield k

    def __len__(self):
        return sum(1 for k in self)

    def __contains__(self, k):
        try:
            self[k]
        except KeyError:
            return False
        return True

    def get(self, k, default=None):
        try:
            return self[k]
        except KeyError:
            return default

    def keys(self):
        return list(self)

    def items(self):
        return [(k, self[k]) for k in self]

    def values(self):
        return [self[k] for k in self]

    def copy(self):
        return dict(self.items())


environ = _Env()

if hasattr(_os, "putenv"):

    def putenv(key, value):
        _os.putenv(key, value)

    def unsetenv(key):
        _os.unsetenv(key)

else:
    # A board has no process environment (os.environ is all there is), but names are still
    # checked as the C library checks them, so a bad one raises where CPython's would.
    def unsetenv(key):
        if not key or ("=" if isinstance(key, str) else b"=") in key:
            raise OSError(_errno.EINVAL, "Invalid argument")


if hasattr(_os, "system"):
    system = _os.system


def _proc(name):
    try:
        with _open("/proc/self/" + name) as f:
            return f.read()
    except OSError:
        return None


# Process ids exist only where the VM runs under an OS that shows them (Linux's /proc).
if _proc("stat") is not None:

    def getpid():
        return int(_proc("stat").split()[0])

    def getppid():
        return int(_proc("stat").split(")")[-1].split()[1])


def cpu_count():
    # A microcontroller runs the VM on one core; a host says how many it has.
    try:
        with _open("/proc/cpuinfo") as f:
            return sum(1 for line in f if line.startswith("processor")) or None
    except OSError:
        return 1


def device_encoding(fd):
    # CPython answers only for terminals, with the locale's encoding: the VM's is UTF-8.
    return "UTF-8" if isatty(fd) else None


def _exit(n):
    # No way to skip cleanup on MicroPython; SystemExit is the nearest.
    _sys.exit(n)


_have_functions = []
