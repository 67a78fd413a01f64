/**
 * Test-only defect switches (SECOND_BRAIN_TEST_DEFECTS=a,b). Each one reintroduces a
 * failure from the known-issues catalogue, so a scenario can be shown to fail against
 * the defect it guards. They are never on unless named, and an unknown name is a
 * startup error (so a typo cannot make a proof silently pass).
 */
export const TEST_DEFECTS = {
  'poll-ignores-signal': 'KI-03: background polling sleeps and retrieves without the call signal.',
  'no-upstream-cancel': 'KI-03: a cancelled background response is not cancelled upstream.',
  'openai-ignores-signal': 'KI-05: the OpenAI Chat Completions path drops the abort signal.',
  'xai-ignores-signal': 'KI-05: the xAI adapter drops the abort signal, as the first version did.',
  'gemini-ignores-signal': 'KI-05: the Gemini adapter drops the abort signal.',
  'ignore-retry-after': 'KI-17: retry-after is ignored and retries go out at once.',
} as const satisfies Record<string, string>;

export type TestDefect = keyof typeof TEST_DEFECTS;
