/**
 * Parsing realtime frames and applying them exactly once.
 *
 * @module
 */
import { EVENT_KINDS, isTerminalStatus, type SmeltEvent, type SmeltEventKind, TERMINAL_EVENT_KINDS } from './types.js';

/** A frame as it arrives, before it is known to be one of the typed events. */
export interface RawFrame {
  event: string;
  seq: number | null;
  payload: unknown;
}

const decoder = new TextDecoder();

/**
 * Parses one frame (`{"event", "seq", "payload"}`; `seq` is null only on a live queue-place
 * `progress` frame).
 * @param data a WebSocket message's data or an SSE event's data: text, or UTF-8 bytes
 * @returns the frame, or null for anything that is not an event frame (control messages,
 *   malformed JSON, a missing or non-numeric seq other than a queue place's null)
 */
export function parseFrame(data: unknown): RawFrame | null {
  let text: string;
  if (typeof data === 'string') text = data;
  else if (data instanceof ArrayBuffer) text = decoder.decode(data);
  else if (ArrayBuffer.isView(data)) text = decoder.decode(data);
  else return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object') return null;
  const frame = value as { event?: unknown; seq?: unknown; payload?: unknown };
  if (typeof frame.event !== 'string') return null;
  // A pending smelt's place in the queue is pushed live as a `progress` frame with seq null:
  // it is not in the event log, so it never moves the last seq.
  if (frame.seq === null && frame.event === 'progress') return { event: frame.event, seq: null, payload: frame.payload ?? {} };
  if (typeof frame.seq !== 'number' || !Number.isFinite(frame.seq)) return null;
  return { event: frame.event, seq: frame.seq, payload: frame.payload ?? {} };
}

/**
 * Whether a frame is one of the event kinds this client knows (later servers may add more).
 * @param frame a parsed frame
 * @returns true for `snapshot`, `progress`, `segment`, `completed`, `failed`, `cancelled`
 */
export function isKnownEvent(frame: RawFrame): frame is RawFrame & SmeltEvent {
  return (EVENT_KINDS as readonly string[]).includes(frame.event);
}

/**
 * Whether a frame ends the smelt: a terminal event, or a snapshot of a finished smelt.
 * @param frame a parsed frame
 * @returns true when nothing follows it
 */
export function isFinalEvent(frame: RawFrame): boolean {
  if ((TERMINAL_EVENT_KINDS as readonly string[]).includes(frame.event)) return true;
  return frame.event === ('snapshot' satisfies SmeltEventKind) && isTerminalStatus((frame.payload as { status?: unknown } | null)?.status);
}

/**
 * Remembers the last seq applied and refuses what was applied already, so that replays after
 * a reconnect or a transport switch never apply an event twice: a frame is applied only when
 * its seq is above the last one (a snapshot at seq N is the state after event N, so one at
 * the last seq brings nothing new), and nothing after the final event.
 */
export class SeqFilter {
  /** The last seq applied; null before any. */
  lastSeq: number | null;
  /** Whether a final event (or a snapshot of a finished smelt) was applied. */
  finished = false;

  /** @param lastSeq resume after this seq (null: nothing applied yet) */
  constructor(lastSeq: number | null = null) {
    this.lastSeq = lastSeq;
  }

  /**
   * Whether to apply a frame; records it when so. Frames without a seq (REST snapshots) are
   * accepted without changing the last seq.
   * @param frame a parsed frame
   * @returns true to apply it
   */
  accept(frame: RawFrame): boolean {
    if (frame.seq === null) {
      if (this.finished) return false;
      if (isFinalEvent(frame)) this.finished = true;
      return true;
    }
    if (this.finished) return false;
    if (this.lastSeq !== null && frame.seq <= this.lastSeq) return false;
    this.lastSeq = frame.seq;
    if (isFinalEvent(frame)) this.finished = true;
    return true;
  }
}
