// Board support for portlib's emulated test board (see ../../board/mpconfigboard.mk).

#include <stdbool.h>
#include <stdint.h>

#include "py/mphal.h"
#include "shared/runtime/pyexec.h"

// Semihosting operation SYS_TIME: seconds since 1970 from the host. QEMU always runs this board
// with -semihosting (scripts/qemu-board/start), so file times on the RAM flash are real.
#define SEMIHOSTING_SYS_TIME (0x11)

uint64_t mp_hal_time_ns(void) {
    register uint32_t op __asm__ ("r0") = SEMIHOSTING_SYS_TIME;
    register uint32_t arg __asm__ ("r1") = 0;
    __asm__ volatile ("bkpt 0xab" : "+r" (op) : "r" (arg) : "memory");
    return (uint64_t)op * 1000000000ULL;
}

// Called at the end of every mp_init() (MICROPY_PORT_INIT_FUNC, see portlib_hooks.h): a real
// board mounts its flash at boot, so this one runs its frozen _boot.py to do the same.
// Errors are printed by pyexec and do not stop the REPL from starting.
void portlib_board_init(void) {
    pyexec_frozen_module("_boot.py", false);
}
