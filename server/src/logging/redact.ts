/**
 * Value-based redaction: catches secrets wherever they appear in a string (error messages,
 * URLs, header dumps), not only under known keys.
 */
const PATTERNS: RegExp[] = [
  /\bsk-[A-Za-z0-9_-]{8,}/g, // OpenAI-style keys (sk-, sk-proj-)
  /\bxai-[A-Za-z0-9_-]{8,}/g, // xAI keys
  /\bAIza[0-9A-Za-z_-]{20,}/g, // Google API keys
  /(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
];

const extraSecrets = new Set<string>();

/** Registers an exact secret value (the configured API keys) to be redacted everywhere. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) extraSecrets.add(value);
}

export function redactString(s: string): string {
  let out = s;
  for (const secret of extraSecrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
  for (const re of PATTERNS) out = out.replace(re, (m, p1) => (typeof p1 === 'string' && /^Bearer/i.test(p1) ? `${p1}[redacted]` : '[redacted]'));
  return out;
}
