// The `time` module of portlib's emulated board.
//
// The 1.26.1 qemu port builds no `time` module (its mpconfigport.h forces MICROPY_PY_TIME off),
// while the board the emulator stands for, a Metro M4 under MicroPython's samd port, has one:
// ticks, sleeps, time()/time_ns() and gmtime/localtime/mktime, seconds counted from
// 2000-01-01 (the port's epoch, MICROPY_EPOCH_IS_2000) and localtime equal to gmtime (no time
// zones on a board). The port's lib-src/time.py builds CPython's API on exactly that, so the
// emulator must offer it for the port's tests to run there as they would on the board.
//
// Clocks come from the host through Arm semihosting (QEMU runs with -semihosting):
// SYS_ELAPSED/SYS_TICKFREQ for a monotonic tick counter, SYS_TIME for the calendar clock.

#include <stdint.h>

#include "py/mphal.h"
#include "py/obj.h"
#include "py/runtime.h"
#include "py/smallint.h"
#include "shared/timeutils/timeutils.h"

#define SEMIHOSTING_SYS_TIME (0x11)
#define SEMIHOSTING_SYS_ELAPSED (0x30)
#define SEMIHOSTING_SYS_TICKFREQ (0x31)

// Ticks wrap at the small-int range, so they never allocate (as on every MicroPython port).
#define TICKS_PERIOD (MP_SMALL_INT_POSITIVE_MASK + 1)

uint32_t portlib_semihost(uint32_t op, uint32_t arg) {
    register uint32_t r0 __asm__ ("r0") = op;
    register uint32_t r1 __asm__ ("r1") = arg;
    __asm__ volatile ("bkpt 0xab" : "+r" (r0) : "r" (r1) : "memory");
    return r0;
}

// Nanoseconds since QEMU started. SYS_ELAPSED counts host ticks of SYS_TICKFREQ per second;
// the frequency is asked once (it does not change while QEMU runs).
static uint64_t elapsed_ns(void) {
    static uint32_t freq;
    if (freq == 0) {
        freq = portlib_semihost(SEMIHOSTING_SYS_TICKFREQ, 0);
        if (freq == 0 || freq == UINT32_MAX) {
            mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("QEMU offers no semihosting clock"));
        }
    }
    uint32_t ticks[2] = {0, 0};
    if (portlib_semihost(SEMIHOSTING_SYS_ELAPSED, (uint32_t)(uintptr_t)ticks) != 0) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("QEMU offers no semihosting clock"));
    }
    uint64_t count = ((uint64_t)ticks[1] << 32) | ticks[0];
    // Split so that the multiplication cannot overflow for any realistic uptime.
    return count / freq * 1000000000ULL + count % freq * 1000000000ULL / freq;
}

uint64_t mp_hal_time_ns(void) {
    return (uint64_t)portlib_semihost(SEMIHOSTING_SYS_TIME, 0) * 1000000000ULL;
}

static mp_obj_t ticks_obj(uint64_t value) {
    return MP_OBJ_NEW_SMALL_INT((mp_int_t)(value & (TICKS_PERIOD - 1)));
}

static mp_obj_t time_ticks_ms(void) {
    return ticks_obj(elapsed_ns() / 1000000);
}
static MP_DEFINE_CONST_FUN_OBJ_0(time_ticks_ms_obj, time_ticks_ms);

static mp_obj_t time_ticks_us(void) {
    return ticks_obj(elapsed_ns() / 1000);
}
static MP_DEFINE_CONST_FUN_OBJ_0(time_ticks_us_obj, time_ticks_us);

// No cycle counter is emulated; nanoseconds are the finest count there is.
static mp_obj_t time_ticks_cpu(void) {
    return ticks_obj(elapsed_ns());
}
static MP_DEFINE_CONST_FUN_OBJ_0(time_ticks_cpu_obj, time_ticks_cpu);

// The signed distance from `start` to `end` on the wrapping tick circle.
static mp_obj_t time_ticks_diff(mp_obj_t end_in, mp_obj_t start_in) {
    mp_uint_t end = MP_OBJ_SMALL_INT_VALUE(end_in);
    mp_uint_t start = MP_OBJ_SMALL_INT_VALUE(start_in);
    mp_int_t diff = (mp_int_t)((end - start + TICKS_PERIOD / 2) & (TICKS_PERIOD - 1))
        - (mp_int_t)(TICKS_PERIOD / 2);
    return MP_OBJ_NEW_SMALL_INT(diff);
}
static MP_DEFINE_CONST_FUN_OBJ_2(time_ticks_diff_obj, time_ticks_diff);

static mp_obj_t time_ticks_add(mp_obj_t ticks_in, mp_obj_t delta_in) {
    mp_uint_t ticks = MP_OBJ_SMALL_INT_VALUE(ticks_in);
    mp_int_t delta = mp_obj_get_int(delta_in);
    // Like the real ports: a delta of half the period or more has no meaning on the circle.
    if (delta >= (mp_int_t)(TICKS_PERIOD / 2) || delta < -(mp_int_t)(TICKS_PERIOD / 2)) {
        mp_raise_msg(&mp_type_OverflowError, MP_ERROR_TEXT("ticks interval overflow"));
    }
    return MP_OBJ_NEW_SMALL_INT((mp_int_t)((ticks + delta) & (TICKS_PERIOD - 1)));
}
static MP_DEFINE_CONST_FUN_OBJ_2(time_ticks_add_obj, time_ticks_add);

// Busy-waits (the emulator has no timer interrupt to sleep on), running scheduled callbacks
// and pending exceptions between polls as a real board's sleep does.
static void sleep_ns(uint64_t ns) {
    uint64_t until = elapsed_ns() + ns;
    while (elapsed_ns() < until) {
        mp_handle_pending(true);
    }
}

