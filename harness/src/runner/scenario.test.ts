import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineScenario, ScenarioError } from './scenario.ts';
import type { ScenarioInput } from './scenario.ts';
import { prepareSteps, substitute } from './steps.ts';

/** Scenario validation fails early, naming the field, and fills the defaults. */

const base: ScenarioInput = {
  id: 'KI-07',
  name: 'example',
  title: 'example',
  steps: [{ do: 'call', tool: 'chat_with_gpt41', args: { instructions: 'x' }, session: 's' }],
  provenAgainst: { toy: 'strict-args' },
};

function rejects(input: unknown, pattern: RegExp): void {
  assert.throws(() => defineScenario(input as ScenarioInput), (error: unknown) => {
    assert.ok(error instanceof ScenarioError, String(error));
    assert.match(error.message, pattern);
    return true;
  });
}

test('defaults: one mode, real time, a 60 s hard timeout', () => {
  const s = defineScenario(base);
  assert.deepEqual(s.modes, ['in-process']);
  assert.equal(s.timeScale, 1);
  assert.equal(s.timeoutMs, 60_000);
});

test('bad fields are named', () => {
  rejects({ ...base, id: 'KI7' }, /id is the catalogue id/);
  rejects({ ...base, steps: [{ do: 'cal', tool: 'x' }] }, /steps\[0\]/);
  rejects({ ...base, steps: [{ do: 'call', tool: 'x', cancel: { when: { route: 'files.upload' } } }] }, /Unknown route "files.upload"/);
  rejects({ ...base, fake: { faults: [{ route: 'chat.xai', fault: { type: 'hang-forever' } }] } }, /Invalid fake API config/);
  rejects({ ...base, steps: [{ do: 'faults', add: [{ route: 'nowhere', fault: { type: 'hang' } }] }] }, /nowhere/);
  rejects({ ...base, modes: ['remote'] }, /modes/);
  rejects({ ...base, provenAgainst: undefined }, /provenAgainst/);
});

test('changing a common bound needs a measured reason', () => {
  rejects({ ...base, rules: { responsive: { maxPingMs: 300 } } }, /reason/);
  rejects({ ...base, rules: { responsive: { maxPingMs: 300, reason: 'slow' } } }, /measured reason/);
  const ok = defineScenario({ ...base, rules: { responsive: { maxPingMs: 300, reason: 'measured 240 ms on the reference machine while hashing 2,000 files' } } });
  assert.equal(ok.rules?.responsive?.maxPingMs, 300);
});

test('await and cancel must name an earlier background call; ids are unique', () => {
  rejects({ ...base, steps: [{ do: 'await', call: 'later' }] }, /not a background call defined before it/);
  rejects({ ...base, steps: [{ do: 'call', id: 'a', tool: 't' }, { do: 'call', id: 'a', tool: 't' }] }, /used twice/);
  rejects({ ...base, assert: { calls: [{ call: 'ghost', outcome: 'success' }] } }, /no call step has as its id/);
  defineScenario({ ...base, steps: [{ do: 'call', id: 'bg', tool: 't', background: true }, { do: 'cancel', call: 'bg' }, { do: 'await', call: 'bg' }] });
});

test('prepareSteps gives every call an id and collects expectations; $PROJECT and $WORK are substituted', () => {
  const { steps, expectations } = prepareSteps([
    { do: 'call', tool: 'a', expect: { outcome: 'success' } },
    { do: 'repeat', times: 2, steps: [{ do: 'call', id: 'named', tool: 'b', expect: { maxMs: 10 } }] },
  ]);
  assert.equal((steps[0] as { id: string }).id, 'call-1');
  assert.deepEqual(expectations, [{ call: 'call-1', outcome: 'success' }, { call: 'named', maxMs: 10 }]);
  assert.deepEqual(substitute({ context: ['$PROJECT/src', 'x'], n: 1, deep: { p: '$WORK' } }, { PROJECT: '/p', WORK: '/w' }), { context: ['/p/src', 'x'], n: 1, deep: { p: '/w' } });
});
