/**
 * A SAML IdP (samlify) upstream of a fedgate whose OpenID Provider knows a few clients, and an
 * openid-client relying party for them: the parts of the OIDC frontend's end-to-end tests.
 */
import type * as oidc from 'openid-client';
import type { Test } from 'tap';
import { REDIS_URL, startFedgate, tempDir, writeMetadata, type RunningFedgate } from '../../helpers/fedgate.js';
import { rpClient, startRpPeer, type RpPeer } from '../../helpers/oidc-rp.js';
import { startHomeIdpPeer, type SamlIdpPeer } from '../../helpers/saml-idp-peer.js';

const OID = {
  eppn: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6',
  mail: 'urn:oid:0.9.2342.19200300.100.1.3',
  verifiedEmail: 'urn:oid:1.3.6.1.4.1.25178.4.1.14',
  displayName: 'urn:oid:2.16.840.1.113730.3.1.241',
  givenName: 'urn:oid:2.5.4.42',
  sn: 'urn:oid:2.5.4.4',
  entitlement: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.7',
  affiliation: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.9',
};

export const ENTITLEMENTS = ['urn:geant:example.org:group:physics#example.org', 'urn:geant:example.org:group:physics:detector#example.org'];
export const SECRET = 'rp-secret-0123456789';
export const RS_SECRET = 'rs-secret-0123456789';
export const SCOPE = 'openid profile email eduperson_entitlement voperson_id offline_access';

export const redisSkip =
  process.env.FEDGATE_REDIS_AVAILABLE === '0' ? `Redis not reachable at ${REDIS_URL}: set REDIS_URL to run the Redis-backed tests` : false;

export interface Setup {
  fedgate: RunningFedgate;
  issuer: string;
  rp: RpPeer;
  idp: SamlIdpPeer;
  /** The confidential client "rp" (client_secret_basic). */
  client: oidc.Configuration;
}

/** The clients every setup has, at the RP peer's redirect URI. */
export function defaultClients(rp: RpPeer): Record<string, unknown>[] {
  return [
    {
      clientId: 'rp',
      clientSecret: SECRET,
      name: 'Test RP',
      redirectUris: [rp.redirectUri],
      postLogoutRedirectUris: [rp.postLogoutRedirectUri],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: SCOPE.split(' '),
    },
    { clientId: 'other-rp', clientSecret: 'other-secret-0123', redirectUris: [rp.redirectUri], scopes: ['openid'] },
    { clientId: 'public-rp', redirectUris: [rp.redirectUri], scopes: ['openid', 'profile'] },
    { clientId: 'pairwise-rp', clientSecret: 'pairwise-secret-01', redirectUris: [rp.redirectUri], scopes: ['openid'], subjectType: 'pairwise' },
  ];
}

type Overrides = Record<string, unknown> | ((rp: RpPeer) => Record<string, unknown>);

/**
 * One upstream SAML IdP, fedgate with community-id and release-policy, and the RP's clients.
 * `oidcOverrides` replace parts of `frontends.oidc` (a function gets the RP peer, for its URIs);
 * `fedgateOverrides` parts of the whole configuration (store aside).
 */
export async function setup(t: Test, store: Record<string, unknown>, oidcOverrides: Overrides = {}, fedgateOverrides: Record<string, unknown> = {}): Promise<Setup> {
  const rp = await startRpPeer();
  const idp = await startHomeIdpPeer({
    [OID.eppn]: ['alice@example.org'],
    [OID.mail]: ['alice@example.org', 'a.liddell@example.org'],
    [OID.verifiedEmail]: ['alice@example.org'],
    [OID.displayName]: ['Alice Liddell'],
    [OID.givenName]: ['Alice'],
    [OID.sn]: ['Liddell'],
    [OID.entitlement]: ENTITLEMENTS,
    [OID.affiliation]: ['member@example.org', 'staff@example.org'],
  });
  const dir = tempDir();
  const fedgate = await startFedgate({
    store,
    backends: { saml: { idps: [{ metadata: writeMetadata(dir, 'idp.xml', idp.metadataXml) }] } },
    pipeline: [{ filter: 'community-id' }, { filter: 'release-policy' }],
    frontends: {
      oidc: {
        enabled: true,
        clients: defaultClients(rp),
        resourceServers: [{ id: 'rs', secret: RS_SECRET }],
        ...(typeof oidcOverrides === 'function' ? oidcOverrides(rp) : oidcOverrides),
      },
    },
    ...fedgateOverrides,
  });
  const spMetadata = await (await fetch(`${fedgate.url}/saml/sp/metadata`)).text();
  idp.trustServiceProvider(spMetadata);
  t.teardown(async () => {
    await Promise.all([fedgate.close(), rp.close(), idp.close()]);
  });
  const issuer = `${fedgate.url}/oidc`;
  return { fedgate, issuer, rp, idp, client: await rpClient(issuer, 'rp', SECRET) };
}

/** The OAuth error code of a rejected openid-client call (from the body, or from a 401's WWW-Authenticate). */
export async function oauthError(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    const challenges = (err as { cause?: unknown }).cause;
    if (Array.isArray(challenges)) return (challenges[0] as { parameters?: { error?: string } }).parameters?.error;
    return (err as { error?: string }).error ?? (err as { code?: string }).code;
  }
  return undefined;
}

