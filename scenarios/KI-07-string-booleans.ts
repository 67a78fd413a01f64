import { defineScenario } from '../harness/src/runner/scenario.ts';

/**
 * KI-07: a client sent "true"/"false" for boolean parameters and the server rejected
 * the call. Booleans and numbers must be accepted as JSON values and as strings; a
 * value that is neither gets a validation error naming the parameter and what it accepts.
 */
const ask = (value: unknown) => ({ instructions: 'Summarise the project in one line.', disable_memory_search: value });

export default defineScenario({
  id: 'KI-07',
  name: 'string-booleans',
  title: 'Boolean and number parameters sent as strings are accepted',
  steps: [
    {
      do: 'parallel',
      steps: [
        { do: 'call', id: 'bool-true', tool: 'chat_with_gpt41', session: 'ki07-true', args: ask(true), expect: { outcome: 'success' } },
        { do: 'call', id: 'string-true', tool: 'chat_with_gpt41', session: 'ki07-string-true', args: ask('true'), expect: { outcome: 'success' } },
        { do: 'call', id: 'bool-false', tool: 'chat_with_gpt41', session: 'ki07-false', args: ask(false), expect: { outcome: 'success' } },
        { do: 'call', id: 'string-false', tool: 'chat_with_gpt41', session: 'ki07-string-false', args: ask('false'), expect: { outcome: 'success' } },
        // The same leniency for numbers: "0.2" is a temperature.
        { do: 'call', id: 'string-number', tool: 'chat_with_gpt41', session: 'ki07-number', args: { instructions: 'One line, please.', temperature: '0.2' }, expect: { outcome: 'success' } },
      ],
    },
    {
      do: 'call',
      id: 'string-maybe',
      tool: 'chat_with_gpt41',
      session: 'ki07-maybe',
      args: ask('maybe'),
      // Names the parameter and the accepted values.
      expect: { outcome: 'error', textMatches: 'disable_memory_search[^]*true[^]*false' },
    },
    {
      do: 'call',
      id: 'string-hot',
      tool: 'chat_with_gpt41',
      session: 'ki07-hot',
      args: { instructions: 'One line, please.', temperature: 'hot' },
      expect: { outcome: 'error', textMatches: 'temperature[^]*number' },
    },
  ],
  // The toy server accepts only JSON booleans, as the first version of this server did.
  provenAgainst: { toy: 'strict-args', note: 'node harness/src/toys/toy-server.ts --break strict-args' },
});
