#!/usr/bin/python3
"""Writes include/qkv/tokenize/unicode_tables.hpp from Debian's unicode-data files (Unicode 15.0).

Run from the repository root:  /usr/bin/python3 tests/tools/make_unicode_tables.py

Hugging Face `tokenizers` takes its Unicode data from several Rust crates of different ages, and
qkv must give the same answers, so some tables are cut at the Unicode version the crate uses
(DerivedAge.txt says when each code point was assigned):
  * normalization (NFD/NFC/NFKD/NFKC: decompositions, combining classes, composition) and the
    StripAccents mark test come from `unicode-normalization-alignments`: Unicode 9.0;
  * BERT control/punctuation tests come from `unicode_categories`: Unicode 8.0;
  * everything else (general category for the regex classes, White_Space, lowercase, grapheme
    clusters) follows current Unicode: 15.0 here.
"""
import os
import sys

SRC = '/usr/share/unicode/'
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'include', 'qkv', 'tokenize',
                   'unicode_tables.hpp')
NORMALIZATION_AGE = (9, 0)
CATEGORIES_AGE = (8, 0)
CATEGORY_NAMES = ['Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'Mn', 'Mc', 'Me', 'Nd', 'Nl', 'No', 'Pc', 'Pd', 'Ps', 'Pe',
                  'Pi', 'Pf', 'Po', 'Sm', 'Sc', 'Sk', 'So', 'Zs', 'Zl', 'Zp', 'Cc', 'Cf', 'Cs', 'Co', 'Cn']
GRAPHEME_NAMES = ['Other', 'CR', 'LF', 'Control', 'Extend', 'ZWJ', 'Regional_Indicator', 'Prepend',
                  'SpacingMark', 'L', 'V', 'T', 'LV', 'LVT']
# Code points whose general category changed after Unicode 8.0/9.0, as the old crates still see them.
OLD_PUNCTUATION = {0x166D: True, 0x111C9: True}  # Po in 8.0 (So / Mn today)
OLD_MARKS = {0x1CF2: True, 0x1CF3: True, 0x111C9: False}  # Mc in 9.0 (Lo today); Po in 9.0


def ranges_of(path):
    """Yields (first, last, fields) of each data line of a UCD property file."""
    for line in open(SRC + path, encoding='utf-8'):
        line = line.split('#')[0].strip()
        if not line:
            continue
        fields = [f.strip() for f in line.split(';')]
        first, _, last = fields[0].partition('..')
        yield int(first, 16), int(last or first, 16), fields[1:]


def property_set(path, name):
    return {c for a, b, f in ranges_of(path) if f[0] == name for c in range(a, b + 1)}


def read_unicode_data():
    category, ccc, decomposition, lower = {}, {}, {}, {}
    first = None
    for line in open(SRC + 'UnicodeData.txt', encoding='utf-8'):
        f = line.rstrip('\n').split(';')
        cp = int(f[0], 16)
        if f[1].endswith(', First>'):
            first = cp
            continue
        span = range(first, cp + 1) if f[1].endswith(', Last>') else [cp]
        for c in span:
            category[c] = f[2]
            if f[3] != '0':
                ccc[c] = int(f[3])
        if f[5]:
            parts = f[5].split()
            compat = parts[0].startswith('<')
            decomposition[cp] = (compat, [int(x, 16) for x in (parts[1:] if compat else parts)])
        if f[13]:
            lower[cp] = [int(f[13], 16)]
    # Rust's char::to_lowercase is the full mapping: SpecialCasing's unconditional entries.
    for line in open(SRC + 'SpecialCasing.txt', encoding='utf-8'):
        line = line.split('#')[0].strip()
        if not line:
            continue
        f = [x.strip() for x in line.split(';')]
        if f[4] == '':
            lower[int(f[0], 16)] = [int(x, 16) for x in f[1].split()]
    return category, ccc, decomposition, lower


def read_ages():
    age = {}
    for a, b, f in ranges_of('DerivedAge.txt'):
        version = tuple(int(x) for x in f[0].split('.'))
        for c in range(a, b + 1):
            age[c] = version
    return age


def boundaries(members):
    """Sorted code points where membership flips: c is a member iff an odd number are <= c."""
    out, inside = [], False
    for c in range(0x110001):
        now = c in members
        if now != inside:
            out.append(c)
            inside = now
    return out


def runs(value_of, default):
    """(first << 8 | value) for each run of equal values covering 0..0x10FFFF."""
    out, current = [], None
    for c in range(0x110000):
        v = value_of.get(c, default)
        if v != current:
            out.append(c << 8 | v)
            current = v
    return out


def emit_array(out, ctype, name, values, per_line=8, fmt='0x{:X}'):
    out.append(f'inline constexpr {ctype} {name}[] = {{')
    for i in range(0, len(values), per_line):
        out.append('    ' + ', '.join(fmt.format(v) for v in values[i:i + per_line]) + ',')
    out.append('};')


