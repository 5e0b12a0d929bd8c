/**
 * A downstream SAML SP for tests, built from @node-saml/node-saml: it asks fedgate for a login and
 * validates fedgate's answer with the certificate from fedgate's own metadata, as a real
 * Shibboleth/SimpleSAMLphp SP would.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SAML, ValidateInResponseTo, type CacheItem, type CacheProvider, type Profile } from '@node-saml/node-saml';
import { generateKeyPair } from '../../src/crypto/keys.js';

export interface SpPeerOptions {
  /** Sign AuthnRequests (and publish AuthnRequestsSigned="true"). */
  signRequests?: boolean;
  /** fedgate's signing certificate (PEM or base64), when known in advance: saves a metadata fetch per answer. */
  idpCert?: string;
  /** Require a signed assertion (and publish WantAssertionsSigned="true"); default true. A signed Response is always required. */
  wantAssertionsSigned?: boolean;
}

/** What one AuthnRequest asks for. */
export interface LoginOptions {
  idphint?: string;
  relayState?: string;
  forceAuthn?: boolean;
  passive?: boolean;
  /** RequestedAuthnContext with Comparison="exact". */
  authnContext?: string[];
}

export interface SpPeer {
  entityId: string;
  acsUrl: string;
  metadataXml: string;
  /** The key pair its metadata publishes (signing and encryption), for requests made by hand. */
  keys: { keyPem: string; certPem: string };
  /** URL of fedgate's SSO endpoint carrying a fresh AuthnRequest (HTTP-Redirect binding). */
  loginUrl(options?: LoginOptions): Promise<string>;
  /** The last answer the ACS received: a validated profile or the error node-saml raised. */
  lastResult(): { profile?: Profile | null; error?: Error } | undefined;
  close(): Promise<void>;
}

/** Pulls the first ds:X509Certificate of the IdP's signing key out of fedgate's metadata. */
export function signingCertFromMetadata(xml: string): string {
  const m = /<(?:\w+:)?KeyDescriptor(?![^>]*use="encryption")[^>]*>[\s\S]*?<(?:\w+:)?X509Certificate>([^<]+)</.exec(xml);
  if (!m?.[1]) throw new Error('no signing certificate in metadata');
  return m[1].replace(/\s+/g, '');
}

/** `fedgateUrl` may name a fedgate that is not started yet: its metadata is read when needed. */
export async function startSpPeer(fedgateUrl: string, options: SpPeerOptions = {}): Promise<SpPeer> {
  const keys = await generateKeyPair('test-sp');
  // Unless given, read from fedgate's metadata on each validation, so the peer can exist before fedgate starts.
  const idpCert = options.idpCert ?? ((done: (err: Error | null, cert?: string) => void) => {
    fetch(`${fedgateUrl}/saml/idp/metadata`)
      .then((res) => res.text())
      .then((xml) => done(null, signingCertFromMetadata(xml)), done);
  });
  let result: { profile?: Profile | null; error?: Error } | undefined;

  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(body));
      saml
        .validatePostResponseAsync(form)
        .then(({ profile }) => {
          result = { profile };
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, profile }));
        })
        .catch((error: Error) => {
          result = { error };
          res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error: error.message }));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const entityId = `${base}/metadata`;
  const acsUrl = `${base}/acs`;

  // One InResponseTo cache for every request variant, so any of them validates the answer.
  const pending = new Map<string, CacheItem>();
  const cacheProvider: CacheProvider = {
    saveAsync: async (key, value) => {
      const item = { value, createdAt: Date.now() };
      pending.set(key, item);
      return item;
    },
    getAsync: async (key) => pending.get(key)?.value ?? null,
    removeAsync: async (key) => {
      const value = key === null ? null : (pending.get(key)?.value ?? null);
      if (key !== null) pending.delete(key);
      return value;
    },
  };
  const samlFor = (login: LoginOptions) => new SAML({
    issuer: entityId,
    callbackUrl: acsUrl,
    entryPoint: `${fedgateUrl}/saml/idp/sso`,
    idpCert,
    idpIssuer: `${fedgateUrl}/saml/idp/metadata`,
    audience: entityId,
    privateKey: options.signRequests ? keys.keyPem : undefined,
    publicCert: keys.certPem,
    decryptionPvk: keys.keyPem,
    signatureAlgorithm: 'sha256',
    wantAssertionsSigned: options.wantAssertionsSigned ?? true,
    wantAuthnResponseSigned: true,
    validateInResponseTo: ValidateInResponseTo.always,
    cacheProvider,
    acceptedClockSkewMs: 5000,
    identifierFormat: null,
    forceAuthn: login.forceAuthn ?? false,
    passive: login.passive ?? false,
    ...(login.authnContext ? { authnContext: login.authnContext, racComparison: 'exact' as const } : { disableRequestedAuthnContext: true }),
  });
  const saml = samlFor({});
  // node-saml publishes AuthnRequestsSigned="true" itself when it has a key to sign with.
  const metadataXml = saml.generateServiceProviderMetadata(keys.certPem, keys.certPem);

  return {
    entityId,
    acsUrl,
    metadataXml,
    keys,
    async loginUrl(login = {}) {
      const url = new URL(await samlFor(login).getAuthorizeUrlAsync(login.relayState ?? '', undefined, {}));
      if (login.idphint) url.searchParams.set('idphint', login.idphint);
      return url.toString();
    },
    lastResult: () => result,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
