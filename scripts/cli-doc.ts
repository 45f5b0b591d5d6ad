/**
 * Writes the generated tables of docs/cli.md (presets, configuration keys) from the schema:
 * `npx tsx scripts/cli-doc.ts`. tests/unit/cli-docs.test.ts fails when the doc is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { format, resolveConfig } from 'prettier';
import { GENERATED_BLOCKS } from '../src/cli/fieldTable';

const DOC = 'docs/cli.md';
let text = readFileSync(DOC, 'utf8');
for (const block of GENERATED_BLOCKS) {
  const begin = text.indexOf(block.begin);
  const end = text.indexOf(block.end);
  if (begin < 0 || end < begin) throw new Error(`${DOC}: missing ${block.begin} … ${block.end}`);
  text = `${text.slice(0, begin + block.begin.length)}\n\n${block.content()}\n${text.slice(end)}`;
}
const options = (await resolveConfig(DOC)) ?? {};
writeFileSync(DOC, await format(text, { ...options, filepath: DOC }));
console.log(`${DOC}: generated tables written`);
