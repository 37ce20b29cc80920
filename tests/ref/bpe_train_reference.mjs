// Cross-checks a tokenizer trained by `sidr tokenizer train` against an
// independent implementation (transformers.js) and writes the expected ids.
//   sidr tokenizer train --data tests/fixtures/data/minionerec --vocab 400 --out /tmp/bpefx
//   npm install --prefix /tmp/tokref @huggingface/transformers
//   node tests/ref/bpe_train_reference.mjs /tmp/bpefx > tests/fixtures/tokenizer/bpe_trained_cases.json
import fs from 'fs';
const lib = process.env.TRANSFORMERS_JS || '/tmp/tokref/node_modules/@huggingface/transformers/dist/transformers.node.mjs';
const { PreTrainedTokenizer } = await import(lib);
const dir = process.argv[2];
const tj = JSON.parse(fs.readFileSync(`${dir}/tokenizer.json`, 'utf8'));
const tc = JSON.parse(fs.readFileSync(`${dir}/tokenizer_config.json`, 'utf8'));
const tok = new PreTrainedTokenizer(tj, tc);
const texts = [
  'Widget 3 Pro, 2-pack (blue)', 'The user has sequentially interacted with items',
  "Don't stop: it's 12.5 mm\n\n  wide", '<|im_start|>system\nBelow is an instruction<|im_end|>\n',
  'Café crème brûlée', '東京タワー 🎉👍🏽', '<think>\nI see loyalty.\n</think>\n\n', 'tabs\tand\r\nCRLF',
  '    leading spaces', 'UPPER lower MiXeD', '3.14159 and 2024-11-26', '"quoted" \'single\' (paren) [bracket]',
];
const cases = texts.map(t => ({ text: t, ids: Array.from(tok.encode(t, { add_special_tokens: false })) }));
console.log(JSON.stringify({ vocab: 400, data: 'tests/fixtures/data/minionerec', cases }, null, 1));
