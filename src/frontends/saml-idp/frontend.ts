/**
 * fedgate as a SAML IdP to downstream SPs (SAML2int): publishes its metadata, receives
 * AuthnRequests over HTTP-Redirect and HTTP-POST, hands verified ones to the login flow, and
 * answers with a signed Response posted to an ACS from the SP's verified metadata.
 */
import { randomBytes } from 'node:crypto';
import { serviceFromEntity } from '../../metadata/registration.js';
import type { ServiceRegistration } from '../../core/registration.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NAMEID_FORMAT, type Config } from '../../config/schema.js';
import {
  FedgateError,
  MalformedRequestError,
  NoAuthnContextError,
  UnknownLoginError,
  UnknownServiceProviderError,
  UnregisteredAcsUrlError,
  UnsupportedNameIdFormatError,
} from '../../core/errors.js';
import type { Frontend, LoginFlow } from '../../core/flow.js';
import type { AuthnRequest, Identity } from '../../core/model.js';
import type { KeyPair } from '../../crypto/keys.js';
import type { EntityIndex } from '../../metadata/entity-index.js';
import { BINDINGS, type EntityRecord, type SpRole } from '../../metadata/types.js';
import { isPostAcs } from './acs.js';
import { assertedClassRef } from './authn-context.js';
import { idpMetadataXml } from './metadata.js';
import { postResponse } from './post-binding.js';
import { chooseNameIdFormat, nameIdFor, userKey } from './nameid.js';
import { parseIdpHint, parseRedirectQuery } from './query.js';
import { receiveAuthnRequest, type InboundMessage } from './receive.js';
import { ResponseBuilder } from './response.js';
import { encryptionCert } from './sp-keys.js';
import { spOptions } from './sp-options.js';

export const METADATA_PATH = '/saml/idp/metadata';
export const SSO_PATH = '/saml/idp/sso';

export interface SamlIdpFrontendOptions {
  config: Config;
  signing: Pick<KeyPair, 'keyPem' | 'certPem'>;
  /** Downstream SPs from verified metadata. */
  sps: Pick<EntityIndex, 'get'>;
  /** Secret salt of persistent NameIDs. */
  identifierSalt: string;
}

/** What the frontend keeps in AuthnRequest.frontendState to answer later. */
interface SamlFrontendState {
  requestId: string;
  /** Verified against the SP's metadata when the request came in. */
  acsUrl: string;
  relayState?: string;
  nameIdFormat: string;
}

function stateOf(request: AuthnRequest): SamlFrontendState | undefined {
  const s = request.frontendState;
  const ok =
    typeof s.requestId === 'string' &&
    typeof s.acsUrl === 'string' &&
    typeof s.nameIdFormat === 'string' &&
    (s.relayState === undefined || typeof s.relayState === 'string');
  return ok ? (s as unknown as SamlFrontendState) : undefined;
}

function localName(text: Record<string, string>): string | undefined {
  return text.en ?? text[''] ?? Object.values(text)[0];
}

export class SamlIdpFrontend implements Frontend {
  readonly name = 'saml-idp';
  readonly entityId: string;
  readonly ssoUrl: string;
  private readonly metadata: string;
  private readonly responses: ResponseBuilder;

  constructor(private readonly opts: SamlIdpFrontendOptions) {
    const { config, signing } = opts;
    const base = config.server.baseUrl;
    this.entityId = config.frontends.saml.entityId ?? `${base}${METADATA_PATH}`;
    this.ssoUrl = `${base}${SSO_PATH}`;
    this.metadata = idpMetadataXml({
      entityId: this.entityId,
      certPem: signing.certPem,
      ssoServices: [
        { binding: BINDINGS.redirect, location: this.ssoUrl },
        { binding: BINDINGS.post, location: this.ssoUrl },
      ],
      nameIdFormats: [NAMEID_FORMAT.persistent, NAMEID_FORMAT.transient],
      displayName: config.frontends.saml.displayName,
      technicalContact: config.frontends.saml.technicalContact,
      // SAML2int SDP-IDP14: services check fedgate's scoped values against these.
      scopes: config.frontends.saml.scopes ?? [new URL(config.server.baseUrl).hostname],
    });
    this.responses = new ResponseBuilder({ entityId: this.entityId, ...signing });
  }

  metadataXml(): string {
    return this.metadata;
  }

