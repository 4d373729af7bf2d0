# itertools: CPython's itertools as plain Python generators, in the spirit of the
# "roughly equivalent to" code in CPython's documentation. Written for portlib.
#
# CPython's versions are classes with C speed; these are mostly generator functions, so
# results are generator objects (no __reduce__, no len hints; repeat, groupby and chain are
# classes where the behaviour needs one). Arguments are checked where CPython's
# tests rely on the TypeError/ValueError being raised at call time, not at first next().


def _iter(obj):
    # MicroPython's iter() returns whatever __iter__ gives, where CPython refuses an object
    # that is not an iterator; CPython's tests expect that TypeError at call time.
    it = iter(obj)
    if not hasattr(it, "__next__"):
        raise TypeError("iter() returned non-iterator of type '%s'" % type(it).__name__)
    return it


def count(start=0, step=1):
    if not isinstance(start, (int, float, complex)) and not hasattr(start, "__add__"):
        raise TypeError("a number is required")
    return _count(start, step)


def _count(n, step):
    while True:
        yield n
        n += step


def cycle(iterable):
    return _cycle(_iter(iterable))


def _cycle(it):
    saved = []
    for element in it:
        yield element
        saved.append(element)
    while saved:
        for element in saved:
            yield element


def repeat(object, times=None):
    if times is not None and not isinstance(times, int):
        raise TypeError("an integer is required")
    return _Repeat(object, times)


class _Repeat:
    # A class, not a generator: CPython's repeat tells how many items are left through
    # __length_hint__, which operator.length_hint() asks for.
    def __init__(self, obj, times):
        self._obj = obj
        self._left = times

    def __iter__(self):
        return self

    def __next__(self):
        left = self._left
        if left is not None:
            if left <= 0:
                raise StopIteration
            self._left = left - 1
        return self._obj

    def __length_hint__(self):
        if self._left is None:
            raise TypeError("len() of unsized object")
        return max(0, self._left)


def accumulate(iterable, func=None):
    return _accumulate(_iter(iterable), func)


def _accumulate(it, func):
    try:
        total = next(it)
    except StopIteration:
        return
    yield total
    for element in it:
        total = total + element if func is None else func(total, element)
        yield total


def _from_iterable(iterables):
    for it in iterables:
        for element in it:
            yield element


# Generator functions take attributes on CPython only; a wrapper class carries the
# alternate constructor on MicroPython.
class _Chain:
    def __call__(self, *iterables):
        return _from_iterable(iterables)

    @staticmethod
    def from_iterable(iterables):
        return _from_iterable(iterables)


chain = _Chain()


def compress(data, selectors):
    return (d for d, s in zip(_iter(data), _iter(selectors)) if s)


def dropwhile(predicate, iterable):
    return _dropwhile(predicate, _iter(iterable))


def _dropwhile(predicate, it):
    for x in it:
        if not predicate(x):
            yield x
            break
    for x in it:
        yield x


def filterfalse(predicate, iterable):
    if predicate is None:
        predicate = bool
    return (x for x in _iter(iterable) if not predicate(x))


class groupby:
    # A class, not a generator: each group shares the one underlying iterator, and moving
    # to the next key must skip what the caller did not consume of the current group.
    def __init__(self, iterable, key=None):
        self._key = (lambda x: x) if key is None else key
        self._it = _iter(iterable)
        self._tgt = self._cur = self._val = object()

    def __iter__(self):
        return self

    def __next__(self):
        self._id = object()
        while self._cur == self._tgt:
            self._val = next(self._it)
            self._cur = self._key(self._val)
        self._tgt = self._cur
        return self._cur, self._grouper(self._tgt, self._id)

    def _grouper(self, tgt, id):
        while self._id is id and self._cur == tgt:
            yield self._val
            try:
                self._val = next(self._it)
            except StopIteration:
                return
            self._cur = self._key(self._val)


def islice(iterable, *args):
    # islice(it, stop) or islice(it, start, stop[, step]), as slice() reads its arguments.
    if not 1 <= len(args) <= 3:
        raise TypeError("islice expected 2 to 4 arguments")
    if len(args) == 1:
        start, stop, step = 0, args[0], 1
    else:
        start, stop, step = (tuple(args) + (None,))[:3]
        start = start or 0
        step = 1 if step is None else step
    for v, name in ((start, "Indices"), (stop, "Stop argument"), (step, "Step")):
        if v is not None and (not isinstance(v, int) or v < 0):
            raise ValueError(
                "%s for islice() must be None or an integer: 0 <= x <= sys.maxsize." % name)
    if step == 0:
        raise ValueError("Step for islice() must be a positive integer or None.")
    return _islice(_iter(iterable), start, stop, step)


