/** The store and the domain objects over it: shared by the running hub and the command line. */
import { Ledger } from './db/ledger.ts';
import { openDb } from './db/open.ts';
import { Codes } from './domain/codes.ts';
import { CustomerLinks } from './domain/customer-links.ts';
import { Fleet } from './domain/fleet.ts';
import { Parcels } from './domain/parcels.ts';
import { Provisioning } from './domain/provisioning.ts';
import { loadOrCreateKey } from './domain/secrets.ts';

/** Opens (creating and migrating if needed) the store in `dataDir`. */
export function openStore(dataDir: string, codeDigits = 8, now: () => number = Date.now) {
  const db = openDb(dataDir);
  const hubKey = loadOrCreateKey(dataDir);
  const ledger = new Ledger(db, hubKey);
  ledger.keyLegacy(now());
  const codes = new Codes(db, hubKey, codeDigits);
  codes.sealLegacyOfflineKeys();
  // Where customers reach the hub is the running hub's to say (hub/service.ts).
  const links = new CustomerLinks(db, hubKey, '');
  return {
    db,
    /** The hub's key (hub.key): the chain and the anchors are checked with keys derived from it. */
    hubKey,
    ledger,
    codes,
    provisioning: new Provisioning(db, ledger, now, (locker, key) => codes.sealOfflineKey(locker, key)),
    parcels: new Parcels(db, ledger, codes, now, (id) => links.hash(id)),
    /** Customers' parcel page links. */
    links,
    fleet: new Fleet(db, ledger),
  };
}
