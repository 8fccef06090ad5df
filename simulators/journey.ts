/**
 * A parcel's whole trip, played by the people involved: the platform orders it over the API, the
 * producer deposits it at the rural box, the driver collects it with their code and scans its
 * label, delivers it to the town locker by scanning it there, and the customer collects it. Used
 * by the demo to show the short supply chain, one journey at a time; the customer's page link is
 * logged, to follow the parcel as its customer does.
 */
import { gs1CheckDigit } from '../devices/index.ts';
import { type LockerFront, nextUnlock } from './front.ts';

export interface JourneyOptions {
  apiUrl: string;
  /** Integration token (orders) */
  token: string;
  driverCode: string;
  from: LockerFront;
  to: LockerFront;
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let serial = 0;

export async function journey(o: JourneyOptions): Promise<void> {
  const body = `376123456${String(Date.now() % 1e6).padStart(6, '0')}${String(++serial % 100).padStart(2, '0')}`;
  const sscc = `${body}${gs1CheckDigit(body)}`;
  const res = await fetch(`${o.apiUrl}/api/v1/parcels`, {
    method: 'POST',
    headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      lockerId: o.from.locker,
      destinationLockerId: o.to.locker,
      size: 'M',
      temperatureClass: 'chilled',
      recipient: { name: 'Margaux' },
      sscc,
    }),
  });
  if (!res.ok) return o.log(`journey  no chilled door free at ${o.from.locker}`);
  const { parcel, depositCode, pickupCode } = (await res.json()) as {
    parcel: { id: string; door: number };
    depositCode: string;
    pickupCode: string;
  };
  const from = o.from.locker.padEnd(9);
  const to = o.to.locker.padEnd(9);
  o.log(`${from} platform  order ${parcel.id} travels to ${o.to.locker}, label ${sscc}`);
  // The customer's page, as their notices carry it: open it to follow the parcel, then its journey.
  const link = await fetch(`${o.apiUrl}/api/v1/parcels/${parcel.id}/customer-link`, {
    headers: { authorization: `Bearer ${o.token}` },
  });
  if (link.ok)
    o.log(`${from} customer  follows ${parcel.id} at ${((await link.json()) as { url: string }).url}`);

  let opened = nextUnlock(o.from, parcel.door);
  o.from.pressCode(depositCode);
  await opened;
  o.from.openDoor(parcel.door);
  await sleep(800);
  o.from.closeDoor(parcel.door);
  o.log(`${from} producer  deposits ${parcel.id} in door ${parcel.door} for the round`);
  await sleep(2000);

  opened = nextUnlock(o.from, parcel.door);
  o.from.pressCode(o.driverCode);
  await opened;
  o.from.openDoor(parcel.door);
  o.from.scan(`]C100${sscc}`);
  await sleep(500);
  o.from.closeDoor(parcel.door);
  o.log(`${from} driver    collects ${parcel.id}, label scanned`);
  await sleep(3000);

  o.to.pressCode(o.driverCode);
  await sleep(500);
  const door = nextUnlock(o.to);
  o.to.scan(`]C100${sscc}`);
  const d = await door;
  o.to.openDoor(d);
  await sleep(800);
  o.to.closeDoor(d);
  o.log(`${to} driver    delivers ${parcel.id}: scanned, door ${d} allocated on arrival`);
  await sleep(3000);

  opened = nextUnlock(o.to, d);
  o.to.pressCode(pickupCode);
  await opened;
  o.to.openDoor(d);
  await sleep(800);
  o.to.closeDoor(d);
  o.log(`${to} customer  Margaux collects ${parcel.id} from door ${d}`);
}
