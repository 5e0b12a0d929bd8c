/**
 * The demo service at /demo: a real SAML SP (node-saml) served by this process, which logs users
 * in through fedgate's own IdP frontend and shows what it received. It checks a Response the way
 * fedgate's upstream backend does (signature from fedgate's metadata key, Destination, Recipient,
 * issuer), since a demo is also an example.
 *
 * Its AuthnRequest IDs live in node-saml's in-memory cache: the demo is one process by design, so
 * a login must come back to the instance that started it.
 */
import { SAML, ValidateInResponseTo, type Profile } from '@node-saml/node-saml';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkVerifiedResponse, readVerifiedAssertion } from '../backends/saml-sp/assertion.js';
import { isSuccess, readPostedResponse } from '../backends/saml-sp/envelope.js';
import { spMetadataXml } from '../backends/saml-sp/metadata.js';
import { fromNodeSamlError } from '../backends/saml-sp/verify.js';
import { MalformedResponseError, UnsolicitedResponseError, WrongIssuerError } from '../core/errors.js';
import type { KeyPair } from '../crypto/keys.js';
import { landingPage, loggedInPage, statusPage, type LoginOption } from './sp-pages.js';

export interface DemoSpOptions {
  baseUrl: string;
  /** The demo service's key pair, published for signing and for encryption. */
  keys: Pick<KeyPair, 'keyPem' | 'certPem'>;
  /** fedgate's IdP frontend, as its metadata publishes it. */
  idpEntityId: string;
  idpSsoUrl: string;
  idpCertPem: string;
  clockSkewMs: number;
  /** Every way to log in to the demo service, for the buttons on its pages; default: SAML only. */
  logins?: LoginOption[];
}

/** How long a login may take from the AuthnRequest to fedgate's answer. */
const REQUEST_TTL_MS = 15 * 60_000;

/** A URN, not a URL: the configuration can name the demo service whatever address fedgate runs on. */
export const DEMO_SERVICE_ENTITY_ID = 'urn:fedgate:demo:service';

export const SAML_LOGIN: LoginOption = { label: 'Log in with SAML', href: '/demo/login/saml' };

export class DemoSp {
  readonly entityId: string;
  readonly acsUrl: string;
  private readonly metadata: string;
  private readonly saml: SAML;
  private readonly logins: LoginOption[];

  constructor(private readonly opts: DemoSpOptions) {
    this.entityId = DEMO_SERVICE_ENTITY_ID;
    this.acsUrl = `${opts.baseUrl}/demo/acs`;
    this.logins = opts.logins ?? [SAML_LOGIN];
    this.metadata = spMetadataXml({
      entityId: this.entityId,
      acsUrl: this.acsUrl,
      signingCertPem: opts.keys.certPem,
      encryptionCertPem: opts.keys.certPem,
      authnRequestsSigned: true,
      displayName: { en: 'fedgate demo service' },
    });
    this.saml = new SAML({
      issuer: this.entityId,
      callbackUrl: this.acsUrl,
      audience: this.entityId,
      entryPoint: opts.idpSsoUrl,
      idpCert: opts.idpCertPem,
      privateKey: opts.keys.keyPem,
      signatureAlgorithm: 'sha256',
      decryptionPvk: opts.keys.keyPem,
      identifierFormat: null,
      disableRequestedAuthnContext: true,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: true,
      validateInResponseTo: ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: REQUEST_TTL_MS,
      acceptedClockSkewMs: opts.clockSkewMs,
    });
  }

  metadataXml(): string {
    return this.metadata;
  }

  register(app: FastifyInstance): void {
    app.get('/demo', async (_req, reply) => reply.type('text/html; charset=utf-8').send(landingPage(this.logins)));
    app.get('/demo/metadata', async (_req, reply) => reply.type('application/samlmetadata+xml').send(this.metadata));
    app.get('/demo/login/saml', async (_req, reply) => reply.redirect(await this.saml.getAuthorizeUrlAsync('', undefined, {}), 302));
    app.post('/demo/acs', (req, reply) => this.acs(req, reply));
  }

  private async acs(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { base64, envelope } = readPostedResponse(req.body);
    if (envelope.issuer !== this.opts.idpEntityId) throw new WrongIssuerError(`demo service got a Response from ${envelope.issuer}`);
    if (!envelope.inResponseTo) throw new UnsolicitedResponseError('demo service got a Response it did not ask for');
    const html = (body: string) => reply.type('text/html; charset=utf-8').send(body);
    // An error status ends nothing here but this page, so it is shown as sent.
    if (!isSuccess(envelope.status)) return html(statusPage(envelope.status, this.logins));

    let profile: Profile | null;
    try {
      ({ profile } = await this.saml.validatePostResponseAsync({ SAMLResponse: base64 }));
    } catch (err) {
      throw fromNodeSamlError(err, envelope);
    }
    const xml = profile?.getAssertionXml?.();
    if (!profile || !xml) throw new MalformedResponseError('fedgate’s Response carries no assertion');
    const assertion = readVerifiedAssertion(xml);
    checkVerifiedResponse(envelope, assertion, {
      issuer: this.opts.idpEntityId,
      acsUrl: this.acsUrl,
      inResponseTo: envelope.inResponseTo,
      clockSkewMs: this.opts.clockSkewMs,
    });
    const attributes = Object.entries((profile.attributes ?? {}) as Record<string, unknown>).map(
      ([name, value]) => [name, (Array.isArray(value) ? value : [value]).map((v) => (typeof v === 'string' ? v : '(not a plain string)'))] as const,
    );
    return html(
      loggedInPage(
        {
          issuer: this.opts.idpEntityId,
          ...(profile.nameID ? { nameId: { value: profile.nameID, ...(profile.nameIDFormat ? { format: profile.nameIDFormat } : {}) } } : {}),
          authnContextClassRefs: assertion.contextClassRefs,
          ...(assertion.authnInstant ? { authnInstant: assertion.authnInstant } : {}),
          attributes: Object.fromEntries(attributes),
        },
        this.logins,
      ),
    );
  }
}
