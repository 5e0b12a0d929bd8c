/**
 * The IdP choice page. It works as a plain HTML form (search by a GET parameter, choice by POST);
 * the small script only filters the list while typing. The last choice is remembered in a cookie
 * and offered first.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { LoginFlow } from '../core/flow.js';
import { MalformedRequestError } from '../core/errors.js';
import type { UpstreamInfo } from '../core/model.js';
import { html, page } from '../http/html.js';
import { pickLocalized, preferredLanguages } from '../http/language.js';

export const DISCOVERY_PATH = '/discovery';
const SCRIPT_PATH = '/static/discovery.js';

export interface DiscoveryOptions {
  cookieName: string;
  rememberDays: number;
  secureCookies: boolean;
}

interface Choice {
  id: string;
  name: string;
  logo?: string;
  unavailable?: boolean;
}

/** Case- and accent-insensitive form for matching. */
export function foldForSearch(s: string): string {
  return s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

const SEARCH_SCRIPT = `document.addEventListener("DOMContentLoaded",function(){
var q=document.getElementById("q"),items=document.querySelectorAll("#idps li");if(!q)return;
function fold(s){return s.normalize("NFKD").replace(/\\p{M}/gu,"").toLowerCase();}
q.addEventListener("input",function(){var v=fold(q.value.trim());var shown=0;
items.forEach(function(li){var hit=!v||li.getAttribute("data-search").indexOf(v)>=0;li.hidden=!hit;if(hit)shown++;});
document.getElementById("none").hidden=shown>0;});});`;

const pageQuery = z.object({ login: z.string().min(1).max(100), q: z.string().max(200).optional() });
const choiceBody = z.object({ login: z.string().min(1).max(100), idp: z.string().min(1).max(1024) });

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new MalformedRequestError(`${what}: ${result.error.issues.map((i) => i.message).join('; ')}`);
  return result.data;
}

function choicesFor(upstreams: UpstreamInfo[], req: FastifyRequest): Choice[] {
  const languages = preferredLanguages(req.headers['accept-language']);
  return upstreams
    .map((u) => ({ id: u.id, name: pickLocalized(u.displayName, languages) ?? u.id, logo: u.logo, unavailable: u.unavailable }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function choiceButton(c: Choice) {
  return html`<li data-search="${foldForSearch(`${c.name} ${c.id}`)}"><button type="submit" name="idp" value="${c.id}"${c.unavailable ? html` disabled` : ''}>${c.logo ? html`<img src="${c.logo}" alt="" loading="lazy">` : ''}<span>${c.name}</span>${c.unavailable ? html` <span class="muted">(temporarily unavailable)</span>` : ''}</button></li>`;
}

export function registerDiscovery(app: FastifyInstance, flow: LoginFlow, options: DiscoveryOptions): void {
  app.get(SCRIPT_PATH, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(SEARCH_SCRIPT),
  );

  app.get(DISCOVERY_PATH, async (req, reply) => {
    const { login: loginId, q } = parse(pageQuery, req.query, 'discovery request');
    const login = await flow.pending(loginId);
    const all = choicesFor(flow.upstreams().filter((u) => !u.hidden), req);
    const needle = q ? foldForSearch(q.trim()) : '';
    const shown = needle ? all.filter((c) => foldForSearch(`${c.name} ${c.id}`).includes(needle)) : all;
    const rememberedId = req.cookies[options.cookieName];
    const remembered = rememberedId ? choicesFor(flow.upstreams(), req).find((c) => c.id === rememberedId) : undefined;
    const service = login.request.requesterName ?? login.request.requester;

    return reply.type('text/html; charset=utf-8').send(
      page({
        title: 'Choose your identity provider',
        scripts: [SCRIPT_PATH],
        body: html`<h1>Log in to ${service}</h1>
<p>Choose the organisation that holds your account.</p>
<form method="get" action="${DISCOVERY_PATH}" role="search">
<input type="hidden" name="login" value="${loginId}">
<label for="q">Search by name</label>
<input type="search" id="q" name="q" value="${q ?? ''}" autocomplete="off" placeholder="e.g. university name">
<noscript><button type="submit">Search</button></noscript>
</form>
<form id="choose" method="post" action="${DISCOVERY_PATH}">
<input type="hidden" name="login" value="${loginId}">
${remembered ? html`<h2>Last used</h2><ul class="choices" aria-label="Last used identity provider">${choiceButton(remembered)}</ul><h2>All</h2>` : ''}
<ul class="choices" id="idps" aria-label="Identity providers">${shown.map(choiceButton)}</ul>
<p id="none" ${shown.length > 0 ? 'hidden' : ''}>No identity provider matches your search.</p>
</form>`,
      }),
    );
  });

  app.post(DISCOVERY_PATH, async (req, reply) => {
    const { login, idp } = parse(choiceBody, req.body, 'discovery choice');
    if (options.rememberDays > 0 && flow.findUpstream(idp)) {
      reply.setCookie(options.cookieName, idp, {
        path: '/',
        httpOnly: true,
        secure: options.secureCookies,
        sameSite: 'lax',
        maxAge: options.rememberDays * 86400,
      });
    }
    return flow.chooseUpstream(login, idp, reply);
  });
}
