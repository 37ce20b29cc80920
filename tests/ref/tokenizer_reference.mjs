// Writes tests/fixtures/tokenizer/qwen3_cases.json: strings and the ids an
// independent tokenizer gives them, for tests/test_tokenizer.c to compare
// against byte for byte.
//
// Reference: transformers.js (npm @huggingface/transformers; its tokenizers
// come from @huggingface/tokenizers).  Install it outside the repository and
// run from the repository root:
//
//   npm install --prefix /tmp/tokref --ignore-scripts @huggingface/transformers
//   TOKREF=/tmp/tokref node tests/ref/tokenizer_reference.mjs [SHARED_DIR]
//
// SHARED_DIR defaults to $SIDR_SHARED or ../shared.  The tokenizer is the
// real Qwen3 tokenizer.json plus the SID tokens of the Industrial index added
// the way `tokenizer.add_tokens([...])` stores them (non-special,
// normalized, ids from 151669 upward in lexicographic order of the distinct
// tokens).  The C test builds the identical tokenizer from SHARED_DIR at test
// time; the shared files themselves never enter the repository.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const shared = path.resolve(process.argv[2] || process.env.SIDR_SHARED || path.join(repo, '..', 'shared'));
const tokref = process.env.TOKREF || '/tmp/tokref';
const require = createRequire(path.join(tokref, 'package.json'));
const tf = await import(require.resolve('@huggingface/transformers'));
const tfVersion = JSON.parse(fs.readFileSync(path.join(tokref, 'node_modules/@huggingface/transformers/package.json'), 'utf8')).version;

const TOK_DIR = 'tokenizers/qwen3';
const INDEX = 'data/amazon18-industrial/index/Industrial_and_Scientific.index.json';
const ITEMS = 'data/amazon18-industrial/index/Industrial_and_Scientific.item.json';

const tokJson = JSON.parse(fs.readFileSync(path.join(shared, TOK_DIR, 'tokenizer.json'), 'utf8'));
const tokConfig = JSON.parse(fs.readFileSync(path.join(shared, TOK_DIR, 'tokenizer_config.json'), 'utf8'));
const index = JSON.parse(fs.readFileSync(path.join(shared, INDEX), 'utf8'));
const items = JSON.parse(fs.readFileSync(path.join(shared, ITEMS), 'utf8'));

// SID tokens: distinct, sorted by code unit (= byte order for ASCII, what
// Python's sorted() gives), appended after the last added token.
const sidTokens = [...new Set(Object.values(index).flat())].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
let nextId = Math.max(...tokJson.added_tokens.map((t) => t.id)) + 1;
const firstSidId = nextId;
for (const content of sidTokens) {
  tokJson.added_tokens.push({ id: nextId++, content, single_word: false, lstrip: false, rstrip: false,
                              normalized: true, special: false });
}
const tok = new tf.PreTrainedTokenizer(tokJson, tokConfig);

// ---- the strings -------------------------------------------------------------
const cases = [];
const add = (group, texts) => texts.forEach((text, i) => cases.push({ name: `${group}/${i}`, text }));

add('prose', [
  'Hello world',
  'Hello, world!',
  'The quick brown fox jumps over the lazy dog.',
  'A recommender suggests items a user may like next, based on what they bought before.',
  'Semantic IDs give every item a short code; similar items share a prefix.',
  'She said: "Nothing is impossible." Then she left.',
  'Mr. Smith (aged 42) bought 3 items on Jan. 5th -- a drill, a saw & a hammer.',
  'Prices rose 12% in Q3; analysts expect further increases.',
  'e.g., i.e., etc., vs. and so on...',
  'What?! No way... Really???',
  'hello',
  'HELLO',
  'Hello',
  'hELLO wORLD',
  'supercalifragilisticexpialidocious',
  'antidisestablishmentarianism',
  'Pneumonoultramicroscopicsilicovolcanoconiosis',
  'The user has interacted with items in chronological order.',
  'Below is an instruction that describes a task, paired with an input that provides further context.',
  'Tokenization splits text into pieces; BPE merges frequent pairs.',
  'under_score snake_case camelCase PascalCase kebab-case SCREAMING_SNAKE',
  'https://example.com/path?query=1&x=y#frag',
  'mail me at someone@example.org, thanks',
  '#hashtag @mention $TICKER %percent ^caret &amp; *star',
  '(parentheses) [brackets] {braces} <angles>',
  'a-b_c.d,e;f:g!h?i',
  '"double" \'single\' `backtick`',
  '...',
  '--- === +++ *** ### ~~~',
  '!!!!!!!!!!!!!!!!!!!!',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  'abababababababababababababababababababab',
  'The the THE tHe',
  'x',
  'I',
  'a',
  '?',
]);

