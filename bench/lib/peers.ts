/**
 * Everything around fedgate in a benchmark, played by the driver process (except the social
 * upstream, which has its own): a downstream SAML SP (node-saml), an upstream SAML IdP (samlify),
 * an OIDC relying party (openid-client) and an upstream OpenID Provider (oidc-provider, own
 * process). `config` wires them into a fedgate configuration the caller may add to before writing it.
 *
 * Two crypto profiles, both valid SAML2int deployments:
 * - lean (default): fedgate sends unsigned AuthnRequests (SAML2int leaves signing them to the SP),
 *   the IdP signs its Response and does not encrypt (the IdP's choice), and fedgate signs only the
 *   Response it sends (SAML2int requires the Response signed; the SP's metadata does not ask for
 *   signed assertions). One RSA private-key operation per SAML login: the figure issue #7 assumes.
 * - full: signed AuthnRequests, an IdP that signs Response and assertion and encrypts the
 *   assertion (as a Shibboleth IdP may), and fedgate signing both and encrypting to the SP.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import * as oidc from 'openid-client';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { tempDir, writeMetadata } from '../../test/helpers/fedgate.js';
import { rpClient, startRpPeer, type RpPeer } from '../../test/helpers/oidc-rp.js';
import { freePort } from '../../test/helpers/ports.js';
import { startHomeIdpPeer, type SamlIdpPeer } from '../../test/helpers/saml-idp-peer.js';
import { startSpPeer, type SpPeer } from '../../test/helpers/saml-sp-peer.js';
import { startHelperProcess } from './helper-process.js';
import type { OpProcessArgs } from './op-process.js';

const OID = {
  eppn: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6',
  mail: 'urn:oid:0.9.2342.19200300.100.1.3',
  displayName: 'urn:oid:2.16.840.1.113730.3.1.241',
  givenName: 'urn:oid:2.5.4.42',
  sn: 'urn:oid:2.5.4.4',
  entitlement: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.7',
  affiliation: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.9',
};

export const RP_CLIENT_ID = 'bench-rp';
const RP_SECRET = 'bench-rp-secret-0123456789';
export const RP_SCOPE = 'openid profile email eduperson_entitlement';
const OP_CLIENT_ID = 'fedgate';
const OP_SECRET = 'bench-op-secret-0123456789';
export const SOCIAL_ID = 'social';

export const CRYPTO_PROFILES = ['lean', 'full'] as const;
export type CryptoProfile = (typeof CRYPTO_PROFILES)[number];

export interface BenchPeersOptions {
  /** fedgate's store: memory (default) or Redis at this URL. */
  redisUrl?: string;
  /** Which signatures and encryption the peers and fedgate use (default lean). */
  crypto?: CryptoProfile;
}

export interface OpProcess {
  issuer: string;
  pid: number;
  close(): Promise<void>;
}

export interface BenchPeers {
  /** Where fedgate will listen (its port is chosen before it starts, so peers know its URLs). */
  fedgateUrl: string;
  /** A temporary folder holding the metadata files, keys and the data folder; removed by `close`. */
  dir: string;
  sp: SpPeer;
  idp: SamlIdpPeer;
  rp: RpPeer;
  op: OpProcess;
  /**
   * fedgate's configuration as YAML would hold it, wiring every peer: rate limits off, logging at
   * warn, demo off. A fresh object each call; add to it, then `writeConfig` it.
   */
  config(): Record<string, unknown>;
  /** Once fedgate is ready: the IdP trusts fedgate's SP metadata and the RP discovers fedgate's OP. */
  connect(): Promise<void>;
  /** openid-client's view of fedgate's OP for the bench client (after `connect`). */
  client(): oidc.Configuration;
  /** Stops the peers, deletes what a Redis run stored and the folder; stop fedgate first. */
  close(): Promise<void>;
}

/** Forks op-process.ts and waits for its issuer. */
async function startOpProcess(args: OpProcessArgs): Promise<OpProcess> {
  const op = await startHelperProcess<{ issuer: string }>(new URL('./op-process.ts', import.meta.url), [JSON.stringify(args)], 'the upstream OP process');
  return { issuer: op.ready.issuer, pid: op.pid, close: op.close };
}

