import { STRICT_JUDGING_ENV } from './defaults.ts';

/** Whether SB_STRICT_JUDGING asks for strict judging (`1`/`true`); anything but `0`/`false`/unset is a startup error. */
export function strictJudgingFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[STRICT_JUDGING_ENV]?.trim().toLowerCase();
  if (v === undefined || v === '' || v === '0' || v === 'false') return false;
  if (v === '1' || v === 'true') return true;
  throw new RangeError(`${STRICT_JUDGING_ENV} takes 1, true, 0 or false, got "${env[STRICT_JUDGING_ENV]}"`);
}
