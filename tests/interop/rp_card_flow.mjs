#!/usr/bin/env node
// Relying-party side of the card-login interoperability test.
//
// An openid-client RP asks for the strongest level (acr_values=eidas3); the
// "browser" (plain fetch + the cookie jar of rp_flow.mjs) reaches the IdP's
// card login page and then does exactly what the page's script
// (idp/static/card_login.js) does:
//
//   1. GET <agent>/status (cross-origin, mode cors, credentials omitted);
//   2. POST the page's data-challenge-url with the form's csrf_token
//      (same-origin fetch with the session cookie): {challenge, expires_in};
//   3. POST <agent>/sign {challenge, pin} with Content-Type: application/json,
//      after the CORS preflight the browser sends for that header;
//   4. fill the hidden form #card-proof (certificate, signature, challenge)
//      and submit it;
//
// then follows the redirects to the RP's redirect URI (never fetched) and
// redeems the code with openid-client, which validates the ID token
// (signature, iss, aud, exp, nonce). UserInfo is fetched with the expected
// subject. One JSON object is printed on stdout; test_openid_client_card.py
// asserts on it.
//
// Headers are those Chromium 156 sends for this page (observed in tests/browser):
// the fetches (agent and challenge) carry the page's Origin, the agent's without
// cookies; the form submission of the proof carries "Origin: null" (the IdP sends
// Referrer-Policy: no-referrer).
//
// Usage: node rp_card_flow.mjs '<json>'   (or the same JSON in $RP_FLOW_ARGS)
// JSON arguments: issuer, client_id, client_secret, redirect_uri, pin, scope,
//   acr_values (default eidas3), wrong_pin (optional: one attempt with this PIN
//   first, as a user who mistypes it).
// Exit status: 0 when the flow ran to the end, 1 with {"ok": false, "step",
// "error", ...} otherwise.

import * as client from 'openid-client';

import { BrowserError, buildFormBody, CookieJar, decodeEntities, parseAttributes, parseForms, textExcerpt } from './rp_flow.mjs';

const HTTP_TIMEOUT_MS = 20_000;
const MAX_HOPS = 15;
const USER_AGENT = 'idp-interop-rp-card (openid-client)';

// ---------------------------------------------------------------------------
// HTTP as the browser does it
// ---------------------------------------------------------------------------

/** One request with the jar's cookies (when `withCookies`), redirects not followed. */
async function http(jar, url, { method = 'GET', headers = {}, body, withCookies = true } = {}) {
  const sent = { 'user-agent': USER_AGENT, 'accept-language': 'fr-FR,fr;q=0.9', ...headers };
  const cookie = withCookies ? jar.header(url) : '';
  if (cookie) sent.cookie = cookie;
  const started = performance.now();
  const response = await fetch(url, {
    method,
    headers: sent,
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  if (withCookies) jar.store(url, response.headers.getSetCookie());
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    location: response.headers.get('location'),
    contentType: response.headers.get('content-type') ?? '',
    text,
    ms: Math.round(performance.now() - started),
  };
}

/** Follows redirects from a navigation until an HTML page, or a Location under `stopPrefix`. */
async function navigate(jar, url, stopPrefix, trace, first = { method: 'GET' }) {
  let request = { url, ...first };
  for (let hop = 0; hop < MAX_HOPS; hop += 1) {
    const headers = { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' };
    if (request.body !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = 'null'; // Referrer-Policy: no-referrer => serialized origin "null"
    }
    const res = await http(jar, request.url, { method: request.method, headers, body: request.body });
    const entry = { method: request.method, url: request.url, status: res.status };
    trace.push(entry);
    if (res.status >= 300 && res.status < 400) {
      if (!res.location) throw new BrowserError(`HTTP ${res.status} without a Location`, { trace });
      const next = new URL(res.location, request.url).href;
      if (next.startsWith(stopPrefix)) {
        entry.location = next.replace(/([?&]code=)[^&]*/, '$1<redacted>');
        return { callback: new URL(next), page: null };
      }
      entry.location = next;
      request = res.status === 307 || res.status === 308 ? { ...request, url: next } : { method: 'GET', url: next };
      continue;
    }
    return { callback: null, page: { url: request.url, ...res } };
  }
  throw new BrowserError(`more than ${MAX_HOPS} hops`, { trace });
}

function pageFailure(message, page, trace) {
  return new BrowserError(message, {
    trace,
    url: page?.url,
    status: page?.status,
    text_excerpt: page ? textExcerpt(page.text) : null,
  });
}

/** Attributes of the first start tag with this id. */
function elementById(html, id) {
  const re = new RegExp(`<([a-zA-Z]+)\\b([^>]*\\bid\\s*=\\s*["']${id}["'][^>]*)>`);
  const m = re.exec(html);
  return m ? { tag: m[1].toLowerCase(), attrs: parseAttributes(m[2]) } : null;
}

function directive(csp, name) {
  const found = (csp ?? '').split(';').map((d) => d.trim().split(/\s+/)).find((d) => d[0] === name);
  return found ? found.slice(1) : null;
}

// ---------------------------------------------------------------------------
// The card page, as card_login.js drives it
// ---------------------------------------------------------------------------

function readCardPage(page) {
  const root = elementById(page.text, 'card-login');
  const pin = elementById(page.text, 'pin');
  const pinForm = elementById(page.text, 'pin-form');
  const proof = parseForms(page.text, page.url).find((f) => f.inputNames.includes('signature'));
  if (!root || !pin || !pinForm || !proof) return null;
  const csp = page.headers.get('content-security-policy');
  return {
    url: page.url,
    agentUrl: root.attrs['data-agent-url'],
    challengeUrl: new URL(root.attrs['data-challenge-url'], page.url).href,
    proof,
    describe: {
      url: page.url,
      agent_url: root.attrs['data-agent-url'],
      challenge_url: root.attrs['data-challenge-url'],
      proof_action: proof.action,
      proof_fields: proof.inputNames,
      pin_field_name: pin.attrs.name ?? null,
      pin_form_action: pinForm.attrs.action ?? null,
      script: /<script\b[^>]*\bsrc="([^"]*card_login\.js)"/.exec(page.text)?.[1] ?? null,
      csp,
      connect_src: directive(csp, 'connect-src'),
      title: decodeEntities(/<h1\b[^>]*>([^<]*)</.exec(page.text)?.[1] ?? '').trim(),
    },
  };
}

