/**
 * The README's way to watch webhooks works from a checkout: every `npm run <script>` its shell blocks (and those of
 * docs/webhooks.md) show is a script of package.json, and the tail script runs this checkout's CLI — `npx wsgate`
 * there would fetch a package from the registry instead. (test/server/cli-start.test.ts runs the tail and the gateway.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

/** The lines of a Markdown file's ```sh blocks. */
function shellLines(markdown: string): string[] {
  return [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((block) => block[1]!.split('\n'));
}

test('the README and docs/webhooks.md watch webhooks with package scripts that run this checkout\'s CLI', () => {
  for (const file of ['README.md', 'docs/webhooks.md']) {
    const lines = shellLines(read(file));
    const tail = lines.find((line) => /webhooks:tail|webhooks tail/.test(line));
    assert.ok(tail, `${file} shows how to run the tail`);
    assert.match(tail, /^npm run webhooks:tail\b/, `${file}: from a checkout the tail runs as a package script`);
    for (const line of lines) {
      const script = /^npm run ([\w:-]+)/.exec(line)?.[1];
      if (script) assert.ok(scripts[script], `${file}: \`npm run ${script}\` is a script of package.json`);
    }
  }
  assert.equal(scripts['webhooks:tail'], 'node dist/cli/main.js webhooks tail');
  assert.match(scripts.start!, /^node dist\/cli\/main\.js serve --dev$/, '`npm start -- --webhook …` reaches `serve --dev`');
});
