// Following one smelt for the smelt page, over @smelt/client's subscription:
// the WebSocket (reconnecting with backoff and after_seq), then Server-Sent
// Events after three connections in a row that delivered nothing, then REST
// polling for signed-in users (or the socket again, later, for anonymous
// visitors). Events arrive once and in seq order across all of them. This
// module adapts the subscription to the page: its credentials, its connection
// badge and its sentences for a smelt that can no longer be followed.
import { CloseCode, SmeltClient } from '@smelt/client';

/**
 * @typedef {{token: string, kind: 'subscription'|'access'}} Credentials
 * @typedef {{state: 'idle'|'connecting'|'live'|'reconnecting'|'closed', transport: 'websocket'|'sse'|'polling'}} ConnectionInfo
 */

// Terminal closes carry a short machine reason ("unauthorized", "not found"),
// not something to show a person: each code gets a sentence instead.
const TERMINAL_CLOSE_MESSAGES = Object.freeze({
  [CloseCode.BadRequest]: "CAN'T FOLLOW THIS SMELT. START A NEW ONE",
  [CloseCode.Unauthorized]: "THIS PAGE'S ACCESS TO THE SMELT HAS EXPIRED. START A NEW ONE",
  [CloseCode.Forbidden]: "YOU CAN'T FOLLOW THIS SMELT. START A NEW ONE",
  [CloseCode.NotFound]: 'SMELT NOT FOUND. IT MAY HAVE BEEN DELETED. START A NEW ONE',
});
const DEFAULT_TERMINAL_MESSAGE = "CAN'T FOLLOW THIS SMELT ANY MORE. START A NEW ONE";

/**
 * What to show for a terminal close. A reason written as a message in the
 * server's style (several words, upper case) is shown as is.
 * @param {number} code 4500-4999
 * @param {string} [reason] the close frame's reason
 * @returns {string}
 */
export function terminalCloseMessage(code, reason = '') {
  const text = String(reason || '').trim();
  if (/\s/.test(text) && /[A-Z]/.test(text) && text === text.toUpperCase()) return text;
  return TERMINAL_CLOSE_MESSAGES[code] || DEFAULT_TERMINAL_MESSAGE;
}

/** Follows one smelt over the best transport available. */
export class SmeltFollower {
  /**
   * @param {object} o
   * @param {string} o.smeltId
   * @param {string} [o.subscriptionUrl] the socket path from the create answer
   * @param {(renew?: boolean) => Promise<Credentials|null>} o.credentials the
   *   token to present; `renew` asks for a fresh access token after a 4501
   * @param {() => boolean} o.canPoll whether REST polling is possible (signed in and owner)
   * @param {() => Promise<object>} o.fetchSmelt GET /api/smelts/{id}
   * @param {(message: {event: string, seq: number|null, payload: object}) => void} o.onEvent
   * @param {(info: ConnectionInfo) => void} [o.onConnection]
   * @param {(close: {code: number, reason: string, message?: string}) => void} [o.onTerminal]
   *   the smelt cannot be followed (4500-4999 close, or polling refused)
   * @param {{WebSocket?: Function, fetch?: Function, timers?: object}} [o.impls] for tests
   */
  constructor({ smeltId, subscriptionUrl, credentials, canPoll, fetchSmelt, onEvent, onConnection = () => {}, onTerminal = () => {}, impls = {} }) {
    this.options = { smeltId, subscriptionUrl, credentials, canPoll, fetchSmelt, onEvent, onConnection, onTerminal, impls };
    this.subscription = null;
    this.stopped = false;
  }

  /** Starts with the WebSocket. @returns {this} */
  start() {
    const { smeltId, subscriptionUrl, credentials, canPoll, fetchSmelt, onEvent, onConnection, onTerminal, impls } = this.options;
    let kind = null; // 'subscription' or 'access', once known
    const client = new SmeltClient({
      baseUrl: globalThis.location?.origin ?? 'http://localhost',
      // Only an access token can be renewed; a subscription token stands refused.
      accessToken: async ({ renew }) => {
        if (renew && kind !== 'access') return null;
        const creds = await credentials(renew);
        kind = creds?.kind ?? null;
        return creds?.token ?? null;
      },
      ...(impls.WebSocket ? { WebSocket: impls.WebSocket } : {}),
      ...(impls.fetch ? { fetch: impls.fetch } : {}),
      ...(impls.timers ? { timers: impls.timers } : {}),
    });
    this.subscription = client.follow(
      { id: smeltId, ...(subscriptionUrl ? { subscriptionUrl } : {}) },
      {
        canPoll,
        fetchSmelt,
        onEvent: (event) => {
          if (!this.stopped) onEvent(event);
        },
        onStatus: ({ status, transport }) => {
          if (!this.stopped) onConnection({ state: status, transport });
        },
        onEnd: (end) => {
          if (this.stopped || end.kind !== 'refused') return;
          // A polling refusal carries the server's message; a refused stream is worded per close code.
          if (end.code < 1000) onTerminal({ code: end.code, reason: '', message: end.error?.message });
          else onTerminal({ code: end.code, reason: end.error ? '' : end.reason || '' });
        },
      },
    );
    return this;
  }

  /** Stops every transport; nothing is reported afterwards. */
  stop() {
    this.stopped = true;
    this.subscription?.close();
  }

  /** Skips a pending reconnect wait (e.g. the browser came back online). */
  reconnectNow() {
    this.subscription?.reconnectNow();
  }
}
