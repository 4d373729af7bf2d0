# Frozen into portlib's emulated board and run after power-on and after every soft reset
# (portlib_board.c hooks the end of mp_init). It makes the board look like a real one:
# the flash is mounted at "/", "/lib" is on sys.path, and the cwd is "/".
#
# The "flash" is a window of the MPS2 machine's RAM that lies outside the firmware image and
# the GC heap (cmodules/portlib_board/portlib_flash.c), so its bytes survive soft resets; only
# the mount is redone. QEMU starts with the RAM zeroed, so the first boot of each QEMU process
# formats it (an empty filesystem).


def _mount():
    import sys
    import vfs
    from portlib_board import RamFlash  # the block device, in C (portlib_flash.c)

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
