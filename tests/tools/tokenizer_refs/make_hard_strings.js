#!/usr/bin/env node
// Writes hard_strings.json: the corpus of difficult inputs that make_refs.js
// encodes with every reference tokenizer. Strings are written here with JS
// escapes so that invisible characters stay readable in review.
//
// Entries are {"id", "category", "text"} or, for invalid UTF-8,
// {"id", "category", "hex", "text"} where "hex" is the raw byte sequence and
// "text" is Buffer.from(hex, 'hex').toString('utf8'): every maximal invalid
// subsequence replaced by U+FFFD (WHATWG / Unicode "maximal subpart" rule,
// the same as Rust's String::from_utf8_lossy).
'use strict';
const fs = require('fs');
const path = require('path');

const S = [];
function add(category, ...texts) {
  for (const t of texts) S.push({ category, text: t });
}
function addHex(category, ...hexes) {
  for (const h of hexes) {
    const clean = h.replace(/\s+/g, '').toLowerCase();
    S.push({ category, hex: clean, text: Buffer.from(clean, 'hex').toString('utf8') });
  }
}

// --- basics -----------------------------------------------------------------
add('empty', '');
add('basic',
  'Hello world', 'hello world', 'HELLO WORLD', 'Hello, world!', 'The quick brown fox jumps over the lazy dog.',
  'a', 'A', ' ', 'I', 'x y z', 'Hello', ' Hello', 'Hello ', 'hello\tworld', 'hello\nworld',
  'supercalifragilisticexpialidocious', 'unbelievably uncharacteristically', 'tokenization',
  'GPT-2 is a transformer.', 'New York-based start-up', 'e.g. i.e. etc. Mr. Smith',
  "It's a dog's life.", 'word...', '?!?!', '!!!', '...', '---', '***bold***', '__init__');

// --- whitespace ---------------------------------------------------------------
add('whitespace',
  '  ', '   ', '    ', '\t', '\t\t', '\n', '\n\n', '\n\n\n', '\r\n', '\r\n\r\n', '\r', ' \n ', '\n \n',
  '  leading two', '   leading three', 'trailing two  ', 'trailing three   ', '  both  ',
  'a  b', 'a   b', 'a    b', 'a\t\tb', 'a \t b', 'a\n\nb', 'a \n\n b', 'a\r\nb', 'a\r\n\r\nb',
  'line1\nline2\n', '\nstarts with newline', 'ends with newline\n', 'tab\tseparated\tvalues',
  ' \t \n \r\n ', 'x\n  y', 'x  \n  y', 'x\u000by', 'x\u000cy',
  'word ' + ' '.repeat(20) + 'word', '\n'.repeat(12), ' '.repeat(33), '\t \t \t');
add('unicode-spaces',
  'a\u00a0b', 'a\u00a0\u00a0b', '\u00a0leading nbsp', 'trailing nbsp\u00a0', 'a\u2009b', 'a\u200ab',
  'a\u2002b', 'a\u3000b', 'a\u202fb', 'a\u205fb', 'a\u1680b', 'a\u2028b', 'a\u2029b', 'a\u0085b',
  '\u3000\u3000全角スペース', 'a\u200bb', 'a\ufeffb', '\ufeffBOM at start');

// --- digits -------------------------------------------------------------------
add('digits',
  '0', '1', '12', '123', '1234', '12345', '123456', '1234567890', '3.14159', '2,000,000', '1e-10',
  '-42', '+7', '007', '99 bottles', 'abc123def', '123abc', 'v1.2.3', '2024-01-15', '12:34:56',
  '$1,299.99', '50%', '1/2', '10^6', '3 + 4 = 7',
  '31415926535897932384626433832795028841971693993751058209749445923078164062862089986280348253421170679',
  '٠١٢٣٤٥٦٧٨٩', '०१२३४५', '１２３４５', '½ ¼ ¾', 'Ⅻ Ⅳ', '①②③', '²³¹', '𝟘𝟙𝟚');

// --- contractions -------------------------------------------------------------
add('contractions',
  "don't", "Don't", "DON'T", "I'm", "I'M", "you're", "YOU'RE", "we've", "WE'VE", "she'll", "SHE'LL",
  "he'd", "HE'D", "it's", "IT'S", "John's", "JOHN'S", "'s", "'S", "'ll", "'LL", "'re", "'t",
  "can't won't shouldn't", "y'all'd've", "rock 'n' roll", "'quoted'", "o'clock", "the '90s",
  "it\u2019s", "don\u2019t", "I ' m", "x's's's", "''", "'", "'s'", "l'homme", "aujourd'hui");

