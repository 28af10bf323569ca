import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLOSE_CODES, CloseCode, closeAction, describeClose } from '../../dist/index.js';

test('every close code of the server table has a meaning and tells whether to reconnect', () => {
  const table = Object.fromEntries(Object.values(CloseCode).map((code) => [code, closeAction(code)]));
  assert.deepEqual(table, {
    1000: 'finished',
    1002: 'stop',
    1009: 'stop',
    4000: 'resume',
    4001: 'resume',
    4002: 'resume',
    4003: 'resume',
    4429: 'resume',
    4500: 'stop',
    4501: 'stop',
    4503: 'stop',
    4504: 'stop',
  });
  for (const code of Object.values(CloseCode)) {
    const info = CLOSE_CODES[code];
    assert.equal(info.code, code);
    assert.ok(info.meaning.length > 0, `${code} has a meaning`);
    assert.equal(info.reconnect, info.action === 'resume', `${code}: reconnect only to resume`);
  }
  assert.equal(CloseCode.SlowConsumer, 4000);
  assert.equal(CloseCode.Unauthorized, 4501);
});

test('unlisted close codes are classified by range', () => {
  assert.equal(closeAction(4499), 'resume');
  assert.equal(closeAction(4999), 'stop');
  assert.equal(closeAction(1006), 'retry');
  assert.equal(closeAction(1011), 'retry');
  assert.equal(closeAction(1001), 'retry');
  assert.equal(describeClose(1006).reconnect, true);
  assert.equal(describeClose(4600).reconnect, false);
});