  register(app: FastifyInstance, flow: LoginFlow): void {
    app.get(METADATA_PATH, async (_req, reply) => reply.type('application/samlmetadata+xml').send(this.metadata));
    app.get(SSO_PATH, async (req, reply) => {
      const query = parseRedirectQuery(req.raw.url ?? '');
      await this.receive({ binding: 'redirect', query }, query.idphint, flow, req, reply);
      return reply;
    });
    app.post(SSO_PATH, async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const field = (name: string) => {
        const v = body[name];
        if (v !== undefined && typeof v !== 'string') throw new MalformedRequestError(`form field ${name} is repeated or not text`);
        return v;
      };
      const message: InboundMessage = { binding: 'post', SAMLRequest: field('SAMLRequest'), RelayState: field('RelayState') };
      await this.receive(message, parseRedirectQuery(req.raw.url ?? '').idphint, flow, req, reply);
      return reply;
    });
  }

  private async receive(message: InboundMessage, idphint: string | undefined, flow: LoginFlow, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { config } = this.opts;
    const verified = receiveAuthnRequest(message, {
      findSp: (id) => this.opts.sps.get(id),
      requireSignature: (sp) => spOptions(config, sp).requireSignedRequests,
      ssoUrl: this.ssoUrl,
      clockSkewSeconds: config.saml.clockSkewSeconds,
      maxMessageBytes: config.server.bodyLimitBytes,
    });
    const { fields, sp } = verified;
    const allowedFormats = spOptions(config, sp).nameIdFormats;
    const nameIdFormat = chooseNameIdFormat(fields.nameIdFormat, allowedFormats);
    const state: SamlFrontendState = {
      requestId: fields.id,
      acsUrl: verified.acsUrl,
      relayState: verified.relayState,
      nameIdFormat: nameIdFormat ?? allowedFormats[0]!,
    };
    const request: AuthnRequest = {
      frontend: this.name,
      requester: sp.entityId,
      requesterName: localName(sp.sp.ui.displayName),
      forceAuthn: fields.forceAuthn,
      isPassive: fields.isPassive,
      requestedAuthnContext: fields.requestedAuthnContext,
      idpHints: [...new Set([...parseIdpHint(idphint), ...fields.idpEntries])],
      frontendState: { ...state },
    };
    req.log.info({ requester: sp.entityId, acs: verified.acsUrl, signed: verified.signed, binding: message.binding }, 'SAML AuthnRequest accepted');
    if (!nameIdFormat) {
      // The ACS is verified, so the SP can be told (SAML core §3.4.1.1).
      const error = new UnsupportedNameIdFormatError(`${sp.entityId} asked for NameID format ${fields.nameIdFormat}`);
      req.log.warn({ code: error.code, reason: error.message, requester: sp.entityId }, 'answering the service with an error status');
      if (await this.respondError(request, error, reply)) return;
      throw error;
    }
    await flow.start(request, req, reply);
  }

  async respond(request: AuthnRequest, identity: Identity, reply: FastifyReply): Promise<void> {
    const state = stateOf(request);
    if (!state) throw new UnknownLoginError(`login for ${request.requester} carries no SAML frontend state`);
    const sp = this.currentSp(request.requester, state);
    const classRef = assertedClassRef(request.requestedAuthnContext, identity.authn.contextClassRefs);
    if (classRef === undefined) {
      // The flow answers the service with the error's status.
      const wanted = request.requestedAuthnContext?.classRefs.join(' ') ?? '';
      const had = identity.authn.contextClassRefs.join(' ') || '(none)';
      throw new NoAuthnContextError(`${sp.entityId} requires exactly one of ${wanted}; upstream asserted ${had}`);
    }
    const options = spOptions(this.opts.config, sp);
    const encryptTo = options.encryptAssertion ? encryptionCert(sp.sp.keys) : undefined;
    if (options.encryptAssertion && !encryptTo) {
      reply.request.log.warn({ requester: sp.entityId }, 'assertion sent unencrypted: the SP publishes no encryption key');
    }
    const SAMLResponse = await this.responses.login({
      sp: { entityId: sp.entityId, acsUrl: state.acsUrl, encryptionCertPem: encryptTo },
      inResponseTo: state.requestId,
      signResponse: options.signResponse,
      signAssertion: options.signAssertion,
      lifetimeSeconds: this.opts.config.saml.assertionLifetimeSeconds,
      nameId: nameIdFor({
        format: state.nameIdFormat,
        userKey: userKey(identity),
        salt: this.opts.identifierSalt,
        idpEntityId: this.entityId,
        spEntityId: sp.entityId,
      }),
      authn: {
        instant: identity.authn.instant,
        contextClassRef: classRef,
        sessionIndex: `_${randomBytes(16).toString('hex')}`,
        authenticatingAuthority: identity.issuer,
      },
      attributes: identity.attributes,
    });
    postResponse(reply, state.acsUrl, SAMLResponse, state.relayState);
  }

  async respondError(request: AuthnRequest, error: FedgateError, reply: FastifyReply): Promise<boolean> {
    const state = stateOf(request);
    if (!error.samlStatus || !state) return false;
    let sp: EntityRecord;
    try {
      sp = this.currentSp(request.requester, state);
    } catch {
      return false;
    }
    const SAMLResponse = this.responses.status({
      sp: { entityId: sp.entityId, acsUrl: state.acsUrl },
      inResponseTo: state.requestId,
      status: error.samlStatus,
      message: error.userMessage,
    });
    postResponse(reply, state.acsUrl, SAMLResponse, state.relayState);
    return true;
  }

  service(request: AuthnRequest): ServiceRegistration {
    const record = this.opts.sps.get(request.requester);
    if (!record?.sp) throw new UnknownServiceProviderError(`${request.requester} is no longer an SP in the metadata`);
    return serviceFromEntity(record);
  }

  /** The SP of a pending login as metadata describes it now, with its ACS still listed. */
  private currentSp(entityId: string, state: SamlFrontendState): EntityRecord & { sp: SpRole } {
    const sp = this.opts.sps.get(entityId);
    if (!sp?.sp) throw new UnknownServiceProviderError(`${entityId} is no longer an SP in the metadata`);
    if (!isPostAcs(sp.sp, state.acsUrl)) throw new UnregisteredAcsUrlError(`${state.acsUrl} is no longer an ACS of ${entityId}`);
    return sp as EntityRecord & { sp: SpRole };
  }
}
