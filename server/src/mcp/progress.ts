/**
 * MCP progress notifications (KI-06). While a call works, the last message is re-sent at
 * least every PROGRESS_INTERVAL_MS (with an increasing progress value), so a client with
 * resetTimeoutOnProgress never times out on a healthy long call: the heartbeat is due a
 * tenth of the interval early (PROGRESS_HEARTBEAT_EARLY_FRACTION), so loop lag up to
 * that keeps every silence within the interval. Sending never throws.
 */
import { DEFAULTS } from '../config/defaults.ts';

export interface ProgressSender {
  sendNotification(n: { method: 'notifications/progress'; params: { progressToken: string | number; progress: number; total?: number; message?: string } }): Promise<void>;
}

export interface Progress {
  report(message: string): void;
  stop(): void;
  readonly last: string | undefined;
}

export function createProgress(token: string | number | undefined, sender: ProgressSender, onMessage?: (m: string) => void, intervalMs: number = DEFAULTS.PROGRESS_INTERVAL_MS): Progress {
  let n = 0;
  let last: string | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const send = () => {
    if (stopped || token === undefined) return;
    n += 1;
    sender.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: n, message: last } }).catch(() => { /* transport gone */ });
  };
  const arm = () => {
    if (timer) clearTimeout(timer);
    if (stopped || token === undefined) return;
    timer = setTimeout(() => { send(); arm(); }, intervalMs * (1 - DEFAULTS.PROGRESS_HEARTBEAT_EARLY_FRACTION));
    timer.unref();
  };
  arm();
  return {
    report(message: string) {
      if (stopped) return;
      last = message;
      onMessage?.(message);
      send();
      arm();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    get last() { return last; },
  };
}
