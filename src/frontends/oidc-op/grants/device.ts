/**
 * Device authorization (RFC 8628) through oidc-provider's `features.deviceFlow`: the device gets
 * a user code, the user enters it on fedgate's user-code page, confirms, and logs in through the
 * same interaction routes as any authorization (discovery → upstream → pipeline). A cancel on the
 * confirm page or a refused login ends in access_denied for the polling device.
 *
 * oidc-provider announces no polling interval and never answers slow_down: both are added here,
 * from `frontends.oidc.deviceFlow.interval`.
 */
import { createHash } from 'node:crypto';
import type { ClientInstance, OidcContext } from 'oidc-provider';
import { Html, html, page } from '../../../http/html.js';
import { DEVICE_CODE_GRANT } from '../config.js';
import type { OidcOpExtension } from '../extensions.js';

/** The interaction's OIDC errors for a refused login (frontend.ts oauthError). */
const REFUSED_LOGIN = new Set(['login_required', 'unmet_authentication_requirements']);

const pollKey = (deviceCode: string) => `oidc-op:device-poll:${createHash('sha256').update(deviceCode).digest('base64url')}`;

/** The form fields oidc-provider's code_verification endpoint expects: its action and xsrf token. */
function formTarget(ctx: OidcContext): { action: string; xsrf: string } {
  return { action: ctx.oidc?.urlFor?.('code_verification') ?? '', xsrf: String(ctx.oidc?.session?.state?.secret ?? '') };
}

/** Why the user-code page is shown again, after oidc-provider's re-render errors (helpers/re_render_errors.js). */
function inputProblem(err: (Error & { userCode?: string }) | undefined): string | undefined {
  if (!err) return undefined;
  switch (err.name) {
    case 'NoCodeError':
      return 'Enter the code your device shows.';
    case 'NotFoundError':
      return 'This code is not known. Check it against the one your device shows.';
    case 'ExpiredError':
      return 'This code has expired. Start again on your device to get a new one.';
    case 'AlreadyUsedError':
      return 'This code has already been used.';
    case 'AbortedError':
      return 'You cancelled the login. Your device will not be logged in.';
    default:
      return 'The code could not be checked. Try again.';
  }
}

function render(ctx: OidcContext, title: string, body: Html): void {
  ctx.type = 'html';
  ctx.body = page({ title, body });
}

export const deviceFlow: OidcOpExtension = {
  name: 'device-flow',
  configure(configuration) {
    const features = configuration.features as Record<string, unknown>;
    features.deviceFlow = {
      enabled: true,
      // Consonants only: no words, no confusable characters, easy to type on a phone.
      charset: 'base-20',
      mask: '****-****',
      async userCodeInputSource(ctx: OidcContext, _form: string, _out: unknown, err?: Error & { userCode?: string }) {
        const { action, xsrf } = formTarget(ctx);
        const problem = inputProblem(err);
        render(
          ctx,
          'Log in a device',
          html`<h1>Log in a device</h1>
${problem ? html`<p role="alert">${problem}</p>` : html`<p>Enter the code your device shows.</p>`}
<form method="post" action="${action}">
<input type="hidden" name="xsrf" value="${xsrf}">
<label for="user_code">Code</label>
<input type="text" id="user_code" name="user_code" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" required autofocus${err?.userCode ? html` value="${err.userCode}"` : ''}>
<p><button type="submit">Continue</button></p>
</form>`,
        );
      },
      async userCodeConfirmSource(ctx: OidcContext, _form: string, client: ClientInstance, _deviceInfo: unknown, userCode: string) {
        const { action, xsrf } = formTarget(ctx);
        render(
          ctx,
          'Confirm the device',
          html`<h1>Confirm the device</h1>
<p><strong>${client.clientName ?? client.clientId}</strong> asks to log you in on a device.</p>
<p>Continue only if your device shows this code: <code>${userCode}</code></p>
<p class="muted">If you did not start this, or the code differs, cancel.</p>
<form method="post" action="${action}">
<input type="hidden" name="xsrf" value="${xsrf}">
<input type="hidden" name="user_code" value="${userCode}">
<p><button type="submit" name="confirm" value="yes" autofocus>Continue and log in</button>
<button type="submit" name="abort" value="yes" class="button" style="background:#fff;color:#0b5cad">Cancel</button></p>
</form>`,
        );
      },
      async successSource(ctx: OidcContext) {
        const client = ctx.oidc?.client;
        render(
          ctx,
          'Device logged in',
          html`<h1>Your device is logged in</h1><p>${client ? `${client.clientName ?? client.clientId} can now continue on your device. ` : ''}You can close this window.</p>`,
        );
      },
    };
  },
  attach(provider, context) {
    const interval = context.config.deviceFlow.interval;
    provider.use(async (ctx, next) => {
      await next();
      const route = ctx.oidc?.route;
      const body = ctx.body as Record<string, unknown> | undefined;
      if (route === 'device_authorization' && ctx.status === 200 && body) {
        ctx.body = { ...body, interval };
      }
      const deviceCode = ctx.oidc?.params?.device_code;
      if (route === 'token' && ctx.oidc?.params?.grant_type === DEVICE_CODE_GRANT && typeof body?.error === 'string' && REFUSED_LOGIN.has(body.error)) {
        // RFC 8628 §3.5 names access_denied for a login that did not authorize the device; OIDC's finer codes mean nothing to a device.
        ctx.body = { ...body, error: 'access_denied' };
      }
      if (route === 'token' && ctx.oidc?.params?.grant_type === DEVICE_CODE_GRANT && typeof deviceCode === 'string' && body?.error === 'authorization_pending') {
        // A poll inside the interval of the previous one is told to back off (RFC 8628 §3.5).
        const onTime = await context.store.setIfAbsent(pollKey(deviceCode), '1', interval * 1000);
        if (!onTime) ctx.body = { error: 'slow_down', error_description: `poll at most every ${interval} seconds` };
      }
    });
  },
};
