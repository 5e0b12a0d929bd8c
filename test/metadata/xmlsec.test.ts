/**
 * The xmlsec1 run itself: the document goes to its standard input, and a refresh's run is at
 * low CPU priority. (What it accepts and refuses is in aggregate.test.ts.)
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import t from 'tap';
import { BACKGROUND_NICENESS, verifyWithXmlsec } from '../../src/metadata/xmlsec.js';

/** A stand-in for xmlsec1 that reports what it was given and at which priority, then refuses. */
const dir = t.testdir();
const reporter = join(dir, 'report.sh');
// The pause lets fedgate lower its priority first; `nice` alone prints the current niceness.
writeFileSync(reporter, '#!/bin/sh\nsleep 0.3\necho "nice $(nice) bytes $(wc -c)" >&2\nexit 1\n', { mode: 0o755 });
const document = Buffer.from('<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>');

t.test('the document goes to standard input; a low-priority run is niced', { skip: process.platform === 'win32' && 'POSIX shell' }, async (t) => {
  const usual = getPriority();
  await t.rejects(verifyWithXmlsec(document, 'cert', 'EntitiesDescriptor', { command: reporter }), { message: new RegExp(`nice ${usual} bytes ${document.length}`) });
  await t.rejects(verifyWithXmlsec(document, 'cert', 'EntitiesDescriptor', { command: reporter, lowPriority: true }), {
    message: new RegExp(`nice ${Math.max(usual, BACKGROUND_NICENESS)} bytes ${document.length}`),
  });
});
