/**
 * Reference for device events and the unlock: the least a system can do to acknowledge a device's
 * event durably, as the hub's contract asks (docs/protocol.md §2.3). A bare aedes broker
 * (TCP_NODELAY); each `events` message is appended to a log file and, once an fdatasync of that
 * file that started after the write has returned (one sync for everything written before it, in
 * libuv's thread pool: the hub's way), its ids are acknowledged on `events/ack` at QoS 1 and a
 * keypad entry is answered with an unlock on `commands`. Nothing is checked, deduplicated,
 * indexed or decided. Arguments: the MQTT port, then the log file.
 */
import { fdatasync, openSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const broker = await Aedes.createBroker();
const mqtt = createServer({ noDelay: true }, broker.handle as never);
const log = openSync(process.argv[3] as string, 'a');

let waiting: Array<() => void> = [];
let syncing = false;
const sync = () => {
  if (syncing || waiting.length === 0) return;
  syncing = true;
  const covered = waiting;
  waiting = [];
  fdatasync(log, (err) => {
    syncing = false;
    if (err) throw err;
    for (const done of covered) done();
    sync();
  });
};

const publish = (topic: string, body: unknown) =>
  broker.publish(
    { cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(body)), qos: 1, retain: false, dup: false },
    () => {},
  );

broker.subscribe(
  'casier/v1/+/+/events',
  (packet, done) => {
    writeSync(log, Buffer.concat([packet.payload as Buffer, Buffer.from('\n')]));
    const root = packet.topic.slice(0, -'events'.length);
    const { events } = JSON.parse(packet.payload.toString()) as {
      events: Array<{ id: string; type: string }>;
    };
    waiting.push(() => {
      for (const e of events)
        if (e.type === 'keypad.entry') publish(`${root}commands`, { id: e.id, type: 'unlock', door: 1 });
      publish(`${root}events/ack`, { ids: events.map((e) => e.id) });
    });
    sync();
    done();
  },
  () => mqtt.listen(Number(process.argv[2]), '127.0.0.1', () => console.log('listening')),
);
process.on('SIGTERM', () => process.exit(0));
