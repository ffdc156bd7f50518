// The `utm-tagger` plugin (JavaScript, built with componentize-js): adds campaign
// tracking parameters (utm_source, utm_medium, utm_campaign, utm_content) to every
// http(s) link in an approved email or ad, wherever it appears in the value's text.
//
// Config: `source` (utm_source, default "baton"), `medium` (default "email"),
// `campaign` (default: the input's `campaign`, else "follow-up"), `domains`
// (comma-separated: tag only links to these domains and their subdomains; default all).
// Parameters a link already has are kept, never overwritten.
//
// Build: `make` (see Makefile). Try it: `host invoke <utm_tagger.wasm> --input test-input.json`.

import { get as configGet } from 'baton:plugin/config@0.1.0';
import { write as log } from 'baton:plugin/log@0.1.0';

const INPUT_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'An email or ad whose links to tag',
  type: 'object',
  required: ['content'],
  properties: {
    content: { description: 'Any JSON value; links in its strings are tagged' },
    campaign: { type: 'string', minLength: 1, description: 'utm_campaign for this value' },
  },
};

const OUTPUT_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'The value with tagged links',
  type: 'object',
  required: ['content', 'tagged'],
  properties: {
    content: { description: 'The input value, links tagged' },
    tagged: {
      type: 'array',
      items: {
        type: 'object',
        required: ['field', 'from', 'to'],
        properties: { field: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } },
      },
    },
  },
};

// A link ends at whitespace, quotes or brackets; trailing sentence punctuation is not
// part of it.
const LINK = /https?:\/\/[^\s<>"'()\[\]{}]+/g;
const TRAILING = /[.,;:!?]+$/;

function settings(input) {
  const domains = (configGet('domains') ?? '')
    .split(',')
    .map((d) => d.trim().toLowerCase())
    .filter((d) => d.length > 0);
  return {
    params: {
      utm_source: configGet('source') ?? 'baton',
      utm_medium: configGet('medium') ?? 'email',
      utm_campaign: input.campaign ?? configGet('campaign') ?? 'follow-up',
    },
    domains,
  };
}

function wanted(url, domains) {
  if (domains.length === 0) return true;
  const host = url.hostname.toLowerCase();
  return domains.some((d) => host === d || host.endsWith('.' + d));
}

function tagLink(link, field, opts, tagged) {
  let url;
  try {
    url = new URL(link);
  } catch {
    return link; // not a URL after all: leave the text alone
  }
  if (!wanted(url, opts.domains)) return link;
  const params = { ...opts.params, utm_content: field };
  let changed = false;
  for (const [key, value] of Object.entries(params)) {
    if (!url.searchParams.has(key)) {
      url.searchParams.set(key, value);
      changed = true;
    }
  }
  if (!changed) return link;
  const to = url.toString();
  tagged.push({ field, from: link, to });
  return to;
}

function tagText(text, field, opts, tagged) {
  return text.replace(LINK, (match) => {
    const trail = match.match(TRAILING)?.[0] ?? '';
    const link = match.slice(0, match.length - trail.length);
    return tagLink(link, field, opts, tagged) + trail;
  });
}

// Walks any JSON value; `field` is the path of the string, e.g. `body` or `ads.0.url`.
function tagValue(value, field, opts, tagged) {
  if (typeof value === 'string') return tagText(value, field || 'content', opts, tagged);
  if (Array.isArray(value)) {
    return value.map((v, i) => tagValue(v, field ? `${field}.${i}` : String(i), opts, tagged));
  }
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const [key, v] of Object.entries(value)) {
      out[key] = tagValue(v, field ? `${field}.${key}` : key, opts, tagged);
    }
    return out;
  }
  return value;
}

export const tool = {
  describe() {
    return {
      name: 'utm-tagger',
      version: '0.1.0',
      summary: 'Adds campaign tracking parameters to every link in an approved email or ad',
      inputSchema: JSON.stringify(INPUT_SCHEMA),
      outputSchema: JSON.stringify(OUTPUT_SCHEMA),
      capabilities: [],
    };
  },

  invoke(text) {
    const input = JSON.parse(text);
    const tagged = [];
    const content = tagValue(input.content, '', settings(input), tagged);
    log('info', `tagged ${tagged.length} link${tagged.length === 1 ? '' : 's'}`);
    return JSON.stringify({ content, tagged });
  },
};