add('digits', [
  '0', '7', '42', '123', '2024', '12345678901234567890', '3.14159265358979',
  '1,000,000', '1 000 000', '$19.99', '€5', '-273.15°C', '1e-9', '0x1F', 'v1.2.3',
  '2024-01-15T10:30:00Z', '+1 (555) 123-4567', '1/2 1/4 3/4', '50% off', '4K 1080p 60Hz',
  'M3x0.5 bolts, 12mm', '١٢٣ ٤٥٦', '一二三 123', '①②③', '²³¹', 'Ⅻ', '৩', '１２３',
]);

const contractions = [];
for (const c of ['s', 't', 're', 've', 'm', 'll', 'd']) {
  const forms = new Set([c, c.toUpperCase(), c[0].toUpperCase() + c.slice(1), c[0] + c.slice(1).toUpperCase()]);
  for (const f of forms) contractions.push(`it'${f}`, `X'${f} y`);
}
add('contractions', [
  ...contractions,
  "it's don't we're I've I'm we'll I'd",
  "IT'S DON'T WE'RE I'VE I'M WE'LL I'D",
  "It'S Don'T We'Re I'Ve I'M We'Ll I'D",
  "'s at the start", "'ll", "''s", "'S'", "rock'n'roll", "o'clock", "y'all'd've",
  "the cat's toy", "dogs' bowls", "'tis", "'twas", "ma'am",
  "it\u2019s (curly apostrophe)", "'\u017F (long s)", "'\u212A (kelvin)", "'RE'VE'LL",
]);

add('whitespace', [
  ' ', '  ', '   ', '\n', '\n\n', '\n\n\n', '\n\n\n\n\n', '\t', '\t\t', '\r\n', '\r\n\r\n', '\r',
  'a b', 'a  b', 'a   b', 'a    b', ' leading', '  two leading', 'trailing ', 'trailing   ',
  'a\nb', 'a\n\nb', 'a \n b', 'a  \n  b', 'a\n \n b', 'line1\n    indented\n\tTabbed',
  'a\tb', 'a\t\tb', '\t x', 'x \t', 'a\r\nb\r\nc', 'end\r\n', ' \n ', '  \n  \n  ',
  'word \n\n', ' \n\n word', '\n word', '\n\n  word',
  'def f(x):\n    return x ** 2\n', '{\n  "key": [1, 2, 3]\n}',
  'a\u00A0b', 'a\u3000b', 'a\u2003b', 'a\u0085b', 'a\u2028b', 'a\u180Eb', 'a\u200Bb', 'a\uFEFFb',
  '\u00A0\u00A0x', 'x\u00A0', 'a\u000Bb\u000Cc',
  // \s is Unicode White_Space in Oniguruma: U+0085 is in, U+180E and U+FEFF are out
  '\u180E\u180E!', 'x \u180E!', 'a\u180E', ' \u180E', 'x\u0085\u0085y', '!\u0085', '\u0085\n',
  '\uFEFF\uFEFF', 'x \uFEFF.', '\u3000\u3000x', 'x\u2028\u2028', '\u2029\n', 'a\u001Cb\u001Fc',
]);

