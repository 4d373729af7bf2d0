# The emulated test board: MicroPython's qemu port on QEMU's mps2-an386 (Cortex-M4), with a
# Metro M4-sized heap and a RAM "flash" holding a littlefs or FAT filesystem.
# Built by scripts/setup-tools, which passes BOARD_DIR (this folder, absolute) and BUILD.

QEMU_ARCH = arm
QEMU_MACHINE = mps2-an386

CFLAGS += -mthumb -mcpu=cortex-m4 -mfloat-abi=soft
CFLAGS += -DQEMU_SOC_MPS2
CFLAGS += -DMICROPY_HW_MCU_NAME='"Cortex-M4"'
MPY_CROSS_FLAGS += -march=armv7em

SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb2.o

# Adafruit Metro M4: 192 KiB of heap.
MICROPY_HEAP_SIZE ?= 196608

# Block filesystems, so the RAM flash can be mounted (no RTC: FAT stamps a fixed date).
MICROPY_VFS_FAT = 1
MICROPY_VFS_LFS2 = 1
CFLAGS += -DMICROPY_FATFS_NORTC=1 -DMICROPY_FATFS_RPATH=2 -DMICROPY_FATFS_ENABLE_LFN=1

# The port's main loop runs no boot script. This header, forced into every C file, hooks the
# end of mp_init() (called after every reset) to run the frozen _boot.py; see portlib_board.c.
CFLAGS += -include $(BOARD_DIR)/portlib_hooks.h

# mp_hal_time_ns(), a `time` module, the timeutils object and the boot hook live in our user C
# module.
USER_C_MODULES = $(BOARD_DIR)/../cmodules

# Only our boot module is frozen (the port's default manifest needs unittest, absent here).
FROZEN_MANIFEST = $(BOARD_DIR)/../manifest.py

# The port's linker script plus an .ARM.exidx output section (libgcc's 64-bit division
# brings unwind entries that the stock script has no place for). setup-tools writes it.
LDSCRIPT = $(BUILD)/mps2-exidx.ld
