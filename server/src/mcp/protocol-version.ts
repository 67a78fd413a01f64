/**
 * The protocol version a connection settled on, read from what the server itself answered
 * to `initialize`. The SDK's Server keeps no public record of it (1.32: none at all), so
 * the transport's `send` (public, the Transport interface) is watched for the initialize
 * result until it has gone out; after that nothing more is inspected.
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { InitializeResultSchema } from '@modelcontextprotocol/sdk/types.js';

export class NegotiatedVersion {
  #version: string | undefined;

  get value(): string | undefined {
    return this.#version;
  }

  /** Wraps `transport.send` (before `connect`) so the initialize result is seen. */
  watch(transport: Transport): void {
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
      if (this.#version === undefined && 'result' in message) {
        const r = message.result as { protocolVersion?: unknown };
        if (typeof r.protocolVersion === 'string') {
          const parsed = InitializeResultSchema.safeParse(r);
          if (parsed.success) this.#version = parsed.data.protocolVersion;
        }
      }
      return send(message, options);
    };
  }
}
