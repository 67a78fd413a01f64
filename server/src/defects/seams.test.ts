// seams.ts gives the wiring the production component unless a switch names a defect,
// and the defect components do what their switch says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import { defectOn, type TestDefect } from '../config/test-defects.ts';
import { SessionLocks } from '../state/sessions.ts';
import { vectorGates } from '../vector/gates.ts';
import type { SendCompletion } from '../providers/chat-completions.ts';
import { completionSender, installDefects, logDestination, memoryGitReader, sessionLock, telemetryLogShipper } from './seams.ts';
import { signalDropping } from './providers.ts';
import { APIError } from 'openai';

const on = (...names: TestDefect[]): ReadonlySet<TestDefect> => new Set(names);
const never = new AbortController().signal;
const tick = () => new Promise((r) => setTimeout(r, 20));

test('with no switch on, every seam answers with the production component (or none)', () => {
  const lock = new SessionLocks();
  const none = on();
  assert.equal(sessionLock(none, lock), lock);
  assert.equal(completionSender(none, 'xai'), undefined);
  assert.equal(completionSender(none, 'gemini'), undefined);
  assert.equal(logDestination(none), undefined);
  assert.equal(telemetryLogShipper(none), undefined);
  assert.equal(memoryGitReader(none), undefined);
  installDefects(none);
  assert.deepEqual(vectorGates(), {});
  assert.equal(defectOn('store-cleanup-disabled'), false);
});

test('no-session-lock: two calls of one session run at once', async () => {
  const lock = sessionLock(on('no-session-lock'), new SessionLocks());
  const first = await lock.acquire('k', never);
  const second = await Promise.race([lock.acquire('k', never), tick().then(() => 'waiting')]);
  assert.equal(typeof second, 'function', 'the second call did not wait');
  first();
  assert.equal(lock.held, 0);
});

test('session-lock-leak: a released slot is kept, so the next call of the session waits', async () => {
  const lock = sessionLock(on('session-lock-leak'), new SessionLocks());
  (await lock.acquire('k', never))();
  assert.equal(lock.held, 1);
  const ac = new AbortController();
  const next = lock.acquire('k', ac.signal);
  assert.equal(await Promise.race([next.then(() => 'ran'), tick().then(() => 'waiting')]), 'waiting');
  ac.abort(new Error('give up'));
  await assert.rejects(next);
  assert.equal(typeof (await lock.acquire('other', never)), 'function', 'other sessions still run');
});

test('<provider>-ignores-signal: only that provider\'s sender drops the signal', async () => {
  assert.equal(completionSender(on('xai-ignores-signal'), 'gemini'), undefined);
  assert.ok(completionSender(on('xai-ignores-signal'), 'xai'));
  assert.ok(completionSender(on('gemini-ignores-signal'), 'gemini'));
  const seen: Array<{ signal?: AbortSignal }> = [];
  const record: SendCompletion = async (_client, _params, options) => { seen.push(options); return { data: {} as never, response: new Response() }; };
  await signalDropping(record)({} as OpenAI, { model: 'm', messages: [] }, { signal: never });
  assert.deepEqual(seen, [{}]);
});

test('the other switches swap in their component', () => {
  assert.equal(typeof telemetryLogShipper(on('blocking-telemetry-export')), 'function');
  assert.equal(typeof memoryGitReader(on('memory-on-event-loop')), 'function');
});

test('store-create-lock-leak and delete-leaks-permit install gates that keep their permit', async () => {
  try {
    installDefects(on('store-create-lock-leak'));
    const { storeCreate, request } = vectorGates();
    assert.ok(storeCreate);
    assert.equal(request, undefined);
    await storeCreate(never);
    const ac = new AbortController();
    const second = storeCreate(ac.signal);
    assert.equal(await Promise.race([second.then(() => 'created'), tick().then(() => 'waiting')]), 'waiting', 'the first creation kept the lock');
    ac.abort(new Error('give up'));
    await assert.rejects(second);

    installDefects(on('delete-leaks-permit'));
    const gates = vectorGates();
    assert.ok(gates.request && gates.delete);
    (await gates.request(never))();
    await gates.delete(never, async () => {});
    const cut = new AbortController();
    const hung = gates.delete(cut.signal, () => new Promise<void>((_, reject) => { setTimeout(() => { cut.abort(new Error('deadline')); reject(new Error('aborted')); }, 5); }));
    await assert.rejects(hung);
    const after = new AbortController();
    const next = gates.request(after.signal);
    assert.equal(await Promise.race([next.then(() => 'sent'), tick().then(() => 'waiting')]), 'waiting', 'the cut-off delete kept the permit');
    after.abort(new Error('give up'));
    await assert.rejects(next);
    assert.equal(defectOn('delete-leaks-permit'), true);
  } finally {
    installDefects(on());
  }
});

test('store-limit-retried installs a store creation that takes the limit error for a passing one', async () => {
  try {
    installDefects(on('store-limit-retried'));
    const { createStore } = vectorGates();
    assert.ok(createStore);
    let tries = 0;
    const limit = APIError.generate(400, { error: { message: 'You have reached the maximum number of vector stores', code: 'vector_store_limit_exceeded' } }, undefined, new Headers());
    const store = await createStore(async () => { tries += 1; if (tries < 3) throw limit; return { id: 'vs_1' }; }, never);
    assert.deepEqual(store, { id: 'vs_1' });
    assert.equal(tries, 3, 'tried again after each refusal');
    await assert.rejects(createStore(async () => { throw new Error('other'); }, never), /other/, 'any other failure ends it');
  } finally {
    installDefects(on());
  }
});
