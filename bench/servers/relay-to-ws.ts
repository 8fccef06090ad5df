/**
 * Baseline for the live feed: the least a system can do to get cabinets' telemetry to browsers.
 * A bare aedes broker (TCP_NODELAY) whose telemetry messages go, untouched and unchecked, to
 * every client of a bare ws server, batched as the hub's feed batches: every 100 ms, or at once
 * when about 4,000 readings wait (the bench's messages carry 6). Each batch is serialised once;
 * a client more than 4 MiB behind is cut, as the hub cuts it.
 * Arguments: the MQTT port, then the WebSocket port.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { WebSocketServer } from 'ws';

const broker = await Aedes.createBroker();
const mqtt = createServer({ noDelay: true }, broker.handle as never);
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[3]) });

const SEND_AT = Math.ceil(4000 / 6);
let pending: string[] = [];
const send = () => {
  if (pending.length === 0) return;
  const data = Buffer.from(`{"type":"telemetry","messages":[${pending.join(',')}]}`);
  pending = [];
  for (const c of wss.clients) {
    // The hub's rule too: a client more than 4 MiB behind is cut, not queued for without bound.
    if (c.bufferedAmount > 4 * 1024 * 1024) c.terminate();
    else c.send(data, { binary: false });
  }
};
setInterval(send, 100);
broker.subscribe(
  'casier/v1/+/+/telemetry',
  (packet, done) => {
    pending.push(packet.payload.toString());
    if (pending.length >= SEND_AT) send();
    done();
  },
  () => mqtt.listen(Number(process.argv[2]), '127.0.0.1', () => console.log('listening')),
);
process.on('SIGTERM', () => process.exit(0));