def main():
    category, ccc, decomposition, lower = read_unicode_data()
    age = read_ages()
    old = lambda c, version: age.get(c, (99,)) <= version
    cat_index = {name: i for i, name in enumerate(CATEGORY_NAMES)}

    white_space = property_set('PropList.txt', 'White_Space')
    alphabetic = property_set('DerivedCoreProperties.txt', 'Alphabetic')
    join_control = property_set('PropList.txt', 'Join_Control')
    pictographic = property_set('emoji/emoji-data.txt', 'Extended_Pictographic')
    exclusions = property_set('DerivedNormalizationProps.txt', 'Full_Composition_Exclusion')
    # onig's \w (the `Whitespace` pre-tokenizer): Alphabetic, marks, decimal digits, connector
    # punctuation, Join_Control.
    word = alphabetic | join_control | {c for c, k in category.items() if k in ('Mn', 'Mc', 'Me', 'Nd', 'Pc')}
    old_control = {c for c, k in category.items() if k in ('Cc', 'Cf', 'Co') and old(c, CATEGORIES_AGE)}
    old_punct = {c for c, k in category.items() if k[0] == 'P' and old(c, CATEGORIES_AGE)}
    old_punct |= {c for c, v in OLD_PUNCTUATION.items() if v}
    old_marks = {c for c, k in category.items() if k[0] == 'M' and old(c, NORMALIZATION_AGE)}
    old_marks = (old_marks | {c for c, v in OLD_MARKS.items() if v}) - {c for c, v in OLD_MARKS.items() if not v}

    grapheme = {}
    names = {name: i for i, name in enumerate(GRAPHEME_NAMES)}
    for a, b, f in ranges_of('auxiliary/GraphemeBreakProperty.txt'):
        for c in range(a, b + 1):
            grapheme[c] = names[f[0]]

    norm_ccc = {c: v for c, v in ccc.items() if old(c, NORMALIZATION_AGE)}
    pool, entries = [], []
    for cp in sorted(decomposition):
        if not old(cp, NORMALIZATION_AGE):
            continue
        compat, mapping = decomposition[cp]
        entries.append((cp, len(pool), len(mapping), int(compat) | int(cp in exclusions) << 1))
        pool.extend(mapping)
    assert len(pool) < 65536 and max(e[2] for e in entries) < 256

    simple_lower = sorted((c, m[0]) for c, m in lower.items() if len(m) == 1 and m[0] != c)
    special_lower = sorted((c, m) for c, m in lower.items() if len(m) > 1)
    assert all(len(m) <= 3 for _, m in special_lower)

    out = ['#pragma once',
           '// GENERATED by tests/tools/make_unicode_tables.py from Debian\'s unicode-data (Unicode 15.0);',
           '// do not edit. Regenerate: /usr/bin/python3 tests/tools/make_unicode_tables.py',
           '//',
           '// Normalization data and the mark set are cut at Unicode 9.0, the BERT control/punctuation sets',
           '// at Unicode 8.0: the ages of the crates Hugging Face `tokenizers` uses (see the script).',
           '// Run tables hold (first << 8 | value) for runs of equal values covering all code points;',
           '// set tables hold the code points where membership flips.',
           '#include <cstdint>',
           '',
           'namespace qkv::tokenize::tables {',
           '',
           'enum class GeneralCategory : std::uint8_t { ' + ', '.join(CATEGORY_NAMES) + ' };',
           'enum class GraphemeBreak : std::uint8_t { ' + ', '.join(n.replace('_', '') for n in GRAPHEME_NAMES) + ' };',
           '']
    emit_array(out, 'std::uint32_t', 'kGeneralCategory',
               runs({c: cat_index[k] for c, k in category.items()}, cat_index['Cn']))
    emit_array(out, 'std::uint32_t', 'kCombiningClass', runs(norm_ccc, 0))
    emit_array(out, 'std::uint32_t', 'kGraphemeBreak', runs(grapheme, 0))
    for name, members in [('kWhiteSpace', white_space), ('kWord', word), ('kExtendedPictographic', pictographic),
                          ('kBertControl', old_control), ('kBertPunctuation', old_punct), ('kStripAccentsMark', old_marks)]:
        emit_array(out, 'std::uint32_t', name, boundaries(members))
    out.append('')
    out.append('// Canonical (flags & 1 == 0) or compatibility decomposition, one level: pool[offset, +length).')
    out.append('// flags & 2: Full_Composition_Exclusion.')
    out.append('struct Decomposition { char32_t code_point; std::uint16_t offset; std::uint8_t length, flags; };')
    out.append('inline constexpr Decomposition kDecompositions[] = {')
    for i in range(0, len(entries), 4):
        out.append('    ' + ' '.join('{0x%X, %d, %d, %d},' % e for e in entries[i:i + 4]))
    out.append('};')
    emit_array(out, 'char32_t', 'kDecompositionPool', pool)
    out.append('')
    out.append('struct LowercasePair { char32_t from, to; };')
    out.append('inline constexpr LowercasePair kLowercase[] = {')
    for i in range(0, len(simple_lower), 6):
        out.append('    ' + ' '.join('{0x%X, 0x%X},' % p for p in simple_lower[i:i + 6]))
    out.append('};')
    out.append('// Lowercase mappings to several code points (SpecialCasing.txt, unconditional).')
    out.append('struct LowercaseSpecial { char32_t from; char32_t to[3]; };')
    out.append('inline constexpr LowercaseSpecial kLowercaseSpecial[] = {')
    for c, m in special_lower:
        out.append('    {0x%X, {%s}},' % (c, ', '.join('0x%X' % x for x in m + [0] * (3 - len(m)))))
    out.append('};')
    out.append('')
    out.append('}  // namespace qkv::tokenize::tables')
    with open(OUT, 'w', encoding='utf-8') as f:
        f.write('\n'.join(out) + '\n')
    print(f'wrote {OUT}', file=sys.stderr)


if __name__ == '__main__':
    main()
