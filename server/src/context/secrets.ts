/**
 * What never leaves the machine by accident, decided per file:
 *
 * - VCS internals (`.git`, `.hg`, `.svn`, `.jj`, `.bzr`, …): never read, whether walked into
 *   or named explicitly (`.git/config` can hold tokens in remote URLs).
 * - Secret files by name: env files, keys and certificates, cloud and cluster credentials,
 *   package-manager and registry auth, shell history, token and secrets files.
 * - Secret files by content: private-key files, service-account JSON, AWS credential files,
 *   kubeconfigs and GitHub CLI host files, whatever they are called.
 * - Credential-shaped strings inside ordinary files are redacted (`secrets/key-patterns.ts`).
 *
 * Names are matched with `ignore` (gitignore syntax) on the whole display path, so
 * `**\/.aws/credentials` and `.config/gh/hosts.yml` work as well as bare names. These are
 * pure functions; `secret-scan.ts` runs the content part off the event loop.
 */
import ignore from 'ignore';
import { redactKeys } from '../secrets/key-patterns.ts';

/** Version-control metadata directories (and Git's `.git` file in worktrees and submodules). */
export const VCS_DIR_NAMES: ReadonlySet<string> = new Set([
  '.git', '.hg', '.svn', '.jj', '.bzr', '_darcs', '.pijul', '.fslckout', '_FOSSIL_', 'CVS', '.sl',
]);

/** True when any segment of `relPath` is a VCS metadata directory. */
export function isVcsInternal(relPath: string): boolean {
  for (const seg of relPath.split(/[\\/]/)) if (VCS_DIR_NAMES.has(seg)) return true;
  return false;
}

/** Source extensions a `*credentials*` / `*token*` name may still carry: code about credentials, not credentials. */
const CODE_EXTENSIONS = ['ts', 'tsx', 'js', 'jsx', 'mjs', 'cjs', 'py', 'go', 'rs', 'java', 'kt', 'rb', 'php', 'cs', 'swift', 'c', 'h', 'cc', 'cpp', 'md', 'rst'];

/**
 * Names of files that commonly hold credentials (gitignore syntax). Committed templates
 * such as `.env.example` are let through: they exist to be read and hold no values.
 */
export const SECRET_NAME_PATTERNS: readonly string[] = [
  // Environment files.
  '.env', '.env.*', '*.env', '.envrc', '!.env.example', '!.env.sample', '!.env.template', '!.env.dist', '!.env.defaults',
  // Keys, certificates and key stores.
  '*.pem', '*.key', '*.p12', '*.pfx', '*.jks', '*.keystore', '*.kdbx', '*.ppk', '*.keytab', '*.ovpn', '*.gpg',
  'id_rsa*', 'id_dsa*', 'id_ecdsa*', 'id_ed25519*', '!*.pub', '**/.ssh/**', '!**/.ssh/*.pub', '!**/.ssh/known_hosts', '!**/.ssh/config',
  // Cloud credentials.
  '*credentials*', 'credentials', '**/.aws/config', '**/.azure/**', '**/.config/gcloud/**', 'application_default_credentials.json',
  'service-account*.json', '*service_account*.json', '*-sa-key*.json', 'gcp-key*.json', 'gcp_key*.json', '*-gcp-key*.json', 'gcloud-key*.json',
  '.s3cfg', '.boto', '.vault-token', '**/.oci/**', '.terraformrc', 'terraform.rc', '*.tfstate', '*.tfstate.backup', '*.tfvars',
  // Clusters.
  'kubeconfig', 'kubeconfig*', '*.kubeconfig', '**/.kube/config', '**/.kube/config.*',
  // Package managers, registries, forges.
  '.npmrc', '.yarnrc', '.yarnrc.yml', '.pypirc', '.netrc', '_netrc', '.git-credentials', '.gitcredentials', '**/.docker/config.json', '.dockercfg',
  '**/.gem/credentials', '**/.cargo/credentials', '**/.cargo/credentials.toml', '**/.composer/auth.json', 'settings-security.xml',
  '**/.config/gh/hosts.yml', '**/.config/hub', '.htpasswd', 'htpasswd', '.pgpass', '.my.cnf', '.mylogin.cnf',
  // Shell and REPL history.
  '.*_history', '.history', 'fish_history', '.lesshst', '.viminfo',
  // Token and secrets files.
  'token', 'token.txt', '.token', '*.token', '*token*.txt', '*token*.json', 'access_token*', 'refresh_token*',
  'secret', 'secrets', '*.secret', '*.secrets', 'secret.*', 'secrets.*', '*-secrets.*', '*_secrets.*', '**/.secrets/**',
  // Code that merely talks about credentials is not one.
  ...CODE_EXTENSIONS.flatMap((ext) => [`!*credentials*.${ext}`, `!*token*.${ext}`, `!secret.${ext}`, `!secrets.${ext}`, `!*-secrets.${ext}`, `!*_secrets.${ext}`]),
];

