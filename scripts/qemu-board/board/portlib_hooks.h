// Forced into every C file of the emulated board by mpconfigboard.mk (-include).
// mp_init() ends with MICROPY_PORT_INIT_FUNC; the port leaves it undefined, so defining it here
// gives a hook that runs after power-on and after every soft reset, without editing the port.
#ifndef PORTLIB_HOOKS_H
#define PORTLIB_HOOKS_H

#ifndef __ASSEMBLER__
void portlib_board_init(void);
#endif

#define MICROPY_PORT_INIT_FUNC portlib_board_init()

#endif
