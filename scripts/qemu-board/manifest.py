# Frozen into the emulated board's firmware: only the boot module that mounts the RAM flash.
# (Paths are relative to this file.)
freeze(".", "_boot.py")