// Patterns without a slash judge the base name only (as git would judge a file, but not
// its parent directories: `credentials-form.tsx.snap/x.ts` is not a credentials file);
// patterns with one judge the whole path (`**/.aws/config`, `**/.ssh/**`).
const hasSlash = (p: string) => p.replace(/^!/, '').includes('/');
const baseMatcher = ignore().add(SECRET_NAME_PATTERNS.filter((p) => !hasSlash(p)));
const pathMatcher = ignore().add(SECRET_NAME_PATTERNS.filter(hasSlash));

/**
 * A cheap necessary condition for a positive rule to match, derived from the rules
 * themselves: every path a glob matches contains, verbatim (case aside, as `ignore`
 * ignores case), the longest literal piece of any one of its segments. A name holding none
 * of those pieces can match no positive rule, so only negations could apply, and they
 * cannot make a file secret. Without this, every file of a 50,000-file walk is tested
 * against all ~200 rules one by one on the event loop (KI-12: 40-60 ms per slice of 256
 * entries, measured); with it, almost every name costs one regular-expression test. Rules
 * that have no literal piece disable the shortcut.
 */
function literalPrefilter(patterns: readonly string[]): RegExp | undefined {
  const pieces: string[] = [];
  for (const p of patterns) {
    if (p.startsWith('!') || p.startsWith('#') || p.trim() === '') continue;
    let best = '';
    for (const segment of p.split('/')) {
      for (const piece of segment.split(/[*?[\]\\]/)) if (piece.length > best.length) best = piece;
    }
    if (best === '') return undefined;
    pieces.push(best.toLowerCase());
  }
  if (pieces.length === 0) return /(?!)/;
  return new RegExp([...new Set(pieces)].map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'i');
}
const basePrefilter = literalPrefilter(SECRET_NAME_PATTERNS.filter((p) => !hasSlash(p)));
const pathPrefilter = literalPrefilter(SECRET_NAME_PATTERNS.filter(hasSlash));

function matches(m: ReturnType<typeof ignore>, path: string): boolean {
  try {
    return path !== '' && m.ignores(path);
  } catch {
    // `ignore` rejects paths it cannot express ('..' segments): no rule can match them.
    return false;
  }
}

/**
 * True when a file's path marks it as likely to hold secrets (see SECRET_NAME_PATTERNS).
 * @example isSecretName('deploy/gcp-key.json') // true
 * @example isSecretName('src/auth/credentials.ts') // false
 */
export function isSecretName(relPath: string): boolean {
  const rel = relPath.replace(/\\/g, '/').replace(/^\/+/, '');
  const base = rel.split('/').pop() ?? '';
  return ((basePrefilter?.test(base) ?? true) && matches(baseMatcher, base))
    || ((pathPrefilter?.test(rel) ?? true) && matches(pathMatcher, rel));
}

/** Why a file's content keeps it out, or undefined. */
export type SecretContentKind = 'private-key' | 'service-account' | 'aws-credentials' | 'kubeconfig' | 'gh-hosts';

