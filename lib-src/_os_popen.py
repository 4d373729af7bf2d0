# os.popen()'s process for portlib: imported by os.popen() only, so the module costs no heap
# until a command is run. Written for portlib; the unix port only (it needs os.system()).

from posix import _call, _open, _os, environ, system, urandom


class Shell:
    # What os.popen() needs of subprocess.Popen, without pipes or fork: the command runs
    # to completion through system(), its output ("r") going to a temporary file that
    # the stream then reads, or its input ("w") read from one the stream wrote, once
    # the stream is closed. Enough for popen's usual job (collect a command's output);
    # the command does not run alongside the reader.
    def __init__(self, cmd, mode):
        tmp = environ.get(b"TMPDIR", b"/tmp").decode()
        self._tmp = "%s/portlib-popen-%s" % (tmp, "".join("%02x" % b for b in urandom(6)))
        self._cmd = cmd
        self._status = None
        if mode == "r":
            # The newline ends a trailing comment in cmd.
            self._status = system("(%s\n) >%s" % (cmd, self._tmp))
            self.stream = _call(_open, self._tmp)
        else:
            self.stream = _call(_open, self._tmp, "w")

    def wait(self):
        if self._status is None:
            self._status = system("(%s\n) <%s" % (self._cmd, self._tmp))
        try:
            _os.remove(self._tmp)
        except OSError:
            pass
        # A wait status: the exit code in bits 8-15, or the signal that ended it.
        st = self._status
        return -(st & 0x7F) if st & 0x7F else st >> 8
