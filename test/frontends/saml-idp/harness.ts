/**
 * A fedgate with only the SAML IdP frontend, over real HTTP on loopback: the real LoginFlow,
 * MemoryStore and SessionManager, a pass-through pipeline, and as upstream a test double whose
 * login succeeds at once with a chosen Identity. Downstream SPs are real @node-saml/node-saml
 * instances whose metadata is parsed into the SP index like any configured metadata.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import { SAML, type Profile, type SamlConfig } from '@node-saml/node-saml';
import Fastify, { type FastifyInstance } from 'fastify';
import { parseConfig } from '../../../src/config/load.js';
import type { UpstreamRegistration } from '../../../src/core/registration.js';
import type { Config } from '../../../src/config/schema.js';
import { LoginFlow, type Backend, type PendingLogin } from '../../../src/core/flow.js';
import type { Identity } from '../../../src/core/model.js';
import { certBody, generateKeyPair } from '../../../src/crypto/keys.js';
import { SamlIdpFrontend } from '../../../src/frontends/saml-idp/frontend.js';
import { registerErrorHandling } from '../../../src/http/errors.js';
import { EntityIndex } from '../../../src/metadata/entity-index.js';
import { parseMetadata } from '../../../src/metadata/parse.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { parseForms, type Page } from '../../helpers/browser.js';
import { testLoginFlow } from '../../helpers/flow.js';
import { freePort } from '../../helpers/ports.js';

export const UPSTREAM = 'https://upstream.example.org/idp';
export const OTHER_UPSTREAM = 'https://other.example.org/idp';

export function identity(overrides: Partial<Identity> = {}): Identity {
  return {
    issuer: UPSTREAM,
    protocol: 'saml',
    subject: { id: 'u-123', format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' },
    attributes: {
      eduPersonPrincipalName: ['alice@example.org'],
      displayName: ['Alice Example'],
      mail: ['alice@example.org'],
      eduPersonEntitlement: ['urn:mace:example.org:a', 'urn:mace:example.org:b', `odd <&"'> value`],
      unmappedThing: ['never sent'],
    },
    authn: { instant: new Date(Date.now() - 1000).toISOString(), contextClassRefs: ['urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport'] },
    ...overrides,
  };
}

/** The upstream test double: logs in immediately with `identity`, remembering which upstream it was sent to. */
class InstantBackend implements Backend {
  readonly name = 'test';
  identity: Identity = identity();
  upstreamIds = [UPSTREAM];
  chosen: string[] = [];
  flow!: LoginFlow;

  upstreams(): UpstreamRegistration[] {
    return this.upstreamIds.flatMap((id) => this.upstream(id) ?? []);
  }

  upstream(id: string): UpstreamRegistration | undefined {
    if (!this.upstreamIds.includes(id)) return undefined;
    return { id, backend: this.name, displayName: { en: id }, hidden: false, protocol: 'saml', social: false, scopes: [], entityAttributes: {} };
  }

  async startLogin(login: PendingLogin, upstreamId: string, reply: import('fastify').FastifyReply): Promise<void> {
    this.chosen.push(upstreamId);
    await this.flow.finish(login.id, { ...this.identity, issuer: upstreamId }, reply.request, reply);
  }
}

export interface SpSpec {
  /** Sign AuthnRequests (node-saml privateKey). */
  sign?: boolean;
  /** Publish AuthnRequestsSigned="true". */
  requireSigned?: boolean;
  /** Publish WantAssertionsSigned="true" (default: as node-saml's wantAssertionsSigned, true unless overridden). */
  wantAssertionsSigned?: boolean;
  binding?: 'redirect' | 'post';
  /** Extra ACS endpoints published besides the one node-saml uses. */
  extraAcs?: { binding: string; location: string; index: number; isDefault?: boolean }[];
  /** Options of the configured source (frontends.saml.sps[i]). */
  source?: Record<string, unknown>;
  /** Overrides of node-saml's options. */
  saml?: Partial<SamlConfig>;
  /** Left out of the SP index (an unknown SP). */
  unregistered?: boolean;
}

