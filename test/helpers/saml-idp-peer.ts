/**
 * An upstream SAML IdP for tests, built on samlify and served over loopback HTTP: it publishes its
 * metadata, takes fedgate's AuthnRequests at its HTTP-Redirect SSO endpoint (checking their
 * signature against the SP's metadata), and answers with an auto-POST form to the SP's ACS.
 *
 * Every response can be varied: which parts are signed, encryption, any template value, a status
 * instead of an assertion, a signing key the metadata does not publish, and a final `tamper` that
 * rewrites the finished XML (after signing and encryption), for the bad cases.
 */
import { createVerify, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import samlify from 'samlify';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { autoPostPage } from '../../src/http/html.js';

export interface PeerKeyPair {
  keyPem: string;
  certPem: string;
}

export interface PeerUser {
  /** null: no NameID at all (SAML2int SP13). */
  nameId: string | null;
  nameIdFormat?: string;
  /** SAML attribute Name → values, each sent as its own AttributeValue. */
  attributes: Record<string, string[]>;
  /** Attribute elements written as given, e.g. values that are not plain strings. */
  rawAttributes?: string;
}

/** Values of the response template; `null` leaves the XML attribute out. */
export interface ResponseValues {
  Issuer: string;
  AssertionIssuer: string;
  Destination: string | null;
  InResponseTo: string | null;
  SubjectInResponseTo: string | null;
  Recipient: string | null;
  Audience: string;
  IssueInstant: string;
  NotBefore: string;
  NotOnOrAfter: string;
  SubjectNotOnOrAfter: string;
  AuthnInstant: string;
  AuthnContextClassRef: string;
  SessionIndex: string;
}

export interface ResponseOptions {
  /** Sign the Response element (default true). */
  signResponse?: boolean;
  /** Sign the Assertion (default true). */
  signAssertion?: boolean;
  /** Encrypt the assertion to the SP's encryption key (default false). */
  encrypt?: boolean;
  /** Block cipher for encryption (default aes256-gcm). */
  dataEncryptionAlgorithm?: string;
  /** Answer with this status and no assertion. */
  status?: { top: string; second?: string; message?: string };
  values?: Partial<ResponseValues>;
  /** Sign with this key instead of the one in the metadata. */
  signingKey?: PeerKeyPair;
  /** XML signature algorithm (default rsa-sha256). */
  signatureAlgorithm?: string;
  /** Rewrites the finished XML (after signing and encryption). */
  tamper?: (xml: string) => string;
}

export interface SamlIdpPeerOptions {
  /** Path of the entity on the peer's server; the entityID is `<base>/<name>`. */
  name?: string;
  users?: PeerUser[];
  displayName?: string;
  logo?: string;
  scope?: string;
  wantAuthnRequestsSigned?: boolean;
  hideFromDiscovery?: boolean;
  /** Further KeyDescriptors published before the peer's own signing key. */
  extraKeys?: { use?: 'signing' | 'encryption'; certPem: string }[];
  /** Defaults for every response. */
  response?: ResponseOptions;
}

export interface ReceivedAuthnRequest {
  id: string;
  issuer: string;
  acsUrl?: string;
  forceAuthn: boolean;
  isPassive: boolean;
  nameIdPolicy?: { format?: string; allowCreate?: string };
  requestedAuthnContext?: { comparison?: string; classRefs: string[] };
  relayState?: string;
  /** Whether the redirect carried a signature, and whether it verified with the SP's metadata key. */
  signed: boolean;
  signatureValid: boolean;
  sigAlg?: string;
  xml: string;
}

export interface BuiltResponse {
  xml: string;
  /** Base64, as posted in the SAMLResponse field. */
  samlResponse: string;
  acsUrl: string;
}

export interface SamlIdpPeer {
  entityId: string;
  metadataUrl: string;
  ssoUrl: string;
  metadataXml: string;
  signing: PeerKeyPair;
  /** AuthnRequests received, oldest first. */
  requests: ReceivedAuthnRequest[];
  /** The user the next answer is for (default: the first). */
  user: PeerUser;
  /** Options for the next answer only, merged over the defaults. */
  next?: ResponseOptions;
  trustServiceProvider(metadataXml: string): void;
  /** A Response for the SP `spEntityId` (default: the first trusted one). */
  buildResponse(inResponseTo: string | null, options?: ResponseOptions, spEntityId?: string): Promise<BuiltResponse>;
  close(): Promise<void>;
}

const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
};
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const URI = 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri';
const SIG_ALGS: Record<string, string> = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'sha512',
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1': 'sha1',
};

