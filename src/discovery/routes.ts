/**
 * Discovery: where the user chooses the upstream identity provider.
 *
 *   GET  /discovery?login=<id>[&q=…]        the choice page of a login (or, when an external
 *                                           discovery service is configured, a redirect there);
 *                                           a login first gets it in the answer to the service's
 *                                           request (LoginFlow.chooseUpstreamsWith), this URL serves
 *                                           searches without script and comebacks
 *   GET  /discovery?entityID=…&return=…     the same page answering the SAML IdP Discovery Service
 *                                           Protocol for a known SP (./protocol.ts)
 *   POST /discovery                         the choice
 *   GET  /discovery/search?q=…              JSON search over every listed upstream
 *   GET  /discovery/return?login=…&idp=…    the answer of an external discovery service
 *
 * The search index is rebuilt only when the set of upstreams changes (LoginFlow.upstreams()
 * returns the same array until then). Upstreams hidden from discovery are never listed or found,
 * and stay usable by hint. A service with a filter (discovery.filters) is offered, may be
 * answered with, and is sent to by its own hints, only the upstreams its filter allows.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ConfigError, FedgateError, MalformedRequestError, UnknownIdentityProviderError, UnknownLoginError, UpstreamNotAllowedError } from '../core/errors.js';
import type { LoginFlow, LoginRecord } from '../core/flow.js';
import type { UpstreamRegistration } from '../core/registration.js';
import { pickLocalized, preferredLanguages } from '../http/language.js';
import type { EntityIndex } from '../metadata/entity-index.js';
import { parseMetadata } from '../metadata/parse.js';
import type { EntityRecord } from '../metadata/types.js';
import type { DiscoveryConfig } from './config.js';
import { allows, ServiceFilters, type ServiceFilter } from './filters.js';
import { choicePage, type Choice } from './page.js';
import { DISCOVERY_PATH, DISCOVERY_RETURN_PATH, SCRIPT_PATH, SEARCH_PATH } from './paths.js';
import { discoveryAnswer, externalDiscoveryUrl, readDiscoveryRequest, type DiscoveryRequest } from './protocol.js';
import { readRemembered, rememberChoice } from './remembered.js';
import { DISCOVERY_SCRIPT } from './script.js';
import { DiscoveryIndex, type SearchHit } from './search-index.js';

export interface DiscoveryOptions {
  config: DiscoveryConfig;
  baseUrl: string;
  secureCookies: boolean;
  /** Downstream SAML SPs (verified metadata), which may use the page as their discovery service. */
  serviceProviders: Pick<EntityIndex, 'get'>;
  /**
   * The metadata of fedgate's own SAML SP, when the SAML backend is on: it may use the page like
   * any SP, and is the entityID sent to an external discovery service.
   */
  ownServiceProviderMetadata?: string;
}

/** Default and largest number of API results. */
const API_LIMIT = { default: 20, max: 100 };
/** The parameter an external discovery service returns the choice in. */
const RETURN_ID_PARAM = 'idp';

const loginId = z.string().min(1).max(100);
const entityId = z.string().min(1).max(1024);
const protocolFields = {
  entityID: entityId.optional(),
  return: z.string().min(1).max(4096).optional(),
  returnIDParam: z.string().min(1).max(100).optional(),
};
const pageQuery = z.object({
  login: loginId.optional(),
  q: z.string().max(200).optional(),
  /** Stay on the own page even when an external discovery service is configured. */
  local: z.literal('1').optional(),
  ...protocolFields,
  policy: z.string().max(200).optional(),
  isPassive: z.string().max(10).optional(),
});
const choiceBody = z.object({ idp: entityId, login: loginId.optional(), ...protocolFields });
const returnQuery = z.object({ login: loginId, [RETURN_ID_PARAM]: entityId.optional() });
const searchQuery = z.object({
  q: z.string().max(200).default(''),
  limit: z.coerce.number().int().min(1).max(API_LIMIT.max).default(API_LIMIT.default),
  login: loginId.optional(),
  entityID: entityId.optional(),
});

