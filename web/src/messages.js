// What a failed smelt means for the person and what to do next. The server's
// error_message is shown verbatim; this adds the next step per error_code
// (spec smelts-api §3 SmeltErrorCode, §8).

const NEXT_STEPS = Object.freeze({
  file_too_large: 'Try a smaller file, or split the recording into parts under 25 MB.',
  invalid_format: 'Try an MP3, WAV or M4A file.',
  duration_exceeded: 'Split the recording into parts of at most 30 minutes.',
  corrupted_file: 'The file could not be read. Export it again or try a different one.',
  transcription_failed: 'Start the smelt again. If it keeps failing, try a different file.',
  synthesis_failed: 'Start the smelt again, perhaps with fewer prompts.',
  api_rate_limited: 'Your provider is limiting requests. Wait a moment, then start again.',
  api_quota_exhausted: 'Add credit with your provider, or remove your API key in Account to use your weekly credits.',
  api_key_invalid: 'Update your API key in Account, or remove it to use your weekly credits.',
  connection_lost: 'Check your connection and start again.',
  internal_error: 'Start the smelt again in a moment.',
  url_not_allowed: 'Use a public https link to the audio file, or download it and upload the file.',
  url_unreachable: 'Check that the link opens the audio file itself (not a page or a redirect), then start again.',
});

const DEFAULT_NEXT_STEP = 'Start the smelt again in a moment.';

/**
 * The next step for a failed smelt.
 * @param {string|null|undefined} errorCode the smelt's error_code
 * @returns {string} a sentence (a generic one for unknown codes); failed
 *   smelts give their credit back, so starting again costs nothing extra
 */
export function nextStepFor(errorCode) {
  return NEXT_STEPS[errorCode] || DEFAULT_NEXT_STEP;
}

/**
 * Labels of smelt statuses for lists and badges.
 * @param {string} status
 * @returns {string}
 */
export function statusLabel(status) {
  switch (status) {
    case 'pending':
      return 'Queued';
    case 'validating':
    case 'decoding':
    case 'transcribing':
    case 'synthesizing':
      return 'In progress';
    case 'completed':
      return 'Completed';
    case 'failed':
      return 'Failed';
    case 'cancelled':
      return 'Cancelled';
    default:
      return status || 'Unknown';
  }
}
