# Pieces the 1.26.1 qemu port lacks: the clock block filesystems need, a `time` module, the
# flash's block device (in C, as on a real board), and the boot hook.
PORTLIB_BOARD_DIR := $(USERMOD_DIR)

SRC_USERMOD_C += $(PORTLIB_BOARD_DIR)/portlib_board.c $(PORTLIB_BOARD_DIR)/portlib_time.c \
	$(PORTLIB_BOARD_DIR)/portlib_flash.c

# The VFS code converts timestamps with timeutils, which the port does not build.
# Found through the build's vpath on MicroPython's top folder.
SRC_USERMOD_LIB_C += shared/timeutils/timeutils.c
