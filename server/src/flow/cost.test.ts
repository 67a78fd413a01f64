// Prices are data: every catalogue entry carries its list prices (or "unknown") with the date
// they were checked and where, and the estimate is input × input price + the stated output
// assumption × output price.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCatalogue } from '../config/models.ts';
import { DEFAULTS } from '../config/defaults.ts';
import { describeEstimate, estimateCost } from './cost.ts';

const none = { vectorStoreFiles: 0, vectorStoreBytes: 0, exact: true };

test('every built-in model has prices (or "unknown"), the date they were checked and their source', () => {
  for (const m of loadCatalogue().values()) {
    assert.match(m.prices_checked ?? '', /^\d{4}-\d{2}-\d{2}$/, `${m.id}: prices_checked`);
    assert.match(m.price.source, /^https:\/\//, `${m.id}: source URL`);
    for (const k of ['input_usd_per_mtok', 'cached_input_usd_per_mtok', 'output_usd_per_mtok'] as const) {
      const v = m.price[k];
      assert.ok(v === 'unknown' || (typeof v === 'number' && v >= 0), `${m.id}.${k} = ${String(v)}`);
    }
    if (m.vector_stores) assert.equal(typeof m.price.file_search_usd_per_1k_calls, 'number', `${m.id}: file_search price`);
  }
});

test('the estimate is input tokens × input price + the assumed output × output price', () => {
  const gpt41 = loadCatalogue().get('gpt-4.1')!;
  const e = estimateCost(gpt41, { ...none, inputTokens: 100_000 });
  assert.equal(e.assumed_output_tokens, DEFAULTS.COST_ESTIMATE_OUTPUT_TOKENS);
  assert.equal(e.input_usd, 0.2); // 100,000 × $2.00 / 1M
  assert.equal(e.output_usd, 0.064); // 8,000 × $8.00 / 1M
  assert.equal(e.total_usd, 0.264);
  assert.equal(e.prices_checked, gpt41.prices_checked);
  assert.ok(e.assumptions.some((a) => a.includes('8,000 tokens')), 'the output assumption is stated');
  assert.match(describeEstimate(e), /100,000 input tokens \(exact\), est\. \$0\.26 \(\$0\.20 input \+ \$0\.06 for 8,000 output tokens assumed/);
});

test('a prompt past the long-context tier is priced at its rates; vector-store costs are named apart', () => {
  const cat = loadCatalogue();
  const pro = cat.get('gemini-2.5-pro')!;
  const short = estimateCost(pro, { ...none, inputTokens: 200_000 });
  const long = estimateCost(pro, { ...none, inputTokens: 200_001 });
  assert.equal(short.rates.input_usd_per_mtok, 1.25);
  assert.equal(long.rates.input_usd_per_mtok, 2.5);
  const o3 = estimateCost(cat.get('o3')!, { ...none, inputTokens: 10_000, vectorStoreFiles: 3, vectorStoreBytes: 9_000 });
  assert.deepEqual(o3.vector_store, { files: 3, bytes: 9_000, storage_usd_per_gb_day: 0.1, storage_free_gb: 1, file_search_usd_per_1k_calls: 2.5 });
  assert.match(describeEstimate(o3), /file_search \$2\.5 per 1,000 calls \(not in the estimate\)/);
});

test('a model without prices (an override entry) is estimated as "unknown", never guessed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-price-'));
  const file = join(dir, 'models.json');
  writeFileSync(file, JSON.stringify({ 'my-model': {
    api_model: 'my-model', provider: 'openai', api: 'responses', tool: 'chat_with_my_model', description: 'x',
    context_window: 10_000, timeout_s: 10, background: false, reasoning_efforts: [], supports_temperature: true, vector_stores: false,
  } }));
  const m = loadCatalogue(file).get('my-model')!;
  const e = estimateCost(m, { ...none, inputTokens: 5_000 });
  assert.equal(e.total_usd, 'unknown');
  assert.equal(e.prices_checked, 'unknown');
  assert.match(describeEstimate(e), /cost unknown/);
});