add('accents', [
  'café', 'cafe\u0301', 'naïve', 'nai\u0308ve', 'Ångström', 'A\u030Angstro\u0308m', 'résumé', 're\u0301sume\u0301',
  'Zürich', 'Zu\u0308rich', 'São Paulo', 'Sa\u0303o Paulo', 'Dvořák', 'Dvor\u030Ca\u0301k', 'Ελληνικά',
  '\u2126 ohm', '\u212B angstrom', '\u1100\u1161\u11A8', '한국어', 'Crème brûlée', 'ﬁne ﬂour', 'ǅ ǆ',
  'e\u0301\u0301', '\u0301 leading combining', 'x\u0323\u0307', 'ḍ\u0307', 'Ǖ', 'ñ', 'n\u0303',
  'e<|im_end|>\u0301', 'café<think>cafe\u0301</think>',
]);

add('scripts', [
  '你好世界', '我想买一个3D打印机耗材', '推荐系统：基于语义ID的生成式推荐。', '繁體中文測試',
  'こんにちは世界', 'カタカナとひらがなと漢字', 'ｶﾀｶﾅ', '안녕하세요 세계', 'iPhone手机壳', 'ＡＢＣ！',
  'مرحبا بالعالم', 'العربية: ١٢٣', 'नमस्ते दुनिया', 'हिन्दी में परीक्षण', 'שלום עולם', 'สวัสดีชาวโลก',
  'Привет, мир!', 'ПРИВЕТ', 'Γειά σου Κόσμε', 'Բարև աշխարհ', 'ქართული', 'தமிழ்', 'বাংলা',
  'Tiếng Việt có dấu', 'mixed English 中文 العربية हिन्दी',
]);

add('emoji', [
  '😀', '😀😃😄', 'I ❤️ this', '👍🏽', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇺🇸🇯🇵', '1️⃣', '👩🏾‍💻 coding',
  'smile 😊 and wave 👋', '★☆✓✗→←', '🧑‍🔬🔬', '©®™', '🙂🙃', '🤖: hello',
]);

add('special', [
  '<|im_start|>', '<|im_end|>', '<|endoftext|>', '<think>', '</think>', '<think>\n\n</think>\n\n',
  '<|im_start|>system\nYou are helpful.<|im_end|>\n', '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
  'a<|endoftext|>b', '<|im_start|><|im_end|>', '<|im_end|><|im_end|>', 'text<|im_end|>', ' <|im_end|> ',
  '<think>I should reason.</think>\n\nAnswer', '<tool_call>\n{"name": "f"}\n</tool_call>', '<|fim_prefix|>x<|fim_suffix|>',
  '<|box_start|>1<|box_end|>', '<|vision_start|><|image_pad|><|vision_end|>', '<|im_start', '<|im_end|',
  'im_end|>', '<|IM_END|>', '< |im_end|>', '<think', 'think>', '<<think>>', '</think>x', '<think >',
]);

// SIDs from the real index: whole items, histories, neighbours.
const sidOf = (k) => index[k].join('');
const keys = Object.keys(index);
const sids = [0, 1, 2, 3, 50, 100, 999, 2000, 3685].map((i) => sidOf(keys[i]));
add('sid', [
  ...sids,
  '<a_60><b_159><c_203>', sids.slice(0, 5).join(', '), `item${index[keys[0]][0]}x`, `${index[keys[0]][0]}, ${index[keys[1]][1]}`,
  ` ${sids[0]} `, `${sids[0]}${sids[0]}`, `"${sids[1]}"`, `The user bought ${sids[2]} and ${sids[3]}.`,
  `${sids[4]}\n${sids[5]}`, `<think>\n${sids[0]} is a drill\n</think>\n\n${sids[1]}`, `${sids[6]}<|im_end|>`,
  '<a_0><b_0><c_0>', '<b_255><c_255>', '<c_0>', '<a_1>', 'x<b_1>y', '<a_1>,<b_2>', '<a_1>, <b_2>',
  '<a_999>', '<a_12 >', '< a_12>', '<a_-1>', '<A_12>', '<a_12', 'a_12>', '<a__12>', '<a_012>', '<d_1>',
  '<a_256>', '<<b_1>>', '<b_1>>', '<<b_1>', '<b_1 ><c_2>', '<b_10><b_100><b_101>', '<b_1000>', '<b_1><b_10>0>',
  '<c_5>\u0301', 'é<c_5>', '<c_5>é', 'e\u0301<c_5>e\u0301',
]);