/** What a Redis run left behind (sessions, replay caches): the bench's own prefix only. */
async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export async function startBenchPeers(options: BenchPeersOptions = {}): Promise<BenchPeers> {
  const full = options.crypto === 'full';
  const dir = tempDir('fedgate-bench-');
  const port = await freePort();
  const fedgateUrl = `http://127.0.0.1:${port}`;

  // fedgate's signing key is made here, so the SP can be given its certificate instead of fetching metadata per answer.
  const signing = await generateKeyPair('fedgate bench');
  mkdirSync(join(dir, 'keys'));
  const signingKey = join(dir, 'keys', 'signing.key');
  const signingCert = join(dir, 'keys', 'signing.crt');
  writeFileSync(signingKey, signing.keyPem, { mode: 0o600 });
  writeFileSync(signingCert, signing.certPem);

  const [sp, idp, rp, op] = await Promise.all([
    startSpPeer(fedgateUrl, { idpCert: signing.certPem, wantAssertionsSigned: full }),
    startHomeIdpPeer(
      {
        [OID.eppn]: ['alice@example.org'],
        [OID.mail]: ['alice@example.org'],
        [OID.displayName]: ['Alice Liddell'],
        [OID.givenName]: ['Alice'],
        [OID.sn]: ['Liddell'],
        [OID.entitlement]: ['urn:geant:example.org:group:physics#example.org', 'urn:geant:example.org:group:physics:detector#example.org'],
        [OID.affiliation]: ['member@example.org', 'staff@example.org'],
      },
      { response: full ? { encrypt: true } : { signResponse: true, signAssertion: false, encrypt: false } },
    ),
    startRpPeer(),
    startOpProcess({ clientId: OP_CLIENT_ID, clientSecret: OP_SECRET, redirectUri: `${fedgateUrl}/oidc/rp/callback/${SOCIAL_ID}` }),
  ]);
  const keyPrefix = `fedgate-bench-${port}:`;
  const spMetadata = writeMetadata(dir, 'sp.xml', sp.metadataXml);
  const idpMetadata = writeMetadata(dir, 'idp.xml', idp.metadataXml);
  let client: oidc.Configuration | undefined;

  return {
    fedgateUrl,
    dir,
    sp,
    idp,
    rp,
    op,
    config: () => ({
      server: { baseUrl: fedgateUrl, host: '127.0.0.1', port },
      dataDir: join(dir, 'data'),
      logging: { level: 'warn' },
      store: options.redisUrl ? { type: 'redis', url: options.redisUrl, keyPrefix } : { type: 'memory' },
      keys: { signing: { key: signingKey, cert: signingCert } },
      operations: { rateLimits: { enabled: false } },
      demo: { enabled: false },
      frontends: {
        saml: { sps: [{ metadata: spMetadata, signResponse: true, signAssertion: full, encryptAssertion: full }] },
        oidc: {
          enabled: true,
          clients: [{ clientId: RP_CLIENT_ID, clientSecret: RP_SECRET, name: 'Bench RP', redirectUris: [rp.redirectUri], scopes: RP_SCOPE.split(' ') }],
        },
      },
      backends: {
        saml: { signAuthnRequests: full, idps: [{ metadata: idpMetadata }] },
        oidc: {
          providers: [{ id: SOCIAL_ID, issuer: op.issuer, clientId: OP_CLIENT_ID, clientSecret: OP_SECRET, displayName: { en: 'Social Login' }, social: true }],
        },
      },
      pipeline: [
        { filter: 'scope-check' },
        { filter: 'community-id' },
        { filter: 'assurance' },
        { filter: 'release-policy', services: { [sp.entityId]: { allow: ['*'] } } },
      ],
    }),
    async connect() {
      const res = await fetch(`${fedgateUrl}/saml/sp/metadata`);
      if (!res.ok) throw new Error(`fedgate's SP metadata: HTTP ${res.status}`);
      idp.trustServiceProvider(await res.text());
      client = await rpClient(`${fedgateUrl}/oidc`, RP_CLIENT_ID, RP_SECRET);
    },
    client() {
      if (!client) throw new Error('call connect() once fedgate is ready');
      return client;
    },
    async close() {
      await Promise.all([sp.close(), idp.close(), rp.close(), op.close()]);
      if (options.redisUrl) await deleteKeys(options.redisUrl, keyPrefix);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
