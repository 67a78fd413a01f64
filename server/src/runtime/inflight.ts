/**
 * The in-flight registry: every running tool call with its current phase. It feeds
 * server_diagnostics (KI-20), the event-loop watchdog (which names who was running when
 * the loop stalled) and the in-flight gauge.
 */
export type Phase =
  | 'validate' | 'gather' | 'budget' | 'upload' | 'provider' | 'poll' | 'retry_wait'
  | 'reply' | 'memory' | 'queued' | 'session_wait' | 'janitor';

export interface InflightCall {
  readonly id: number;
  readonly tool: string;
  readonly startedAt: number;
  phase: Phase;
  sessionId?: string;
  requestId?: string | number;
}

export interface InflightSnapshot { id: number; tool: string; phase: Phase; age_ms: number; session_id?: string }

type PhaseListener = (call: InflightCall, from: Phase, to: Phase) => void;

export class InflightRegistry {
  #next = 1;
  readonly #calls = new Map<number, InflightCall>();
  readonly #listeners = new Set<PhaseListener>();
  readonly #activity = new Set<(busy: boolean) => void>();

  start(tool: string, init: { sessionId?: string; requestId?: string | number } = {}): InflightCall {
    const call: InflightCall = { id: this.#next++, tool, startedAt: Date.now(), phase: 'validate', ...init };
    this.#calls.set(call.id, call);
    if (this.#calls.size === 1) for (const l of this.#activity) l(true);
    return call;
  }

  setPhase(call: InflightCall, phase: Phase): void {
    const from = call.phase;
    if (from === phase) return;
    call.phase = phase;
    for (const l of this.#listeners) l(call, from, phase);
  }

  end(call: InflightCall): void {
    if (this.#calls.delete(call.id) && this.#calls.size === 0) for (const l of this.#activity) l(false);
  }

  /** Hears when the first call starts (true) and when the last one ends (false). */
  onActivity(listener: (busy: boolean) => void): () => void {
    this.#activity.add(listener);
    return () => this.#activity.delete(listener);
  }

  onPhaseChange(listener: PhaseListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get size(): number { return this.#calls.size; }

  snapshot(now = Date.now()): InflightSnapshot[] {
    return [...this.#calls.values()].map((c) => ({
      id: c.id, tool: c.tool, phase: c.phase, age_ms: now - c.startedAt,
      ...(c.sessionId ? { session_id: c.sessionId } : {}),
    }));
  }

  countByPhase(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.#calls.values()) out[c.phase] = (out[c.phase] ?? 0) + 1;
    return out;
  }
}