// Real titles (short strings, read at generation time).
const itemKeys = Object.keys(items);
const titles = [];
for (let i = 0; i < itemKeys.length && titles.length < 45; i += Math.floor(itemKeys.length / 45)) titles.push(items[itemKeys[i]].title);
add('titles', titles.filter((s) => s && s.length < 300));
add('brands', itemKeys.slice(0, 400).map((k) => items[k].brand).filter((b) => b && b.length < 80).slice(0, 10));

// Prompts rendered by the model's own chat template.
const P = 'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.';
const hist = sids.slice(0, 5).join(', ');
const chats = [
  [{ role: 'system', content: `${P} Can you predict the next possible item that the user may expect?` },
   { role: 'user', content: `The user has interacted with items ${hist} in chronological order. Can you predict the next possible item that the user may expect?` }],
  [{ role: 'system', content: `${P} \nAnswer the question about item identification.\n` },
   { role: 'user', content: `Which item has the title: ${titles[3]}?` },
   { role: 'assistant', content: sids[3] }],
  [{ role: 'system', content: `${P}\nCan you recommend the next item for the user based on their interaction history?\n` },
   { role: 'user', content: `The user has sequentially interacted with items ${hist}. Can you recommend the next item for him? Let's think step by step before making recommendation. Directly output the item SID after thinking.` }],
];
const rendered = [
  tok.apply_chat_template(chats[0], { tokenize: false, add_generation_prompt: true }),
  tok.apply_chat_template(chats[0], { tokenize: false, add_generation_prompt: true, enable_thinking: false }),
  tok.apply_chat_template(chats[1], { tokenize: false }),
  tok.apply_chat_template(chats[2], { tokenize: false, add_generation_prompt: true }),
  tok.apply_chat_template(chats[2], { tokenize: false, add_generation_prompt: true }) +
    `<think>\nThe user bought ${sids[0]} and ${sids[1]}, so they like tools.\n</think>\n\n${sids[7]}<|im_end|>\n`,
];
add('prompt', rendered);

add('misc', [
  'Ġ', 'Ċ', 'ĠĠ', 'âĢĻ', '\u0100', '\u00FF\u00FE', '<div class="x">&nbsp;</div>', 'SELECT * FROM t WHERE id = 1;',
  'x = [i**2 for i in range(10)]', '// comment\n/* block */', 'C:\\Users\\name\\file.txt', '~/.config/sidr',
  '\u200D', 'zero\u200Dwidth\u200Cjoiners', 'Tab\tseparated\tvalues\n1\t2\t3', 'CamelCaseWordsHere',
  'ALLCAPSWORD', 'mIxEdCaSe', 'a1b2c3d4', '3D Printer PLA Filament 1.75MM', '\u{1D400}\u{1D401} math bold',
  '\u{10000}', '\u{10FFFD}', '\uFFFD', '\u00AD soft hyphen',
]);

// ---- run the reference -------------------------------------------------------
const nfc = (s) => s.normalize('NFC');
const seen = new Set();
const out = [];
for (const c of cases) {
  if (seen.has(c.text)) continue; // keep each string once
  seen.add(c.text);
  const ids = tok.encode(c.text, { add_special_tokens: false });
  const decoded = tok.decode(ids.length ? ids : [0], { skip_special_tokens: false });
  const decodedSkip = ids.length ? tok.decode(ids, { skip_special_tokens: true }) : '';
  // byte-level BPE loses nothing but the normalisation: decode must be NFC(text)
  if (ids.length && decoded !== nfc(c.text)) throw new Error(`reference decode of ${JSON.stringify(c.text)} is not its NFC form`);
  out.push({ name: c.name, text: c.text, ids, decoded: ids.length ? decoded : '', decoded_skip: decodedSkip,
             nfc_stable: nfc(c.text) === c.text });
}

