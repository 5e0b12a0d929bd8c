/**
 * The xmlsec1 run itself: it gets the document whole (from a file in memory, or on its standard
 * input), and a refresh's run is at low CPU priority. (What it accepts and refuses is in
 * aggregate.test.ts.)
 */
import { join } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import t from 'tap';
import { BACKGROUND_NICENESS, verifyWithXmlsec } from '../../src/metadata/xmlsec.js';

/** A stand-in for xmlsec1 that reports what it was given and at which priority, then refuses. */
const dir = t.testdir();
const reporter = join(dir, 'report.sh');
// The pause lets fedgate lower its priority first; `nice` alone prints the current niceness. The
// document is the last argument: a file, or "-" for standard input.
writeFileSync(
  reporter,
  '#!/bin/sh\nsleep 0.3\nfor document; do :; done\nif [ "$document" = - ]; then size=$(wc -c); else size=$(wc -c < "$document"); fi\necho "nice $(nice) bytes $size from $document" >&2\nexit 1\n',
  { mode: 0o755 },
);
const document = Buffer.from('<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>');

t.test('xmlsec1 gets the whole document; a low-priority run is niced', { skip: process.platform === 'win32' && 'POSIX shell' }, async (t) => {
  const usual = getPriority();
  const from = existsSync('/dev/shm') ? '/dev/shm/fedgate-xmlsec-' : '-';
  await t.rejects(verifyWithXmlsec(document, 'cert', 'EntitiesDescriptor', { command: reporter }), {
    message: new RegExp(`nice ${usual} bytes ${document.length} from ${from}`),
  });
  await t.rejects(
    verifyWithXmlsec(document, 'cert', 'EntitiesDescriptor', { command: reporter, memoryFolder: join(dir, 'missing') }),
    { message: new RegExp(`nice ${usual} bytes ${document.length} from -`) },
    'without a folder in memory, on standard input',
  );
  await t.rejects(verifyWithXmlsec(document, 'cert', 'EntitiesDescriptor', { command: reporter, lowPriority: true }), {
    message: new RegExp(`nice ${Math.max(usual, BACKGROUND_NICENESS)} bytes ${document.length}`),
  });
});
