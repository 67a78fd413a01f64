/**
 * Official `openai` SDK clients for every provider (xAI and Gemini speak the OpenAI Chat
 * Completions dialect). Created lazily, on first use — after msw or a proxy is in place,
 * since the SDK captures `fetch` when it is constructed — and always with maxRetries: 0,
 * because the resilience policy is the one retry owner.
 */
import OpenAI from 'openai';
import { ErrorCode, SbError } from '../errors.ts';
import type { ProviderConfig } from '../config/env.ts';
import type { ProviderId } from '../config/models.ts';
import { DEFAULTS } from '../config/defaults.ts';
import { errorDialectFetch } from './error-bodies.ts';

const SDK_TIMEOUT_MS = DEFAULTS.SDK_REQUEST_TIMEOUT_MS;

export class ProviderClients {
  readonly #configs: Record<ProviderId, ProviderConfig>;
  readonly #clients = new Map<ProviderId, OpenAI>();

  constructor(configs: Record<ProviderId, ProviderConfig>) {
    this.#configs = configs;
  }

  config(provider: ProviderId): ProviderConfig {
    return this.#configs[provider];
  }

  hasKey(provider: ProviderId): boolean {
    return Boolean(this.#configs[provider].apiKey);
  }

  /** The SDK client for `provider`; SB_ERR_MISSING_API_KEY naming the variable when no key is set. */
  get(provider: ProviderId): OpenAI {
    const cfg = this.#configs[provider];
    if (!cfg.apiKey) {
      throw new SbError(ErrorCode.MISSING_API_KEY,
        `Failed to call ${provider}: no API key. Set ${cfg.keyVar} in the server's environment (your MCP client config) and restart the server.`,
        { provider });
    }
    let client = this.#clients.get(provider);
    if (!client) {
      // xAI's and Gemini's error bodies are read as OpenAI-shaped ones (error-bodies.ts).
      client = new OpenAI({ apiKey: cfg.apiKey, baseURL: cfg.baseURL, maxRetries: 0, timeout: SDK_TIMEOUT_MS, fetch: errorDialectFetch(provider) });
      this.#clients.set(provider, client);
    }
    return client;
  }

  /** Host of the provider endpoint, for server.address. */
  host(provider: ProviderId): string {
    try { return new URL(this.#configs[provider].baseURL).hostname; } catch { return provider; }
  }
}
