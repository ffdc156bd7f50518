// {{ name }}: a Baton plugin. `describe` says what it is; `invoke` turns one JSON
// input into one JSON output. Throw { tag, val } to return a tool-error.

{% if kv %}
import { get as kvGet, set as kvSet } from 'baton:plugin/kv@0.1.0';
{% endif %}
import { write as log } from 'baton:plugin/log@0.1.0';

const INPUT_SCHEMA = { type: 'object', required: ['text'], properties: { text: { type: 'string' } } };
{% if kv %}
const OUTPUT_SCHEMA = {
  type: 'object',
  required: ['text', 'words', 'texts'],
  properties: { text: { type: 'string' }, words: { type: 'integer' }, texts: { type: 'integer' } },
};
{% else %}
const OUTPUT_SCHEMA = {
  type: 'object',
  required: ['text', 'words'],
  properties: { text: { type: 'string' }, words: { type: 'integer' } },
};
{% endif %}

export const tool = {
  describe() {
    return {
      name: '{{ name }}',
      version: '0.1.0',
{% if kv %}
      summary: 'Counts the words of a text, and the texts it has counted',
{% else %}
      summary: 'Counts the words of a text',
{% endif %}
      inputSchema: JSON.stringify(INPUT_SCHEMA),
      outputSchema: JSON.stringify(OUTPUT_SCHEMA),
{% if kv %}
      // The workflow must grant each one: grants = { kv = { quota = "1MiB" } }
      capabilities: ['kv'],
{% else %}
      capabilities: [],
{% endif %}
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
{% if kv %}
    // How many texts this plugin has counted: kept in kv across calls and runs.
    let texts;
    try {
      texts = textsCounted() + 1;
      kvSet('texts', new TextEncoder().encode(String(texts)));
    } catch (e) {
      throw kvError(e);
    }
    return JSON.stringify({ text, words, texts });
{% else %}
    return JSON.stringify({ text, words });
{% endif %}
  },
};
{% if kv %}

// The number kept under `texts`, or 0 before the first call.
function textsCounted() {
  // A Uint8Array, or undefined when the key is not set; a kv-error is thrown.
  const value = kvGet('texts');
  return value === undefined ? 0 : Number(new TextDecoder().decode(value));
}

// A kv error as the plugin's own: not granted or over quota is `denied` (another
// attempt would not help); the rest is `failed`. The error thrown by an import
// carries the variant as `payload`: { tag: 'denied', val: '...' }.
function kvError(e) {
  const error = e.payload ?? e;
  const tag = error.tag === 'denied' || error.tag === 'quota' ? 'denied' : 'failed';
  return { tag, val: `kv: ${error.val ?? error}` };
}
{% endif %}
