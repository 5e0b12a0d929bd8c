/**
 * The pages of the demo service: what it is, what fedgate told it about you, and what fedgate
 * answered when the login did not work.
 */
import { fromSamlName } from '../core/attributes.js';
import { html, page, type Html } from '../http/html.js';

/** One way to log in to the demo service (SAML or OpenID Connect). */
export interface LoginOption {
  label: string;
  href: string;
}

export interface ReceivedLogin {
  /** Who issued the assertion: fedgate's IdP frontend. */
  issuer: string;
  nameId?: { value: string; format?: string };
  authnContextClassRefs: string[];
  authnInstant?: string;
  /** SAML attribute Name → values as received. */
  attributes: Record<string, string[]>;
}

const TITLE = 'fedgate demo service';

function loginButtons(options: LoginOption[]): Html {
  return html`<p class="logins">${options.map((o) => html`<a class="button" href="${o.href}">${o.label}</a> `)}</p>`;
}

export function landingPage(options: LoginOption[]): string {
  return page({
    title: TITLE,
    body: html`<h1>${TITLE}</h1>
<p>This page is a small web service that trusts fedgate for its logins: a SAML service provider and, when
fedgate's OpenID Provider is on, an OpenID Connect client as well. When you log in, it sends you to fedgate; fedgate shows you its list of identity providers; you pick one of the demo
identity providers and log in there with one of its demo users; fedgate then brings you back here, and this
page shows you everything fedgate told it about you.</p>
${loginButtons(options)}`,
  });
}

export function loggedInPage(login: ReceivedLogin, options: LoginOption[]): string {
  const rows = Object.entries(login.attributes).map(
    ([name, values]) =>
      html`<tr><td>${fromSamlName(name)?.name ?? '—'}</td><td><code>${name}</code></td><td>${values.map((v, i) => html`${i > 0 ? html`<br>` : ''}${v}`)}</td></tr>`,
  );
  return page({
    title: `${TITLE}: logged in`,
    body: html`<h1>You are logged in</h1>
<table>
<tr><th>Issuer</th><td><code>${login.issuer}</code></td></tr>
<tr><th>NameID</th><td>${login.nameId ? html`<code>${login.nameId.value}</code><br><span class="muted">${login.nameId.format ?? 'no Format'}</span>` : html`<span class="muted">none</span>`}</td></tr>
<tr><th>AuthnContextClassRef</th><td>${login.authnContextClassRefs.length > 0 ? login.authnContextClassRefs.map((r) => html`<code>${r}</code> `) : html`<span class="muted">none</span>`}</td></tr>
${login.authnInstant ? html`<tr><th>Authenticated at</th><td>${login.authnInstant}</td></tr>` : ''}
</table>
<h2>Attributes</h2>
${
  rows.length > 0
    ? html`<table><tr><th>Friendly name</th><th>SAML name</th><th>Values</th></tr>${rows}</table>`
    : html`<p class="muted">fedgate released no attributes to this service.</p>`
}
<p><a href="/demo">Back to the start</a></p>
${loginButtons(options.map((o) => ({ ...o, label: `${o.label} again` })))}`,
  });
}

export function statusPage(status: { top: string; second?: string; message?: string }, options: LoginOption[]): string {
  const short = (uri: string) => uri.replace('urn:oasis:names:tc:SAML:2.0:status:', '');
  return page({
    title: `${TITLE}: login failed`,
    body: html`<h1>fedgate answered with an error</h1>
<p>The login did not succeed. fedgate sent this SAML status:</p>
<table>
<tr><th>Status</th><td><code>${short(status.top)}</code></td></tr>
${status.second ? html`<tr><th>Detail</th><td><code>${short(status.second)}</code></td></tr>` : ''}
${status.message ? html`<tr><th>Message</th><td>${status.message}</td></tr>` : ''}
</table>
<p><a href="/demo">Back to the start</a></p>
${loginButtons(options.map((o) => ({ ...o, label: `${o.label} again` })))}`,
  });
}

export interface ReceivedOidcLogin {
  idToken: Record<string, unknown>;
  userinfo: Record<string, unknown>;
  /** The scopes granted, as the token response said. */
  scope?: string;
}

/** A claim's value as table cell content: arrays one value a line, objects as JSON. */
function claimValue(value: unknown): Html | string {
  if (Array.isArray(value)) return html`${value.map((v, i) => html`${i > 0 ? html`<br>` : ''}${typeof v === 'string' ? v : JSON.stringify(v)}`)}`;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function claimsTable(id: string, claims: Record<string, unknown>): Html {
  const rows = Object.entries(claims).map(([name, value]) => html`<tr><td><code>${name}</code></td><td>${claimValue(value)}</td></tr>`);
  return html`<table id="${id}"><tr><th>Claim</th><th>Value</th></tr>${rows}</table>`;
}

export function oidcLoggedInPage(login: ReceivedOidcLogin, options: LoginOption[]): string {
  return page({
    title: `${TITLE}: logged in`,
    body: html`<h1>You are logged in with OpenID Connect</h1>
${login.scope ? html`<p>Scopes granted: <code>${login.scope}</code></p>` : ''}
<h2>ID token</h2>
<p class="muted">Signed by fedgate and checked by this service (issuer, audience, nonce, signature).</p>
${claimsTable('id-token', login.idToken)}
<h2>Userinfo</h2>
<p class="muted">What fedgate's userinfo endpoint returned for the access token: the claims the scopes cover.</p>
${claimsTable('userinfo', login.userinfo)}
<p><a href="/demo">Back to the start</a></p>
${loginButtons(options.map((o) => ({ ...o, label: `${o.label} again` })))}`,
  });
}

export function oidcErrorPage(error: string, description: string | undefined, options: LoginOption[]): string {
  return page({
    title: `${TITLE}: login failed`,
    body: html`<h1>fedgate answered with an error</h1>
<p>The login did not succeed. fedgate's OpenID Provider sent:</p>
<table>
<tr><th>error</th><td><code>${error}</code></td></tr>
${description ? html`<tr><th>error_description</th><td>${description}</td></tr>` : ''}
</table>
<p><a href="/demo">Back to the start</a></p>
${loginButtons(options.map((o) => ({ ...o, label: `${o.label} again` })))}`,
  });
}