export const DEFAULT_USER: PeerUser = {
  nameId: 'transient-0123456789',
  nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  attributes: {
    'urn:oid:1.3.6.1.4.1.5923.1.1.1.6': ['alice@example.org'],
    'urn:oid:0.9.2342.19200300.100.1.3': ['alice@example.org', 'a.liddell@example.org'],
    'urn:oid:1.3.6.1.4.1.5923.1.1.1.9': ['member@example.org', 'staff@example.org'],
    'urn:oid:2.16.840.1.113730.3.1.241': ['Alice Liddell'],
  },
};

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const RESPONSE_TEMPLATE =
  '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}">' +
  '<saml:Issuer>{Issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>' +
  '<saml:Assertion xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}">' +
  '<saml:Issuer>{AssertionIssuer}</saml:Issuer><saml:Subject><saml:NameID Format="{NameIDFormat}">{NameID}</saml:NameID>' +
  '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{SubjectNotOnOrAfter}" Recipient="{Recipient}" InResponseTo="{SubjectInResponseTo}"/></saml:SubjectConfirmation></saml:Subject>' +
  '<saml:Conditions NotBefore="{NotBefore}" NotOnOrAfter="{NotOnOrAfter}"><saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>' +
  '<saml:AuthnStatement AuthnInstant="{AuthnInstant}" SessionIndex="{SessionIndex}"><saml:AuthnContext><saml:AuthnContextClassRef>{AuthnContextClassRef}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>' +
  '{AttributeStatement}</saml:Assertion></samlp:Response>';

interface ServiceProvider {
  entityId: string;
  acsUrl: string;
  signingCerts: string[];
  encryptionCert?: string;
}

function certsOf(value: string | string[] | null | undefined): string[] {
  return (Array.isArray(value) ? value : value ? [value] : []).map((c) => c.replace(/\s+/g, ''));
}

