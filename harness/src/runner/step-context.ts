import type { Driver } from '../driver/driver.ts';
import type { FakeLink } from '../driver/fake-link.ts';
import type { FileTree } from '../driver/file-tree.ts';
import type { ReferenceProcess } from '../reference/reference-process.ts';

/** What a `{do: 'run'}` step (and the step executor) can reach. */
export interface StepContext {
  driver: Driver;
  /** The fake API, in either mode. */
  fake: FakeLink;
  /** The scenario's temp dir (state dir, project, config files live under it). */
  workDir: string;
  /** The generated project, when the scenario has a `tree`. */
  tree: FileTree | null;
  /** Aborts when the scenario's hard timeout fires. */
  signal: AbortSignal;
  /**
   * The reference process running beside the server (null when it could not start), for
   * figures a step judges itself: its ping samples show the machine's stalls in any window.
   */
  reference: ReferenceProcess | null;
  /** The reference's own figure over which the machine is too busy to judge plainly (ms). */
  busyLimitMs: number;
  /** Records a throttle window the scenario opened (for the recovery probe), in wall ms. */
  recordThrottle(window: { startMs: number; endMs: number; mode: string }): void;
}
