// `portlib_board.RamFlash`: the emulated board's flash, a block device over a window of RAM.
//
// A real board's flash driver is C, so reading a file allocates nothing on the Python heap.
// The first version of this device was Python (in _boot.py), and every block the filesystem
// read left slices and memoryviews behind as garbage between the objects of the module being
// imported: importing heapq took 15.5 KB of heap on the emulated board against 8.6 KB on the
// unix port, and the test results depended on what ran before. In C the block calls allocate
// nothing (the filesystem passes its buffer and small ints).
//
// The window is MPS2's SSRAM2/3 bank, outside the firmware image, the GC heap and the stack,
// so its bytes survive soft resets; QEMU starts with it zeroed.

#include <string.h>

#include "py/obj.h"
#include "py/runtime.h"
#include "extmod/vfs.h"

#define FLASH_BASE (0x20000000)
#define FLASH_SIZE (0x400000)
#define FLASH_BLOCK (1024)

typedef struct {
    mp_obj_base_t base;
} ram_flash_obj_t;

// The bytes a call touches, checked against the window: a filesystem bug must not scribble
// over memory outside it.
static uint8_t *flash_at(mp_obj_t block_in, mp_obj_t offset_in, size_t len) {
    mp_int_t block = mp_obj_get_int(block_in);
    mp_int_t offset = offset_in == MP_OBJ_NULL ? 0 : mp_obj_get_int(offset_in);
    if (block < 0 || offset < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("negative block or offset"));
    }
    uint64_t at = (uint64_t)block * FLASH_BLOCK + (uint64_t)offset;
    if (at + len > FLASH_SIZE) {
        mp_raise_ValueError(MP_ERROR_TEXT("beyond the end of the flash"));
    }
    return (uint8_t *)(FLASH_BASE + (uintptr_t)at);
}

static mp_obj_t ram_flash_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
    const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 0, 0, false);
    ram_flash_obj_t *self = mp_obj_malloc(ram_flash_obj_t, type);
    return MP_OBJ_FROM_PTR(self);
}

// readblocks(block, buf[, offset]): the extended block protocol, as littlefs uses it.
static mp_obj_t ram_flash_readblocks(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(args[2], &buf, MP_BUFFER_WRITE);
    const uint8_t *src = flash_at(args[1], n_args > 3 ? args[3] : MP_OBJ_NULL, buf.len);
    memcpy(buf.buf, src, buf.len);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(ram_flash_readblocks_obj, 3, 4, ram_flash_readblocks);

// writeblocks(block, buf[, offset]).
static mp_obj_t ram_flash_writeblocks(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(args[2], &buf, MP_BUFFER_READ);
    uint8_t *dst = flash_at(args[1], n_args > 3 ? args[3] : MP_OBJ_NULL, buf.len);
    memcpy(dst, buf.buf, buf.len);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(ram_flash_writeblocks_obj, 3, 4, ram_flash_writeblocks);

// ioctl(op, arg): geometry; init, deinit, sync and erase need nothing for RAM.
static mp_obj_t ram_flash_ioctl(mp_obj_t self_in, mp_obj_t op_in, mp_obj_t arg_in) {
    (void)self_in;
    (void)arg_in;
    switch (mp_obj_get_int(op_in)) {
        case MP_BLOCKDEV_IOCTL_BLOCK_COUNT:
            return MP_OBJ_NEW_SMALL_INT(FLASH_SIZE / FLASH_BLOCK);
        case MP_BLOCKDEV_IOCTL_BLOCK_SIZE:
            return MP_OBJ_NEW_SMALL_INT(FLASH_BLOCK);
        default:
            return MP_OBJ_NEW_SMALL_INT(0);
    }
}
static MP_DEFINE_CONST_FUN_OBJ_3(ram_flash_ioctl_obj, ram_flash_ioctl);

static const mp_rom_map_elem_t ram_flash_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_readblocks), MP_ROM_PTR(&ram_flash_readblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_writeblocks), MP_ROM_PTR(&ram_flash_writeblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&ram_flash_ioctl_obj) },
};
static MP_DEFINE_CONST_DICT(ram_flash_locals, ram_flash_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    ram_flash_type,
    MP_QSTR_RamFlash,
    MP_TYPE_FLAG_NONE,
    make_new, ram_flash_make_new,
    locals_dict, &ram_flash_locals
    );

static const mp_rom_map_elem_t portlib_board_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_portlib_board) },
    { MP_ROM_QSTR(MP_QSTR_RamFlash), MP_ROM_PTR(&ram_flash_type) },
};
static MP_DEFINE_CONST_DICT(portlib_board_globals, portlib_board_globals_table);

const mp_obj_module_t portlib_board_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&portlib_board_globals,
};

MP_REGISTER_MODULE(MP_QSTR_portlib_board, portlib_board_module);
