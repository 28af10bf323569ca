// Small display helpers.

export function formatBytes(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** "about 45 s left", "about 3 min left", "about 1 h 5 min left". */
export function formatEta(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  if (s < 5) return 'almost there';
  if (s < 60) return `about ${s} s left`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `about ${minutes} min left`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `about ${h} h${m ? ` ${m} min` : ''} left`;
}

export function clampPercent(value) {
  const n = Number(value);
  if (!Number.isFinite(n)) return 0;
  return Math.max(0, Math.min(100, Math.round(n)));
}

/** "Team sync.m4a" -> "Team sync.md"; unsafe characters become "_". */
export function markdownFilename(filename, fallback = 'smelt-notes') {
  const base = (filename || '').replace(/\.[^./\\]+$/, '') || fallback;
  const safe = base.replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '_').trim() || fallback;
  return `${safe.slice(0, 120)}.md`;
}
