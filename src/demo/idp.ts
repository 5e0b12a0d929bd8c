/**
 * A demo SAML IdP served by fedgate itself under /demo/idp/<id>, so the whole proxy can be tried
 * without a federation: it serves exactly one SP (fedgate's own SP backend), shows a password
 * form, and answers with a signed and encrypted Response, built like fedgate's own answers.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { NAMEID_FORMAT, type Config } from '../config/schema.js';
import { MalformedRequestError, NoPassiveError, UnknownServiceProviderError } from '../core/errors.js';
import type { Attributes } from '../core/model.js';
import type { KeyPair } from '../crypto/keys.js';
import { BINDINGS, type EntityRecord, type SpRole } from '../metadata/types.js';
import { chooseAcs } from '../frontends/saml-idp/acs.js';
import { readAuthnRequest } from '../frontends/saml-idp/authn-request.js';
import { idpMetadataXml } from '../frontends/saml-idp/metadata.js';
import { persistentId } from '../frontends/saml-idp/nameid.js';
import { postResponse } from '../frontends/saml-idp/post-binding.js';
import { parseRedirectQuery } from '../frontends/saml-idp/query.js';
import { decodeAuthnRequest, receiveAuthnRequest } from '../frontends/saml-idp/receive.js';
import { ResponseBuilder } from '../frontends/saml-idp/response.js';
import { encryptionCert } from '../frontends/saml-idp/sp-keys.js';
import { loginPage } from './idp-page.js';

export type DemoIdpConfig = Config['demo']['idps'][number];

export interface DemoIdpOptions {
  config: Config;
  idp: DemoIdpConfig;
  /** This IdP's own key pair; its certificate is published for signing and encryption. */
  keys: Pick<KeyPair, 'keyPem' | 'certPem'>;
  /** fedgate's SP backend, from its metadata: the only SP this IdP answers. */
  sp: EntityRecord;
}

const PASSWORD_PROTECTED_TRANSPORT = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

function attributesOf(user: DemoIdpConfig['users'][number]): Attributes {
  return Object.fromEntries(Object.entries(user.attributes).map(([name, v]) => [name, Array.isArray(v) ? v : [v]]));
}

/** The entityID of the demo IdP `id`. */
export const demoIdpEntityId = (id: string) => `urn:fedgate:demo:idp:${id}`;

export class DemoIdp {
  readonly entityId: string;
  readonly basePath: string;
  private readonly ssoUrl: string;
  private readonly metadata: string;
  private readonly responses: ResponseBuilder;
  private readonly sp: EntityRecord & { sp: SpRole };
  /** Binds the hidden form fields to the request verified when the form was shown. */
  private readonly formKey: Buffer;
  private readonly nameIdSalt: string;

  constructor(private readonly opts: DemoIdpOptions) {
    if (!opts.sp.sp) throw new UnknownServiceProviderError(`${opts.sp.entityId} has no SP role for demo IdP ${opts.idp.id}`);
    this.sp = opts.sp as EntityRecord & { sp: SpRole };
    const base = opts.config.server.baseUrl;
    this.basePath = `/demo/idp/${opts.idp.id}`;
    // A URN, not a URL: the configuration can name the demo IdP whatever address fedgate runs on.
    this.entityId = demoIdpEntityId(opts.idp.id);
    this.ssoUrl = `${base}${this.basePath}/sso`;
    this.metadata = idpMetadataXml({
      entityId: this.entityId,
      certPem: opts.keys.certPem,
      encryptionKey: true,
      ssoServices: [{ binding: BINDINGS.redirect, location: this.ssoUrl }],
      nameIdFormats: [NAMEID_FORMAT.persistent],
      displayName: opts.idp.displayName,
      scopes: [opts.idp.scope],
    });
    this.responses = new ResponseBuilder({ entityId: this.entityId, ...opts.keys });
    // Derived from the private key, so every instance sharing the key accepts the same forms.
    this.formKey = createHmac('sha256', opts.keys.keyPem).update('demo-idp login form').digest();
    this.nameIdSalt = createHmac('sha256', opts.keys.keyPem).update('demo-idp persistent NameID').digest('hex');
  }

  metadataXml(): string {
    return this.metadata;
  }