const CONTENT_RULES: ReadonlyArray<{ kind: SecretContentKind; test: (head: string, text: string) => boolean }> = [
  // The file is a key: its first non-blank line opens a private-key block.
  { kind: 'private-key', test: (head) => /^\s*-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/.test(head) },
  { kind: 'service-account', test: (_h, t) => t.includes('"type"') && /"type"\s*:\s*"(?:service_account|external_account|authorized_user)"/.test(t) && /"(?:private_key|client_secret|refresh_token|credential_source)"/.test(t) },
  { kind: 'aws-credentials', test: (_h, t) => t.includes('aws_secret_access_key') && /^\s*aws_secret_access_key\s*=/m.test(t) },
  { kind: 'kubeconfig', test: (_h, t) => t.includes('kind:') && /^kind:\s*Config\s*$/m.test(t) && /^\s*(?:client-key-data|token|client-certificate-data|password):/m.test(t) },
  { kind: 'gh-hosts', test: (_h, t) => t.includes('oauth_token:') && /^\s*oauth_token:\s*\S/m.test(t) && /^\s*user:\s*\S/m.test(t) },
];

/** Outcome of screening one file's text. */
export type ScreenOutcome =
  | { action: 'keep' }
  | { action: 'exclude'; kind: SecretContentKind }
  | { action: 'redact'; text: string; count: number; labels: string[] };

/**
 * Decides what to do with a file's content: keep it, leave it out (a credential file), or
 * send it with credential-shaped strings replaced by `[redacted]`. CPU-bound (a few regex
 * passes): call it on a worker for large inputs.
 */
export function screenText(text: string): ScreenOutcome {
  const head = text.slice(0, 4_096);
  for (const r of CONTENT_RULES) if (r.test(head, text)) return { action: 'exclude', kind: r.kind };
  const red = redactKeys(text);
  if (red.count === 0) return { action: 'keep' };
  return { action: 'redact', text: red.text, count: red.count, labels: red.labels };
}

/** One file whose content had redactions, for the context report. */
export interface Redaction { path: string; count: number; labels: string[] }

/**
 * The context-report lines about redactions: which files, how many, of what kind.
 * '' when nothing was redacted.
 */
export function formatRedactions(redactions: readonly Redaction[], maxListed = 50): string {
  if (redactions.length === 0) return '';
  const total = redactions.reduce((n, r) => n + r.count, 0);
  const lines = [`Redacted before sending: ${total} credential-shaped string${total === 1 ? '' : 's'} in ${redactions.length} file${redactions.length === 1 ? '' : 's'} (replaced by [redacted]):`];
  for (const r of redactions.slice(0, maxListed)) lines.push(`  - ${r.path}: ${r.count} (${r.labels.join(', ')})`);
  if (redactions.length > maxListed) lines.push(`  - … and ${redactions.length - maxListed} more files`);
  return lines.join('\n');
}

const SECRET_REASONS: ReadonlyArray<[string, string]> = [
  ['vcs-internal', 'version-control metadata, never read'],
  ['secret', 'the name marks a credential file'],
  ['secret-content', 'the content is a credential (private key, service-account JSON, AWS credentials, kubeconfig, gh hosts)'],
];

/**
 * Lines appended to the context report: what the secret reasons mean (when any file was
 * left out for one) and the redactions. '' when there is nothing to say; otherwise starts
 * with a newline.
 */
export function secretsReport(redactions: readonly Redaction[], skipped: ReadonlyArray<{ reason: string }>): string {
  const lines: string[] = [];
  const used = SECRET_REASONS.filter(([r]) => skipped.some((s) => s.reason === r));
  if (used.length > 0) lines.push(`Left out to keep secrets on this machine: ${used.map(([r, why]) => `${r} = ${why}`).join('; ')}.`);
  const red = formatRedactions(redactions);
  if (red) lines.push(red);
  return lines.length === 0 ? '' : `\n${lines.join('\n')}`;
}
