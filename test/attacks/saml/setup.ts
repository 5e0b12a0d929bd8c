/**
 * The parties every corpus case is played against: real fedgate instances (buildApp on loopback)
 * with two upstream samlify IdPs and two downstream node-saml SPs (one that must sign its
 * requests), and how a case's outcome is read: the HTTP status, the error page's user message and
 * reference, and the `code` of the log line carrying that reference.
 */
import { createSign, randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import type { Test } from 'tap';
import { escapeHtml } from '../../../src/http/html.js';
import { SAML_NS } from '../../../src/xml/untrusted.js';
import { Browser, type Page } from '../../helpers/browser.js';
import { startFedgate, tempDir, writeMetadata, type RunningFedgate } from '../../helpers/fedgate.js';
import { capturingLogger, type LogLine } from '../../helpers/log-lines.js';
import { freePort } from '../../helpers/ports.js';
import { startHomeIdpPeer, startSamlIdpPeer, type SamlIdpPeer } from '../../helpers/saml-idp-peer.js';
import { startSpPeer, type SpPeer } from '../../helpers/saml-sp-peer.js';
import { errorClass, type PreparedMessage, type Refusal } from './corpus.js';

export const OID = {
  eppn: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6',
  mail: 'urn:oid:0.9.2342.19200300.100.1.3',
  displayName: 'urn:oid:2.16.840.1.113730.3.1.241',
};

/** Small on purpose, so that the oversized cases stay cheap; the schema default is 256 KiB. */
export const BODY_LIMIT_BYTES = 64 * 1024;

export const HOME_USER = {
  nameId: 'alice-opaque-1',
  attributes: { [OID.eppn]: ['alice@example.org'], [OID.mail]: ['alice@example.org'], [OID.displayName]: ['Alice Liddell'] },
};

export interface World {
  /** Instances sharing one store, all answering as the first one's URL. */
  fedgates: RunningFedgate[];
  url: string;
  /** The upstream logins start at, and a second one. */
  idps: [SamlIdpPeer, SamlIdpPeer];
  /** A service that may send unsigned requests, and one whose metadata says AuthnRequestsSigned. */
  sps: { open: SpPeer; signed: SpPeer };
  /** Every log line of every instance. */
  lines: LogLine[];
}

/** `store` as in configuration; with more than one instance it must be shared (Redis). */
export async function startWorld(t: Test, options: { instances?: number; store?: Record<string, unknown> } = {}): Promise<World> {
  const dir = tempDir();
  const ports = await Promise.all(Array.from({ length: options.instances ?? 1 }, () => freePort()));
  const url = `http://127.0.0.1:${ports[0]}`;
  const [open, signed, home, other] = await Promise.all([
    startSpPeer(url),
    startSpPeer(url, { signRequests: true }),
    startHomeIdpPeer(HOME_USER.attributes),
    startSamlIdpPeer({ name: 'other', displayName: 'Other Institute', scope: 'other.example' }),
  ]);
  const lines: LogLine[] = [];
  const config = {
    dataDir: tempDir(),
    store: options.store ?? { type: 'memory' },
    // The corpus sends a few hundred login requests from one address within seconds.
    operations: { rateLimits: { enabled: false } },
    frontends: { saml: { sps: [open, signed].map((sp, i) => ({ metadata: writeMetadata(dir, `sp${i}.xml`, sp.metadataXml) })) } },
    backends: { saml: { idps: [home, other].map((idp, i) => ({ metadata: writeMetadata(dir, `idp${i}.xml`, idp.metadataXml) })) } },
  };
  const fedgates: RunningFedgate[] = [];
  t.teardown(async () => {
    await Promise.all([...fedgates.map((f) => f.close()), open.close(), signed.close(), home.close(), other.close()]);
  });
  for (const port of ports) {
    fedgates.push(await startFedgate({ ...config, server: { baseUrl: url, port, bodyLimitBytes: BODY_LIMIT_BYTES } }, { logger: capturingLogger(lines) }));
  }
  const spMetadata = await (await fetch(`${url}/saml/sp/metadata`)).text();
  home.trustServiceProvider(spMetadata);
  other.trustServiceProvider(spMetadata);
  return { fedgates, url, idps: [home, other], sps: { open, signed }, lines };
}

/** `url` of the first instance, sent to `instance` instead (as a load balancer might). */
export function via(world: World, url: string, instance: RunningFedgate): string {
  return url.replace(world.url, instance.url);
}

export function postForm(browser: Browser, url: string, fields: Record<string, string>): Promise<Page> {
  return browser.fetchRaw(url, {
    method: 'POST',
    body: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}

/**
 * A whole login, SP → fedgate → IdP → fedgate → SP, that must succeed: after every case, to show
 * the case neither crashed the process nor left it unable to serve.
 */
export async function assertStillServes(t: Test, world: World): Promise<void> {
  const { open } = world.sps;
  const page = await new Browser().get(await open.loginUrl({ idphint: world.idps[0].entityId }));
  t.equal(page.status, 200, 'a valid login still succeeds afterwards');
  t.same(open.lastResult()?.profile?.[OID.eppn], HOME_USER.attributes[OID.eppn]![0], 'and the service got the identity');
}

/** The error page of `page` names the error class `expect.error`, and so does the log line with the page's reference. */
export function assertRefused(t: Test, world: World, page: Page, expect: Refusal): void {
  const Class = errorClass(expect.error)!;
  const sample = new Class('', '');
  t.equal(page.status, expect.status, `HTTP ${expect.status}`);
  t.ok(page.body.includes(escapeHtml(sample.userMessage)), `the page shows the ${expect.error} message`);
  t.notOk(page.body.includes('auto-post'), 'nothing is posted onwards');
  const ref = /<code>([A-Z0-9]+)<\/code>/.exec(page.body)?.[1];
  const logged = world.lines.filter((l) => l.ref === ref && typeof l.code === 'string');
  t.ok(ref && logged.length > 0, `a log line carries the page's reference ${ref}`);
  t.same(
    [...new Set(logged.map((l) => l.code))],
    [sample.code],
    `logged as ${sample.code}: ${logged.map((l) => l.reason).join('; ')}`,
  );
}

// ---- Downstream messages ----

const SIG_HASHES: Record<string, string> = {
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1': 'sha1',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384': 'sha384',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'sha512',
};

/** A fresh AuthnRequest from `sp` to fedgate, as a Shibboleth SP would send it. */
export function authnRequestXml(sp: SpPeer, ssoUrl: string): string {
  return (
    `<samlp:AuthnRequest xmlns:samlp="${SAML_NS.samlp}" xmlns:saml="${SAML_NS.saml}" ID="_${randomBytes(16).toString('hex')}" Version="2.0" ` +
    `IssueInstant="${new Date().toISOString()}" Destination="${ssoUrl}" AssertionConsumerServiceURL="${sp.acsUrl}" ` +
    `ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>${sp.entityId}</saml:Issuer>` +
    `<samlp:NameIDPolicy AllowCreate="true"/></samlp:AuthnRequest>`
  );
}

/** The HTTP-Redirect binding URL of `message` (SAML bindings §3.4.4.1), signed when it says so. */
export function redirectUrl(ssoUrl: string, message: PreparedMessage, relayState: string): string {
  const params = new Map<string, string>([
    ['SAMLRequest', encodeURIComponent(deflateRawSync(Buffer.from(message.xml, 'utf8')).toString('base64'))],
    ['RelayState', encodeURIComponent(relayState)],
  ]);
  const signature = message.redirectSignature;
  if (signature) {
    const hash = SIG_HASHES[signature.algorithm];
    if (!hash) throw new Error(`the corpus cannot sign a Redirect query with ${signature.algorithm}; set SigAlg with set-query-param instead`);
    params.set('SigAlg', encodeURIComponent(signature.algorithm));
    const octets = [...params].map(([k, v]) => `${k}=${v}`).join('&');
    params.set('Signature', encodeURIComponent(createSign(hash).update(octets).sign(signature.key.keyPem, 'base64')));
  }
  for (const [name, value] of Object.entries(message.query)) {
    if (value === null) params.delete(name);
    else params.set(name, encodeURIComponent(value));
  }
  return `${ssoUrl}?${[...params].map(([k, v]) => `${k}=${v}`).join('&')}`;
}
