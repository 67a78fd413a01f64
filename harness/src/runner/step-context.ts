import type { Driver } from '../driver/driver.ts';
import type { FakeLink } from '../driver/fake-link.ts';
import type { FileTree } from '../driver/file-tree.ts';

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
  /** Records a throttle window the scenario opened (for the recovery probe), in wall ms. */
  recordThrottle(window: { startMs: number; endMs: number; mode: string }): void;
}
