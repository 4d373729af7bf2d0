// Board support for portlib's emulated test board (see ../../board/mpconfigboard.mk).

#include <stdbool.h>

#include "shared/runtime/pyexec.h"

// Called at the end of every mp_init() (MICROPY_PORT_INIT_FUNC, see portlib_hooks.h): a real
// board mounts its flash at boot, so this one runs its frozen _boot.py to do the same.
// Errors are printed by pyexec and do not stop the REPL from starting.
void portlib_board_init(void) {
    pyexec_frozen_module("_boot.py", false);
}
