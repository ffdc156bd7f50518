// {{ name }}: a Baton plugin. `describe` says what it is; `invoke` turns one JSON
// input into one JSON output. Throw { tag, val } to return a tool-error.

import { write as log } from 'baton:plugin/log@0.1.0';

const INPUT_SCHEMA = { type: 'object', required: ['text'], properties: { text: { type: 'string' } } };
const OUTPUT_SCHEMA = {
  type: 'object',
  required: ['text', 'words'],
  properties: { text: { type: 'string' }, words: { type: 'integer' } },
};

export const tool = {
  describe() {
    return {
      name: '{{ name }}',
      version: '0.1.0',
      summary: 'Counts the words of a text',
      inputSchema: JSON.stringify(INPUT_SCHEMA),
      outputSchema: JSON.stringify(OUTPUT_SCHEMA),
      capabilities: [],
    };
  },

  invoke(input) {
    let text;
    try {
      text = JSON.parse(input).text;
    } catch (e) {
      throw { tag: 'invalid-input', val: `input: ${e.message}` };
    }
    const words = text.split(/\s+/).filter((w) => w.length > 0).length;
    log('info', `counted ${words} words`);
    return JSON.stringify({ text, words });
  },
};
