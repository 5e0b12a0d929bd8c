/**
 * fedgate as a SAML service provider towards upstream IdPs (SAML2int, "fedgate as SP"): sends
 * AuthnRequests by HTTP-Redirect to endpoints from verified metadata, receives Responses by
 * HTTP-POST at its ACS, and hands the verified identity to the login flow.
 *
 * Each AuthnRequest ID is bound to its login in the store. A Response is accepted once: its
 * assertion ID goes into a replay cache, and the binding is taken atomically, so of two posts of
 * one Response (even on two instances) exactly one continues.
 */
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config/schema.js';
import {
  FedgateError,
  NoAuthnContextError,
  NoPassiveError,
  NoUpstreamAvailableError,
  ReplayedMessageError,
  SAML_STATUS,
  UnknownIdentityProviderError,
  UnknownLoginError,
  UnsolicitedResponseError,
  UpstreamAuthnFailedError,
  WrongIssuerError,
} from '../../core/errors.js';
import type { Backend, LoginFlow, PendingLogin } from '../../core/flow.js';
import type { KeyPair } from '../../crypto/keys.js';
import { DISCOVERY_RETURN_PATH } from '../../discovery/paths.js';
import type { EntityIndex } from '../../metadata/entity-index.js';
import { BINDINGS, type EntityRecord, type IdpRole } from '../../metadata/types.js';
import type { Store } from '../../store/store.js';
import { acceptableUntil, checkDestination } from './assertion.js';
import { isSuccess, readPostedResponse, type ResponseEnvelope, type ResponseStatus } from './envelope.js';
import { identityFromAssertion } from './identity.js';
import { spMetadataXml } from './metadata.js';
import { upstreamFromEntity } from '../../metadata/registration.js';
import type { UpstreamRegistration } from '../../core/registration.js';
import { signRedirectUrl } from './redirect-signature.js';
import { verifyResponse } from './verify.js';
import { redirectUrl } from './authn-request.js';

export interface SamlSpBackendOptions {
  config: Config;
  signing: Pick<KeyPair, 'keyPem' | 'certPem'>;
  encryption: Pick<KeyPair, 'keyPem' | 'certPem'>;
  /** `resolve`, when there, also asks the configured MDQ services. */
  idps: Pick<EntityIndex, 'get' | 'idps' | 'generation'> & Partial<Pick<EntityIndex, 'resolve'>>;
  store: Store;
}

export const METADATA_PATH = '/saml/sp/metadata';
export const ACS_PATH = '/saml/sp/acs';

/** What the store remembers about an AuthnRequest until its answer arrives. */
interface RequestBinding {
  loginId: string;
  idp: string;
}

const requestKey = (id: string) => `saml-sp:req:${id}`;
const assertionKey = (issuer: string, id: string) => `saml-sp:assertion:${issuer}!${id}`;

export class SamlSpBackend implements Backend {
  readonly name = 'saml';
  readonly entityId: string;
  readonly acsUrl: string;
  private readonly metadata: string;
  private readonly decryptionKey: KeyObject;
  private readonly signingKey: KeyObject;
  private flow?: LoginFlow;
  /** upstreams() of the current metadata generation: built once per generation, not per call. */
  private listed?: { generation: number; upstreams: UpstreamRegistration[] };

  constructor(private readonly opts: SamlSpBackendOptions) {
    const { server, backends } = opts.config;
    this.entityId = backends.saml.entityId ?? `${server.baseUrl}${METADATA_PATH}`;
    this.acsUrl = `${server.baseUrl}${ACS_PATH}`;
    this.decryptionKey = createPrivateKey(opts.encryption.keyPem);
    this.signingKey = createPrivateKey(opts.signing.keyPem);
    this.metadata = spMetadataXml({
      entityId: this.entityId,
      acsUrl: this.acsUrl,
      signingCertPem: opts.signing.certPem,
      encryptionCertPem: opts.encryption.certPem,
      authnRequestsSigned: backends.saml.signAuthnRequests,
      displayName: backends.saml.displayName,
      technicalContact: backends.saml.technicalContact,
      discoveryResponse: `${server.baseUrl}${DISCOVERY_RETURN_PATH}`,
    });
  }

  metadataXml(): string {
    return this.metadata;
  }

  register(app: FastifyInstance, flow: LoginFlow): void {
    this.flow = flow;
    app.get(METADATA_PATH, async (_req, reply) => reply.type('application/samlmetadata+xml').send(this.metadata));
    app.post(ACS_PATH, (req, reply) => this.acs(req, reply));
  }

  upstreams(): UpstreamRegistration[] {
    const generation = this.opts.idps.generation();
    if (this.listed?.generation !== generation) {
      this.listed = { generation, upstreams: this.opts.idps.idps().flatMap((record) => this.toUpstream(record) ?? []) };
    }
    return this.listed.upstreams;
  }

  upstream(id: string): UpstreamRegistration | undefined {
    const record = this.opts.idps.get(id);
    return record ? this.toUpstream(record) : undefined;
  }

  async resolveUpstream(id: string): Promise<UpstreamRegistration | undefined> {
    const record = await this.record(id);
    return record ? this.toUpstream(record) : undefined;
  }