def _islice(it, start, stop, step):
    nexti = start
    i = 0
    for element in it:
        if stop is not None and i >= stop:
            return
        if i == nexti:
            yield element
            nexti += step
        i += 1
        if stop is not None and i >= stop:
            return


def starmap(function, iterable):
    return _starmap(function, _iter(iterable))


def _starmap(function, it):
    for args in it:
        yield function(*args)


def takewhile(predicate, iterable):
    return _takewhile(predicate, _iter(iterable))


def _takewhile(predicate, it):
    for x in it:
        if predicate(x):
            yield x
        else:
            break


def tee(iterable, n=2):
    if n < 0:
        raise ValueError("n must be >= 0")
    it = _iter(iterable)
    # One shared buffer of values not yet seen by every copy; each copy keeps its position.
    buf = []
    pos = [0] * n
    base = [0]

    def gen(k):
        while True:
            idx = pos[k] - base[0]
            if idx == len(buf):
                try:
                    buf.append(next(it))
                except StopIteration:
                    return
            value = buf[pos[k] - base[0]]
            pos[k] += 1
            low = min(pos)
            if low > base[0]:
                del buf[:low - base[0]]
                base[0] = low
            yield value

    return tuple(gen(k) for k in range(n))


def zip_longest(*args, fillvalue=None):
    iterators = [_iter(it) for it in args]
    return _zip_longest(iterators, fillvalue)


def _zip_longest(iterators, fillvalue):
    active = len(iterators)
    if not active:
        return
    while True:
        values = []
        for i, it in enumerate(iterators):
            try:
                value = next(it)
            except StopIteration:
                active -= 1
                if not active:
                    return
                iterators[i] = repeat(fillvalue)
                value = fillvalue
            values.append(value)
        yield tuple(values)


def product(*args, repeat=1):
    if repeat < 0:
        raise ValueError("repeat argument cannot be negative")
    pools = [tuple(pool) for pool in args] * repeat
    return _product(pools)


def _product(pools):
    result = [[]]
    for pool in pools:
        result = [x + [y] for x in result for y in pool]
    for prod in result:
        yield tuple(prod)


def permutations(iterable, r=None):
    pool = tuple(iterable)
    n = len(pool)
    r = n if r is None else r
    if r < 0:
        raise ValueError("r must be non-negative")
    return _permutations(pool, n, r)


def _permutations(pool, n, r):
    if r > n:
        return
    indices = list(range(n))
    cycles = list(range(n, n - r, -1))
    yield tuple(pool[i] for i in indices[:r])
    while n:
        for i in reversed(range(r)):
            cycles[i] -= 1
            if cycles[i] == 0:
                indices[i:] = indices[i + 1:] + indices[i:i + 1]
                cycles[i] = n - i
            else:
                j = cycles[i]
                indices[i], indices[-j] = indices[-j], indices[i]
                yield tuple(pool[i] for i in indices[:r])
                break
        else:
            return


def combinations(iterable, r):
    pool = tuple(iterable)
    if r < 0:
        raise ValueError("r must be non-negative")
    return _combinations(pool, len(pool), r)


def _combinations(pool, n, r):
    if r > n:
        return
    indices = list(range(r))
    yield tuple(pool[i] for i in indices)
    while True:
        for i in reversed(range(r)):
            if indices[i] != i + n - r:
                break
        else:
            return
        indices[i] += 1
        for j in range(i + 1, r):
            indices[j] = indices[j - 1] + 1
        yield tuple(pool[i] for i in indices)


def combinations_with_replacement(iterable, r):
    pool = tuple(iterable)
    if r < 0:
        raise ValueError("r must be non-negative")
    return _cwr(pool, len(pool), r)


def _cwr(pool, n, r):
    if not n and r:
        return
    indices = [0] * r
    yield tuple(pool[i] for i in indices)
    while True:
        for i in reversed(range(r)):
            if indices[i] != n - 1:
                break
        else:
            return
        indices[i:] = [indices[i] + 1] * (r - i)
        yield tuple(pool[i] for i in indices)
