#!/usr/bin/env python3
"""Generate float/complex constant test vectors by compiling literals with the real mpy-cross.

Usage: float_vectors.py MPY_CROSS OUT_FILE [--random N] [--seed S]

Writes lines `f<TAB>literal<TAB>text` (float constant, .mpy type 8; a leading `-` is a folded
unary minus), `j<TAB>literal<TAB>text` (imaginary literal `literalj`, .mpy type 9) and
`o<TAB>lhs op rhs<TAB>text` (a binary operation that mpy-cross folds to a float constant), where
`text` is what mpy-cross stored in the constant table. Literals are put into constant tuples, several hundred
per source file, so that each one keeps its position (tuple items are not deduplicated).
"""

import argparse
import decimal
import os
import random
import struct
import subprocess
import sys
import tempfile

CHUNK = 500


def vuint(data, pos):
    value = 0
    while True:
        b = data[pos]
        pos += 1
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            return value, pos


def read_obj(data, pos):
    """One constant-table object: (kind, payload), new position."""
    kind = data[pos]
    pos += 1
    if kind in (1, 2, 3, 4):
        return (kind, None), pos
    if kind in (5, 6):
        n, pos = vuint(data, pos)
        return (kind, data[pos:pos + n]), pos + n + 1
    if kind in (7, 8, 9):
        n, pos = vuint(data, pos)
        return (kind, data[pos:pos + n].decode("ascii")), pos + n
    if kind == 10:
        n, pos = vuint(data, pos)
        items = []
        for _ in range(n):
            item, pos = read_obj(data, pos)
            items.append(item)
        return (kind, items), pos
    raise ValueError("unknown object kind %d at %d" % (kind, pos - 1))


def constant_objects(mpy):
    """The top-level constant objects of a bytecode-only .mpy v6 file."""
    if mpy[:2] != b"M\x06" or mpy[2] != 0:
        raise ValueError("not a bytecode-only mpy v6 file")
    pos = 4
    nq, pos = vuint(mpy, pos)
    no, pos = vuint(mpy, pos)
    for _ in range(nq):
        v, pos = vuint(mpy, pos)
        if not v & 1:
            pos += (v >> 1) + 1
    objs = []
    for _ in range(no):
        obj, pos = read_obj(mpy, pos)
        objs.append(obj)
    return objs


def compile_texts(mpy_cross, literals, suffix, kind, workdir):
    """Texts mpy-cross stores for each literal (with `suffix` appended in the source)."""
    out = []
    for start in range(0, len(literals), CHUNK):
        chunk = literals[start:start + CHUNK]
        src = os.path.join(workdir, "v.py")
        with open(src, "w") as f:
            f.write("x = (%s,)\n" % ", ".join(lit + suffix for lit in chunk))
        subprocess.run([mpy_cross, "-X", "heapsize=64M", src], check=True)
        with open(os.path.join(workdir, "v.mpy"), "rb") as f:
            objs = constant_objects(f.read())
        if len(objs) != 1 or objs[0][0] != 10 or len(objs[0][1]) != len(chunk):
            raise ValueError("unexpected constant table for chunk at %d" % start)
        for item_kind, text in objs[0][1]:
            if item_kind != kind:
                raise ValueError("expected kind %d, got %d" % (kind, item_kind))
            out.append(text)
    return out


