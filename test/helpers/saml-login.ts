/**
 * A SAML login through fedgate step by step, for tests that interrupt it (stop Redis, kill an
 * instance) at a chosen point: SP → fedgate's SSO → discovery → upstream IdP → fedgate's ACS → SP.
 */
import type { Test } from 'tap';
import { Browser, parseForms, type Form, type Page } from './browser.js';
import type { SpPeer } from './saml-sp-peer.js';

/** The form on `page` whose action has the path `path`. */
export function formTo(page: Page, path: string): Form {
  const form = parseForms(page).find((f) => new URL(f.action).pathname === path);
  if (!form) throw new Error(`no form to ${path} on ${page.url} (${page.status}):\n${page.body.slice(0, 500)}`);
  return form;
}

/** The login a discovery page is shown for (its choice form's hidden field: the page answers the service's request at that request's URL). */
export function discoveryLoginId(page: Page): string {
  const login = formTo(page, '/discovery').fields.login;
  if (!login) throw new Error(`the discovery page at ${page.url} names no login`);
  return login;
}

/** Submits `form` as one POST, following nothing. */
export function postForm(browser: Browser, form: Form): Promise<Page> {
  return browser.fetchRaw(form.action, {
    method: 'POST',
    body: new URLSearchParams(form.fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}

/**
 * Goes as far as the IdP's auto-POST form to fedgate's ACS, without posting it: the upstream has
 * answered, fedgate has not seen the answer yet. The SP's request goes through the discovery page,
 * where `idpEntityId` is chosen.
 */
export async function upToAcs(browser: Browser, sp: SpPeer, idpEntityId: string): Promise<Form> {
  const discovery = await browser.get(await sp.loginUrl());
  const choice = formTo(discovery, '/discovery');
  const toIdp = await postForm(browser, { ...choice, fields: { ...choice.fields, idp: idpEntityId } });
  const location = toIdp.headers.get('location');
  if (toIdp.status !== 302 || !location) throw new Error(`discovery choice answered ${toIdp.status}: ${toIdp.body.slice(0, 300)}`);
  return formTo(await browser.fetchRaw(location, { method: 'GET' }), '/saml/sp/acs');
}

/** What the SP peer answers once it validated fedgate's Response: its profile; throws otherwise, so it can be polled. */
export function spProfile(done: Page): Record<string, unknown> {
  if (done.status !== 200) throw new Error(`login ended with ${done.status}: ${done.body.slice(0, 300)}`);
  const answer = JSON.parse(done.body) as { ok: boolean; profile?: Record<string, unknown> };
  if (!answer.ok || !answer.profile) throw new Error(`the SP rejected the answer: ${done.body.slice(0, 300)}`);
  return answer.profile;
}

/** Asserts `page` is fedgate's error page for `userMessage` with a reference id, at `status`. */
export function assertErrorPage(t: Test, page: Page, status: number, userMessage: string, what: string): void {
  t.equal(page.status, status, `${what}: HTTP ${status}`);
  t.match(page.headers.get('content-type'), /^text\/html/, `${what}: an HTML page`);
  t.ok(page.body.includes(userMessage), `${what}: says "${userMessage}"`);
  t.match(page.body, /reference: <code>[A-Z2-9]{10}<\/code>/, `${what}: with a reference id`);
}