// --- accents and Latin extras ---------------------------------------------------
add('accents',
  'café', 'cafe\u0301', 'CAFÉ', 'CAFE\u0301', 'naïve', 'nai\u0308ve', 'résumé', 're\u0301sume\u0301',
  'Ångström', 'A\u030angstro\u0308m', 'crème brûlée', 'piñata', 'pin\u0303ata', 'São Paulo', 'Zürich',
  'Dvořák', 'Łódź', 'Ærøskøbing', 'façade', 'Ça va?', 'élève', 'ÉLÈVE', 'Ελλάδα',
  'über', 'Über', 'Straße', 'STRASSE', 'ß', 'ẞ', 'Maße', 'İstanbul', 'istanbul', 'ıi İI', 'DİYARBAKIR',
  'ﬁnance', 'ﬂower', 'ﬀ ﬃ ﬄ', 'Œuvre œuvre', 'Ĳ ĳ', 'ǅ ǈ ǋ', '\u017f', '\u212b', '\u00c5', '\u2126 \u03a9', '\u212a K', '\u00b5 \u03bc', '\u2460\u2461',
  'Vietnamese: Tiếng Việt có dấu', 'Tie\u0302\u0301ng Vie\u0323\u0302t', 'ă â đ ê ô ơ ư',
  'Español: ¿Dónde está la biblioteca?', 'Français: À bientôt, l\u2019été', 'Deutsch: Grüße aus Köln');
add('combining',
  'e\u0301', 'e\u0301\u0301\u0301', 'a\u0300\u0301\u0302\u0303\u0304', '\u0301', '\u0301leading mark',
  'Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u036b\u0357\u0334\u0362\u0335\u031c\u0330\u0354L\u0368\u0367\u0369\u0358\u0320G\u0311\u0357\u030e\u0305\u035b\u0341\u0334\u033b\u0348\u034d\u0354\u0339O\u0342\u030c\u030c\u0358\u0328\u0335\u0339\u033b\u031d\u0333',
  'q\u0307\u0323', 'q\u0323\u0307', '\u1e0b\u0323', 'd\u0323\u0307', 'x\u20dd', '1\u20e3', 'a\u0338', '=\u0338',
  '\u0915\u094d\u200d\u0937', 'ก\u0e31\u0e49');
add('greek-cyrillic',
  'Σίσυφος', 'ΣΊΣΥΦΟΣ', 'ὈΔΥΣΣΕΎΣ', 'λόγος', 'ΟΔΟΣ', 'σς Σ', 'Καλημέρα κόσμε', 'ΐ ΰ', 'ᾼ ᾳ ῼ',
  'Привет, мир!', 'ПРИВЕТ', 'Ёлка ёлка', 'Ї ї Ґ ґ', 'Съешь же ещё этих мягких французских булок');

// --- CJK, Japanese, Korean ------------------------------------------------------
add('cjk',
  '中文', '你好，世界！', '我爱自然语言处理。', '漢字かな交じり文', '中文English混合mixed', '中 文 空 格',
  '𠀀𠀁𠀂', '𪚥', '𠮷野家', '丂丄丅', '〇一二三', '「引用」『二重』', '【括弧】', '、。・',
  '東京都は日本の首都です。', 'ひらがな カタカナ', 'ｶﾀｶﾅ ﾊﾝｶｸ', 'ﾊﾟﾋﾟﾌﾟ', 'ガギグゲゴ', 'カ\u3099キ\u3099',
  'ｰ〜～', '한국어', '안녕하세요 세계', '\u1100\u1161\u11a8', '\u1112\u1161\u11ab\u1100\u1173\u11af',
  '㈜ ㎏ ㍿', '⺀⻳', '𝐀𝐁𝐂 𝓐𝓑𝓒', 'Ｈｅｌｌｏ　Ｗｏｒｌｄ', '！＃＄％＆', 'ＡＢＣ１２３ａｂｃ');

// --- other scripts -----------------------------------------------------------
add('scripts',
  'مرحبا بالعالم', 'العَرَبِيَّة', 'שלום עולם', 'עִבְרִית', 'नमस्ते दुनिया', 'हिन्दी', 'क्षत्रिय',
  'สวัสดีชาวโลก', 'ภาษาไทย', 'ཀ་ཁ་ག', 'ሰላም', 'Բարեւ', 'გამარჯობა', 'বাংলা', 'தமிழ்', 'ಕನ್ನಡ',
  'ພາສາລາວ', 'မြန်မာ', 'ខ្មែរ', 'ᚠᚢᚦ', '𐌰𐌱𐌲', 'ⴰⵣⵓⵍ', 'ᐊᐃᑉᐸ',
  'mixed: hello مرحبا שלום नमस्ते 你好', '\u202eRTL override\u202c', 'a\u200eb\u200fc', 'ي\u0640\u0640ي');

