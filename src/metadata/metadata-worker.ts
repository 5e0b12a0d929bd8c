/**
 * Runs the streaming passes over a large metadata document in a worker thread (parse-worker.ts):
 * a saxes pass over eduGAIN takes seconds of CPU, too long to hold the event loop. One worker is
 * kept (unref'd, so it never keeps the process alive) and replaced if it dies.
 *
 * One job per document, over its own channel. The worker reads the document a window at a time,
 * asking for each, through two window-sized slots of shared memory (so the event loop never copies
 * 80 MB at once nor allocates for it, and the worker never holds a second copy); reports the signature's shape as soon as it has read it (the first few kilobytes,
 * where federations place it), so the caller can have xmlsec1 check the signature while the
 * worker parses on; and hands the records over in batches, each acknowledged after a turn of the
 * event loop, so receiving them never holds logins up either.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { InvalidMetadataError, MetadataUnavailableError } from '../core/errors.js';
import type { ParsedMetadata } from './parse.js';
import type { SignatureShape } from './signature-shape.js';
import type { EntityRecord } from './types.js';

export interface WorkerData {
  /** Lower the worker thread's CPU priority (to BACKGROUND_NICENESS). */
  lowPriority: boolean;
}

/** Handed to the worker on its parent port, once per job. */
export interface JobRequest {
  /** Read the signature's shape first (unless the caller did, from the document's beginning). */
  inspect: boolean;
  size: number;
  source: string;
  now: number;
  port: MessagePort;
  /** [0]: bumped whenever a message was posted to `port`; [1]: 1 once the job is cancelled. */
  signal: Int32Array;
  /** Two slots of WINDOW_BYTES: window n of the document is copied into slot n % 2 when asked for. */
  slots: Uint8Array;
}

export const WINDOW_BYTES = 1024 * 1024;

export interface Skipped {
  reason: string;
  entityId?: string;
}

/** On the job's port, worker → main thread. */
export type FromWorker =
  | { kind: 'window'; offset: number }
  | { kind: 'shape'; shape: SignatureShape }
  | { kind: 'records'; records: EntityRecord[] }
  | { kind: 'done'; parsed: Omit<ParsedMetadata, 'records'>; skipped: Skipped[] }
  | { kind: 'failed'; message: string };

/** On the job's port, main thread → worker. */
export type ToWorker = { kind: 'window'; offset: number; length: number } | { kind: 'ack' };

export interface WorkerParse {
  /** The root signature as the document states it, checked by checkSignatureShape (rejects when refused). */
  shape: Promise<SignatureShape>;
  /** What the document says; rejects when it is refused or not well-formed. */
  parsed: Promise<{ parsed: ParsedMetadata; skipped: Skipped[] }>;
  /** Stops the job (its result is not wanted): the worker moves on to the next. */
  cancel(): void;
}

/** Compiled output sits next to this file as .js; under the test loader the source is .ts. */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './parse-worker.ts' : './parse-worker.js', import.meta.url);

interface WorkerState {
  worker: Worker;
  jobs: Set<(err: Error) => void>;
}
/**
 * One worker for loads at start-up and one for refreshes, which lowers its own CPU priority once
 * (a thread cannot raise it again).
 */
const workers = new Map<boolean, WorkerState>();

/**
 * Starts the job; `bytes` must stay unchanged until it settles (the worker reads from it as it
 * goes). Without `inspect`, `shape` never settles.
 */
export function parseInWorker(bytes: Uint8Array, source: string, now: Date, options: { inspect: boolean; lowPriority?: boolean }): WorkerParse {
  let shape!: { resolve: (s: SignatureShape) => void; reject: (e: Error) => void };
  let parsed!: { resolve: (p: { parsed: ParsedMetadata; skipped: Skipped[] }) => void; reject: (e: Error) => void };
  const shapePromise = new Promise<SignatureShape>((resolve, reject) => (shape = { resolve, reject }));
  const parsedPromise = new Promise<{ parsed: ParsedMetadata; skipped: Skipped[] }>((resolve, reject) => (parsed = { resolve, reject }));
  // A caller that gives up after the shape (a refused signature) does not wait for the rest, and
  // one that read the shape itself never waits for it.
  parsedPromise.catch(() => undefined);
  shapePromise.catch(() => undefined);

  const lowPriority = options.lowPriority ?? false;
  const { worker, jobs } = workers.get(lowPriority) ?? start(lowPriority);
  const { port1: port, port2 } = new MessageChannel();
  const signal = new Int32Array(new SharedArrayBuffer(8));
  const slots = new Uint8Array(new SharedArrayBuffer(2 * WINDOW_BYTES));
  const send = (message: ToWorker) => {
    port.postMessage(message);
    Atomics.add(signal, 0, 1);
    Atomics.notify(signal, 0);
  };
  const records: EntityRecord[] = [];
  let open = true;
  const finish = () => {
    if (!open) return;
    open = false;
    jobs.delete(fail);
    port.close();
  };
  const fail = (err: Error) => {
    finish();
    shape.reject(err);
    parsed.reject(err);
  };
  jobs.add(fail);

  port.on('message', (message: FromWorker) => {
    switch (message.kind) {
      case 'window': {
        // The worker asks for window n only once it is done with window n - 2, the slot's last content.
        const window = bytes.subarray(message.offset, message.offset + WINDOW_BYTES);
        slots.set(window, ((message.offset / WINDOW_BYTES) % 2) * WINDOW_BYTES);
        return send({ kind: 'window', offset: message.offset, length: window.length });
      }
      case 'shape':
        return shape.resolve(message.shape);
      case 'records':
        for (const record of message.records) records.push(record);
        // After whatever else waits on the event loop.
        setImmediate(() => send({ kind: 'ack' }));
        return;
      case 'done':
        finish();
        return parsed.resolve({ parsed: { ...message.parsed, records }, skipped: message.skipped });
      case 'failed':
        return fail(new InvalidMetadataError(message.message));
    }
  });
  worker.postMessage({ inspect: options.inspect, size: bytes.length, source, now: now.getTime(), port: port2, signal, slots } satisfies JobRequest, [port2]);
  return {
    shape: shapePromise,
    parsed: parsedPromise,
    cancel() {
      Atomics.store(signal, 1, 1);
      Atomics.notify(signal, 0);
      fail(new MetadataUnavailableError('metadata parse cancelled'));
    },
  };
}

function start(lowPriority: boolean): WorkerState {
  // Inherited options are fine (V8 ones such as --max-old-space-size are left out silently), except
  // --input-type of a parent started with `-e` code, which would make the worker's module misread;
  // given explicitly, options a worker refuses would throw instead.
  const inputType = process.execArgv.some((a) => a.startsWith('--input-type'));
  const worker = new Worker(WORKER_URL, {
    workerData: { lowPriority } satisfies WorkerData,
    ...(inputType ? { execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')) } : {}),
  });
  const state = { worker, jobs: new Set<(err: Error) => void>() };
  workers.set(lowPriority, state);
  // A job's open port keeps the process alive while it runs; an idle worker does not.
  worker.unref();
  const fail = (err: Error) => {
    if (workers.get(lowPriority) === state) workers.delete(lowPriority);
    for (const job of [...state.jobs]) job(new MetadataUnavailableError(`metadata worker failed: ${err.message}`, { cause: err }));
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
  return state;
}