def fixed_literals():
    lits = [
        "1e100", "1e-5", "100000.0", "1000000000000000.0", "1e15", "1e16", "95.4",
        "95.40000000000001", "1e23", "1e-320", "1e-20", "1e-310", "0.0", "0.", ".0", "0e0",
        "1e400", "1e-400", "5e-324", "4.9e-324", "2.4703282292062327e-324",
        "2.4703282292062328e-324", "2.5e-324", "2.2250738585072014e-308",
        "2.2250738585072011e-308", "1.7976931348623157e308", "1.7976931348623158e308",
        "1.7976931348623159e308", "0.1", "0.2", "0.3", "0.30000000000000004", "0.7", "9.7",
        "9.8", "9.800000000000001", "0.0006", "0.0005999999999999999", "3.141592653589793",
        "2.718281828459045", "6.283185307179586", ".5", "5.", "5.e3", "00.5", "1E5", "1e+5",
        "1_000.5", "1_000.000_1", "1e1_0", "0.000_001", "123456789012345678901234567890.",
        "0.123456789012345678901234567890", "1234567890123456789.0", "12345678901234567890.0",
        "1844674407370955161.5", "1844674407370955161.6", "18446744073709551615.0",
        "0.00000000000000000000000000000000000000000000001",
        "100000000000000000000000000000000000000000000000.0",
        "1.00000000000000000000000000000000000000000000001",
        "9007199254740993.0", "9007199254740992.5", "4503599627370496.5",
        "0.1e-320", "1e-323", "1e-324", "3e-324", "1e308", "1e309", "1e-307", "1e-308",
        "1e-4", "1e-05", "0.0001", "0.00001", "123e-7", "999999999999999.9",
        "9999999999999999.0", "99999999999999999.0", "1e22", "1e21", "1e24", "8.41e21",
        "5e-310", "1e99999999999", "1e-99999999999", "0.0e99999999999",
        # Underscores are skipped anywhere, also where CPython would reject them.
        "1__0.5", "1_.5", "1._5", "1e_5", "1.5_e3", "1e+_5", "1.5e3_",
    ]
    for n in range(-330, 311):
        lits.append("1e%d" % n)
        lits.append("9.999999999999999e%d" % n)
        lits.append("5e%d" % n)
    for k in range(1, 200):
        lits.append("%d.%d" % (k // 10, k % 10))
        lits.append("0.%02d" % k)
    return lits


def random_literals(rng, n):
    lits = []
    while len(lits) < n:
        r = rng.random()
        if r < 0.3:
            # A random finite double, written as CPython's repr or at 16-20 digits.
            bits = rng.getrandbits(64) & ~(1 << 63)
            x = struct.unpack("<d", struct.pack("<Q", bits))[0]
            if x != x or x in (float("inf"),):
                continue
            fmt = rng.choice(["r", "%.15g", "%.16g", "%.17g", "%.18g", "%.19g", "%.20g"])
            lits.append(repr(x) if fmt == "r" else fmt % x)
        elif r < 0.4:
            # Subnormals and values near the bottom of the normal range.
            x = rng.uniform(0, 3e-308)
            fmt = rng.choice(["r", "%.16g", "%.17g"])
            lits.append(repr(x) if fmt == "r" else fmt % x)
        elif r < 0.8:
            # Random digit strings with a decimal exponent in the double range.
            nd = rng.randint(1, 22)
            digits = "".join(rng.choice("0123456789") for _ in range(nd)).lstrip("0") or "0"
            point = rng.randint(0, len(digits))
            lit = digits[:point] + "." + digits[point:]
            if rng.random() < 0.7:
                lit += "e%d" % rng.randint(-330, 310)
            lits.append(lit)
        elif r < 0.9:
            # More significant digits than the 64-bit accumulator keeps.
            nd = rng.randint(19, 40)
            digits = "".join(rng.choice("0123456789") for _ in range(nd))
            point = rng.randint(0, nd)
            lits.append(digits[:point] + "." + digits[point:] + "e%d" % rng.randint(-320, 300))
        else:
            # Short "human" decimals, where double rounding matters most visibly.
            a = rng.randint(0, 10 ** rng.randint(1, 8))
            b = rng.randint(0, 10 ** rng.randint(1, 8))
            lits.append("%d.%d" % (a, b))
    # A number without `.` or an exponent would be an int literal.
    return [lit if any(c in lit for c in ".eE") else lit + "." for lit in lits]


def halfway_literals(rng, n):
    """Decimal texts at or next to the exact midpoint of two adjacent doubles, where rounding
    first to 64 bits and then to 53 bits (double rounding) is most likely to matter."""
    decimal.getcontext().prec = 1200
    lits = []
    while len(lits) < n:
        bits = rng.getrandbits(63)
        if bits >= 0x7FEFFFFFFFFFFFFF:
            continue
        lo = struct.unpack("<d", struct.pack("<Q", bits))[0]
        hi = struct.unpack("<d", struct.pack("<Q", bits + 1))[0]
        mid = (decimal.Decimal(lo) + decimal.Decimal(hi)) / 2
        sign, digits, exp = mid.as_tuple()
        text = "".join(map(str, digits))
        keep = rng.choice([17, 18, 19, 20, 21, 25, 30, 40, len(text)])
        if keep < len(text):
            exp += len(text) - keep
            text = text[:keep]
            if rng.random() < 0.5:
                text = str(int(text) + 1)
        lits.append("%s.e%d" % (text, exp) if "e" not in text else text)
    return lits


def correctly_rounded_repr(lit):
    """The text a correctly rounding parser and "16, then 17-19 digits" formatter would give."""
    x = float(lit.replace("_", ""))
    if x != x or x in (float("inf"), float("-inf")):
        return repr(x)
    for digits in range(16, 20):
        text = "%.*g" % (digits, x)
        if float(text) == x:
            break
    if not any(c in text for c in ".en"):
        text += ".0"
    return text


def imag_literals(rng):
    lits = ["2", "0.5", "1e16", "1e-5", "1e400", "0", "1e15", "1e23", "1e-320", "95.4", "3.",
            ".25", "1_0", "1e+", "1_", "1e5_0"]
    lits += random_literals(rng, 600)
    return lits


def fold_expressions(rng):
    """`lhs op rhs` with float (or int) operands that mpy-cross folds to a float constant."""
    ops = ["+", "-", "*", "/", "//", "%", "**"]
    pool = ["0.1", "0.2", "0.3", "1.5", "2.5", "3.0", "7.", "1e300", "1e-300", "5e-324",
            "1e308", "123.456", "2", "3", "7", "10", "0.0", "4.0", "1e16", "0.5", "9.7", "1e23"]
    exprs = ["10 / 4", "2 ** 0.5", "1 / 3", "2 ** -1", "10 ** -2", "7 / 2", "1e308 * 10.",
             "(-2.5) // 1.5", "(-2.5) % 1.5", "2.5 % (-1.5)", "(-0.0) // 2.", "6. % (-3.)",
             "(-8.) ** 3.", "0.1 + 0.2", "95.3 + 0.1", "0.0 ** 0.0", "1e300 ** 2."]
    while len(exprs) < 1200:
        op = rng.choice(ops)
        if rng.random() < 0.5:
            a, b = rng.choice(pool), rng.choice(pool)
        else:
            a = "%.*g" % (rng.randint(1, 17), rng.uniform(-1e3, 1e3))
            b = "%.*g" % (rng.randint(1, 17), rng.uniform(-50, 50))
            if op == "**":
                a, b = a.lstrip("-"), "%.3g" % rng.uniform(-20, 20)
        if not any(c in a + b for c in ".e"):
            b += "."
        x, y = float(a), float(b)
        if op in ("/", "//", "%") and y == 0 or op == "**" and (x == 0 and y < 0 or x < 0):
            continue
        wrap = lambda t: "(%s)" % t if t.startswith("-") else t
        exprs.append("%s %s %s" % (wrap(a), op, wrap(b)))
    return exprs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mpy_cross")
    ap.add_argument("out")
    ap.add_argument("--random", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--halfway", type=int, default=2000,
                    help="how many literals at or next to a midpoint between two doubles")
    ap.add_argument("--unusual", type=int, default=0,
                    help="also compile this many more random literals and keep those whose "
                         "text differs from a correctly rounded model")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    floats = fixed_literals() + random_literals(rng, args.random) + halfway_literals(rng, args.halfway)
    imags = imag_literals(rng)
    extra = random_literals(rng, args.unusual)
    folds = fold_expressions(rng)
    negatives = ["-" + lit for lit in random_literals(rng, 200)] + ["-0.0", "-1e400", "-5e-324"]
    version = subprocess.run([args.mpy_cross, "--version"], capture_output=True, text=True,
                             check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as workdir:
        ftexts = compile_texts(args.mpy_cross, floats, "", 8, workdir)
        jtexts = compile_texts(args.mpy_cross, imags, "j", 9, workdir)
        etexts = compile_texts(args.mpy_cross, extra, "", 8, workdir)
        otexts = compile_texts(args.mpy_cross, folds, "", 8, workdir)
        ntexts = compile_texts(args.mpy_cross, negatives, "", 8, workdir)
    floats += negatives
    ftexts += ntexts
    for lit, text in zip(extra, etexts):
        if text != correctly_rounded_repr(lit):
            floats.append(lit)
            ftexts.append(text)
    with open(args.out, "w") as f:
        f.write("# Generated by scripts/float_vectors.py --random %d --halfway %d --seed %d "
                "--unusual %d\n" % (args.random, args.halfway, args.seed, args.unusual))
        f.write("# with %s\n" % version)
        f.write("# kind<TAB>literal<TAB>constant text stored by mpy-cross\n")
        for lit, text in zip(floats, ftexts):
            f.write("f\t%s\t%s\n" % (lit, text))
        for lit, text in zip(imags, jtexts):
            f.write("j\t%s\t%s\n" % (lit, text))
        for expr, text in zip(folds, otexts):
            f.write("o\t%s\t%s\n" % (expr, text))
    print("%d float, %d imaginary and %d folding vectors" % (len(floats), len(imags), len(folds)),
          file=sys.stderr)


if __name__ == "__main__":
    main()
