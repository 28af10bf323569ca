// What the browser can tell about a media file before it is uploaded.

/**
 * A file's length as the browser reads it from the file's header.
 * @param {Blob} file
 * @returns {Promise<number|null>} seconds, or null when the browser cannot
 *   tell (an unsupported codec, or a recording whose header has no length)
 */
export function probeDuration(file) {
  if (typeof document === 'undefined' || typeof URL.createObjectURL !== 'function') return Promise.resolve(null);
  return new Promise((resolve) => {
    const audio = document.createElement('audio');
    const url = URL.createObjectURL(file);
    let settled = false;
    const done = (value) => {
      if (settled) return;
      settled = true;
      audio.removeAttribute('src');
      audio.load();
      URL.revokeObjectURL(url);
      resolve(value);
    };
    audio.preload = 'metadata';
    audio.addEventListener('loadedmetadata', () => done(Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : null), { once: true });
    audio.addEventListener('error', () => done(null), { once: true });
    audio.src = url;
  });
}