// --- emoji -------------------------------------------------------------------
add('emoji',
  '😀', '😀😃😄', 'I ❤️ NY', '❤', '❤\ufe0f', '👍', '👍🏻', '👍🏽', '👍🏿', '👋🏼 hi',
  '👨\u200d👩\u200d👧\u200d👦', '👩\u200d💻', '🏳️\u200d🌈', '🏴\u200d☠️', '👁️\u200d🗨️', '🧑🏽\u200d🚀',
  '🇺🇸', '🇯🇵🇫🇷🇩🇪', '🇺', '🏴\udb40\udc67\udb40\udc62\udb40\udc73\udb40\udc63\udb40\udc74\udb40\udc7f',
  '1️⃣', '#️⃣', '*️⃣', '#⃣', '☺', '☺️', '✌🏾', '🤷\u200d♀️', '🫠', '🦀 Rust', '🐍 Python',
  'emoji😀in😀text', '😀 😀  😀', '©®™', '♠♣♥♦', '→←↑↓', '∀x∈ℝ: x²≥0', '∑∫∂√∞', '⌘⌥⇧', '🀄🃏');

// --- zero-width and control ---------------------------------------------------
add('zero-width-control',
  'a\u200db', 'a\u200cb', 'می\u200cخواهم', '\u200d', '\u200c', '\u200b', 'zero\u200bwidth\u200bspace',
  'soft\u00adhyphen', 'a\u2060b', 'a\u034fb', 'a\u0000b', '\u0000', 'a\u0001b', 'bell\u0007', 'esc\u001b[0m',
  'a\u007fb', 'a\u0080b', 'a\u009fb', 'a\ufffdb', '\ufffd', 'a\ufff9b\ufffbc', 'a\ue000b', 'a\udbff\udffdb',
  'var\u2062iable', 'x\ufe0fy');

// --- code, URLs, markup ---------------------------------------------------------
add('code',
  'def foo(x):\n    return x + 1\n',
  'int main() { return 0; }',
  'for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}',
  '#include <stdio.h>\n\nint main(void) {\n  printf("hi\\n");\n}\n',
  'if x == 1 and y != 2:\n        pass',
  'const f = (a, b) => a ?? b;',
  'SELECT * FROM users WHERE id = 42;',
  '<div class="x">Hello</div>',
  '{"key": "value", "n": [1, 2, 3]}',
  'x = [i**2 for i in range(10)]',
  'std::vector<std::string> v{"a", "b"};',
  '    indented with spaces',
  '\t\tindented with tabs',
  'fn main() {\n    println!("{}", 1_000_000);\n}',
  '$ ls -la | grep "*.txt" > out.log 2>&1',
  'a+=1;b-=2;c*=3;d/=4;e%=5;f^=6;g|=7;h&=8',
  '/* comment */ // another',
  '# Markdown heading\n\n- item 1\n- item 2\n',
  '| a | b |\n|---|---|\n| 1 | 2 |',
  '```python\nprint("x")\n```',
  'camelCaseVariableName snake_case_name SCREAMING_CASE kebab-case',
  'foo.bar.baz()', '@decorator\ndef f(): ...', '0x1F 0b1010 0o777', '\\n\\t\\\\', 'C:\\Users\\name\\file.txt',
  '~/.bashrc && echo $HOME', 'λx.x', '!==', '<<=', '>>>', '::', '->', '=>', '...rest');
add('urls',
  'https://www.example.com/path?query=1&x=y#frag', 'http://例子.测试', 'mailto:someone@example.org',
  'user@example.com', 'www.huggingface.co', 'ftp://ftp.debian.org/debian/', 'https://t.co/AbC123',
  '@username #hashtag', 'file:///etc/passwd', 'https://en.wikipedia.org/wiki/Caf%C3%A9');

// --- special tokens inside text -------------------------------------------------
add('special-tokens',
  '<|endoftext|>', 'Hello<|endoftext|>world', 'Hello <|endoftext|> world', 'Hello  <|endoftext|>  world',
  '<|endoftext|><|endoftext|>', ' <|endoftext|>', '<|endoftext|> ', '<|endoftext', '<|ENDOFTEXT|>',
  '[CLS]', '[SEP]', '[MASK]', '[PAD]', '[UNK]', '[CLS] hello [SEP]', 'the [MASK] sat', 'the[MASK]sat',
  '[mask]', '[ MASK ]', '[CLS][SEP]', 'a [UNK] b',
  '</s>', '<s>', '<unk>', '<pad>', 'text</s>', 'text </s> more', '<s>text</s>',
  '<|begin_of_text|>Hello', '<|eot_id|>', 'a<|end_of_text|>b',
  '<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n',
  'x <mask> y', 'x<mask>y', 'x    <mask>    y', '<mask>', 'x <sep>   y', 'x<sep>y',
  '[WORD]', 'a [WORD] b', 'a[WORD]b', 'word[WORD]', '[WORD]s', 'café [WORD]', 'cafe\u0301 ok', 'naïve nai\u0308ve',
  'x <tool>  y', 'x<tool>y', '  <tool>  ', '<0x41>', '▁', '▁▁', 'a▁b', 'Ġ', 'ĠĠhello', 'Ċ');

