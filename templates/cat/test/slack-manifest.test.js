// slack-manifest.yaml: the app manifest `catctl slack-manifest CAT` renders (minijinja). Here it is
// rendered by a tiny stand-in for the few expressions it uses, and held to what the engine does.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { parse as parseYaml } from 'yaml';

import { listen } from '../src/slack.js';

const TEMPLATE = readFileSync(new URL('../slack-manifest.yaml', import.meta.url), 'utf8');

/** Renders the template's `{{ … | tojson }}` expressions: names, `(a or b)`, `("…" ~ name ~ "…")`. */
function render(template, vars) {
  const value = (expr) => {
    const e = expr.trim().replace(/^\((.*)\)$/, '$1');
    if (e.includes(' ~ ')) return e.split(' ~ ').map(value).join('');
    if (e.includes(' or ')) return e.split(' or ').map(value).find(Boolean);
    if (/^".*"$/.test(e)) return JSON.parse(e);
    if (/^\w+$/.test(e)) return vars[e];
    throw new Error(`unsupported expression ${expr}`);
  };
  return template
    .replace(/\{#[\s\S]*?#\}\n?/g, '')
    .replace(/\{\{\s*(.+?)\s*\|\s*tojson\s*\}\}/g, (_, expr) => JSON.stringify(value(expr)));
}

/** The Slack events the engine's listeners consume. */
function eventsTheEngineHears() {
  const events = new Set();
  const app = {
    event: (name) => events.add(name),
    message: (handler) => {
      // app.message gets every message event; the engine answers only those of a DM.
      const said = [];
      handler({ message: { channel_type: 'im', text: '' }, say: async (m) => said.push(m) });
      events.add('message.im');
    },
  };
  listen(app, { respond: () => null }, () => {});
  return [...events].sort();
}

const SCOPE_OF_EVENT = { app_mention: 'app_mentions:read', 'message.im': 'im:history' };

test('the manifest of a cat: its names, Socket Mode, no interactivity', () => {
  const manifest = parseYaml(render(TEMPLATE, { name: 'dd' }));
  assert.equal(manifest.display_information.name, 'dd');
  assert.equal(manifest.features.bot_user.display_name, 'dd');
  assert.equal(manifest.settings.socket_mode_enabled, true);
  assert.equal(manifest.settings.interactivity.is_enabled, false);
  assert.equal(manifest.features.app_home.messages_tab_enabled, true, 'people can DM the cat');
  assert.equal(parseYaml(render(TEMPLATE, { name: 'dd', display_name: 'DD 디디' })).display_information.name, 'DD 디디');
  assert.match(render(TEMPLATE, { name: 'a"b: c' }), /name: "a\\"b: c"/, 'values are quoted');
});

test('the manifest asks for exactly the events the engine hears and the scopes they need', () => {
  const manifest = parseYaml(render(TEMPLATE, { name: 'dd' }));
  const events = eventsTheEngineHears();
  assert.deepEqual([...manifest.settings.event_subscriptions.bot_events].sort(), events);
  const scopes = [...events.map((event) => SCOPE_OF_EVENT[event]), 'chat:write'].sort();
  assert.deepEqual([...manifest.oauth_config.scopes.bot].sort(), scopes, 'replies need chat:write; nothing more');
});
