/**
 * Shapes of credentials, shared by the two places that must never pass one on: the
 * redaction of error texts, logs and spans (`logging/redact.ts`) and the redaction of file
 * content before it is sent upstream (`context/secrets.ts`).
 *
 * The table is written here rather than taken from secretlint's rule packages or gitleaks'
 * rule list. Both are tuned for precision, because they gate commits and a false positive
 * blocks a developer: secretlint's OpenAI rule only matches keys carrying the `T3BlbkFJ`
 * marker at fixed lengths, its AWS rule lets the documented example key through, and
 * neither knows xAI keys. Here the costs are reversed: a false positive costs one
 * `[redacted]` in a prompt, a miss sends a credential to a third party. So the prefixes
 * follow those projects' rules (same vendors, same prefixes) with looser bodies.
 */

/** One credential shape. `re` is global; `label` names it in reports. */
export interface KeyPattern { label: string; re: RegExp }

/**
 * Private key blocks (PEM, OpenSSH, PGP), body included. The body is matched by its own
 * alphabet (base64, whitespace, `Proc-Type:`-style headers, JSON-escaped newlines), so a
 * block without its END line is redacted up to where the key text stops and never past a
 * quote: redacting a JSON log line or job row leaves valid JSON.
 */
export const PRIVATE_KEY_BLOCK = /-----BEGIN (?<pemKind>(?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----[A-Za-z0-9+/=\s\\:,.-]*?(?:-----END \k<pemKind>-----|(?=[^A-Za-z0-9+/=\s\\:,.-]|$))/g;

export const KEY_PATTERNS: readonly KeyPattern[] = [
  { label: 'private-key', re: PRIVATE_KEY_BLOCK },
  // Anthropic before OpenAI: both start with `sk-`.
  { label: 'anthropic', re: /\bsk-ant-[A-Za-z0-9_-]{16,}/g },
  { label: 'openai', re: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}/g },
  { label: 'xai', re: /\bxai-[A-Za-z0-9_-]{16,}/g },
  { label: 'google', re: /\bAIza[0-9A-Za-z_-]{30,}/g },
  { label: 'aws', re: /\b(?:AKIA|ASIA|A3T[A-Z0-9]|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b/g },
  { label: 'github', re: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})/g },
  { label: 'gitlab', re: /\bglpat-[A-Za-z0-9_-]{20,}/g },
  { label: 'slack', re: /\bxox[bpars]-[A-Za-z0-9-]{10,}/g },
  { label: 'npm', re: /\bnpm_[A-Za-z0-9]{36}\b/g },
  { label: 'huggingface', re: /\bhf_[A-Za-z0-9]{30,}\b/g },
  { label: 'stripe', re: /\b[rs]k_live_[A-Za-z0-9]{20,}/g },
  // Three base64url parts, the first two JSON objects (`eyJ` is `{"`).
  { label: 'jwt', re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
];

/** What a redacted secret becomes. */
export const REDACTED = '[redacted]';

/** Every literal that can start a match, as one pass: a text matching none needs no further work. */
const PREFIX = /-----BEGIN|sk-|xai-|AIza|A(?:KIA|SIA|3T|GPA|IDA|ROA|IPA|NPA|NVA)|gh[pousr]_|github_pat_|glpat-|xox[bpars]-|npm_|hf_|k_live_|eyJ/;

/** All shapes as one alternation (one scan of the text), each in a group named after its index. */
const COMBINED = new RegExp(KEY_PATTERNS.map((p, i) => `(?<k${i}>${p.re.source})`).join('|'), 'g');

/** Cheap pre-check: false when no credential shape can occur in `text`. */
export function mayHoldKey(text: string): boolean {
  return PREFIX.test(text);
}

/**
 * Replaces every credential-shaped string in `text` with `[redacted]` and counts them.
 * @example redactKeys('key=sk-proj-abcdefghijklmnop1234') // { text: 'key=[redacted]', count: 1, labels: ['openai'] }
 */
export function redactKeys(text: string): { text: string; count: number; labels: string[] } {
  if (!mayHoldKey(text)) return { text, count: 0, labels: [] };
  let count = 0;
  const labels = new Set<string>();
  COMBINED.lastIndex = 0;
  const out = text.replace(COMBINED, (...args: unknown[]) => {
    const groups = args[args.length - 1] as Record<string, string | undefined>;
    count++;
    const i = KEY_PATTERNS.findIndex((_p, k) => groups[`k${k}`] !== undefined);
    labels.add(KEY_PATTERNS[i]?.label ?? 'key');
    return REDACTED;
  });
  return { text: out, count, labels: [...labels] };
}
