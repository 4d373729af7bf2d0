# Frozen into portlib's emulated board and run after power-on and after every soft reset
# (portlib_board.c hooks the end of mp_init). It makes the board look like a real one:
# the flash is mounted at "/", "/lib" is on sys.path, and the cwd is "/".
#
# The "flash" is a window of the MPS2 machine's RAM that lies outside the firmware image and
# the GC heap, so its bytes survive soft resets; only the mount is redone. QEMU starts with the
# RAM zeroed, so the first boot of each QEMU process formats it (an empty filesystem).


def _mount():
    import sys
    import uctypes
    import vfs

    base = 0x20000000  # the 4 MiB SSRAM2/3 bank, unused by the firmware
    size = 0x400000
    block = 1024

    class RamFlash:
        # The extended block protocol (offsets within blocks), as littlefs uses it.
        def __init__(self):
            self.mem = memoryview(uctypes.bytearray_at(base, size))

        def readblocks(self, n, buf, off=0):
            at = n * block + off
            buf[:] = self.mem[at : at + len(buf)]

        def writeblocks(self, n, buf, off=0):
            at = n * block + off
            self.mem[at : at + len(buf)] = buf

        def ioctl(self, op, arg):
            if op == 4:  # block count
                return size // block
            if op == 5:  # block size
                return block
            return 0  # init, deinit, sync and erase need nothing for RAM

    dev = RamFlash()
    try:
        fs = vfs.VfsLfs2(dev)
    except OSError:
        # Nothing valid there yet: the first boot of this QEMU process.
        vfs.VfsLfs2.mkfs(dev)
        fs = vfs.VfsLfs2(dev)
    vfs.mount(fs, "/")
    import os

    try:
        os.mkdir("/lib")
    except OSError:
        pass  # made by an earlier boot
    os.chdir("/")
    if "/lib" not in sys.path:
        sys.path.append("/lib")

_mount()
del _mount