// --- repetition and long -------------------------------------------------------
add('long',
  'a'.repeat(150), 'ab'.repeat(60), 'hello '.repeat(30), '!'.repeat(50), '-'.repeat(80), '='.repeat(40),
  '0'.repeat(64), '😀'.repeat(10), '中'.repeat(40), 'x'.repeat(99), 'y'.repeat(100), 'z'.repeat(101),
  'pneumonoultramicroscopicsilicovolcanoconiosis',
  'Lopadotemachoselachogaleokranioleipsanodrimhypotrimmatosilphiokarabomelitokatakechymenokichlepikossyphophattoperisteralektryonoptekephalliokigklopeleiolagoiosiraiobaphetraganopterygon',
  'Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz',
  'In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters.',
  'El veloz murciélago hindú comía feliz cardillo y kiwi. La cigüeña tocaba el saxofón detrás del palenque de paja.',
  'Portez ce vieux whisky au juge blond qui fume. Voix ambiguë d\u2019un cœur qui, au zéphyr, préfère les jattes de kiwis.',
  'Victor jagt zwölf Boxkämpfer quer über den großen Sylter Deich.',
  'いろはにほへと ちりぬるを わかよたれそ つねならむ うゐのおくやま けふこえて あさきゆめみし ゑひもせす',
  'The year 2024 had 366 days; π ≈ 3.14159, e ≈ 2.71828, and φ ≈ 1.61803.');

// --- punctuation -----------------------------------------------------------------
add('punctuation',
  '"double quotes"', '\u201ccurly quotes\u201d', '\u2018single\u2019', '«guillemets»', '„German“',
  'em\u2014dash', 'en\u2013dash', 'ellipsis\u2026', '(parens) [brackets] {braces}', 'a/b\\c|d',
  '¡Hola!', '¿Qué?', '#$%&*+', '@@@', '^_^', ':-)', '¯\\_(ツ)_/¯', '•·°', '§¶†‡', '¥€£¢₹₿',
  '.,;:', "' '", '" "', '`backticks`', '~tilde~', 'a_b_c', '_leading', 'trailing_', 'a.b.c', 'U.S.A.');

// --- invalid UTF-8 (raw bytes) ---------------------------------------------------
addHex('invalid-utf8',
  'ff', 'fe', 'c0', 'c080', 'c1bf', 'e0', 'e080', 'e080af', 'eda080', 'edbfbf', 'f4908080', 'f5808080',
  'f8888080 80', 'fc8480808080', '80', 'bf', '8080', '48656c6c6f ff 776f726c64', 'c3', '48c3', 'c328',
  'e282', 'e28228', 'f09f98', 'f09f9828', 'f09f9880 f09f98', 'e4bda0 e5a5 bd', 'c3a9 80 c3a9',
  '61 ed a0 bd ed b8 80 62', 'efbfbd', 'f0 80 80 80', '20 ff 20', '0a fe 0a', '3c7c656e646f66 ff 746578747c3e',
  'e0 a0', 'f1 80 80', 'f3 bf bf bf');

S.forEach((s, i) => { s.id = i; });
const out = {
  description:
    'Hard input strings for qkv tokenizer tests, generated by make_hard_strings.js. ' +
    'Entries with "hex" are raw byte sequences that are not valid UTF-8; their "text" is ' +
    "Buffer.from(hex,'hex').toString('utf8') in Node.js, which replaces each maximal ill-formed " +
    'subsequence with U+FFFD (the Unicode/WHATWG rule, same as Rust String::from_utf8_lossy). ' +
    'Reference ids for those entries are the ids of that lossy-decoded text.',
  count: S.length,
  strings: S.map((s) => (s.hex !== undefined ? { id: s.id, category: s.category, hex: s.hex, text: s.text } : { id: s.id, category: s.category, text: s.text })),
};
// Lone surrogates cannot be represented in UTF-8; make sure none slipped in.
for (const s of S) {
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?:[^\ud800-\udbff]|^)[\udc00-\udfff]/.test(s.text)) throw new Error('lone surrogate in ' + s.id);
}
fs.writeFileSync(path.join(__dirname, 'hard_strings.json'), JSON.stringify(out, null, 1) + '\n');
console.log(`wrote hard_strings.json with ${S.length} strings`);
