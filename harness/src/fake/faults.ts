import { createPrng, deriveSeed } from './prng.ts';
import type { Prng } from './prng.ts';
import { routeMatches } from './routes.ts';
import type { RouteId } from './routes.ts';
import { parseFaultRule } from './fault-schema.ts';
import type { CallSelector, Fault, FaultRule, LatencyDistribution } from './fault-types.ts';

/**
 * The fault registry: rules added by tests or by config, matched per route and per
 * call number, with hit counts so a test can check a fault actually fired.
 */

export interface FaultRuleInfo {
  id: string;
  rule: FaultRule;
  /** Requests the rule's route and `match` selected (its call counter). */
  matched: number;
  /** Times the fault was applied. */
  applied: number;
}

/** A fault chosen for one request, with the PRNG of the rule that chose it. */
export interface SelectedFault {
  ruleId: string;
  fault: Fault;
  prng: Prng;
}

export interface RequestKeyFields {
  model?: string;
  fileName?: string;
  keyLast4?: string;
}

interface RuleEntry extends FaultRuleInfo {
  prng: Prng;
}

/**
 * The rules in force when a request arrived (an opaque snapshot, see `inForce`). The
 * request is checked against the spec and admitted before its faults are chosen, and a
 * driver may change the faults in between (a journal trigger fires on the arrival): the
 * faults that apply are those in force when the request was journalled, so a hang set
 * before a request cannot be cleared out from under it by a later step.
 */
export type FaultsInForce = readonly RuleEntry[];

/** Control surface of the fault registry on a fake instance. */
export interface FaultControl {
  /** Validates and adds a rule; returns its id (`f1`, `f2`, …). */
  add(rule: FaultRule): string;
  /** Adds several rules; returns their ids in order. */
  addAll(rules: readonly FaultRule[]): string[];
  remove(id: string): boolean;
  clear(): void;
  list(): FaultRuleInfo[];
}

export class FaultRegistry implements FaultControl {
  #rules: RuleEntry[] = [];
  #nextId = 1;
  readonly #seed: number;

  constructor(seed: number) {
    this.#seed = seed;
  }

  add(rule: FaultRule): string {
    const parsed = parseFaultRule(rule);
    const n = this.#nextId++;
    const id = `f${n}`;
    this.#rules.push({ id, rule: parsed, matched: 0, applied: 0, prng: createPrng(deriveSeed(this.#seed, n)) });
    return id;
  }

  addAll(rules: readonly FaultRule[]): string[] {
    // Validate all first so a bad rule leaves the registry unchanged.
    const parsed = rules.map((r) => parseFaultRule(r));
    return parsed.map((r) => this.add(r));
  }

  remove(id: string): boolean {
    const before = this.#rules.length;
    this.#rules = this.#rules.filter((r) => r.id !== id);
    return this.#rules.length !== before;
  }

  clear(): void {
    this.#rules = [];
  }

  list(): FaultRuleInfo[] {
    return this.#rules.map(({ id, rule, matched, applied }) => ({ id, rule, matched, applied }));
  }

  /** The rules in force now, for a later `select` (taken when a request is journalled). */
  inForce(): FaultsInForce {
    return [...this.#rules];
  }

  /** Counts the request against every matching rule (of those in force when it arrived) and returns the faults that apply. */
  select(route: RouteId, fields: RequestKeyFields, rules: FaultsInForce = this.#rules): SelectedFault[] {
    const out: SelectedFault[] = [];
    for (const entry of rules) {
      const patterns = Array.isArray(entry.rule.route) ? entry.rule.route : [entry.rule.route];
      if (!patterns.some((p) => routeMatches(p, route))) continue;
      if (!fieldsMatch(entry.rule.match, fields)) continue;
      entry.matched += 1;
      if (!callSelected(entry.rule.calls, entry.matched)) continue;
      if (entry.rule.times !== undefined && entry.applied >= entry.rule.times) continue;
      entry.applied += 1;
      out.push({ ruleId: entry.id, fault: entry.rule.fault, prng: entry.prng });
    }
    return out;
  }
}

function fieldsMatch(match: FaultRule['match'], fields: RequestKeyFields): boolean {
  if (!match) return true;
  if (match.model !== undefined && match.model !== fields.model) return false;
  if (match.fileName !== undefined && match.fileName !== fields.fileName) return false;
  if (match.keyLast4 !== undefined && match.keyLast4 !== fields.keyLast4) return false;
  return true;
}

function callSelected(calls: CallSelector | undefined, n: number): boolean {
  if (calls === undefined || calls === 'all') return true;
  if (Array.isArray(calls)) return calls.includes(n);
  return n >= (calls.from ?? 1) && n <= (calls.to ?? Number.POSITIVE_INFINITY);
}

/** Samples a latency fault in ms, deterministically from the rule's PRNG. */
export function sampleLatencyMs(fault: Extract<Fault, { type: 'latency' }>, prng: Prng): number {
  let total = fault.ms ?? 0;
  if (fault.jitterMs) total += prng.next() * fault.jitterMs;
  if (fault.distribution) total += sampleDistribution(fault.distribution, prng);
  return Math.max(0, total);
}

function sampleDistribution(d: LatencyDistribution, prng: Prng): number {
  switch (d.kind) {
    case 'uniform':
      return d.minMs + prng.next() * Math.max(0, d.maxMs - d.minMs);
    case 'exponential': {
      const v = -Math.log(1 - prng.next()) * d.meanMs;
      return d.maxMs === undefined ? v : Math.min(v, d.maxMs);
    }
    case 'normal': {
      // Box-Muller; clamped at zero because a latency cannot be negative.
      const u = 1 - prng.next();
      const v = prng.next();
      return Math.max(0, d.meanMs + d.stdDevMs * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
    }
    case 'choice':
      return d.valuesMs[Math.floor(prng.next() * d.valuesMs.length)] ?? 0;
  }
}

/** The first selected fault of the given type. */
export function findFault<T extends Fault['type']>(faults: readonly SelectedFault[], type: T): Extract<Fault, { type: T }> | undefined {
  return faults.find((f) => f.fault.type === type)?.fault as Extract<Fault, { type: T }> | undefined;
}