static mp_obj_t time_sleep(mp_obj_t seconds_in) {
    mp_float_t seconds = mp_obj_get_float(seconds_in);
    if (seconds > 0) {
        sleep_ns((uint64_t)(seconds * (mp_float_t)1e9));
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(time_sleep_obj, time_sleep);

// sleep_ms/sleep_us: an integer count of units; zero or less returns at once.
static mp_obj_t sleep_units(mp_obj_t count_in, uint64_t ns_per_unit) {
    mp_int_t count = mp_obj_get_int(count_in);
    if (count > 0) {
        sleep_ns((uint64_t)count * ns_per_unit);
    }
    return mp_const_none;
}

static mp_obj_t time_sleep_ms(mp_obj_t ms_in) {
    return sleep_units(ms_in, 1000000);
}
static MP_DEFINE_CONST_FUN_OBJ_1(time_sleep_ms_obj, time_sleep_ms);

static mp_obj_t time_sleep_us(mp_obj_t us_in) {
    return sleep_units(us_in, 1000);
}
static MP_DEFINE_CONST_FUN_OBJ_1(time_sleep_us_obj, time_sleep_us);

static mp_obj_t time_time(void) {
    return timeutils_obj_from_timestamp(
        timeutils_seconds_since_epoch_from_nanoseconds_since_1970((int64_t)mp_hal_time_ns()));
}
static MP_DEFINE_CONST_FUN_OBJ_0(time_time_obj, time_time);

static mp_obj_t time_time_ns(void) {
    return mp_obj_new_int_from_ull(mp_hal_time_ns());
}
static MP_DEFINE_CONST_FUN_OBJ_0(time_time_ns_obj, time_time_ns);

// gmtime([secs]) and localtime([secs]): (year, month, mday, hour, minute, second, weekday,
// yearday), weekday 0 being Monday.
static mp_obj_t time_gmtime(size_t n_args, const mp_obj_t *args) {
    mp_timestamp_t seconds;
    if (n_args == 0 || args[0] == mp_const_none) {
        seconds = timeutils_seconds_since_epoch_from_nanoseconds_since_1970((int64_t)mp_hal_time_ns());
    } else {
        seconds = timeutils_obj_get_timestamp(args[0]);
    }
    timeutils_struct_time_t tm;
    timeutils_seconds_since_epoch_to_struct_time(seconds, &tm);
    mp_obj_t fields[8] = {
        mp_obj_new_int(tm.tm_year),
        mp_obj_new_int(tm.tm_mon),
        mp_obj_new_int(tm.tm_mday),
        mp_obj_new_int(tm.tm_hour),
        mp_obj_new_int(tm.tm_min),
        mp_obj_new_int(tm.tm_sec),
        mp_obj_new_int(tm.tm_wday),
        mp_obj_new_int(tm.tm_yday),
    };
    return mp_obj_new_tuple(8, fields);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(time_gmtime_obj, 0, 1, time_gmtime);

// mktime(tuple): the inverse of localtime; out-of-range fields are normalised, weekday and
// yearday are ignored.
static mp_obj_t time_mktime(mp_obj_t tuple) {
    size_t len;
    mp_obj_t *fields;
    mp_obj_get_array(tuple, &len, &fields);
    if (len < 8 || len > 9) {
        mp_raise_TypeError(MP_ERROR_TEXT("mktime needs a tuple of length 8 or 9"));
    }
    return timeutils_obj_from_timestamp(timeutils_mktime(mp_obj_get_int(fields[0]),
        mp_obj_get_int(fields[1]), mp_obj_get_int(fields[2]), mp_obj_get_int(fields[3]),
        mp_obj_get_int(fields[4]), mp_obj_get_int(fields[5])));
}
static MP_DEFINE_CONST_FUN_OBJ_1(time_mktime_obj, time_mktime);

static const mp_rom_map_elem_t time_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_time) },
    { MP_ROM_QSTR(MP_QSTR_gmtime), MP_ROM_PTR(&time_gmtime_obj) },
    { MP_ROM_QSTR(MP_QSTR_localtime), MP_ROM_PTR(&time_gmtime_obj) },
    { MP_ROM_QSTR(MP_QSTR_mktime), MP_ROM_PTR(&time_mktime_obj) },
    { MP_ROM_QSTR(MP_QSTR_time), MP_ROM_PTR(&time_time_obj) },
    { MP_ROM_QSTR(MP_QSTR_time_ns), MP_ROM_PTR(&time_time_ns_obj) },
    { MP_ROM_QSTR(MP_QSTR_sleep), MP_ROM_PTR(&time_sleep_obj) },
    { MP_ROM_QSTR(MP_QSTR_sleep_ms), MP_ROM_PTR(&time_sleep_ms_obj) },
    { MP_ROM_QSTR(MP_QSTR_sleep_us), MP_ROM_PTR(&time_sleep_us_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks_ms), MP_ROM_PTR(&time_ticks_ms_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks_us), MP_ROM_PTR(&time_ticks_us_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks_cpu), MP_ROM_PTR(&time_ticks_cpu_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks_add), MP_ROM_PTR(&time_ticks_add_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks_diff), MP_ROM_PTR(&time_ticks_diff_obj) },
};
static MP_DEFINE_CONST_DICT(time_module_globals, time_module_globals_table);

const mp_obj_module_t portlib_time_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&time_module_globals,
};

// Registered as `time`, and extensible like the real ports' time module, so that a `/lib/time`
// of the port can still stand in front of it.
MP_REGISTER_EXTENSIBLE_MODULE(MP_QSTR_time, portlib_time_module);
