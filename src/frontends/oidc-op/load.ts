/**
 * Loads the OpenID Provider frontend. oidc-provider 9 prints "Unsupported runtime" when imported
 * on a Node.js LTS older than 22 (lib/index.js, a check of process.release.lts with no switch to
 * turn it off); fedgate supports Node.js >= 20.19 and its tests run there, so that one line is
 * dropped from the import. Every other warning passes through.
 */
const RUNTIME_WARNING = 'oidc-provider WARNING: Unsupported runtime.';

export async function loadOidcOpFrontend(): Promise<typeof import('./frontend.js').OidcOpFrontend> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes(RUNTIME_WARNING)) return;
    warn(...args);
  };
  try {
    return (await import('./frontend.js')).OidcOpFrontend;
  } finally {
    console.warn = warn;
  }
}