  /** The IdP's record, from loaded metadata or, when configured, an MDQ service. */
  private record(entityId: string): Promise<EntityRecord | undefined> {
    return this.opts.idps.resolve ? this.opts.idps.resolve(entityId) : Promise.resolve(this.opts.idps.get(entityId));
  }

  private toUpstream(record: EntityRecord): UpstreamRegistration | undefined {
    const hiddenByConfig = this.opts.config.backends.saml.idps.some((s) => s.hidden && ('metadata' in s ? s.metadata : s.mdq) === record.source);
    return upstreamFromEntity(record, this.name, hiddenByConfig);
  }

  async startLogin(login: PendingLogin, upstreamId: string, reply: FastifyReply): Promise<void> {
    const { record, idp } = await this.idp(upstreamId);
    const sso = idp.singleSignOnServices.find((s) => s.binding === BINDINGS.redirect);
    if (!sso) throw new NoUpstreamAvailableError(`${upstreamId} publishes no HTTP-Redirect SingleSignOnService`);
    const requestId = `_${randomBytes(20).toString('hex')}`;
    const sign = this.opts.config.backends.saml.signAuthnRequests || idp.wantAuthnRequestsSigned;
    const url = redirectUrl({
      id: requestId,
      issuer: this.entityId,
      acsUrl: this.acsUrl,
      destination: sso.location,
      forceAuthn: login.request.forceAuthn,
      isPassive: login.request.isPassive,
      classRefs: login.request.requestedAuthnContext?.classRefs ?? [],
    });
    if (sign) signRedirectUrl(url, this.signingKey);
    const binding: RequestBinding = { loginId: login.id, idp: record.entityId };
    await this.opts.store.set(requestKey(requestId), JSON.stringify(binding), this.opts.config.session.flowTtlSeconds * 1000);
    reply.request.log.info({ upstream: record.entityId, requestId, signed: sign }, 'sent AuthnRequest upstream');
    return reply.redirect(url.toString(), 302);
  }

  private async acs(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const flow = this.flow;
    if (!flow) throw new Error('SamlSpBackend.register was not called');
    const { doc, envelope } = readPostedResponse(req.body);
    const { record } = await this.idp(envelope.issuer);
    const inResponseTo = envelope.inResponseTo;
    if (!inResponseTo) throw new UnsolicitedResponseError(`Response from ${record.entityId} answers no AuthnRequest of fedgate`);
    if (!isSuccess(envelope.status)) return this.failed(envelope, record, inResponseTo, flow, reply);

    const skewMs = this.opts.config.saml.clockSkewSeconds * 1000;
    const { profile, assertion } = await verifyResponse(doc, envelope, record, inResponseTo, {
      entityId: this.entityId,
      acsUrl: this.acsUrl,
      decryptionKey: this.decryptionKey,
      clockSkewMs: skewMs,
    });
    const identity = identityFromAssertion(record.entityId, profile, assertion, req.log);

    const rememberMs = Math.max(acceptableUntil(assertion) + skewMs - Date.now(), 1000);
    if (!(await this.opts.store.setIfAbsent(assertionKey(record.entityId, assertion.id), '1', rememberMs))) {
      throw new ReplayedMessageError(`assertion ${assertion.id} from ${record.entityId} was already used`);
    }
    const binding = await this.takeBinding(inResponseTo, record);
    return flow.finish(binding.loginId, identity, req, reply);
  }

  /**
   * A non-success status ends the login it answers. It is accepted unsigned, as IdPs commonly
   * send it: it can only end a login whose request ID the sender knows, and from the IdP it was
   * sent to.
   */
  private async failed(envelope: ResponseEnvelope, record: EntityRecord, inResponseTo: string, flow: LoginFlow, reply: FastifyReply): Promise<void> {
    checkDestination(envelope, this.acsUrl);
    const binding = await this.takeBinding(inResponseTo, record);
    return flow.abort(binding.loginId, statusError(record.entityId, envelope.status), reply);
  }

  private async takeBinding(inResponseTo: string, record: EntityRecord): Promise<RequestBinding> {
    const raw = await this.opts.store.take(requestKey(inResponseTo));
    if (!raw) throw new UnknownLoginError(`Response from ${record.entityId} answers ${inResponseTo}: unknown, expired or already answered`);
    const binding = JSON.parse(raw) as RequestBinding;
    if (binding.idp !== record.entityId) {
      throw new WrongIssuerError(`request ${inResponseTo} was sent to ${binding.idp}, answered by ${record.entityId}`);
    }
    return binding;
  }

  private async idp(entityId: string): Promise<{ record: EntityRecord; idp: IdpRole }> {
    const record = await this.record(entityId);
    if (!record?.idp) throw new UnknownIdentityProviderError(`${entityId} is not an identity provider in fedgate's metadata`);
    return { record, idp: record.idp };
  }
}

/** The error a non-success upstream status becomes, precise where the downstream SP can act on it. */
function statusError(issuer: string, status: ResponseStatus): FedgateError {
  const reason = `${issuer} answered ${[status.top, status.second].filter(Boolean).join(' / ')}${status.message ? `: ${status.message}` : ''}`;
  if (status.second === SAML_STATUS.noPassive) return new NoPassiveError(reason);
  if (status.second === SAML_STATUS.noAuthnContext) return new NoAuthnContextError(reason);
  return new UpstreamAuthnFailedError(reason);
}
