// Creates a text smelt and follows it to the end, in Node.
//
//   npm run build && node examples/node.mjs [http://localhost:8080]
//
// Node 20 has no global WebSocket: the `ws` package stands in for it (Node 22's global one
// works too). Anonymous visitors get one smelt per day per address; pass an access token in
// SMELT_ACCESS_TOKEN to create as a signed-in user.
import WebSocket from 'ws';
import { SmeltApiError, SmeltClient } from '@smelt/client';

const baseUrl = process.argv[2] ?? process.env.SMELT_URL ?? 'http://localhost:8080';
const client = new SmeltClient({ baseUrl, WebSocket, accessToken: process.env.SMELT_ACCESS_TOKEN || null });

const text = [
  'Weekly sync of the mobile team.',
  'Priya will ship the offline mode on Thursday after the last review.',
  'Tom is fixing the crash on older Android phones and needs test devices.',
  'We agreed to move the design review to Monday morning.',
].join(' ');

let created;
try {
  created = await client.create({ text, prompts: ['summarize', 'action_items'] });
} catch (err) {
  if (err instanceof SmeltApiError) {
    console.error(`refused (${err.status} ${err.code}): ${err.message}`);
    process.exit(1);
  }
  throw err;
}
console.log(`smelt ${created.id} created`);

const subscription = client.follow(created, {
  onStatus: ({ status, transport }) => console.error(`  [${transport}] ${status}`),
});

const printResults = (results = []) => {
  for (const result of results) console.log(`\n--- ${result.prompt ?? result.kind ?? result.filename}\n${result.content}`);
};

for await (const event of subscription) {
  switch (event.event) {
    case 'snapshot':
      // The whole state; a smelt that finished before the socket opened arrives as just this.
      console.log(`snapshot: ${event.payload.status}`);
      if (event.payload.status === 'completed') printResults(event.payload.results);
      break;
    case 'progress': {
      const { percentage, stage, queue_position: place } = event.payload.progress;
      console.log(`${String(percentage).padStart(3)}% ${stage}${place ? ` (number ${place} in the queue)` : ''}`);
      break;
    }
    case 'segment':
      console.log(`  [${event.payload.start_ms} ms] ${event.payload.text}`);
      break;
    case 'completed':
      printResults(event.payload.results);
      break;
    case 'failed':
    case 'cancelled':
      console.log(`${event.event}: ${event.payload.error_message}`);
      break;
  }
}
// The loop ends after the terminal event (or a snapshot of a finished smelt).
console.log(`done (${(await subscription.ended).kind})`);