export interface TestSp {
  entityId: string;
  acsUrl: string;
  saml: SAML;
  keys: { keyPem: string; certPem: string };
  /** A node-saml SP with the same identity but other options (e.g. another ACS URL). */
  variant(overrides: Partial<SamlConfig>): SAML;
}

export interface Harness {
  url: string;
  config: Config;
  frontend: SamlIdpFrontend;
  backend: InstantBackend;
  sps: TestSp[];
  close(): Promise<void>;
}

const silentLog = { info() {}, warn() {} };

/** RSA key generation dominates a harness's start; one process reuses its keys across tests. */
const keyCache = new Map<string, Promise<{ keyPem: string; certPem: string }>>();
function keysFor(name: string): Promise<{ keyPem: string; certPem: string }> {
  let keys = keyCache.get(name);
  if (!keys) keyCache.set(name, (keys = generateKeyPair(name)));
  return keys;
}

function spMetadata(
  entityId: string,
  certPem: string,
  acs: { binding: string; location: string; index: number; isDefault?: boolean }[],
  signed: boolean,
  wantAssertionsSigned: boolean,
): string {
  const cert = certBody(certPem);
  const key = (use: string) => `<md:KeyDescriptor use="${use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
  return (
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" entityID="${entityId}">` +
    `<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="${signed}" WantAssertionsSigned="${wantAssertionsSigned}">` +
    `<md:Extensions><mdui:UIInfo><mdui:DisplayName xml:lang="en">Test SP ${entityId}</mdui:DisplayName></mdui:UIInfo></md:Extensions>` +
    key('signing') +
    key('encryption') +
    acs
      .map((a) => `<md:AssertionConsumerService Binding="${a.binding}" Location="${a.location}" index="${a.index}"${a.isDefault ? ' isDefault="true"' : ''}/>`)
      .join('') +
    '</md:SPSSODescriptor></md:EntityDescriptor>'
  );
}

