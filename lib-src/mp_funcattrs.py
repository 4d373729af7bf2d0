# Attributes on functions, for VMs whose function objects take none (MicroPython).
#
# unittest marks test methods with attributes (__unittest_skip__, __unittest_skip_why__,
# __unittest_expecting_failure__) and functools.update_wrapper copies __wrapped__ and
# friends onto wrappers. MicroPython raises AttributeError for both, so the ported modules
# call set()/get() here instead: objects that accept the attribute (classes, instances,
# CPython functions) keep it as usual; the rest get an entry in a side table keyed by the
# object itself. Classes keep real attributes, so a class-level @skip is seen by the suite
# and by every test of the class.
#
# A bound method has no __func__ on MicroPython, so get() cannot see through it; callers
# look a test method up on its class (getattr(type(test), name)) before asking.

# The side table is split in shards: one dict for a test module's hundreds of marked
# methods grows by rehashing into ever larger single blocks, which a fragmented 192K heap
# may not have (test_itertools failed on a 1 KB rehash with 27 KB free). Costs ~270 bytes.
_SHARDS = 8
_tables = [{} for _ in range(_SHARDS)]


def _table(obj):
    # Objects are 16-byte aligned and hash by address: drop the low bits.
    return _tables[(hash(obj) >> 4) % _SHARDS]


# functools.wraps(f) is partial(update_wrapper, wrapped=f, ...): a throw-away decorator whose
# func/args/keywords nobody reads. Stored, they would keep the closure, its cells and the
# keywords dict alive for every wrapped function (~200 bytes per @unittest.skip), so the
# attributes of a partial of update_wrapper are dropped; the object being so marked is the
# only one remembered.
_dropped = None


def set(obj, name, value):
    global _dropped
    if obj is _dropped:
        return
    if name == 'func' and getattr(value, '__name__', None) == 'update_wrapper':
        _dropped = obj
        return
    try:
        setattr(obj, name, value)
        # MicroPython 1.26 accepts setattr on a closure without storing anything: check
        if getattr(obj, name) is value:
            return
    except (AttributeError, TypeError):
        pass
    table = _table(obj)
    attrs = table.get(obj)
    if attrs is None:
        attrs = table[obj] = {}
    attrs[name] = value


def get(obj, name, default=None):
    try:
        return getattr(obj, name)
    except AttributeError:
        pass
    try:
        attrs = _table(obj).get(obj)
    except TypeError:
        # unhashable objects cannot be in the table
        return default
    if attrs is None:
        return default
    return attrs.get(name, default)


def has(obj, name):
    marker = _tables
    return get(obj, name, marker) is not marker
