/**
 * Worker-thread side of metadata-worker.ts: the CPU-heavy streaming passes over a large document,
 * so the event loop keeps serving logins meanwhile. A job runs start to end in one go: the worker
 * blocks (Atomics.wait) while it waits for the main thread to send the next window or to take in
 * a batch of records, which keeps the parsers' synchronous, iterator-fed code as it is.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { InvalidMetadataError } from '../core/errors.js';
import { WINDOW_BYTES, type FromWorker, type JobRequest, type Skipped, type ToWorker, type WorkerData } from './metadata-worker.js';
import type { EntityRecord } from './types.js';
import { parseMetadata } from './parse.js';
import { checkSignatureShape, inspectSignature } from './signature-shape.js';
import { BACKGROUND_NICENESS } from './xmlsec.js';

/** Batches of records the main thread may have yet to take in; the parse waits beyond that. */
const BATCHES_IN_FLIGHT = 2;
/** A main thread silent this long is gone: the job ends rather than holding the worker forever. */
const ANSWER_TIMEOUT_MS = 5 * 60_000;

class Cancelled extends Error {}

class Job {
  /** Records read but not yet sent. */
  readonly records: EntityRecord[] = [];
  /** Offset → length of the windows the main thread has put in their slots. */
  private readonly windowsReceived = new Map<number, number>();
  private batchesInFlight = 0;

  constructor(private readonly request: JobRequest) {}

  post(message: FromWorker): void {
    this.request.port.postMessage(message);
  }

  /** Takes in the next message from the main thread, waiting for it. */
  private receive(): void {
    const { port, signal } = this.request;
    for (;;) {
      if (Atomics.load(signal, 1) === 1) throw new Cancelled();
      const seen = Atomics.load(signal, 0);
      const received = receiveMessageOnPort(port);
      if (received) {
        const message = received.message as ToWorker;
        if (message.kind === 'ack') {
          this.batchesInFlight--;
        } else {
          this.windowsReceived.set(message.offset, message.length);
          if (message.offset === this.windowAhead) this.windowAhead = undefined;
        }
        return;
      }
      if (Atomics.wait(signal, 0, seen, ANSWER_TIMEOUT_MS) === 'timed-out') throw new Error('the main thread stopped answering');
    }
  }

  /**
   * The document a window at a time, the next one asked for while this one is parsed (so a window
   * is asked for only once the one before the last is used up: its slot is free). Between
   * windows, the records read so far go to the main thread.
   */
  *windows(): Generator<Uint8Array> {
    const { size, slots } = this.request;
    // A pass given up early (the signature inspection) leaves at most the window it asked for ahead:
    // wait for it, so it cannot land in a slot this pass reads.
    while (this.windowAhead !== undefined) this.receive();
    this.windowsReceived.clear();
    if (size > 0) this.ask(0);
    for (let offset = 0; offset < size; offset += WINDOW_BYTES) {
      while (!this.windowsReceived.has(offset)) this.receive();
      const length = this.windowsReceived.get(offset)!;
      this.windowsReceived.delete(offset);
      const slot = ((offset / WINDOW_BYTES) % 2) * WINDOW_BYTES;
      const window = slots.subarray(slot, slot + length);
      if (offset + WINDOW_BYTES < size) this.ask(offset + WINDOW_BYTES);
      this.sendRecords();
      yield window;
    }
  }

  /** The window asked for last, until it arrives. */
  private windowAhead: number | undefined;

  private ask(offset: number): void {
    this.windowAhead = offset;
    this.post({ kind: 'window', offset });
  }

  sendRecords(): void {
    if (this.records.length === 0) return;
    while (this.batchesInFlight >= BATCHES_IN_FLIGHT) this.receive();
    this.post({ kind: 'records', records: this.records.splice(0) });
    this.batchesInFlight++;
  }

  /** Once the main thread has taken in every batch. */
  drain(): void {
    this.sendRecords();
    while (this.batchesInFlight > 0) this.receive();
  }
}

/**
 * The document's text in pieces that are each all ASCII or all not: V8 stores a string with any
 * character beyond Latin-1 at two bytes per character, and so every string cut from it, which
 * would double the memory of the records (URLs, certificates) for a few non-Latin names. ASCII
 * needs no decoding; a run of bytes ≥ 0x80 holds only whole UTF-8 sequences, except at a window's
 * end, where it is carried over to the next.
 */
function* utf8Pieces(windows: Iterable<Uint8Array>): Generator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const decode = (bytes: Uint8Array) => {
    try {
      return decoder.decode(bytes);
    } catch {
      throw new InvalidMetadataError('metadata is not UTF-8');
    }
  };
  let carry: Buffer | undefined;
  for (const window of windows) {
    const text = Buffer.from(window.buffer, window.byteOffset, window.byteLength).toString('latin1');
    const nonAscii = /[\x80-\xff]+/g;
    let start = 0;
    for (let run = nonAscii.exec(text); run; run = nonAscii.exec(text)) {
      if (run.index > start) {
        if (carry) yield decode(carry);
        carry = undefined;
        yield text.slice(start, run.index);
      }
      start = run.index + run[0].length;
      // Copied out of the shared slot, which TextDecoder does not read.
      const bytes = Buffer.from(window.subarray(run.index, start));
      const sequence = carry ? Buffer.concat([carry, bytes]) : bytes;
      carry = undefined;
      if (start === window.length) carry = sequence;
      else yield decode(sequence);
    }
    if (start < window.length) {
      if (carry) yield decode(carry);
      carry = undefined;
      yield text.slice(start);
    }
  }
  if (carry) yield decode(carry);
}

/**
 * Lowers this thread's CPU priority: on Linux a thread has its own nice value, set through its
 * thread id (from /proc/thread-self). Elsewhere, or when refused, it keeps the process's.
 */
function lowerPriority(): void {
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
    if (Number.isInteger(threadId) && threadId > 0) setPriority(threadId, BACKGROUND_NICENESS);
  } catch {
    // Not Linux, or not allowed: the usual priority.
  }
}

if ((workerData as WorkerData).lowPriority) lowerPriority();

parentPort!.on('message', (request: JobRequest) => {
  const job = new Job(request);
  try {
    if (request.inspect) {
      const shape = inspectSignature(utf8Pieces(job.windows()));
      checkSignatureShape(shape);
      job.post({ kind: 'shape', shape });
    }
    const skipped: Skipped[] = [];
    // The records leave as they are read, so the worker never holds them all (nor the text they were cut from).
    const parsed = parseMetadata(utf8Pieces(job.windows()), request.source, {
      now: new Date(request.now),
      onSkip: (reason, entityId) => void skipped.push({ reason, ...(entityId === undefined ? {} : { entityId }) }),
      onRecord: (record) => void job.records.push(record),
    });
    job.drain();
    job.post({ kind: 'done', parsed, skipped });
  } catch (err) {
    if (!(err instanceof Cancelled)) job.post({ kind: 'failed', message: (err as Error).message });
  }
});
