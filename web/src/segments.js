// The transcript of a running smelt, segment by segment. Segments arrive from
// the snapshot (everything said so far) and then from `segment` events; a
// reconnect or a transport switch may replay some, so each is kept once,
// keyed by (file_id, index). Pure: unit-tested without a browser.

/**
 * @typedef {{file_id: string, index: number, start_ms: number, end_ms: number, text: string}} Segment
 */

/**
 * Whether a value has the fields a segment needs.
 * @param {unknown} s
 * @returns {s is Segment}
 */
export function isSegment(s) {
  return (
    !!s &&
    typeof s === 'object' &&
    (typeof s.file_id === 'string' || typeof s.file_id === 'number') &&
    Number.isInteger(s.index) &&
    s.index >= 0 &&
    Number.isFinite(s.start_ms) &&
    typeof s.text === 'string'
  );
}

/** Segments per file, in index order, each once. */
export class SegmentStore {
  constructor() {
    /** @type {Map<string, Map<number, Segment>>} file id -> index -> segment */
    this.files = new Map();
  }

  /**
   * Adds one segment unless it is known already.
   * @param {unknown} segment a `segment` payload or a snapshot's SegmentDto
   * @returns {Segment|null} the segment when it is new, null for a replay or something malformed
   */
  add(segment) {
    if (!isSegment(segment)) return null;
    const fileId = String(segment.file_id);
    let file = this.files.get(fileId);
    if (!file) {
      file = new Map();
      this.files.set(fileId, file);
    }
    if (file.has(segment.index)) return null;
    const kept = {
      file_id: fileId,
      index: segment.index,
      start_ms: segment.start_ms,
      end_ms: Number.isFinite(segment.end_ms) ? segment.end_ms : segment.start_ms,
      text: segment.text.trim(),
    };
    file.set(segment.index, kept);
    return kept;
  }

  /**
   * Adds several segments.
   * @param {unknown[]} segments
   * @returns {Segment[]} the new ones, in the order given
   */
  addAll(segments) {
    const added = [];
    for (const s of Array.isArray(segments) ? segments : []) {
      const kept = this.add(s);
      if (kept) added.push(kept);
    }
    return added;
  }

  /**
   * One file's segments in index order.
   * @param {string} fileId
   * @returns {Segment[]}
   */
  forFile(fileId) {
    const file = this.files.get(String(fileId));
    return file ? [...file.values()].sort((a, b) => a.index - b.index) : [];
  }

  /** @returns {string[]} the ids of files with segments, in the order they first appeared */
  fileIds() {
    return [...this.files.keys()];
  }

  /** @returns {number} segments kept over all files */
  get size() {
    let n = 0;
    for (const file of this.files.values()) n += file.size;
    return n;
  }

  /** Forgets everything. */
  clear() {
    this.files.clear();
  }
}

/**
 * Where a new segment goes among the ones already shown for its file: the
 * index of the first shown segment with a higher index (segments of one file
 * arrive in order, but a snapshot and a replay may interleave).
 * @param {number[]} shownIndexes the indexes shown, ascending
 * @param {number} index the new segment's
 * @returns {number} position to insert at (shownIndexes.length to append)
 */
export function insertionPoint(shownIndexes, index) {
  let lo = 0;
  let hi = shownIndexes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (shownIndexes[mid] < index) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