function pem(body: string): string {
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function attributeStatement(attributes: Record<string, string[]>, raw = ''): string {
  const entries = Object.entries(attributes);
  if (entries.length === 0 && raw === '') return '';
  const attrs = entries
    .map(
      ([name, values]) =>
        `<saml:Attribute Name="${esc(name)}" NameFormat="${URI}">` +
        values.map((v) => `<saml:AttributeValue xsi:type="xs:string">${esc(v)}</saml:AttributeValue>`).join('') +
        '</saml:Attribute>',
    )
    .join('');
  return `<saml:AttributeStatement>${attrs}${raw}</saml:AttributeStatement>`;
}

function statusResponse(values: ResponseValues, id: string, status: NonNullable<ResponseOptions['status']>): string {
  const attrs = [`ID="${id}"`, 'Version="2.0"', `IssueInstant="${values.IssueInstant}"`];
  if (values.Destination !== null) attrs.push(`Destination="${esc(values.Destination)}"`);
  if (values.InResponseTo !== null) attrs.push(`InResponseTo="${esc(values.InResponseTo)}"`);
  const code = status.second
    ? `<samlp:StatusCode Value="${status.top}"><samlp:StatusCode Value="${status.second}"/></samlp:StatusCode>`
    : `<samlp:StatusCode Value="${status.top}"/>`;
  const message = status.message ? `<samlp:StatusMessage>${esc(status.message)}</samlp:StatusMessage>` : '';
  return (
    `<samlp:Response xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ${attrs.join(' ')}>` +
    `<saml:Issuer>${esc(values.Issuer)}</saml:Issuer><samlp:Status>${code}${message}</samlp:Status></samlp:Response>`
  );
}

function metadataXml(o: {
  entityId: string;
  ssoUrl: string;
  certPem: string;
  displayName: string;
  logo?: string;
  scope: string;
  wantAuthnRequestsSigned: boolean;
  hideFromDiscovery: boolean;
  extraKeys: { use?: 'signing' | 'encryption'; certPem: string }[];
}): string {
  const body = (p: string) => p.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const key = (certPem: string, use?: string) =>
    `<md:KeyDescriptor${use ? ` use="${use}"` : ''}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${body(certPem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
  const hide = o.hideFromDiscovery
    ? '<md:Extensions><mdattr:EntityAttributes><saml:Attribute Name="http://macedir.org/entity-category" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue>http://refeds.org/category/hide-from-discovery</saml:AttributeValue></saml:Attribute></mdattr:EntityAttributes></md:Extensions>'
    : '';
  const logo = o.logo ? `<mdui:Logo height="16" width="16">${esc(o.logo)}</mdui:Logo>` : '';
  return (
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" ` +
    `xmlns:shibmd="urn:mace:shibboleth:metadata:1.0" xmlns:mdattr="urn:oasis:names:tc:SAML:metadata:attribute" xmlns:saml="${NS.saml}" entityID="${esc(o.entityId)}">` +
    hide +
    `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAuthnRequestsSigned="${o.wantAuthnRequestsSigned}">` +
    `<md:Extensions><shibmd:Scope regexp="false">${esc(o.scope)}</shibmd:Scope><mdui:UIInfo><mdui:DisplayName xml:lang="en">${esc(o.displayName)}</mdui:DisplayName>${logo}</mdui:UIInfo></md:Extensions>` +
    o.extraKeys.map((k) => key(k.certPem, k.use)).join('') +
    key(o.certPem, 'signing') +
    `<md:SingleSignOnService Binding="${REDIRECT}" Location="${esc(o.ssoUrl)}"/>` +
    `</md:IDPSSODescriptor></md:EntityDescriptor>`
  );
}

/** Parses an AuthnRequest received by HTTP-Redirect and checks its signature over the raw query. */
function readAuthnRequest(rawQuery: string, sps: Map<string, ServiceProvider>): ReceivedAuthnRequest {
  const raw = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0) raw.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const param = (name: string) => {
    const v = raw.get(name);
    return v === undefined ? undefined : decodeURIComponent(v.replace(/\+/g, ' '));
  };
  const samlRequest = param('SAMLRequest');
  if (!samlRequest) throw new Error('no SAMLRequest');
  const xml = inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8');
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const root = doc.documentElement;
  const first = (parent: Element, ns: string, local: string) => parent.getElementsByTagNameNS(ns, local)[0];
  const issuer = first(root, NS.saml, 'Issuer')?.textContent?.trim() ?? '';
  const policy = first(root, NS.samlp, 'NameIDPolicy');
  const rac = first(root, NS.samlp, 'RequestedAuthnContext');
  const sigAlg = param('SigAlg');
  const signature = param('Signature');
  let signatureValid = false;
  const sp = sps.get(issuer);
  if (sigAlg && signature && sp) {
    const signed = ['SAMLRequest', 'RelayState', 'SigAlg']
      .filter((k) => raw.has(k))
      .map((k) => `${k}=${raw.get(k)}`)
      .join('&');
    const hash = SIG_ALGS[sigAlg];
    signatureValid =
      hash !== undefined &&
      sp.signingCerts.some((cert) => createVerify(hash).update(signed).verify(pem(cert), Buffer.from(signature, 'base64')));
  }
  return {
    id: root.getAttribute('ID') ?? '',
    issuer,
    acsUrl: root.getAttribute('AssertionConsumerServiceURL') ?? undefined,
    forceAuthn: root.getAttribute('ForceAuthn') === 'true',
    isPassive: root.getAttribute('IsPassive') === 'true',
    ...(policy
      ? { nameIdPolicy: { format: policy.getAttribute('Format') || undefined, allowCreate: policy.getAttribute('AllowCreate') || undefined } }
      : {}),
    ...(rac
      ? {
          requestedAuthnContext: {
            comparison: rac.getAttribute('Comparison') || undefined,
            classRefs: Array.from(rac.getElementsByTagNameNS(NS.saml, 'AuthnContextClassRef')).map((e) => e.textContent?.trim() ?? ''),
          },
        }
      : {}),
    relayState: param('RelayState'),
    signed: signature !== undefined,
    signatureValid,
    sigAlg,
    xml,
  };
}