function problems(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'parameters'}: ${i.message}`).join('; ');
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new MalformedRequestError(`${what}: ${problems(result.error)}`);
  return result.data;
}

/** Either a login or a discovery request, never both. */
function exactlyOne(login: string | undefined, entityID: string | undefined, what: string): void {
  if (login !== undefined && entityID !== undefined) throw new MalformedRequestError(`${what}: login and entityID exclude each other`);
  if (login === undefined && entityID === undefined) throw new MalformedRequestError(`${what}: neither a login nor a discovery request (entityID)`);
}

/** What the choice page is shown for: a login, or a discovery request. */
interface PageRequest {
  /** Whom the user logs in to, and its id (for its filter). */
  service: string;
  serviceId: string;
  /** Hidden fields of the page's forms. */
  context: Record<string, string>;
  /** What the search API needs to apply the same filter. */
  searchContext: { login: string } | { entityID: string };
  query: string;
}

/**
 * Up to this many upstreams the index is rebuilt at once when they change (a few milliseconds);
 * above, it is rebuilt in steps while the previous index keeps answering, so that a metadata
 * refresh of eduGAIN's thousands of IdPs does not stall the logins and searches meanwhile.
 */
const REBUILD_AT_ONCE = 1000;

/** The index of the current upstreams, rebuilt when they change. */
class CurrentIndex {
  private source: readonly UpstreamRegistration[];
  private index: DiscoveryIndex;
  /** The upstreams an asynchronous rebuild is indexing. */
  private building?: readonly UpstreamRegistration[];

  constructor(
    private readonly flow: LoginFlow,
    private readonly log: FastifyBaseLogger,
  ) {
    this.source = flow.upstreams();
    this.index = DiscoveryIndex.of(this.source);
  }

  get(): DiscoveryIndex {
    const upstreams = this.flow.upstreams();
    if (upstreams === this.source || upstreams === this.building) return this.index;
    if (upstreams.length <= REBUILD_AT_ONCE) {
      this.use(upstreams, DiscoveryIndex.of(upstreams));
      return this.index;
    }
    this.building = upstreams;
    const started = Date.now();
    DiscoveryIndex.build(upstreams).then(
      (index) => {
        if (this.building !== upstreams) return;
        this.use(upstreams, index);
        this.log.info({ upstreams: index.size, ms: Date.now() - started }, 'discovery index rebuilt');
      },
      (err: unknown) => {
        if (this.building === upstreams) this.building = undefined;
        this.log.error({ err }, 'discovery index rebuild failed; the previous index stays in use');
      },
    );
    return this.index;
  }

  private use(upstreams: readonly UpstreamRegistration[], index: DiscoveryIndex): void {
    this.source = upstreams;
    this.index = index;
    this.building = undefined;
  }
}

export function registerDiscovery(app: FastifyInstance, flow: LoginFlow, options: DiscoveryOptions): void {
  const { config } = options;
  const index = new CurrentIndex(flow, app.log);
  const filters = new ServiceFilters(config.filters);
  const ownSp = options.ownServiceProviderMetadata ? parseMetadata(options.ownServiceProviderMetadata, 'fedgate SP').records[0] : undefined;
  if (config.externalService && !ownSp) {
    throw new ConfigError(['discovery.externalService: needs the SAML backend (backends.saml.enabled), whose entityID the discovery service is asked for']);
  }
  const serviceProvider = (id: string): EntityRecord | undefined => (id === ownSp?.entityId ? ownSp : options.serviceProviders.get(id));
  /** Whether `service` accepts `upstream` from discovery (its filter, if it has one). */
  const accepts = (service: string, upstream: UpstreamRegistration) => {
    const filter = filters.for(service);
    return !filter || allows(filter, upstream);
  };

  function choice(hit: SearchHit, languages: string[]): Choice {
    const { upstream } = hit;
    return {
      id: upstream.id,
      name: pickLocalized(upstream.displayName, languages) ?? upstream.id,
      ...(upstream.logo ? { logo: upstream.logo } : {}),
      ...(hit.domain ? { domain: hit.domain } : {}),
      social: upstream.social,
      ...(upstream.unavailable ? { unavailable: true } : {}),
    };
  }

  /** The remembered choices still listed and allowed for the service, most recent first. */
  function remembered(req: FastifyRequest, filter: ServiceFilter | undefined): SearchHit[] {
    const current = index.get();
    return readRemembered(req.cookies[config.cookieName], config.remember).flatMap((id) => {
      const hit = current.get(id);
      return hit && (!filter || allows(filter, hit.upstream)) ? [hit] : [];
    });
  }

  function remember(req: FastifyRequest, reply: FastifyReply, idp: string): void {
    if (config.rememberDays === 0 || !index.get().get(idp)) return; // only what the page could have shown
    const previous = readRemembered(req.cookies[config.cookieName], config.remember);
    reply.setCookie(config.cookieName, rememberChoice(previous, idp, config.remember), {
      path: '/',
      httpOnly: true,
      secure: options.secureCookies,
      sameSite: 'lax',
      maxAge: config.rememberDays * 86400,
    });
  }

  function renderPage(req: FastifyRequest, reply: FastifyReply, p: PageRequest) {
    const languages = preferredLanguages(req.headers['accept-language']);
    const filter = filters.for(p.serviceId);
    const result = index.get().search(p.query, { filter, limit: config.listLimit });
    return reply.type('text/html; charset=utf-8').send(
      choicePage({
        service: p.service,
        context: p.context,
        searchUrl: `${SEARCH_PATH}?${new URLSearchParams(p.searchContext)}`,
        query: p.query,
        remembered: remembered(req, filter).map((hit) => choice(hit, languages)),
        results: { total: result.total, choices: result.hits.map((h) => choice(h, languages)) },
        limit: config.listLimit,
      }),
    );
  }

  /**
   * A login's choice: the external discovery service when one is configured (unless the user came
   * back from it without a choice, `local`, or is searching), this page otherwise.
   */
  function showChoices(login: LoginRecord, req: FastifyRequest, reply: FastifyReply, shown: { query?: string; local?: boolean } = {}) {
    if (config.externalService && ownSp && !shown.local && shown.query === undefined) {
      const returnUrl = `${options.baseUrl}${DISCOVERY_RETURN_PATH}?${new URLSearchParams({ login: login.id })}`;
      return reply.redirect(externalDiscoveryUrl(config.externalService, { entityId: ownSp.entityId, returnUrl, returnIdParam: RETURN_ID_PARAM }), 302);
    }
    const service = login.request.requesterName ?? login.request.requester;
    const context = { login: login.id };
    return renderPage(req, reply, { service, serviceId: login.request.requester, context, searchContext: context, query: shown.query ?? '' });
  }

  /** Answers a discovery request with the choice (or without one), back to its return URL. */
  function answer(request: DiscoveryRequest, reply: FastifyReply, idp?: string) {
    reply.request.log.info({ service: request.sp.entityId, idp }, 'answered a discovery request');
    return reply.redirect(discoveryAnswer(request, idp), 302);
  }

  flow.chooseUpstreamsWith({
    present: async (login, req, reply) => showChoices(login, req, reply),
    accepts: (upstream, request) => accepts(request.requester, upstream),
  });

  // Built before the first user waits for it; later only when the upstreams change.
  app.addHook('onReady', async () => {
    index.get();
  });

  app.get(SCRIPT_PATH, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(DISCOVERY_SCRIPT),
  );

  app.get(DISCOVERY_PATH, async (req, reply) => {
    const params = parse(pageQuery, req.query, 'discovery page');
    exactlyOne(params.login, params.entityID, 'discovery page');
    const languages = preferredLanguages(req.headers['accept-language']);

    if (params.login !== undefined) {
      const login = await flow.pending(params.login, req);
      return showChoices(login, req, reply, { query: params.q, local: params.local !== undefined });
    }

    const request = readDiscoveryRequest(params, serviceProvider);
    if (request.isPassive) return answer(request, reply, remembered(req, filters.for(request.sp.entityId))[0]?.upstream.id);
    const ui = request.sp.sp?.ui.displayName ?? {};
    const service = pickLocalized(ui, languages) ?? pickLocalized(request.sp.organizationDisplayName, languages) ?? request.sp.entityId;
    const context = { entityID: request.sp.entityId, return: request.returnUrl, returnIDParam: request.returnIdParam };
    return renderPage(req, reply, { service, serviceId: request.sp.entityId, context, searchContext: { entityID: request.sp.entityId }, query: params.q ?? '' });
  });

  app.post(DISCOVERY_PATH, async (req, reply) => {
    const body = parse(choiceBody, req.body, 'discovery choice');
    exactlyOne(body.login, body.entityID, 'discovery choice');
    if (body.login !== undefined) {
      remember(req, reply, body.idp);
      return flow.chooseUpstream(body.login, body.idp, reply);
    }
    const request = readDiscoveryRequest(body, serviceProvider);
    const upstream = flow.findUpstream(body.idp);
    if (!upstream) throw new UnknownIdentityProviderError(`discovery choice ${body.idp} for ${request.sp.entityId} is not a configured upstream`);
    if (!accepts(request.sp.entityId, upstream)) {
      throw new UpstreamNotAllowedError(`discovery choice ${body.idp} is outside the discovery filter of ${request.sp.entityId}`);
    }
    remember(req, reply, body.idp);
    return answer(request, reply, upstream.id);
  });

  app.get(DISCOVERY_RETURN_PATH, async (req, reply) => {
    const params = parse(returnQuery, req.query, 'answer of the discovery service');
    const idp = params[RETURN_ID_PARAM];
    if (idp === undefined) {
      // No choice (the user left, or the service could not decide): the own page takes over.
      await flow.pending(params.login, req);
      req.log.info({ service: config.externalService }, 'the discovery service returned without a choice; showing the own page');
      return reply.redirect(`${DISCOVERY_PATH}?${new URLSearchParams({ login: params.login, local: '1' })}`, 302);
    }
    remember(req, reply, idp);
    return flow.chooseUpstream(params.login, idp, reply);
  });

  app.get(SEARCH_PATH, async (req, reply) => {
    const parsed = searchQuery.safeParse(req.query);
    const refuse = (error: string, reason: string) => {
      req.log.warn({ reason }, 'discovery search refused');
      return reply.code(400).send({ error, error_description: reason });
    };
    if (!parsed.success) return refuse('invalid_request', problems(parsed.error));
    const { q, limit, login, entityID } = parsed.data;
    if (login !== undefined && entityID !== undefined) return refuse('invalid_request', 'login and entityID exclude each other');
    let service = entityID;
    if (login !== undefined) {
      try {
        service = (await flow.pending(login, req)).request.requester;
      } catch (err) {
        if (err instanceof UnknownLoginError) return refuse(err.code, 'unknown or expired login');
        if (!(err instanceof FedgateError)) throw err;
        // The store, say: an answer the script can read, not an error page.
        req.log.warn({ code: err.code, reason: err.message }, 'discovery search failed');
        return reply.code(err.httpStatus).send({ error: err.code, error_description: err.userMessage });
      }
    }
    const languages = preferredLanguages(req.headers['accept-language']);
    const result = index.get().search(q, { filter: service === undefined ? undefined : filters.for(service), limit });
    return reply.send({ total: result.total, results: result.hits.map((h) => choice(h, languages)) });
  });
}
