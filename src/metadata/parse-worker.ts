/**
 * Worker-thread side of metadata-worker.ts: the CPU-heavy streaming passes over a large document,
 * so the event loop keeps serving logins meanwhile. Answers with plain structured-clone data.
 */
import { parentPort } from 'node:worker_threads';
import { parseMetadata } from './parse.js';
import { inspectSignature } from './signature-shape.js';
import type { WorkerReply, WorkerRequest } from './metadata-worker.js';

parentPort!.on('message', ({ id, task }: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    let xml: string;
    try {
      xml = new TextDecoder('utf-8', { fatal: true }).decode(task.bytes);
    } catch {
      throw new Error('metadata is not UTF-8');
    }
    if (task.kind === 'inspect') {
      reply = { ok: true, kind: 'inspect', shape: inspectSignature(xml) };
    } else {
      const skipped: { reason: string; entityId?: string }[] = [];
      const parsed = parseMetadata(xml, task.source, {
        now: new Date(task.now),
        onSkip: (reason, entityId) => void skipped.push({ reason, ...(entityId === undefined ? {} : { entityId }) }),
      });
      reply = { ok: true, kind: 'parse', parsed, skipped };
    }
  } catch (err) {
    reply = { ok: false, message: (err as Error).message };
  }
  parentPort!.postMessage({ id, reply });
});