export async function startHarness(specs: SpSpec[], configOverrides: { saml?: Record<string, unknown>; frontend?: Record<string, unknown> } = {}): Promise<Harness> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'fedgate-saml-idp-'));
  const signing = await keysFor('fedgate-test-idp');

  const prepared = await Promise.all(
    specs.map(async (spec, i) => {
      const keys = await keysFor(`sp-${i}`);
      const entityId = `https://sp${i}.example.org/shibboleth`;
      const acsUrl = `https://sp${i}.example.org/Shibboleth.sso/SAML2/POST`;
      const acs = [{ binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', location: acsUrl, index: 1, isDefault: true }, ...(spec.extraAcs ?? [])];
      const path = join(dir, `sp${i}.xml`);
      writeFileSync(path, spMetadata(entityId, keys.certPem, acs, spec.requireSigned ?? false, spec.wantAssertionsSigned ?? spec.saml?.wantAssertionsSigned ?? true));
      return { spec, keys, entityId, acsUrl, path };
    }),
  );

  const config = parseConfig({
    dataDir: dir,
    logging: { level: 'silent' },
    server: { baseUrl: url, port },
    saml: configOverrides.saml ?? {},
    frontends: {
      saml: {
        displayName: { en: 'fedgate test IdP' },
        technicalContact: 'ops@example.org',
        ...configOverrides.frontend,
        sps: prepared.map((p) => ({ metadata: p.path, ...p.spec.source })),
      },
    },
  });

  const sps = await EntityIndex.load([], { log: silentLog });
  for (const p of prepared) {
    if (!p.spec.unregistered) sps.addRecords(p.path, parseMetadata(readFileSync(p.path, 'utf8'), p.path).records);
  }
  const frontend = new SamlIdpFrontend({ config, signing, sps, identifierSalt: 'test-salt' });
  const idpCert = certBody(signing.certPem);

  const store = new MemoryStore();
  const backend = new InstantBackend();
  const flow = testLoginFlow(store, { frontends: [frontend], backends: [backend], flowTtlMs: 600_000 });
  backend.flow = flow;

  const app: FastifyInstance = Fastify({ logger: false });
  await app.register(cookie);
  await app.register(formbody);
  registerErrorHandling(app);
  frontend.register(app, flow);
  await app.listen({ host: '127.0.0.1', port });

  const testSps: TestSp[] = prepared.map((p) => {
    const base: SamlConfig = {
      issuer: p.entityId,
      callbackUrl: p.acsUrl,
      entryPoint: frontend.ssoUrl,
      idpCert,
      idpIssuer: frontend.entityId,
      audience: p.entityId,
      privateKey: p.spec.sign ? p.keys.keyPem : undefined,
      decryptionPvk: p.keys.keyPem,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: true,
      validateInResponseTo: 'always' as never,
      acceptedClockSkewMs: 5000,
      identifierFormat: null,
      disableRequestedAuthnContext: true,
      authnRequestBinding: p.spec.binding === 'post' ? 'HTTP-POST' : 'HTTP-Redirect',
      // The HTTP-POST binding carries plain base64; node-saml deflates unless told not to.
      skipRequestCompression: p.spec.binding === 'post',
      ...p.spec.saml,
    };
    const saml = new SAML(base);
    return {
      entityId: p.entityId,
      acsUrl: p.acsUrl,
      saml,
      keys: p.keys,
      variant: (overrides) => new SAML({ ...base, ...overrides }),
    };
  });

  return {
    url,
    config,
    frontend,
    backend,
    sps: testSps,
    async close() {
      await app.close();
      await store.close();
      sps.stop();
    },
  };
}

/** The auto-POST form on an answer page: where it posts and what. */
export function postedForm(page: Page): { action: string; fields: Record<string, string> } | undefined {
  const form = parseForms(page).find((f) => (f as { id?: string }).id === 'auto-post');
  return form ? { action: form.action, fields: form.fields } : undefined;
}

/** The HTTP-POST binding form node-saml renders, as fields to post to fedgate. */
export async function postBindingRequest(saml: SAML, relayState = ''): Promise<{ action: string; fields: Record<string, string> }> {
  const formHtml = await saml.getAuthorizeFormAsync(relayState, undefined);
  const form = parseForms({ url: 'http://127.0.0.1/', status: 200, headers: new Headers(), body: formHtml })[0];
  if (!form) throw new Error(`node-saml rendered no form:\n${formHtml}`);
  return { action: form.action, fields: form.fields };
}

/** node-saml's attributes of a profile, by SAML Name. */
export function attributesOf(profile: Profile | null | undefined): Record<string, unknown> {
  return (profile?.attributes ?? {}) as Record<string, unknown>;
}

/** The decoded XML of a base64 SAMLResponse. */
export function responseXml(samlResponse: string): string {
  return Buffer.from(samlResponse, 'base64').toString('utf8');
}

export interface CraftOptions {
  acsIndex?: number;
  acsUrl?: string;
  /** null leaves Destination out. */
  destination?: string | null;
  issueInstant?: string;
  /** The whole request XML, instead of one built from the options. */
  xml?: string;
}

/** A hand-made AuthnRequest from `sp` as an HTTP-Redirect URL, for what node-saml will not send. */
export function craftRequest(h: Harness, sp: { entityId: string }, o: CraftOptions = {}): string {
  const attrs = [
    `ID="_${randomBytes(8).toString('hex')}"`,
    'Version="2.0"',
    `IssueInstant="${o.issueInstant ?? new Date().toISOString()}"`,
    o.destination === null ? '' : `Destination="${o.destination ?? h.frontend.ssoUrl}"`,
    o.acsIndex === undefined ? '' : `AssertionConsumerServiceIndex="${o.acsIndex}"`,
    o.acsUrl === undefined ? '' : `AssertionConsumerServiceURL="${o.acsUrl}"`,
  ].filter(Boolean);
  const xml =
    o.xml ??
    `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ${attrs.join(' ')}><saml:Issuer>${sp.entityId}</saml:Issuer></samlp:AuthnRequest>`;
  return redirectUrl(h, deflateRawSync(Buffer.from(xml, 'utf8')));
}

export function redirectUrl(h: Harness, deflated: Buffer, extra = ''): string {
  return `${h.frontend.ssoUrl}?SAMLRequest=${encodeURIComponent(deflated.toString('base64'))}${extra}`;
}