/** fetch(agentUrl + path, {mode: 'cors', credentials: 'omit', cache: 'no-store', ...}). */
async function agentFetch(jar, card, origin, path, { method = 'GET', json } = {}) {
  const url = card.agentUrl + path;
  const out = {};
  const headers = { origin, accept: '*/*' };
  if (json !== undefined) {
    // Content-Type: application/json is not CORS-safelisted: the browser asks first.
    const preflight = await http(jar, url, {
      method: 'OPTIONS',
      withCookies: false,
      headers: { origin, accept: '*/*', 'access-control-request-method': method, 'access-control-request-headers': 'content-type' },
    });
    out.preflight = {
      status: preflight.status,
      allow_origin: preflight.headers.get('access-control-allow-origin'),
      allow_methods: preflight.headers.get('access-control-allow-methods'),
      allow_headers: preflight.headers.get('access-control-allow-headers'),
    };
    const allowed = preflight.status >= 200 && preflight.status < 300
      && out.preflight.allow_origin === origin
      && /\bPOST\b/.test(out.preflight.allow_methods ?? '')
      && /\bcontent-type\b/i.test(out.preflight.allow_headers ?? '');
    if (!allowed) return { ...out, cors_failure: 'preflight', body: null };
    headers['content-type'] = 'application/json';
  }
  const res = await http(jar, url, {
    method,
    withCookies: false, // credentials: 'omit'
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  Object.assign(out, { status: res.status, ok: res.status >= 200 && res.status < 300, ms: res.ms });
  out.allow_origin = res.headers.get('access-control-allow-origin');
  out.content_type = res.contentType;
  out.cache_control = res.headers.get('cache-control');
  if (out.allow_origin !== origin) return { ...out, cors_failure: 'response', body: null };
  out.body = JSON.parse(res.text);
  return out;
}

/** The submit handler of #pin-form: challenge, signature by the card, proof. */
async function submitPin(jar, card, origin, pin, { trace, redirectUri }) {
  const attempt = {};
  // newChallenge(): same-origin fetch POST with the form's CSRF token and the session cookie.
  const challengeBody = new URLSearchParams();
  challengeBody.set('csrf_token', card.proof.hidden.csrf_token);
  const issued = await http(jar, card.challengeUrl, {
    method: 'POST',
    headers: { accept: '*/*', origin, 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
    body: challengeBody.toString(),
  });
  attempt.challenge = { status: issued.status, content_type: issued.contentType, ms: issued.ms };
  if (issued.status !== 200) throw new BrowserError(`challenge request answered ${issued.status}`, { attempt, text: textExcerpt(issued.text) });
  const { challenge, expires_in: expiresIn } = JSON.parse(issued.text);
  attempt.challenge.expires_in = expiresIn;
  attempt.challenge.bytes = Buffer.from(challenge, 'base64url').length;

  attempt.sign = await agentFetch(jar, card, origin, '/sign', { method: 'POST', json: { challenge, pin } });
  if (attempt.sign.cors_failure || !attempt.sign.ok) return attempt; // the page shows the message
  attempt.sign.certificate_is_pem = /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/.test(attempt.sign.body.certificate);
  attempt.sign.signature_bytes = Buffer.from(attempt.sign.body.signature, 'base64url').length;
  const { certificate, signature } = attempt.sign.body;
  attempt.sign.body = { certificate: '<pem>', signature: '<base64url>' };

  // proof.submit(): the hidden form, as a navigation.
  const started = performance.now();
  const body = buildFormBody(card.proof, { certificate, signature, challenge });
  attempt.proof = { action: card.proof.action, fields: [...body.keys()] };
  attempt.walk = await navigate(jar, card.proof.action, redirectUri, trace, { method: 'POST', body: body.toString() });
  attempt.proof.ms_to_callback = Math.round(performance.now() - started);
  return attempt;
}

// ---------------------------------------------------------------------------
// The flow
// ---------------------------------------------------------------------------

function parseArgs() {
  const raw = process.argv[2] ?? process.env.RP_FLOW_ARGS;
  if (!raw) throw new TypeError('missing arguments: pass a JSON object as argv[2] or in $RP_FLOW_ARGS');
  const args = JSON.parse(raw);
  for (const key of ['issuer', 'client_id', 'client_secret', 'redirect_uri', 'pin']) {
    if (typeof args[key] !== 'string' || !args[key]) throw new TypeError(`missing argument "${key}"`);
  }
  args.scope ??= 'openid profile email';
  args.acr_values ??= 'eidas3';
  return args;
}

async function runFlow(args, out, setStep) {
  const jar = new CookieJar();
  const started = performance.now();

  setStep('discovery');
  const config = await client.discovery(
    new URL(args.issuer),
    args.client_id,
    { client_secret: args.client_secret, id_token_signed_response_alg: 'RS256' },
    client.ClientSecretBasic(args.client_secret),
    { execute: [client.allowInsecureRequests], timeout: 30 },
  );
  out.discovery = { issuer: config.serverMetadata().issuer, acr_values_supported: config.serverMetadata().acr_values_supported ?? null };

  setStep('authorization_request');
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state = client.randomState();
  const authUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: args.redirect_uri,
    scope: args.scope,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    nonce,
    state,
    acr_values: args.acr_values,
  });
  out.authorization_request = Object.fromEntries([...authUrl.searchParams].filter(([k]) => k !== 'code_challenge'));

  // Authorization endpoint -> login page -> card page (directly when the level
  // asked needs the card, else through « VOUS CONNECTER PAR CARTE CPS »).
  setStep('card_page');
  const trace = [];
  const start = await navigate(jar, authUrl.href, args.redirect_uri, trace);
  if (start.callback) throw new BrowserError('redirected to the RP before any login', { trace });
  let { page } = start;
  out.card_page_reached_by = 'redirect';
  let card = readCardPage(page);
  if (!card) {
    const link = [...page.text.matchAll(/<a\b([^>]*)>([^<]*)<\/a>/gi)]
      .find((m) => decodeEntities(m[2]).includes('VOUS CONNECTER PAR CARTE CPS'));
    if (!link) throw pageFailure('neither the card page nor a card login link', page, trace);
    out.card_page_reached_by = 'login_page_link';
    ({ page } = await navigate(jar, new URL(parseAttributes(link[1]).href, page.url).href, args.redirect_uri, trace));
    card = readCardPage(page);
    if (!card) throw pageFailure('the card login link did not lead to the card page', page, trace);
  }
  out.card_page = card.describe;
  const origin = new URL(card.url).origin;

  // showStatus(): what the page says before the PIN is typed.
  setStep('agent_status');
  out.agent_status = await agentFetch(jar, card, origin, '/status');

  const browser = { trace, redirectUri: args.redirect_uri };
  if (args.wrong_pin) {
    // A mistyped PIN: the agent refuses, the page shows its message and nothing is posted.
    setStep('wrong_pin');
    out.wrong_pin = await submitPin(jar, card, origin, args.wrong_pin, browser);
    if (out.wrong_pin.walk) throw new BrowserError('the agent signed with a wrong PIN', { attempt: out.wrong_pin });
  }

  setStep('card_login');
  const good = await submitPin(jar, card, origin, args.pin, browser);
  const { walk, ...login } = good;
  out.card_login = login;
  if (!walk) throw new BrowserError('the agent did not sign', { attempt: login });
  if (!walk.callback) throw pageFailure('the proof did not lead back to the RP', walk.page, trace);
  const callbackUrl = walk.callback;
  out.callback_params = Object.fromEntries(
    [...callbackUrl.searchParams].map(([k, v]) => [k, k === 'code' ? '<redacted>' : v]),
  );
  out.trace = trace;

  setStep('authorization_code_grant');
  const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
    pkceCodeVerifier,
    expectedNonce: nonce,
    expectedState: state,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  out.tokens = {
    token_type: tokens.token_type ?? null,
    scope: tokens.scope ?? null,
    has_access_token: typeof tokens.access_token === 'string' && tokens.access_token.length > 0,
    id_token_header: JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url').toString('utf8')),
    id_token_claims: claims,
  };

  setStep('userinfo');
  out.userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  out.total_ms = Math.round(performance.now() - started);
  setStep('done');
}

function describeError(err) {
  return {
    name: err?.name ?? null,
    error: String(err),
    code: err?.code ?? null,
    oauth_error: typeof err?.error === 'string' ? err.error : null,
    cause: err?.cause ?? null,
  };
}

async function main() {
  const out = { ok: false };
  let step = 'arguments';
  let exitCode = 0;
  try {
    await runFlow(parseArgs(), out, (name) => {
      step = name;
    });
    out.ok = true;
  } catch (err) {
    exitCode = 1;
    Object.assign(out, { ok: false, step, ...describeError(err) });
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`, () => process.exit(exitCode));
}

await main();