  register(app: FastifyInstance): void {
    app.get(`${this.basePath}/metadata`, async (_req, reply) => reply.type('application/samlmetadata+xml').send(this.metadata));

    app.get(`${this.basePath}/sso`, async (req, reply) => {
      const query = parseRedirectQuery(req.raw.url ?? '');
      const verified = receiveAuthnRequest(
        { binding: 'redirect', query },
        {
          findSp: (id) => (id === this.sp.entityId ? this.sp : undefined),
          requireSignature: () => false,
          ssoUrl: this.ssoUrl,
          clockSkewSeconds: this.opts.config.saml.clockSkewSeconds,
          maxMessageBytes: this.opts.config.server.bodyLimitBytes,
        },
      );
      if (verified.fields.isPassive) {
        const error = new NoPassiveError(`demo IdP ${this.opts.idp.id} always asks for a password`);
        return postResponse(reply, verified.acsUrl, this.responses.status({
          sp: { entityId: this.sp.entityId, acsUrl: verified.acsUrl },
          inResponseTo: verified.fields.id,
          status: error.samlStatus,
          message: error.userMessage,
        }), verified.relayState);
      }
      // ForceAuthn needs nothing more: this IdP keeps no session and always asks.
      return this.form(reply, 200, { SAMLRequest: query.SAMLRequest!, RelayState: verified.relayState });
    });

    app.post(`${this.basePath}/login`, async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : undefined);
      const carried = { SAMLRequest: text('SAMLRequest') ?? '', RelayState: text('RelayState') };
      if (!this.macMatches(carried, text('form') ?? '')) throw new MalformedRequestError('demo login form fields were altered');

      const username = text('username') ?? '';
      const user = this.check(username, text('password') ?? '');
      if (!user) return this.form(reply, 401, carried, { username, error: 'Wrong username or password.' });

      // The MAC proves this request was verified when the form was shown.
      const fields = readAuthnRequest(decodeAuthnRequest({ binding: 'redirect', query: carried }, this.opts.config.server.bodyLimitBytes).root);
      if (fields.issuer !== this.sp.entityId) throw new UnknownServiceProviderError(`demo IdP got a request from ${fields.issuer}`);
      const acsUrl = chooseAcs(this.sp.entityId, this.sp.sp, { acsUrl: fields.acsUrl, acsIndex: fields.acsIndex });
      const encryptTo = encryptionCert(this.sp.sp.keys);
      if (!encryptTo) req.log.warn({ sp: this.sp.entityId }, 'demo IdP answers unencrypted: the SP publishes no encryption key');

      const SAMLResponse = await this.responses.login({
        sp: { entityId: this.sp.entityId, acsUrl, encryptionCertPem: encryptTo },
        inResponseTo: fields.id,
        signResponse: true,
        lifetimeSeconds: this.opts.config.saml.assertionLifetimeSeconds,
        nameId: {
          value: persistentId(this.nameIdSalt, user.username, this.sp.entityId),
          format: NAMEID_FORMAT.persistent,
          nameQualifier: this.entityId,
          spNameQualifier: this.sp.entityId,
        },
        authn: {
          instant: new Date().toISOString(),
          contextClassRef: PASSWORD_PROTECTED_TRANSPORT,
          sessionIndex: `_${randomBytes(16).toString('hex')}`,
        },
        attributes: attributesOf(user),
      });
      req.log.info({ idp: this.opts.idp.id, user: user.username }, 'demo IdP login');
      return postResponse(reply, acsUrl, SAMLResponse, carried.RelayState);
    });
  }

  /** The account for these credentials; both compared in constant time. */
  private check(username: string, password: string): DemoIdpConfig['users'][number] | undefined {
    let found: DemoIdpConfig['users'][number] | undefined;
    for (const user of this.opts.idp.users) {
      const nameOk = timingSafeEqual(digest(user.username), digest(username));
      const passwordOk = timingSafeEqual(digest(user.password), digest(password));
      if (nameOk && passwordOk) found = user;
    }
    return found;
  }

  private mac(carried: { SAMLRequest: string; RelayState?: string }): string {
    return createHmac('sha256', this.formKey).update(`${carried.SAMLRequest}\n${carried.RelayState ?? ''}`).digest('base64url');
  }

  private macMatches(carried: { SAMLRequest: string; RelayState?: string }, given: string): boolean {
    return carried.SAMLRequest !== '' && timingSafeEqual(digest(this.mac(carried)), digest(given));
  }

  private form(
    reply: FastifyReply,
    status: number,
    carried: { SAMLRequest: string; RelayState?: string },
    extra: { username?: string; error?: string } = {},
  ): FastifyReply {
    return reply
      .code(status)
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(
        loginPage({
          idpName: this.opts.idp.displayName.en ?? Object.values(this.opts.idp.displayName)[0] ?? this.opts.idp.id,
          action: `${this.basePath}/login`,
          hidden: { ...carried, form: this.mac(carried) },
          accounts: this.opts.idp.users.map((u) => ({ username: u.username, password: u.password })),
          ...extra,
        }),
      );
  }
}
