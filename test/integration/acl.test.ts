import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { topic } from '../../devices/index.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';

let t: TestHub;
let password: string;
const clients: mqtt.MqttClient[] = [];

beforeEach(async () => {
  t = await startTestHub();
  password = t.hub.provisioning.addDevice({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', 'test').password;
  t.hub.provisioning.addDevice({ site: 'ferme', locker: 'box-2' }, 'rural-box-8', 'test');
});
afterEach(async () => {
  await Promise.allSettled(clients.map((c) => c.endAsync(true)));
  clients.length = 0;
  await t.close();
});

/** Connects once, without reconnecting; resolves with the client or rejects with the CONNACK error. */
function connect(opts: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(t.hub.mqttUrl, {
      reconnectPeriod: 0,
      protocolVersion: 4,
      connectTimeout: 3000,
      ...opts,
    });
    clients.push(c);
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

const asBox = () => connect({ username: 'ferme/box-1', password, clientId: 'ferme/box-1' });

async function metric(name: string): Promise<string[]> {
  const text = (await t.api('GET', '/metrics')).body as string;
  return text.split('\n').filter((l) => l.startsWith(name));
}

describe('broker access control', () => {
  it('refuses anonymous clients, wrong passwords, and a client id that is not the username', async () => {
    await expect(connect({ clientId: 'anon' })).rejects.toThrow(/Bad username or password|Not authorized/i);
    await expect(
      connect({ username: 'ferme/box-1', password: 'wrong', clientId: 'ferme/box-1' }),
    ).rejects.toThrow();
    await expect(connect({ username: 'ferme/box-1', password, clientId: 'ferme/box-2' })).rejects.toThrow(
      /Identifier rejected/i,
    );
    await expect(connect({ username: 'autre/box-1', password, clientId: 'autre/box-1' })).rejects.toThrow();
    await expect(
      connect({ username: 'casier-hub', password: 'guess', clientId: 'casier-hub-x' }),
    ).rejects.toThrow();
    expect(await metric('casier_mqtt_connect_refused_total')).toEqual(
      expect.arrayContaining([
        expect.stringContaining('reason="bad_credentials"'),
        expect.stringContaining('reason="client_id"'),
      ]),
    );
  });

  it("refuses a device's subscription to #, to another locker's topics and to its own upward topics", async () => {
    const c = await asBox();
    const filters = [
      '#',
      'casier/v1/+/+/commands',
      topic({ site: 'ferme', locker: 'box-2' }, 'commands'),
      topic({ site: 'ferme', locker: 'box-1' }, 'events'),
    ];
    for (const f of filters) {
      // mqtt.js turns a SUBACK of 0x80 into an error carrying the packet
      const err = (await c.subscribeAsync(f, { qos: 1 }).catch((e) => e)) as {
        packet?: { granted: number[] };
      };
      expect(err.packet?.granted, f).toEqual([128]);
    }
    expect(await metric('casier_mqtt_subscribe_refused_total')).toEqual([expect.stringMatching(/ 4$/)]);
    const own = await c.subscribeAsync(topic({ site: 'ferme', locker: 'box-1' }, 'commands'), { qos: 1 });
    expect(own[0]?.qos).toBe(1);
    expect(c.connected).toBe(true);
  });

  it('disconnects a device publishing as another locker, and the hub records nothing of it', async () => {
    const c = await asBox();
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    const forged = {
      bootId: 'x',
      events: [{ id: 'x-1', seq: 1, ts: Date.now(), type: 'door.opened', door: 1 }],
    };
    c.publish(topic({ site: 'ferme', locker: 'box-2' }, 'events'), JSON.stringify(forged), { qos: 1 });
    await closed;
    expect(await metric('casier_mqtt_publish_refused_total')).toEqual([
      expect.stringMatching(/reason="acl"} 1$/),
    ]);
    const events = t.hub.db.prepare('SELECT count(*) AS n FROM device_events').get() as { n: number };
    expect(events.n).toBe(0);
  });

  it('disconnects a device publishing commands to itself', async () => {
    const c = await asBox();
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.publish(
      topic({ site: 'ferme', locker: 'box-1' }, 'commands'),
      JSON.stringify({ id: 'c', type: 'unlock', door: 1, expiresAt: Date.now() + 1e4 }),
      { qos: 1 },
    );
    await closed;
  });
});
