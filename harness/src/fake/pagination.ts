import { invalidParameter } from './context.ts';
import { FAKE_DEFAULTS } from './defaults.ts';

/** Page size bounds of one list endpoint (each endpoint's `limit` parameter in the spec). */
export interface ListLimits { defaultLimit: number; maxLimit: number }

/**
 * Cursor pagination as the OpenAI list endpoints do it: `limit` (1–100, default 20, or
 * the endpoint's own bounds: `/files` allows 10,000), `order` (`desc` by default),
 * `after`/`before` item ids; the page carries `first_id`, `last_id` and `has_more`.
 * An empty page has `first_id`/`last_id` null, as the live API sends (a recorded
 * exception to the spec's `type: string`, see `harness/spec/exceptions.ts`).
 */
export function paginate<T extends { id: string }>(
  itemsInCreationOrder: readonly T[],
  url: URL,
  limits: ListLimits = { defaultLimit: FAKE_DEFAULTS.LIST_LIMIT_DEFAULT, maxLimit: FAKE_DEFAULTS.LIST_LIMIT_MAX },
): Record<string, unknown> {
  const q = url.searchParams;
  const limit = q.has('limit') ? Number(q.get('limit')) : limits.defaultLimit;
  if (!Number.isInteger(limit) || limit < 1 || limit > limits.maxLimit) {
    throw invalidParameter('limit', `Invalid 'limit': integer between 1 and ${limits.maxLimit} expected, got '${q.get('limit')}'.`);
  }
  const order = q.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw invalidParameter('order', `Invalid 'order': expected 'asc' or 'desc', got '${order}'.`);
  let items = order === 'asc' ? [...itemsInCreationOrder] : [...itemsInCreationOrder].reverse();
  const after = q.get('after');
  if (after) {
    const i = items.findIndex((item) => item.id === after);
    items = i >= 0 ? items.slice(i + 1) : [];
  }
  const before = q.get('before');
  if (before) {
    const i = items.findIndex((item) => item.id === before);
    items = i >= 0 ? items.slice(Math.max(0, i - limit), i) : [];
  }
  const page = items.slice(0, limit);
  return {
    object: 'list',
    data: page,
    first_id: page[0]?.id ?? null,
    last_id: page.at(-1)?.id ?? null,
    has_more: items.length > page.length,
  };
}