export async function startSamlIdpPeer(options: SamlIdpPeerOptions = {}): Promise<SamlIdpPeer> {
  const signing = await generateKeyPair('saml-idp-peer');
  const sps = new Map<string, ServiceProvider>();
  const users = options.users ?? [DEFAULT_USER];

  let handle: (req: IncomingMessage, res: ServerResponse) => Promise<void> = async () => undefined;
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`peer error: ${err.message}`);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const name = options.name ?? 'idp';
  const entityId = `${base}/${name}`;
  const ssoUrl = `${base}/${name}/sso`;
  const metadataUrl = `${base}/${name}/metadata`;

  const peer: SamlIdpPeer = {
    entityId,
    ssoUrl,
    metadataUrl,
    signing,
    requests: [],
    user: users[0] ?? DEFAULT_USER,
    metadataXml: metadataXml({
      entityId,
      ssoUrl,
      certPem: signing.certPem,
      displayName: options.displayName ?? 'Test IdP',
      logo: options.logo,
      scope: options.scope ?? 'example.org',
      wantAuthnRequestsSigned: options.wantAuthnRequestsSigned ?? false,
      hideFromDiscovery: options.hideFromDiscovery ?? false,
      extraKeys: options.extraKeys ?? [],
    }),

    trustServiceProvider(xml: string) {
      const md = samlify.SPMetadata(xml);
      const acsUrl = md.getAssertionConsumerService('post');
      sps.set(md.getEntityID(), {
        entityId: md.getEntityID(),
        acsUrl: Array.isArray(acsUrl) ? (acsUrl[0] ?? '') : acsUrl,
        signingCerts: certsOf(md.getX509Certificate('signing')),
        encryptionCert: certsOf(md.getX509Certificate('encryption'))[0],
      });
    },

    async buildResponse(inResponseTo: string | null, overrides: ResponseOptions = {}, spEntityId?: string): Promise<BuiltResponse> {
      const o: ResponseOptions = { ...options.response, ...overrides, values: { ...options.response?.values, ...overrides.values } };
      const sp = spEntityId ? sps.get(spEntityId) : [...sps.values()][0];
      if (!sp) throw new Error(`the peer does not trust ${spEntityId ?? 'any service provider'}: call trustServiceProvider`);
      const now = Date.now();
      const iso = (offsetMs: number) => new Date(now + offsetMs).toISOString();
      const values: ResponseValues = {
        Issuer: entityId,
        AssertionIssuer: o.values?.Issuer ?? entityId,
        Destination: sp.acsUrl,
        InResponseTo: inResponseTo,
        SubjectInResponseTo: o.values?.InResponseTo !== undefined ? o.values.InResponseTo : inResponseTo,
        Recipient: sp.acsUrl,
        Audience: sp.entityId,
        IssueInstant: iso(0),
        NotBefore: iso(-30_000),
        NotOnOrAfter: iso(300_000),
        SubjectNotOnOrAfter: iso(300_000),
        AuthnInstant: iso(-1000),
        AuthnContextClassRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
        SessionIndex: `_s${randomBytes(8).toString('hex')}`,
        ...o.values,
      };
      const id = `_r${randomBytes(16).toString('hex')}`;
      const finish = (xml: string): BuiltResponse => {
        const out = o.tamper ? o.tamper(xml) : xml;
        return { xml: out, samlResponse: Buffer.from(out, 'utf8').toString('base64'), acsUrl: sp.acsUrl };
      };
      if (o.status) return finish(statusResponse(values, id, o.status));

      const { AssertionIssuer, SubjectInResponseTo, ...responseValues } = values;
      const filled = samlify.SamlLib.replaceTagsByValue(RESPONSE_TEMPLATE, {
        ...responseValues,
        ID: id,
        AssertionID: `_a${randomBytes(16).toString('hex')}`,
        AssertionIssuer,
        SubjectInResponseTo,
        NameID: peer.user.nameId,
        NameIDFormat: peer.user.nameIdFormat ?? null,
      });
      // Inserted after replacement: samlify escapes replaced values, and this is XML.
      const xml = filled.replace('{AttributeStatement}', attributeStatement(peer.user.attributes, peer.user.rawAttributes));

      const signResponse = o.signResponse ?? true;
      const signAssertion = o.signAssertion ?? true;
      const key = o.signingKey ?? signing;
      const idp = samlify.IdentityProvider({
        entityID: entityId,
        privateKey: key.keyPem,
        signingCert: key.certPem,
        requestSignatureAlgorithm: o.signatureAlgorithm ?? 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
        isAssertionEncrypted: o.encrypt ?? false,
        dataEncryptionAlgorithm: o.dataEncryptionAlgorithm ?? 'http://www.w3.org/2009/xmlenc11#aes256-gcm',
        keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
        singleSignOnService: [{ Binding: REDIRECT, Location: ssoUrl }],
        singleLogoutService: [{ Binding: REDIRECT, Location: `${base}/${name}/slo` }],
      } as Parameters<typeof samlify.IdentityProvider>[0]);
      const spEntity = samlify.ServiceProvider({
        entityID: sp.entityId,
        assertionConsumerService: [{ Binding: POST, Location: sp.acsUrl }],
        wantAssertionsSigned: signAssertion,
        // samlify signs the Response whenever the assertion is not signed; stripped below when neither is wanted.
        wantMessageSigned: signResponse,
        ...(sp.encryptionCert ? { encryptCert: pem(sp.encryptionCert) } : {}),
      });
      const built = await idp.createLoginResponse(spEntity, {} as never, 'post', {}, {
        customTagReplacement: () => ({ id, context: xml }),
        encryptThenSign: true,
      });
      let out = Buffer.from(built.context, 'base64').toString('utf8');
      if (!signResponse && !signAssertion) out = out.replace(/<ds:Signature\b[\s\S]*?<\/ds:Signature>/, '');
      return finish(out);
    },

    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };

  handle = async (req, res) => {
    const url = new URL(req.url ?? '/', base);
    if (req.method === 'GET' && url.pathname === `/${name}/metadata`) {
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(peer.metadataXml);
      return;
    }
    if (req.method === 'GET' && url.pathname === `/${name}/sso`) {
      let request: ReceivedAuthnRequest;
      try {
        request = readAuthnRequest(url.search.slice(1), sps);
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`bad AuthnRequest: ${(err as Error).message}`);
        return;
      }
      peer.requests.push(request);
      const sp = sps.get(request.issuer);
      if (!sp) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`unknown SP ${request.issuer}`);
        return;
      }
      if ((options.wantAuthnRequestsSigned || request.signed) && !request.signatureValid) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('AuthnRequest signature missing or invalid');
        return;
      }
      if (request.acsUrl !== undefined && request.acsUrl !== sp.acsUrl) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`ACS ${request.acsUrl} is not in the SP's metadata`);
        return;
      }
      const next = peer.next;
      peer.next = undefined;
      const built = await peer.buildResponse(request.id, next, sp.entityId);
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(autoPostPage(built.acsUrl, { SAMLResponse: built.samlResponse, RelayState: request.relayState }));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  };

  return peer;
}

/**
 * The upstream most tests log in at: "Home University" (scope example.org) with one user, alice,
 * who has a persistent NameID and the given SAML attributes.
 */
export function startHomeIdpPeer(attributes: Record<string, string[]>, options: SamlIdpPeerOptions = {}): Promise<SamlIdpPeer> {
  return startSamlIdpPeer({
    name: 'home',
    displayName: 'Home University',
    scope: 'example.org',
    users: [{ nameId: 'alice-opaque-1', nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', attributes }],
    ...options,
  });
}
