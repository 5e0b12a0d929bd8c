/** Time rules shared by the metadata loader and the entity index. */

/** Clock skew granted on validUntil (SAML2int SDP-G01: 3–5 minutes). */
export const VALIDITY_SKEW_MS = 5 * 60_000;

/** True once `validUntil` (plus the skew) lies before `now`. */
export function isExpired(validUntil: Date | undefined, now: Date): boolean {
  return validUntil !== undefined && validUntil.getTime() + VALIDITY_SKEW_MS < now.getTime();
}

/** The earlier of two optional instants. */
export function earliest(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (!a) return b;
  if (!b) return a;
  return a.getTime() <= b.getTime() ? a : b;
}
