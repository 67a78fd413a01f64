import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { specDiff } from './spec-check.ts';
import { patience } from '../harness/src/reference/patience.ts';

const PRUNED = new URL('../harness/spec/openai-openapi.pruned.json', import.meta.url);

test('spec:check lists added/removed required fields, enum values and type changes in the used paths', { timeout: patience(30_000) }, () => {
  const before = JSON.parse(readFileSync(PRUNED, 'utf8'));
  const after = structuredClone(before);
  const usage = after.components.schemas.ResponseUsage;
  usage.properties.input_tokens_details.required = [...usage.properties.input_tokens_details.required, 'cache_expiry_tokens'];
  after.components.schemas.OpenAIFile.properties.purpose.enum = after.components.schemas.OpenAIFile.properties.purpose.enum.filter((p: string) => p !== 'assistants');
  after.components.schemas.OpenAIFile.properties.bytes.type = 'string';
  delete after.paths['/vector_stores/{vector_store_id}/search'];

  const lines = specDiff(before, after);
  assert.ok(lines.some((l) => /^changed: schema ResponseUsage\.input_tokens_details required: \+\["cache_expiry_tokens"\]$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^changed: schema OpenAIFile\.purpose enum: -\["assistants"\]$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^changed: schema OpenAIFile\.bytes type: integer → string$/.test(l)), lines.join('\n'));
  assert.ok(lines.includes('removed: POST /vector_stores/{vector_store_id}/search'), lines.join('\n'));
  assert.deepEqual(specDiff(before, before), []);

  // The command: exit 1 with the list for a changed copy, 0 for the same one.
  const dir = mkdtempSync(join(tmpdir(), 'sb-spec-'));
  const file = join(dir, 'newer.json');
  writeFileSync(file, JSON.stringify(after));
  const script = new URL('./spec-check.ts', import.meta.url).pathname;
  const changed = spawnSync(process.execPath, [script, file], { encoding: 'utf8' });
  assert.equal(changed.status, 1, changed.stderr);
  assert.match(changed.stdout, /change\(s\) in the paths the server uses/);
  assert.match(changed.stdout, /OpenAIFile\.bytes type: integer → string/);
  assert.match(execFileSync(process.execPath, [script, PRUNED.pathname], { encoding: 'utf8' }), /no changes/);
});
