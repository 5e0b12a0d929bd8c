/**
 * How discovery compares text: case- and accent-insensitive, so "universitat wien" finds
 * "Universität Wien" and "lodz" finds "Łódź"; full-width characters match their plain forms.
 */

/** Letters NFKD leaves whole, written the way people type them without the key for it. */
const LETTERS: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i', ħ: 'h' };
const LETTER = new RegExp(`[${Object.keys(LETTERS).join('')}]`, 'g');

/** Lower case without diacritics, runs of white space as one space. */
export function fold(text: string): string {
  // Most names and every domain are plain ASCII: nothing to decompose.
  if (/^[\x20-\x7e]*$/.test(text)) return text.toLowerCase().replace(/\s+/g, ' ').trim();
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(LETTER, (c) => LETTERS[c]!)
    .replace(/\s+/g, ' ')
    .trim();
}

const UMLAUT = /[äöüÄÖÜ]/;
const UMLAUTS: Record<string, string> = { ä: 'ae', ö: 'oe', ü: 'ue', Ä: 'Ae', Ö: 'Oe', Ü: 'Ue' };

/**
 * The folded forms of a name: "München" is found as "munchen" and, as German writes it without
 * umlauts, as "muenchen".
 */
export function foldedForms(text: string): string[] {
  const composed = text.normalize('NFC');
  const folded = fold(composed);
  return UMLAUT.test(composed) ? [folded, fold(composed.replace(/[äöüÄÖÜ]/g, (c) => UMLAUTS[c]!))] : [folded];
}

/** The words of folded text (letters and digits; everything else separates). */
export function words(folded: string): string[] {
  return folded.split(/[^\p{L}\p{N}]+/u).filter((w) => w !== '');
}
