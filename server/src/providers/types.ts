/**
 * Provider-facing types. Providers know nothing about MCP: they take a request, a signal,
 * a deadline and a progress callback, and return text with usage.
 */
import type { ModelEntry } from '../config/models.ts';
import type { Phase } from '../runtime/inflight.ts';

export interface ChatMessage { role: 'system' | 'user' | 'assistant'; content: string }

export interface ChatRequest {
  model: ModelEntry;
  /** The user's instructions (question). */
  instructions: string;
  /** Context text built by the context engine (file tree + inline files). May be empty. */
  contextText: string;
  /** System-level guidance (output format, how to use file_search). */
  system: string;
  /** OpenAI: continue from this response. */
  previousResponseId?: string;
  /** Chat Completions: prior turns of the session. */
  history?: ChatMessage[];
  /** OpenAI: vector stores the model may search. */
  vectorStoreIds?: string[];
  reasoningEffort?: 'low' | 'medium' | 'high';
  temperature?: number;
  structuredOutputSchema?: Record<string, unknown>;
  /** OpenAI: use background mode (create, then poll). */
  background: boolean;
  /** Conversation id for telemetry (the session id). */
  sessionId: string;
}

export interface ChatUsage { input_tokens: number; output_tokens: number }

export interface ChatResult {
  text: string;
  model: string;
  responseId?: string;
  usage?: ChatUsage;
  /** Notes for the user ("previous response expired; started a fresh thread"). */
  notes: string[];
  /** Set when the provider stopped early: the text is partial (`incomplete_details.reason`, e.g. `max_output_tokens`). */
  incomplete?: { reason: string };
}

export interface CallEnv {
  signal: AbortSignal;
  /** Absolute deadline, epoch ms. */
  deadline: number;
  progress: (message: string) => void;
  setPhase: (phase: Phase) => void;
  /** Called with a background response id before polling starts, so it survives a restart. */
  onBackgroundId?: (responseId: string) => void | Promise<void>;
}

export interface ChatProvider {
  chat(req: ChatRequest, env: CallEnv): Promise<ChatResult>;
}
