#!/usr/bin/env python3
"""Prints the ranges of Rust regex's Unicode \\w (Alphabetic, M, Nd, Pc, Join_Control) as a C++
array body for include/qkv/tokenize/regex_classes.hpp, from the Unicode Character Database files in
/usr/share/unicode (Debian package unicode-data)."""
import re

UCD = "/usr/share/unicode/"


def ranges_of(path, wanted):
    for line in open(UCD + path, encoding="utf-8"):
        line = line.split("#")[0].strip()
        if not line:
            continue
        cps, value = [x.strip() for x in line.split(";")[:2]]
        if value in wanted:
            lo, _, hi = cps.partition("..")
            yield int(lo, 16), int(hi or lo, 16)


points = set()
for lo, hi in ranges_of("DerivedCoreProperties.txt", {"Alphabetic"}):
    points.update(range(lo, hi + 1))
for lo, hi in ranges_of("PropList.txt", {"Join_Control"}):
    points.update(range(lo, hi + 1))
for lo, hi in ranges_of("extracted/DerivedGeneralCategory.txt", {"Mn", "Mc", "Me", "Nd", "Pc"}):
    points.update(range(lo, hi + 1))

merged = []
for cp in sorted(points):
    if merged and merged[-1][1] + 1 == cp:
        merged[-1][1] = cp
    else:
        merged.append([cp, cp])
version = re.search(r"DerivedCoreProperties-([\d.]+)\.txt", open(UCD + "DerivedCoreProperties.txt").readline())
print(f"// Unicode {version.group(1) if version else '?'}: {len(merged)} ranges")
line = ""
for lo, hi in merged:
    item = f"{{0x{lo:X}, 0x{hi:X}}}, "
    if len(line) + len(item) > 100:
        print(line.rstrip())
        line = ""
    line += item
print(line.rstrip())
