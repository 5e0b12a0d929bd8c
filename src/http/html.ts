/**
 * HTML for the few pages fedgate renders (discovery, errors, auto-POST forms). Values are escaped
 * unless they are already `Html`, so a page cannot be made to carry markup from a request.
 */

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

type Interpolation = string | number | Html | null | undefined | false | readonly Interpolation[];

function render(v: Interpolation): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

const STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f6f8;color:#1d2630}
main{max-width:42rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.12)}
@media (max-width:40rem){body{background:#fff}main{margin:0;padding:1.2rem;border-radius:0;box-shadow:none}}
h1{font-size:1.5rem;margin-top:0}a{color:#0b5cad}button,.button{font:inherit;padding:.6rem 1.1rem;border-radius:6px;border:1px solid #0b5cad;background:#0b5cad;color:#fff;cursor:pointer}
.button{display:inline-block;text-decoration:none}
input[type=text],input[type=password],input[type=search]{font:inherit;padding:.5rem;width:100%;box-sizing:border-box;border:1px solid #8a96a3;border-radius:6px}
label{display:block;margin:.8rem 0 .3rem}.muted{color:#5b6875;font-size:.9rem}code{background:#eef1f4;padding:.1rem .3rem;border-radius:4px}[role=alert]{color:#b3261e}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.4rem;border-bottom:1px solid #e1e5ea;vertical-align:top;overflow-wrap:anywhere}
@media (min-width:40rem){th,td:first-child{white-space:nowrap}}
ul.choices{list-style:none;padding:0}ul.choices li{margin:.4rem 0}ul.choices button{width:100%;text-align:left;background:#fff;color:#1d2630;border-color:#c5cdd6;display:flex;align-items:center;gap:.8rem}
ul.choices button:hover,ul.choices button:focus-visible{border-color:#0b5cad;background:#f0f6fc}
ul.choices img{max-height:32px;max-width:64px}`;

/** A page in fedgate's look. The empty inline icon spares every first visit a /favicon.ico 404. */
export function page(opts: { title: string; body: Html; lang?: string; scripts?: string[] }): string {
  return `<!DOCTYPE html>${html`<html lang="${opts.lang ?? 'en'}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${opts.title}</title><link rel="icon" href="data:,"><style>${new Html(STYLE)}</style>${(opts.scripts ?? []).map((s) => html`<script src="${s}" defer></script>`)}</head><body><main>${opts.body}</main></body></html>`.value}`;
}

/** The script that submits an auto-POST form; served from /static so the CSP can forbid inline scripts. */
export const AUTO_SUBMIT_PATH = '/static/auto-submit.js';
export const AUTO_SUBMIT_SCRIPT = 'document.addEventListener("DOMContentLoaded",function(){var f=document.getElementById("auto-post");if(f)f.submit();});';

/**
 * The HTTP-POST binding page: a form that posts `fields` to `action` by itself, with a button for
 * browsers without JavaScript. `action` must come from verified metadata or configuration.
 */
export function autoPostPage(action: string, fields: Record<string, string | undefined>, title = 'Continuing…'): string {
  const inputs = Object.entries(fields)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  return page({
    title,
    scripts: [AUTO_SUBMIT_PATH],
    body: html`<form id="auto-post" method="post" action="${action}">${inputs}<p>${title}</p><noscript><p>JavaScript is off: press the button to continue.</p></noscript><button type="submit">Continue</button></form>`,
  });
}
