/**
 * The choice page as HTML. It works as two plain forms: a GET form searches (the results come
 * back as a page), a POST form holds one submit button per identity provider. The script
 * (./script.ts) turns the search into a type-ahead over the JSON API and keeps the same markup.
 */
import { html, page, type Html } from '../http/html.js';
import { DISCOVERY_PATH, SCRIPT_PATH } from './paths.js';

/** One identity provider as the page and the API show it. */
export interface Choice {
  id: string;
  name: string;
  logo?: string;
  domain?: string;
  social: boolean;
  unavailable?: boolean;
}

export interface ChoicePage {
  /** Whom the user logs in to. */
  service: string;
  /** Hidden fields both forms carry: the login, or the discovery request being answered. */
  context: Record<string, string>;
  /** The search API for the script, with the context's parameters. */
  searchUrl: string;
  query: string;
  remembered: Choice[];
  results: { total: number; choices: Choice[] };
  /** How many the script asks the API for. */
  limit: number;
}

/*
 * The two texts below are also sent to the browser as the script's own (script.ts), so the page
 * reads the same with and without JavaScript: they must stay self-contained functions.
 */

/** The live status line under the search. */
export function statusText(total: number, shown: number, query: string): string {
  const count = `${total.toLocaleString('en')} identity provider${total === 1 ? '' : 's'}`;
  if (total === 0) return query ? `No identity provider matches “${query}”.` : 'No identity provider is available for this service.';
  if (!query) return shown < total ? `Showing ${shown} of ${count}. Search to find yours.` : `${count} to choose from.`;
  return shown < total ? `${count} found; showing the best ${shown}. Type more to narrow the search.` : `${count} found.`;
}

/** The heading of the result list. */
export function resultsHeading(total: number, shown: number, query: string): string {
  if (query) return 'Search results';
  return shown < total ? 'Identity providers' : 'All identity providers';
}

function hiddenFields(context: Record<string, string>): Html[] {
  return Object.entries(context).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
}

/** The spaces between the parts keep the button's accessible name readable ("Name domain"). */
function choiceItem(c: Choice): Html {
  return html`<li><button type="submit" name="idp" value="${c.id}"${c.unavailable ? html` disabled` : ''}>${
    c.logo ? html`<img src="${c.logo}" alt="" loading="lazy" width="32" height="32" style="object-fit:contain">` : ''
  }<span>${c.name}</span>${c.domain ? html` <span class="muted">${c.domain}</span>` : ''}${
    c.unavailable ? html` <span class="muted">(temporarily unavailable)</span>` : ''
  }</button></li>`;
}

export function choicePage(p: ChoicePage): string {
  const { total, choices } = p.results;
  return page({
    title: 'Choose your identity provider',
    scripts: [SCRIPT_PATH],
    body: html`<h1>Log in to ${p.service}</h1>
<p>Choose the organisation that holds your account.</p>
<form id="search" method="get" action="${DISCOVERY_PATH}" role="search" data-api="${p.searchUrl}" data-limit="${p.limit}">
${hiddenFields(p.context)}
<label for="q">Search by name, domain or e-mail address</label>
<input type="search" id="q" name="q" value="${p.query}" autocomplete="off" spellcheck="false" aria-describedby="search-help" aria-controls="idps">
<p id="search-help" class="muted">For example the name of your university, its web domain, or your e-mail address there.</p>
<button type="submit">Search</button>
</form>
<form id="choose" method="post" action="${DISCOVERY_PATH}">
${hiddenFields(p.context)}
${
  p.remembered.length > 0
    ? html`<h2 id="last-used">Last used</h2>
<ul class="choices" aria-labelledby="last-used">${p.remembered.map(choiceItem)}</ul>`
    : ''
}
<h2 id="results-heading">${resultsHeading(total, choices.length, p.query)}</h2>
<p id="status" role="status">${statusText(total, choices.length, p.query)}</p>
<ul class="choices" id="idps" aria-labelledby="results-heading">${choices.map(choiceItem)}</ul>
</form>`,
  });
}
