/** Picks the text for the user's language from mdui-style localised values. */
import type { Localized } from '../metadata/types.js';

/** Language tags from an Accept-Language header, most preferred first. */
export function preferredLanguages(acceptLanguage: string | undefined): string[] {
  if (!acceptLanguage) return [];
  return acceptLanguage
    .split(',')
    .map((part) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)/.exec(p)?.[1]).find(Boolean);
      return { tag: (tag ?? '').toLowerCase(), q: q ? Number(q) : 1 };
    })
    .filter((l) => l.tag && l.tag !== '*' && l.q > 0)
    .sort((a, b) => b.q - a.q)
    .map((l) => l.tag);
}

/** The best text for `languages`, then English, then untagged, then any; undefined when empty. */
export function pickLocalized(texts: Localized, languages: string[]): string | undefined {
  const entries = Object.entries(texts);
  for (const lang of [...languages, 'en', '']) {
    const exact = entries.find(([l]) => l.toLowerCase() === lang);
    if (exact) return exact[1];
    const primary = lang.split('-')[0];
    const partial = primary ? entries.find(([l]) => l.toLowerCase().split('-')[0] === primary) : undefined;
    if (partial) return partial[1];
  }
  return entries[0]?.[1];
}
