/**
 * The hub on external brokers from Debian's packages instead of its embedded one: Mosquitto with
 * the ACL `casier broker mosquitto-acl` prints, and nats-server's MQTT listener on JetStream. The
 * deposit → pickup flow runs through each; cabinets stay in their lane; two hubs sharing one
 * broker each see only their own sites; a site's own Mosquitto forwards to the central one; a
 * cluster of nats-servers carries a hub and a cabinet on different nodes.
 */

import { readFileSync, rmSync } from 'node:fs';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { startHub } from '../../hub/service.ts';
import {
  certificates,
  type ExternalBroker,
  startMosquitto,
  startNats,
  startSiteBrokers,
} from '../helpers/brokers.ts';
import { bounded, eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';

const HUB_PASSWORD = 'hub-secret-for-tests';
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function hubOn(broker: ExternalBroker, username: string, sites?: string[]): Promise<TestHub> {
  const t = await startTestHub(
    { mqttUrl: broker.url, mqttUsername: username, mqttPassword: HUB_PASSWORD, sites },
    { registerDevice: (u, p) => broker.addUser(u, p) },
  );
  cleanup.push(() => t.close());
  return t;
}

/** A parcel from creation to pickup at `box`, every step through the broker. */
async function depositAndPickup(t: TestHub, box: SimLocker, lockerId: string) {
  const created = await t.api(
    'POST',
    '/api/v1/parcels',
    { lockerId, size: 'S', temperatureClass: 'ambient', recipient: { name: 'Noé' } },
    t.integration,
  );
  expect(created.status).toBe(201);
  const { parcel, depositCode, pickupCode } = created.body;
  const state = async () => (await t.api('GET', `/api/v1/parcels/${parcel.id}`)).body.state;
  for (const [code, after] of [
    [depositCode, 'stored'],
    [pickupCode, 'picked_up'],
  ]) {
    const unlocked = waitFor<[number]>(box, 'unlocked', (door) => door === parcel.door, 10_000);
    box.pressCode(code);
    await unlocked;
    box.openDoor(parcel.door);
    box.closeDoor(parcel.door);
    await eventually(async () => (await state()) === after, 10_000, `parcel ${after}`);
  }
}

describe.each([
  ['Mosquitto', startMosquitto],
  ['nats-server (MQTT on JetStream)', startNats],
])('the hub on %s', (_name, start) => {
  it('runs the deposit → pickup flow', async () => {
    const broker = await start([{ username: 'casier-hub', password: HUB_PASSWORD }]);
    cleanup.push(() => broker.stop());
    const t = await hubOn(broker, 'casier-hub');
    const box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
    await eventually(async () => (await t.api('GET', '/api/v1/lockers/box-1')).body.online, 10_000, 'online');
    await depositAndPickup(t, box, 'box-1');
  });

  it('lets no newer event overtake older ones the broker took while the hub was away', async () => {
    const broker = await start([{ username: 'casier-hub', password: HUB_PASSWORD }]);
    cleanup.push(() => broker.stop());
    const t = await hubOn(broker, 'casier-hub');
    // Re-sent only after a minute: what the hub gets sooner is the bridge's ordering at work.
    const box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', {
      resendMs: 60_000,
      ackWaitMs: 50,
    });
    await eventually(async () => (await t.api('GET', '/api/v1/lockers/box-1')).body.online, 10_000, 'online');
    const sent = new Set<string>();
    box.bridge.on('sent', (events: Array<{ id: string }>) => {
      for (const e of events) sent.add(e.id);
    });
    await t.restart(async () => {
      // The broker acknowledges these, and delivers them to nobody.
      box.openDoor(3, { force: true });
      box.closeDoor(3);
      await eventually(() => sent.size === 2, 5000, 'both sent into the broker');
    });
    await eventually(
      async () => (await t.api('GET', '/api/v1/lockers/box-1')).body.online,
      10_000,
      'online again',
    );
    box.openDoor(4, { force: true }); // newer than both
    const applied = () =>
      t.hub.db
        .prepare(
          `SELECT json_extract(data, '$.eventId') FROM events WHERE type IN ('door.opened', 'door.closed') ORDER BY seq`,
        )
        .pluck()
        .all()
        .map((id) => Number(String(id).split('-').pop())); // the cabinet's sequence numbers, as applied
    await eventually(() => applied().length === 3, 10_000, 'the three door events');
    const seqs = applied();
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('keeps a cabinet to its own topics', async () => {
    const broker = await start([{ username: 'casier-hub', password: HUB_PASSWORD }]);
    cleanup.push(() => broker.stop());
    const t = await hubOn(broker, 'casier-hub');
    const box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
    await eventually(async () => (await t.api('GET', '/api/v1/lockers/box-1')).body.online, 10_000, 'online');
    // A second, genuine cabinet whose credentials are used to reach the first one's topics.
    const other = t.hub.provisioning.addDevice({ site: 'ferme', locker: 'box-2' }, 'rural-box-8', 'test');
    await bounded(broker.addUser('ferme/box-2', other.password), 20_000, 'the broker to let box-2 in');
    const intruder = await bounded(
      mqtt.connectAsync(broker.url, {
        username: 'ferme/box-2',
        password: other.password,
        clientId: 'ferme/box-2',
        reconnectPeriod: 0,
      }),
      10_000,
      'the intruder to connect',
    );
    cleanup.push(() => intruder.endAsync(true));
    // Refused outright (NATS), or granted and never delivered (Mosquitto checks reads at delivery).
    const overheard: string[] = [];
    intruder.on('message', (topic) => overheard.push(topic));
    for (const filter of ['casier/v1/ferme/box-1/commands', '$MQTT/sub/#', '#'])
      await bounded(
        intruder.subscribeAsync(filter, { qos: 1 }).catch(() => []),
        5000,
        `the broker to answer a subscribe to ${filter}`,
      );
    const unlocked = waitFor<[number]>(box, 'unlocked', (door) => door === 1, 10_000);
    const opened = await t.api('POST', '/api/v1/lockers/box-1/compartments/1/open', { reason: 'lane test' });
    expect(opened.status).toBe(202);
    await unlocked;
    const before = (await t.api('GET', '/api/v1/events?lockerId=box-1&type=door.opened')).body.events.length;
    await bounded(
      intruder.publishAsync(
        'casier/v1/ferme/box-1/events',
        JSON.stringify({
          bootId: 'forged',
          events: [{ id: 'forged-1', seq: 1, ts: Date.now(), type: 'door.opened', door: 1 }],
        }),
        { qos: 1 },
      ),
      5000,
      'the broker to acknowledge the forged publish',
    ).catch((err: Error) => {
      // A broker may also answer by closing the connection; one that does neither is a failure.
      if (intruder.connected) throw err;
    });
    // Then a genuine event of its own, after the forged one on the same connection, and its
    // acknowledgement: once the hub has applied this, it has had the forged one too, had the
    // broker passed it on.
    if (intruder.connected) {
      await bounded(
        intruder.subscribeAsync('casier/v1/ferme/box-2/events/ack', { qos: 1 }),
        5000,
        'the intruder subscribed to its own acks',
      );
      const acked = bounded(
        new Promise<void>((resolve) =>
          intruder.on('message', (topic, payload) => {
            if (topic.endsWith('/events/ack') && String(payload).includes('probe-1')) resolve();
          }),
        ),
        10_000,
        'the hub to acknowledge the intruder’s own event',
      );
      await intruder.publishAsync(
        'casier/v1/ferme/box-2/events',
        JSON.stringify({
          bootId: 'probe',
          events: [{ id: 'probe-1', seq: 1, ts: Date.now(), type: 'tamper', detail: 'lane test' }],
        }),
        { qos: 1 },
      );
      await acked;
    }
    // Its own retained code table may arrive; nothing of box-1's may.
    expect(overheard.filter((topic) => !topic.startsWith('casier/v1/ferme/box-2/'))).toEqual([]);
    const after = (await t.api('GET', '/api/v1/events?lockerId=box-1&type=door.opened')).body.events.length;
    expect(after).toBe(before);
  });
});

describe('two hubs on one Mosquitto', () => {
  it('each sees only its own sites', async () => {
    const broker = await startMosquitto([
      { username: 'hub-ferme', password: HUB_PASSWORD, sites: ['ferme'] },
      { username: 'hub-lyon', password: HUB_PASSWORD, sites: ['lyon'] },
    ]);
    cleanup.push(() => broker.stop());
    const north = await hubOn(broker, 'hub-ferme', ['ferme']);
    const south = await hubOn(broker, 'hub-lyon', ['lyon']);
    const box = await north.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
    const locker = await south.locker({ site: 'lyon', locker: 'locker-1' }, 'town-locker-16');
    // A trap: the northern hub also knows the southern locker. Were its messages to reach it, it
    // would mark it online.
    north.hub.provisioning.addDevice({ site: 'lyon', locker: 'locker-1' }, 'town-locker-16', 'test');
    await depositAndPickup(north, box, 'box-1');
    await depositAndPickup(south, locker, 'locker-1');
    await locker.telemetry([{ sensor: 't7', c: 4 }]); // a sensor of the town locker's profile
    await eventually(
      async () => (await south.api('GET', '/api/v1/lockers/locker-1')).body.online === true,
      10_000,
    );
    const seenByNorth = (await north.api('GET', '/api/v1/lockers/locker-1')).body;
    expect(seenByNorth.online).toBe(false);
    expect(seenByNorth.lastSeen).toBeNull();
    const events = (await north.api('GET', '/api/v1/events?lockerId=locker-1')).body.events;
    expect(events.map((e: { type: string }) => e.type)).toEqual(['locker.provisioned']);
  });
});

describe('the hub on Mosquitto over TLS', () => {
  it('trusts the broker through the authority it is given, and refuses it otherwise', async () => {
    const tls = certificates();
    cleanup.push(async () => rmSync(tls.dir, { recursive: true, force: true }));
    const broker = await startMosquitto([{ username: 'casier-hub', password: HUB_PASSWORD }], tls);
    cleanup.push(() => broker.stop());
    const base = { mqttUsername: 'casier-hub', mqttPassword: HUB_PASSWORD, mqttUrl: broker.tlsUrl };
    // Without the authority, the broker's certificate is not trusted: the hub does not start.
    await expect(
      startHub({
        ...base,
        dataDir: tls.dir,
        host: '127.0.0.1',
        httpPort: 0,
        mqttPort: 0,
        codeDigits: 8,
        logLevel: 'silent',
      }),
    ).rejects.toThrow(/certificate/);
    const t = await startTestHub(
      { ...base, mqttCa: readFileSync(tls.caFile, 'utf8') },
      { registerDevice: (u, p) => broker.addUser(u, p) },
    );
    cleanup.push(() => t.close());
    // The cabinet on the plain loopback listener, the hub over TLS: the same broker, the same flow.
    t.hub.mqttUrl = broker.url;
    const box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
    await eventually(async () => (await t.api('GET', '/api/v1/lockers/box-1')).body.online, 10_000, 'online');
    await depositAndPickup(t, box, 'box-1');
  });
});

describe('a site with its own Mosquitto, forwarding to the central one', () => {
  it('carries the flow, and events, commands and readings across an outage of its line, each once', async () => {
    const brokers = await startSiteBrokers({ username: 'casier-hub', password: HUB_PASSWORD }, 'ferme');
    cleanup.push(() => brokers.stop());
    const { central, line, site } = brokers;
    const t = await startTestHub(
      { mqttUrl: central.url, mqttUsername: 'casier-hub', mqttPassword: HUB_PASSWORD },
      { registerDevice: (u, p) => site.addUser(u, p) },
    );
    cleanup.push(() => t.close());
    const box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', { url: site.url });
    await depositAndPickup(t, box, 'box-1');

    // An operator opens a door from the hub and the line goes down at once: the command reaches
    // the cabinet before the cut or after the line is back (the central broker keeps it for the
    // link's session), once either way. The cabinet, still connected to its site's broker,
    // records a door forced open meanwhile, which waits on its side of the line.
    const unlocked = waitFor<[number]>(box, 'unlocked', (door) => door === 3, 30_000);
    const opened = await t.api('POST', '/api/v1/lockers/box-1/compartments/3/open', { reason: 'line test' });
    expect(opened.status).toBe(202);
    line.cut();
    const readings = () =>
      t.hub.db.prepare(`SELECT count(*) FROM readings WHERE locker_id = 'box-1' AND c = 4.4`).pluck().get();
    const doorEvents = () =>
      t.hub.db.prepare(`SELECT count(*) FROM device_events WHERE type LIKE 'door.%'`).pluck().get() as number;
    const before = doorEvents();
    const seqBefore = (t.hub.db.prepare('SELECT max(seq) FROM events').pluck().get() as number) ?? 0;
    await box.telemetry([{ sensor: 't1', c: 4.4 }]); // QoS 0, like every live reading
    // Sent into the cut line, then re-sent by the bridge meanwhile: the forced opening's two door
    // events twice at least.
    const forced: string[] = [];
    const sends = new Map<string, number>();
    const onRecorded = (e: { id: string; type: string }) => e.type.startsWith('door.') && forced.push(e.id);
    const count = (events: Array<{ id: string }>) => {
      for (const e of events) sends.set(e.id, (sends.get(e.id) ?? 0) + 1);
    };
    box.bridge.on('recorded', onRecorded);
    box.bridge.on('sent', count);
    box.openDoor(7, { force: true });
    box.closeDoor(7);
    await eventually(
      () => forced.length === 2 && forced.every((id) => (sends.get(id) ?? 0) >= 2),
      10_000,
      'the door events re-sent',
    );
    box.bridge.off('recorded', onRecorded);
    box.bridge.off('sent', count);
    expect(doorEvents()).toBe(before);
    expect(readings()).toBe(0);
    const online = async () => (await t.api('GET', '/api/v1/lockers/box-1')).body.online;
    // The link's last will at the central broker: the hub knows at once the cabinet is out of reach.
    expect(await online()).toBe(false);
    const ferme = async () =>
      (await t.api('GET', '/api/v1/sites')).body.sites.find((x: { id: string }) => x.id === 'ferme');
    expect((await ferme()).line).toMatchObject({ up: false });
    // Knowing it, the hub refuses to open a door there rather than promise it.
    const refused = await t.api('POST', '/api/v1/lockers/box-1/compartments/4/open', { reason: 'line test' });
    expect([refused.status, refused.body.error.code]).toEqual([503, 'HUB_ERR_LOCKER_OFFLINE']);
    // The hub restarts during the outage: the central broker replays the cabinet's state from
    // before the line dropped (online) and the line's `0`, in no set order. Still out of reach,
    // and the same outage is not recorded twice.
    await t.restart();
    await eventually(
      async () =>
        /casier_ingest_dropped_total\{suffix="state",reason="site_line_down"\} 1/.test(
          (await t.api('GET', '/metrics')).body,
        ),
      10_000,
      'the stale state replayed and set aside',
    );
    expect(await online()).toBe(false);
    expect((await ferme()).line).toMatchObject({ up: false });

    line.restore();
    await unlocked;
    const remoteOpen = box.received.filter((c) => c.type === 'unlock' && c.door === 3);
    expect(new Set(remoteOpen.map((c) => c.id)).size).toBe(1); // re-sent perhaps, one command
    await eventually(() => doorEvents() === before + 2, 15_000, 'the forced door, opened and closed');
    await eventually(() => box.unacknowledged === 0, 10_000, 'every event acknowledged');
    await eventually(() => readings() === 1, 10_000, 'the reading taken while the line was down');
    // A duplicate still in a broker's queue would arrive before events the cabinet sends after it:
    // one more door, opened and closed, and still exactly these once.
    box.openDoor(4, { force: true });
    box.closeDoor(4);
    await eventually(() => doorEvents() >= before + 4, 15_000, 'the later door');
    expect(doorEvents()).toBe(before + 4);
    // Back: the site broker sends each cabinet's retained state again.
    await eventually(online, 10_000, 'box-1 online again');
    const lines = (await t.api('GET', '/api/v1/events?type=site.line_down')).body.events;
    expect(lines.map((e: { data: { site: string } }) => e.data.site)).toEqual(['ferme']);
    const recorded = (await t.api('GET', '/api/v1/events?lockerId=box-1&type=door.opened')).body.events;
    expect(recorded.filter((e: { seq: number }) => e.seq > seqBefore)).toHaveLength(2); // the forced door, and the later one
  });
});

describe('the hub on a cluster of three nats-servers', () => {
  it('runs the deposit → pickup flow with the hub and the cabinet on different nodes', async () => {
    const broker = await startNats([{ username: 'casier-hub', password: HUB_PASSWORD }], 3);
    cleanup.push(() => broker.stop());
    const t = await hubOn(broker, 'casier-hub');
    const box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', { url: broker.urls[2] });
    await depositAndPickup(t, box, 'box-1');
  });
});
