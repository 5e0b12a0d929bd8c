/** The login form of a demo IdP. It lists its accounts: this is a demo, never a real IdP. */
import { html, page } from '../http/html.js';

export interface LoginPageOptions {
  idpName: string;
  action: string;
  /** Hidden fields carried from the SSO request to the login POST. */
  hidden: Record<string, string | undefined>;
  username?: string;
  error?: string;
  accounts: { username: string; password: string }[];
}

export function loginPage(o: LoginPageOptions): string {
  const hidden = Object.entries(o.hidden)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  const error = o.error ? html`<p id="login-error" role="alert"><strong>${o.error}</strong></p>` : '';
  const describedBy = o.error ? 'login-error' : undefined;
  return page({
    title: `Log in – ${o.idpName}`,
    body: html`<h1>Log in to ${o.idpName}</h1>
<p class="muted">A demo identity provider served by fedgate for trying it out.</p>
${error}
<form id="login" method="post" action="${o.action}">
${hidden}
<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" required${o.username ? '' : html` autofocus`} value="${o.username ?? ''}"${describedBy ? html` aria-describedby="${describedBy}"` : ''}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${o.username ? html` autofocus` : ''}>
<p><button type="submit">Log in</button></p>
</form>
<h2>Demo accounts</h2>
<table><thead><tr><th scope="col">Username</th><th scope="col">Password</th></tr></thead>
<tbody>${o.accounts.map((a) => html`<tr><td><code>${a.username}</code></td><td><code>${a.password}</code></td></tr>`)}</tbody></table>`,
  });
}
