#!/usr/bin/python3
"""Writes the Unicode conformance subsets under tests/data/tokenize/unicode/ from Debian's
unicode-data (Unicode 15.0). Run from the repository root:
    /usr/bin/python3 tests/tools/make_unicode_test_data.py

normalization_test.txt: lines of NormalizationTest.txt (columns c1;c2;c3;c4;c5, comments dropped)
whose code points were all assigned by Unicode 9.0, the version of qkv's normalization tables (see
make_unicode_tables.py): all of parts 0, 2 and 3 and every 6th line of part 1, to keep it small.
grapheme_break_test.txt: GraphemeBreakTest.txt without comments.
"""
import bz2
import os

SRC = '/usr/share/unicode/'
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'data', 'tokenize', 'unicode')


def ages():
    age = {}
    for line in open(SRC + 'DerivedAge.txt', encoding='utf-8'):
        line = line.split('#')[0].strip()
        if not line:
            continue
        cps, version = [x.strip() for x in line.split(';')]
        first, _, last = cps.partition('..')
        for c in range(int(first, 16), int(last or first, 16) + 1):
            age[c] = tuple(int(x) for x in version.split('.'))
    return age


def main():
    os.makedirs(OUT, exist_ok=True)
    age = ages()
    kept, part, index = [], None, 0
    for line in bz2.open(SRC + 'NormalizationTest.txt.bz2', 'rt', encoding='utf-8'):
        if line.startswith('@Part'):
            part, index = line.split()[0], 0
            continue
        data = line.split('#')[0].strip()
        if not data:
            continue
        columns = data.rstrip(';').split(';')[:5]
        if not all(age.get(int(cp, 16), (99,)) <= (9, 0) for col in columns for cp in col.split()):
            continue
        index += 1
        if part == '@Part1' and index % 6 != 0:
            continue
        kept.append(';'.join(columns))
    with open(os.path.join(OUT, 'normalization_test.txt'), 'w', encoding='utf-8') as f:
        f.write('# Subset of Unicode 15.0 NormalizationTest.txt; see tests/tools/make_unicode_test_data.py\n')
        f.write('\n'.join(kept) + '\n')
    with open(os.path.join(OUT, 'grapheme_break_test.txt'), 'w', encoding='utf-8') as f:
        f.write('# Unicode 15.0 GraphemeBreakTest.txt without comments; see tests/tools/make_unicode_test_data.py\n')
        for line in open(SRC + 'auxiliary/GraphemeBreakTest.txt', encoding='utf-8'):
            data = line.split('#')[0].strip()
            if data:
                f.write(data + '\n')


if __name__ == '__main__':
    main()
