import { nowMs, sleep } from '../driver/clock.ts';
import type { RunningCall } from '../driver/driver.ts';
import { describeMatch, journalPredicate } from '../driver/journal-match.ts';
import type { CallExpectation } from '../probes/calls.ts';
import type { CallStep, Step } from './scenario.ts';
import type { StepContext } from './step-context.ts';
import { patience } from '../reference/patience.ts';

/**
 * Runs a scenario's steps in order against the driver and the fake. Call ids are
 * assigned before the run (`call-1`, …) so expectations written next to a step can name
 * the call; repeats add `#1`, `#2`, … to the ids.
 */

const DEFAULT_WAIT_FOR_MS = 10_000;

/** Gives every call step an id (kept when the scenario set one) and collects `expect` blocks as expectations. */
export function prepareSteps(steps: readonly Step[]): { steps: Step[]; expectations: CallExpectation[] } {
  let n = 0;
  const expectations: CallExpectation[] = [];
  const visit = (list: readonly Step[]): Step[] =>
    list.map((step) => {
      if (step.do === 'call') {
        const id = step.id ?? `call-${++n}`;
        if (step.expect) expectations.push({ call: id, ...step.expect });
        return { ...step, id };
      }
      if (step.do === 'parallel' || step.do === 'repeat') return { ...step, steps: visit(step.steps) };
      return step;
    });
  return { steps: visit(steps), expectations };
}

/** Replaces `$PROJECT` and `$WORK` in every string of the arguments. */
export function substitute(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === 'string') return value.replace(/\$(PROJECT|WORK)\b/g, (_, name: string) => vars[name] ?? `$${name}`);
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, vars)]));
  return value;
}

/** Settles with `promise`, or rejects when `signal` aborts first. */
function raced<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export class StepRunner {
  readonly #ctx: StepContext;
  readonly #vars: Record<string, string>;
  readonly #background = new Map<string, RunningCall>();

  constructor(ctx: StepContext) {
    this.#ctx = ctx;
    this.#vars = { WORK: ctx.workDir, ...(ctx.tree ? { PROJECT: ctx.tree.root } : {}) };
  }

  async run(steps: readonly Step[], suffix = ''): Promise<void> {
    for (const step of steps) {
      this.#ctx.signal.throwIfAborted();
      await this.#one(step, suffix);
    }
  }

  async #one(step: Step, suffix: string): Promise<void> {
    const { driver, fake, signal } = this.#ctx;
    switch (step.do) {
      case 'call':
        return this.#call(step, suffix);
      case 'parallel':
        await Promise.all(step.steps.map((s) => this.#one(s, suffix)));
        return;
      case 'repeat':
        for (let i = 1; i <= step.times; i++) {
          driver.mark(`repeat ${i}/${step.times}`, 'step');
          await this.run(step.steps, `${suffix}#${i}`);
          await driver.sampleProcess(`after repeat ${i}`);
          if (i < step.times && step.gapMs) await sleep(step.gapMs, signal);
        }
        return;
      case 'wait':
        await sleep(step.ms, signal);
        return;
      case 'wait-for': {
        const what = describeMatch(step.when);
        // A guard against a hang, not a judged bound: stretched on a busy machine (patience.ts).
        const guardMs = patience(step.timeoutMs ?? DEFAULT_WAIT_FOR_MS);
        await fake.waitFor(journalPredicate(step.when, nowMs()), guardMs, signal).catch((error: unknown) => {
          if (signal.aborted) throw error;
          throw new Error(`wait-for: the fake never saw the ${what} within ${guardMs} ms`, { cause: error });
        });
        driver.mark(`saw ${what}`, 'step');
        return;
      }
      case 'await': {
        const running = this.#background.get(`${step.call}${suffix}`) ?? this.#background.get(step.call);
        if (!running) throw new Error(`await: no background call "${step.call}" is running`);
        if (!step.timeoutMs) {
          await raced(running.done, signal);
          return;
        }
        // How long to wait before the steps go on without it: a guard, stretched like the one above.
        const timer = new AbortController();
        await raced(Promise.race([running.done, sleep(patience(step.timeoutMs), AbortSignal.any([signal, timer.signal])).catch(() => {})]), signal).finally(() => timer.abort());
        return;
      }
      case 'cancel': {
        const running = this.#background.get(`${step.call}${suffix}`) ?? this.#background.get(step.call);
        if (!running) throw new Error(`cancel: no background call "${step.call}" is running`);
        running.cancel('cancel step');
        return;
      }
      case 'restart':
        await driver.restart(step.signal ?? 'SIGKILL');
        return;
      case 'faults': {
        if (step.clear) await fake.clearFaults();
        if (step.replace) await fake.addFaults(step.replace, true);
        if (step.add) await fake.addFaults(step.add);
        driver.mark(`faults: ${step.clear ? 'cleared ' : ''}${[...(step.replace ?? []), ...(step.add ?? [])].map((r) => `${String(r.route)} ${r.fault.type}`).join(', ')}`.trim(), 'fault');
        return;
      }
      case 'account': {
        const at = nowMs();
        // The step's fields are the change's fields (scenario.ts's schema follows AccountChange).
        const { do: _step, ...change } = step;
        await fake.account(change);
        if (step.throttle) {
          const startMs = at + (step.throttle.startInMs ?? 0);
          this.#ctx.recordThrottle({ startMs, endMs: startMs + step.throttle.durationMs, mode: step.throttle.mode ?? 'reject' });
        }
        driver.mark(`account: ${JSON.stringify(change)}`, 'account');
        return;
      }
      case 'diagnostics':
        await driver.snapshotDiagnostics(step.label ?? 'step');
        return;
      case 'sample':
        await driver.sampleProcess(step.label);
        return;
      case 'run':
        driver.mark(step.label, 'step');
        await raced(step.run(this.#ctx), signal);
        return;
    }
  }

  async #call(step: CallStep, suffix: string): Promise<void> {
    const { driver, signal } = this.#ctx;
    const id = `${step.id}${suffix}`;
    const args = substitute({ ...(step.args ?? {}), ...(step.session ? { session_id: step.session } : {}) }, this.#vars) as Record<string, unknown>;
    driver.mark(`call ${id} ${step.tool}`, 'step');
    const running = driver.startCall({
      id,
      tool: step.tool,
      args,
      ...(step.timeoutMs !== undefined ? { timeoutMs: step.timeoutMs } : {}),
      ...(step.resetTimeoutOnProgress !== undefined ? { resetTimeoutOnProgress: step.resetTimeoutOnProgress } : {}),
      ...(step.maxTotalTimeoutMs !== undefined ? { maxTotalTimeoutMs: step.maxTotalTimeoutMs } : {}),
      ...(step.deadlineMs !== undefined ? { deadlineMs: step.deadlineMs } : {}),
      ...(step.cancel ? { cancel: step.cancel } : {}),
    });
    if (step.background) {
      this.#background.set(id, running);
      return;
    }
    await raced(running.done, signal);
  }
}
