import { TEST_DEFECTS, type TestDefect } from '@second-brain/server/test-defects';
import { z } from 'zod';
import { parseFakeConfig } from '../fake/index.ts';
import { faultRuleSchema } from '../fake/fault-schema.ts';
import { assertRoute } from '../driver/journal-match.ts';
import type { StepContext } from './step-context.ts';

/**
 * The scenario format: one typed object per catalogue experiment, in
 * `scenarios/KI-xx-<name>.ts`, exported as default through `defineScenario()`, which
 * validates it eagerly (a bad file fails the run with exit code 2 and names the field).
 * See scenarios/KI-05-provider-cancel.ts for a complete, commented example. The types
 * (`ScenarioInput`, `Scenario`, `Step`, …) are derived from the schemas below, where each
 * field is documented, so what the runner accepts and what the types say cannot drift.
 */

export const MODES = ['in-process', 'loopback'] as const;
export type Mode = (typeof MODES)[number];

/** A test defect switch the server knows (config/test-defects.ts). */
const defectName = z.enum(Object.keys(TEST_DEFECTS) as [TestDefect, ...TestDefect[]]);

const positive = z.number().finite().positive();
const ms = z.number().finite().min(0);
const regex = z.string().superRefine((s, ctx) => {
  try {
    new RegExp(s, 'i');
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not a regular expression: ${(error as Error).message}` });
  }
});

const journalMatch = z.strictObject({
  route: z.string().superRefine((r, ctx) => {
    try {
      assertRoute(r);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  }),
  nth: z.number().int().min(1).optional(),
  event: z.enum(['started', 'answered', 'ended', 'aborted']).optional(),
  provider: z.enum(['openai', 'xai', 'gemini']).optional(),
  model: z.string().optional(),
});

const cancelTrigger = z.union([
  z.strictObject({ afterMs: ms }),
  z.strictObject({ when: journalMatch, delayMs: ms.optional(), timeoutMs: positive.optional() }),
  z.strictObject({ onProgress: z.strictObject({ count: z.number().int().min(1).optional(), messageMatches: regex.optional() }) }),
]);

const outcome = z.enum(['success', 'error', 'cancelled', 'timeout', 'disconnected', 'pending', 'success-or-error']);
const expectFields = {
  outcome: outcome.optional(),
  textMatches: regex.optional(),
  textNotMatches: regex.optional(),
  maxMs: positive.optional(),
  maxRatioToFirst: positive.optional(),
  minProgress: z.number().int().min(0).optional(),
  maxProgressGapMs: positive.optional(),
};
const callExpect = z.strictObject(expectFields);
const callExpectation = z.strictObject({ call: z.string().min(1), ...expectFields });

/** Fault rules as the fake takes them (validated by the fake's own schema). */
const faultRules = z.array(faultRuleSchema);

const callStepSchema = z.strictObject({
  do: z.literal('call'),
  /** Names the call for expectations, `await` and `cancel`; repeats get `#1`, `#2`, … */
  id: z.string().regex(/^[\w.:-]+$/, 'ids take letters, digits and . : - _').optional(),
  tool: z.string().min(1),
  /** Tool arguments. `$PROJECT` in any string becomes the generated tree's root, `$WORK` the scenario's temp dir. */
  args: z.record(z.string(), z.unknown()).optional(),
  /** Shorthand for `args.session_id`. */
  session: z.string().min(1).optional(),
  /** Client request timeout. Default 60 000 ms. */
  timeoutMs: positive.optional(),
  resetTimeoutOnProgress: z.boolean().optional(),
  maxTotalTimeoutMs: positive.optional(),
  /** The deadline the call must end by (the "bounded" rule). Default `timeoutMs`. */
  deadlineMs: positive.optional(),
  /** When to cancel the call (see driver.ts). */
  cancel: cancelTrigger.optional(),
  /** Start it and go on to the next step at once; `await` collects it. */
  background: z.boolean().optional(),
  expect: callExpect.optional(),
});

const stepSchema = z.discriminatedUnion('do', [
  callStepSchema,
  /** Runs the steps at the same time and waits for all. */
  z.strictObject({
    do: z.literal('parallel'),
    get steps(): z.ZodArray<typeof stepSchema> { return z.array(stepSchema).min(1); },
  }),
  /** Runs the steps `times` times, `gapMs` apart, sampling the server process after each round. */
  z.strictObject({
    do: z.literal('repeat'),
    times: z.number().int().min(1).max(1_000),
    gapMs: ms.optional(),
    get steps(): z.ZodArray<typeof stepSchema> { return z.array(stepSchema).min(1); },
  }),
  z.strictObject({ do: z.literal('wait'), ms }),
  /** Waits until the fake's journal shows a request. */
  z.strictObject({ do: z.literal('wait-for'), when: journalMatch, timeoutMs: positive.optional() }),
  /** Waits for a background call to end. */
  z.strictObject({ do: z.literal('await'), call: z.string().min(1), timeoutMs: positive.optional() }),
  /** Cancels a background call now. */
  z.strictObject({ do: z.literal('cancel'), call: z.string().min(1) }),
  /**
   * Kills the server (SIGKILL by default) and starts it again on the same state dir. In
   * `in-process` mode the fake lives inside the server and is born again empty (the
   * journal before the kill is kept); use `loopback` when provider-side state (stores,
   * responses) must outlive the restart.
   */
  z.strictObject({ do: z.literal('restart'), signal: z.enum(['SIGKILL', 'SIGTERM']).optional() }),
  /** Changes the fake's faults mid-run. */
  z.strictObject({ do: z.literal('faults'), add: faultRules.optional(), replace: faultRules.optional(), clear: z.boolean().optional() }),
  /** Changes the fake's account: limits, emptied buckets, or a throttle window opening now (or after `startInMs`). */
  z.strictObject({
    do: z.literal('account'),
    limits: z.strictObject({ requestsPerSecond: positive.optional(), burst: positive.optional(), tokensPerMinute: positive.optional(), tokenBurst: positive.optional() }).optional(),
    throttle: z.strictObject({ durationMs: ms, startInMs: ms.optional(), mode: z.enum(['reject', 'degrade']).optional(), multiplier: positive.optional() }).optional(),
    clearThrottle: z.boolean().optional(),
    reset: z.boolean().optional(),
    /** Empties the account's buckets now: the next requests meet 429s whatever the earlier steps used. */
    drain: z.boolean().optional(),
  }),
  /** Takes a `server_diagnostics` snapshot. */
  z.strictObject({ do: z.literal('diagnostics'), label: z.string().optional() }),
  /** Samples the server's descriptors and RSS. */
  z.strictObject({ do: z.literal('sample'), label: z.string().min(1) }),
  /** Anything else, with the driver and the fake at hand. */
  z.strictObject({ do: z.literal('run'), label: z.string().min(1), run: z.custom<(ctx: StepContext) => Promise<void>>((v) => typeof v === 'function', 'run must be an async function (ctx) => …') }),
]);

/** A common rule's bound changed for this scenario: the reason is required and shown in the report. */
const reason = z.string().min(10, 'a changed bound needs the measured reason (at least a sentence)');

const scenarioSchema = z.strictObject({
  /** Catalogue id: `KI-07`. */
  id: z.string().regex(/^KI-\d{2}$/, 'id is the catalogue id, like "KI-07"'),
  /** Kebab-case name; the file is `scenarios/<id>-<name>.ts`. */
  name: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'name is kebab-case, like "string-booleans"'),
  title: z.string().min(1),
  /**
   * Factor by which the catalogue's durations are compressed (60: a minute becomes a
   * second). Durations in the scenario are already scaled; the report shows both.
   */
  timeScale: z.number().finite().min(1).default(1),
  /** Default `['in-process']`. */
  modes: z.array(z.enum(MODES)).min(1).default(['in-process']),
  /** Hard timeout of the whole scenario. */
  timeoutMs: positive.default(60_000),
  /** The fake's config (seed, faults, account, seeded state…), as `SB_FAKE_CONFIG` takes it. */
  fake: z
    .record(z.string(), z.unknown())
    .superRefine((config, ctx) => {
      try {
        parseFakeConfig(config);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    })
    .optional(),
  server: z
    .strictObject({
      env: z.record(z.string(), z.string()).optional(),
      /** Catalogue overrides written to `SECOND_BRAIN_MODELS`, e.g. `{'grok-4': {timeout_s: 2}}`. */
      models: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
      /** Default `info`. */
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
      /** How the driver reads the server's stderr. Default `drain`. */
      stderr: z
        .discriminatedUnion('policy', [
          z.strictObject({ policy: z.literal('drain') }),
          z.strictObject({ policy: z.literal('never-read') }),
          z.strictObject({ policy: z.literal('read-at'), bytesPerSecond: positive }),
        ])
        .optional(),
      maxOpenFiles: z.number().int().min(16).optional(),
    })
    .optional(),
  /** A generated project passed as context (`$PROJECT`). */
  tree: z
    .strictObject({
      files: z.number().int().min(0),
      sizeBytes: z.union([z.number().int().min(0), z.strictObject({ min: z.number().int().min(0), max: z.number().int().min(0) })]).optional(),
      depth: z.number().int().min(0).max(20).optional(),
      fanout: z.number().int().min(1).max(50).optional(),
      ignoredFiles: z.number().int().min(0).optional(),
      gitignore: z.array(z.string()).optional(),
      binaryFiles: z.number().int().min(0).optional(),
      seed: z.number().int().optional(),
    })
    .optional(),
  steps: z.array(stepSchema).min(1),
  /** Scenario-specific probes. */
  assert: z
    .strictObject({
      calls: z.array(callExpectation).optional(),
      cancellation: z
        .strictObject({
          maxLatencyMs: ms.optional(),
          maxRequestsAfter: z.number().int().min(0).optional(),
          expectResponseCancel: z.boolean().optional(),
          expectBatchCancel: z.boolean().optional(),
          expectOpenRequest: z.boolean().optional(),
          reason: z.string().optional(),
        })
        .optional(),
      recovery: z
        .strictObject({ maxRecoveryMs: ms.optional(), maxRequestsInWindow: z.number().int().min(0).optional(), errorMatches: regex.optional(), reason: z.string().optional() })
        .optional(),
      data: z
        .strictObject({
          sessionContinuity: z.boolean().optional(),
          maxStoresAboveBaseline: z.number().int().optional(),
          maxFilesAboveBaseline: z.number().int().optional(),
          reason: z.string().optional(),
        })
        .optional(),
      leaks: z
        .strictObject({ maxInflight: z.number().int().min(0).optional(), maxFdGrowth: z.number().int().optional(), maxRssGrowthBytes: z.number().optional(), reason: z.string().optional() })
        .optional(),
    })
    .optional(),
  /** Changes to the common rules, each with the measured reason. */
  rules: z
    .strictObject({
      responsive: z.strictObject({ maxPingMs: positive.optional(), p99PingMs: positive.optional(), reason }).optional(),
      leaks: z.strictObject({ maxInflight: z.number().int().min(0).optional(), maxFdGrowth: z.number().int().optional(), maxRssGrowthBytes: z.number().optional(), reason }).optional(),
      /** Replace the post-scenario call, or turn it off (`skip`) for a server without chat tools. */
      alive: z
        .union([z.strictObject({ tool: z.string().min(1), args: z.record(z.string(), z.unknown()), reason }), z.strictObject({ skip: z.literal(true), reason })])
        .optional(),
    })
    .optional(),
  /** What this scenario was seen failing against: a test-defect switch of the server, or a toy server. */
  provenAgainst: z.union([
    // Names from the server's own registry, so a misspelt defect fails to type-check and to
    // load. Several switches at once are a list; the scenario keeps them comma-joined, as
    // SECOND_BRAIN_TEST_DEFECTS takes them.
    z.strictObject({
      defect: z.union([defectName, z.array(defectName).min(1)]).transform((d) => (Array.isArray(d) ? d.join(',') : d)),
      note: z.string().optional(),
    }),
    z.strictObject({ toy: z.string().min(1), note: z.string().optional() }),
  ]),
});

export type Step = z.output<typeof stepSchema>;
export type CallStep = z.output<typeof callStepSchema>;
export type CallExpect = z.output<typeof callExpect>;
/** A scenario as written in `scenarios/` (defaults may be left out). */
export type ScenarioInput = z.input<typeof scenarioSchema>;
/** A scenario once validated, with its defaults filled. */
export type Scenario = z.output<typeof scenarioSchema>;

/** Thrown for a scenario that does not validate; the CLI turns it into exit code 2. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

/**
 * Validates a scenario and fills its defaults. Call it as the default export of a
 * scenario file.
 *
 * @example
 * export default defineScenario({ id: 'KI-07', name: 'string-booleans', title: '…', steps: […], provenAgainst: { toy: 'strict-args' } });
 */
export function defineScenario(input: ScenarioInput): Scenario {
  const result = scenarioSchema.safeParse(input);
  if (!result.success) {
    const id = typeof input?.id === 'string' ? input.id : 'scenario';
    throw new ScenarioError(`${id}: invalid scenario:\n${z.prettifyError(result.error)}`);
  }
  const scenario = result.data;
  checkReferences(scenario);
  return scenario;
}

/** `await` and `cancel` must name a background call defined earlier; ids must be unique. */
function checkReferences(scenario: Scenario): void {
  const ids = new Set<string>();
  const background = new Set<string>();
  const visit = (steps: Step[]) => {
    for (const step of steps) {
      if (step.do === 'call' && step.id) {
        if (ids.has(step.id) && step.id !== undefined) throw new ScenarioError(`${scenario.id}: call id "${step.id}" is used twice; ids name one call step.`);
        ids.add(step.id);
        if (step.background) background.add(step.id);
      }
      if ((step.do === 'await' || step.do === 'cancel') && !background.has(step.call)) {
        throw new ScenarioError(`${scenario.id}: step "${step.do}" names call "${step.call}", which is not a background call defined before it. Add {do: 'call', id: '${step.call}', background: true, …} earlier.`);
      }
      if (step.do === 'parallel' || step.do === 'repeat') visit(step.steps);
    }
  };
  visit(scenario.steps);
  for (const x of scenario.assert?.calls ?? []) {
    if (!ids.has(x.call)) throw new ScenarioError(`${scenario.id}: assert.calls names "${x.call}", which no call step has as its id.`);
  }
}

/** `KI-07-string-booleans` */
export function scenarioKey(scenario: Pick<Scenario, 'id' | 'name'>): string {
  return `${scenario.id}-${scenario.name}`;
}