const doc = {
  generator: 'tests/ref/tokenizer_reference.mjs',
  reference: `transformers.js (@huggingface/transformers ${tfVersion})`,
  base: `${TOK_DIR}/tokenizer.json`,
  sid_source: INDEX,
  sid_first_id: firstSidId,
  sid_tokens: sidTokens,
  cases: out,
};
const dest = path.join(repo, 'tests', 'fixtures', 'tokenizer', 'qwen3_cases.json');
fs.mkdirSync(path.dirname(dest), { recursive: true });
fs.writeFileSync(dest, JSON.stringify(doc, null, 0).replace(/\{"name"/g, '\n{"name"') + '\n');
console.log(`wrote ${out.length} cases, ${sidTokens.length} SID tokens from id ${firstSidId} -> ${path.relative(repo, dest)}`);

// ---- the tiny self-made tokenizer (tests that run without ../shared) ----------
// tests/fixtures/tokenizer/tiny_bytelevel.json comes from tests/ref/tiny_bpe.py;
// variant "prefix_space" is the same file with ByteLevel add_prefix_space true.
const tinyPath = path.join(repo, 'tests', 'fixtures', 'tokenizer', 'tiny_bytelevel.json');
const tinyTexts = [
  'Hello world', 'The user has interacted with items in chronological order.', 'the next item', 'It\'s the user\'s',
  "they're sure we'll see what they've bought", 'DON\'T', 'Café crème brûlée', 'Cafe\u0301', 'naïve résumé',
  '你好世界, 推荐系统', 'Numbers: 2024, 1.75 mm, 500%', '12345678', 'a  b', '   x', 'x   ', '\n\n', 'a\n\nb',
  '\t tab', 'a\r\nb', ' leading', 'trailing ', 'drills and saws', 'Heavy-duty staples', 'zzzz qqqq',
  '<|endoftext|>', 'x<|endoftext|>y', ' <|endoftext|> ', '<think>\n\n</think>\n\n', '<think>why</think>answer',
  '<a_1>', '<a_10>', '<a_1><b_2><c_3>', 'item<a_1>x', '<a_1>, <b_2>', '<a_100>', '<a_1 >', '< a_1>', '<A_1>',
  ' <a_10> ', '<c_3>\u0301', 'e\u0301<b_2>', '😀👍🏽', 'مرحبا', 'Привет мир', '\u00A0x', 'a\u0085b', '',
];
const tinyOut = {};
for (const variant of ['plain', 'prefix_space']) {
  const j = JSON.parse(fs.readFileSync(tinyPath, 'utf8'));
  if (variant === 'prefix_space') j.pre_tokenizer.add_prefix_space = true;
  const t = new tf.PreTrainedTokenizer(j, { clean_up_tokenization_spaces: false });
  tinyOut[variant] = tinyTexts.map((text) => {
    const ids = t.encode(text, { add_special_tokens: false });
    return { text, ids, decoded_skip: ids.length ? t.decode(ids, { skip_special_tokens: true }) : '' };
  });
}
const tinyDest = path.join(repo, 'tests', 'fixtures', 'tokenizer', 'tiny_cases.json');
fs.writeFileSync(tinyDest, JSON.stringify({ generator: doc.generator, reference: doc.reference, ...tinyOut }, null, 0)
  .replace(/\{"text"/g, '\n{"text"') + '\n');
console.log(`wrote ${tinyTexts.length} x 2 tiny cases -> ${path.relative(repo, tinyDest)}`);
