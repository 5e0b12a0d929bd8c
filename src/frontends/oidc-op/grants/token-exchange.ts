/**
 * Token exchange (RFC 8693), which oidc-provider does not implement: a client presents a user's
 * access token issued to another client and gets one of its own, for a subset of the scopes —
 * only when its configuration names that other client in `tokenExchange.from`.
 *
 * The new token belongs to a new grant of the exchanging client, whose release is the subject
 * grant's release cut down to the claims of the new scopes: userinfo with it shows no more.
 */
import { errors, type OidcContext, type Provider } from 'oidc-provider';
import { SCOPE_CLAIMS } from '../claims.js';
import { TOKEN_EXCHANGE_GRANT, type OidcClientConfig } from '../config.js';
import type { ExtensionContext, OidcOpExtension } from '../extensions.js';

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const PARAMETERS = ['subject_token', 'subject_token_type', 'scope', 'audience', 'resource', 'requested_token_type', 'actor_token', 'actor_token_type'];

/** The claims of `claims` that `scopes` cover (sub always, as every token names its subject). */
function claimsFor(claims: Record<string, unknown>, scopes: string[]): Record<string, unknown> {
  const allowed = new Set(scopes.flatMap((s) => SCOPE_CLAIMS[s] ?? []));
  return Object.fromEntries(Object.entries(claims).filter(([name]) => allowed.has(name)));
}

const param = (ctx: OidcContext, name: string): string | undefined => {
  const value = ctx.oidc?.params?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

async function exchange(provider: Provider, context: ExtensionContext, clients: Map<string, OidcClientConfig>, ctx: OidcContext): Promise<void> {
  const client = ctx.oidc?.client;
  const configured = client ? clients.get(client.clientId) : undefined;
  if (!client || !configured) throw new errors.InvalidClient('client is not configured for token exchange');
  const subjectToken = param(ctx, 'subject_token');
  const subjectTokenType = param(ctx, 'subject_token_type');
  if (!subjectToken || !subjectTokenType) throw new errors.InvalidRequest('subject_token and subject_token_type are required');
  if (subjectTokenType !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
  const requestedType = param(ctx, 'requested_token_type');
  if (requestedType && requestedType !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest(`only ${ACCESS_TOKEN_TYPE} can be issued`);
  if (param(ctx, 'actor_token') || param(ctx, 'actor_token_type')) throw new errors.InvalidRequest('delegation (actor_token) is not supported');
  // The issued token is for the exchanging client itself; fedgate knows no other targets.
  const audience = param(ctx, 'audience');
  if (param(ctx, 'resource')) throw new errors.InvalidTarget('resource indicators are not supported');
  if (audience && audience !== client.clientId) throw new errors.InvalidTarget(`tokens can only be issued for the requesting client ${client.clientId}`);

  // RFC 8693 §2.2.2: a subject token that is invalid, or unacceptable by policy, MUST be invalid_request.
  const subject = await provider.AccessToken.find(subjectToken);
  if (!subject || subject.isExpired || !subject.accountId || !subject.grantId || !subject.clientId) {
    throw new errors.InvalidRequest('subject_token is invalid, expired or revoked');
  }
  const subjectGrant = await provider.Grant.find(subject.grantId);
  const release = await context.releases.get(subject.grantId);
  if (!subjectGrant || !release || release.accountId !== subject.accountId) throw new errors.InvalidRequest('subject_token is no longer valid');
  if (!configured.tokenExchange.from.includes(subject.clientId)) {
    throw new errors.InvalidRequest(`${client.clientId} may not exchange tokens issued to ${subject.clientId}`);
  }

  // No refresh token comes out of an exchange, so offline_access is never grantable here.
  const clientScopes = new Set(configured.scopes.filter((s) => s !== 'offline_access'));
  const grantable = (subject.scope ?? '').split(' ').filter((s) => clientScopes.has(s));
  const requested = param(ctx, 'scope')?.split(' ').filter(Boolean);
  const refused = (requested ?? []).filter((s) => !grantable.includes(s));
  if (refused.length > 0) throw new errors.InvalidScope(`scope not available for this exchange: ${refused.join(' ')}`, refused.join(' '));
  const scopes = [...new Set(requested ?? grantable)];
  if (scopes.length === 0) throw new errors.InvalidScope('the subject token has no scope this client may hold');

  const grant = new provider.Grant({ accountId: subject.accountId, clientId: client.clientId });
  grant.addOIDCScope(scopes.join(' '));
  const grantId = await grant.save();
  await context.releases.save(grantId, { accountId: subject.accountId, claims: claimsFor(release.claims, scopes) });
  const token = new provider.AccessToken({ accountId: subject.accountId, client, grantId, gty: 'token_exchange', scope: scopes.join(' ') });
  // An exchange never outlives the token it came from.
  token.expiresIn = Math.max(1, Math.min(token.expiration, subject.remainingTTL));
  const value = await token.save();
  context.log.info({ client: client.clientId, from: subject.clientId, scope: token.scope }, 'OIDC token exchanged');
  ctx.body = {
    access_token: value,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: token.expiration,
    scope: token.scope,
  };
}

export const tokenExchange: OidcOpExtension = {
  name: 'token-exchange',
  attach(provider, context) {
    const clients = new Map(context.config.clients.filter((c) => c.grantTypes.includes(TOKEN_EXCHANGE_GRANT)).map((c) => [c.clientId, c]));
    provider.registerGrantType(TOKEN_EXCHANGE_GRANT, (ctx) => exchange(provider, context, clients, ctx), PARAMETERS);
  },
};
