/**
 * Versioned schema migrations. Each entry runs once, in order, inside a transaction; the applied
 * version is `PRAGMA user_version`. Never edit a shipped migration: append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  /* 1: sites, lockers, compartments, parcels, codes, commands, device events, the event ledger */ `
  CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE lockers (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    profile TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    online INTEGER NOT NULL DEFAULT 0,
    boot_id TEXT,
    fw TEXT,
    last_seen INTEGER
  ) STRICT;

  CREATE TABLE compartments (
    locker_id TEXT NOT NULL REFERENCES lockers(id),
    door INTEGER NOT NULL,
    size TEXT NOT NULL,
    temperature_class TEXT NOT NULL,
    sensor TEXT,
    door_state TEXT NOT NULL DEFAULT 'unknown',
    parcel_id TEXT,
    -- the open operation in progress on this door: what closing the door will complete
    pending_action TEXT,
    pending_command TEXT,
    pending_opened INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (locker_id, door)
  ) STRICT;

  CREATE TABLE parcels (
    id TEXT PRIMARY KEY,
    locker_id TEXT NOT NULL REFERENCES lockers(id),
    door INTEGER NOT NULL,
    size TEXT NOT NULL,
    temperature_class TEXT NOT NULL,
    state TEXT NOT NULL,
    recipient TEXT NOT NULL,
    sscc TEXT,
    reference TEXT,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deposit_expires_at INTEGER NOT NULL,
    pickup_window_ms INTEGER NOT NULL,
    stored_at INTEGER,
    picked_up_at INTEGER
  ) STRICT;
  CREATE INDEX parcels_state ON parcels(state, created_at);
  CREATE INDEX parcels_locker ON parcels(locker_id, state);
  CREATE INDEX parcels_sscc ON parcels(sscc) WHERE sscc IS NOT NULL;

  -- codes are never stored in clear: hash is HMAC-SHA-256(hub key, code)
  CREATE TABLE codes (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    parcel_id TEXT NOT NULL REFERENCES parcels(id),
    locker_id TEXT NOT NULL,
    door INTEGER NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    not_before INTEGER,
    expires_at INTEGER,
    used_at INTEGER
  ) STRICT;
  CREATE INDEX codes_hash ON codes(hash);
  CREATE INDEX codes_parcel ON codes(parcel_id);

  CREATE TABLE commands (
    id TEXT PRIMARY KEY,
    locker_id TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    cause TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_sent_at INTEGER,
    done_at INTEGER,
    error TEXT
  ) STRICT;
  CREATE INDEX commands_open ON commands(state, locker_id) WHERE state IN ('pending', 'sent');

  -- every event a device sent, once: the (locker, id) key is the deduplication
  CREATE TABLE device_events (
    locker_id TEXT NOT NULL,
    id TEXT NOT NULL,
    boot_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (locker_id, id)
  ) STRICT, WITHOUT ROWID;

  -- the append-only ledger: each row hash-chained to the previous one
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts INTEGER NOT NULL,
    type TEXT NOT NULL,
    actor TEXT NOT NULL,
    locker_id TEXT,
    door INTEGER,
    parcel_id TEXT,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  ) STRICT;
  CREATE INDEX events_parcel ON events(parcel_id) WHERE parcel_id IS NOT NULL;
  CREATE INDEX events_locker ON events(locker_id, seq);
  CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
  CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  ) STRICT;
  `,
  /* 2: offline code tables: a key per locker, the offline hash of each code, a version that
        triggers bump whenever a locker's codes change so the hub knows which tables to publish */ `
  ALTER TABLE lockers ADD COLUMN offline_key TEXT;
  ALTER TABLE lockers ADD COLUMN codes_version INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE lockers ADD COLUMN codes_published INTEGER NOT NULL DEFAULT -1;
  ALTER TABLE codes ADD COLUMN offline_hash TEXT;
  CREATE INDEX codes_offline ON codes(locker_id, offline_hash) WHERE offline_hash IS NOT NULL;
  CREATE TRIGGER codes_changed_insert AFTER INSERT ON codes BEGIN
    UPDATE lockers SET codes_version = codes_version + 1 WHERE id = NEW.locker_id;
  END;
  CREATE TRIGGER codes_changed_update AFTER UPDATE OF state, expires_at, not_before ON codes BEGIN
    UPDATE lockers SET codes_version = codes_version + 1 WHERE id = NEW.locker_id;
  END;
  `,
  /* 3: sequence gaps: find the last event of a boot quickly */ `
  CREATE INDEX device_events_boot ON device_events(locker_id, boot_id, seq);
  `,
  /* 4: cold chain: raw readings and 5-minute aggregates, rule state per sensor (it survives a
        restart), alarms with their lifecycle, each parcel's exposure */ `
  CREATE TABLE readings (locker_id TEXT NOT NULL, sensor TEXT NOT NULL, ts INTEGER NOT NULL, c REAL NOT NULL) STRICT;
  CREATE INDEX readings_sensor ON readings(locker_id, sensor, ts);
  CREATE TABLE readings_5m (
    locker_id TEXT NOT NULL, sensor TEXT NOT NULL, bucket INTEGER NOT NULL,
    min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (locker_id, sensor, bucket)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE sensor_state (
    locker_id TEXT NOT NULL, sensor TEXT NOT NULL,
    rules TEXT NOT NULL,
    last_seen INTEGER NOT NULL,
    interval_ms INTEGER,
    PRIMARY KEY (locker_id, sensor)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE alarms (
    id TEXT PRIMARY KEY,
    locker_id TEXT NOT NULL,
    sensor TEXT,
    door INTEGER,
    kind TEXT NOT NULL,
    level TEXT NOT NULL,
    state TEXT NOT NULL,
    raised_at INTEGER NOT NULL,
    since INTEGER,
    acked_at INTEGER, acked_by TEXT, ack_comment TEXT,
    cleared_at INTEGER,
    details TEXT NOT NULL DEFAULT '{}'
  ) STRICT;
  CREATE INDEX alarms_open ON alarms(locker_id, sensor, kind, level) WHERE state <> 'cleared';
  CREATE INDEX alarms_time ON alarms(raised_at);
  ALTER TABLE parcels ADD COLUMN out_of_range_ms INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE parcels ADD COLUMN breached_at INTEGER;
  ALTER TABLE parcels ADD COLUMN breach_reason TEXT;
  `,
  /* 5: when each door last changed, for the door-left-open alarm */ `
  ALTER TABLE compartments ADD COLUMN door_changed_at INTEGER;
  `,
  /* 6: retention deletes by time */ `
  CREATE INDEX readings_ts ON readings(ts);
  CREATE INDEX readings_5m_bucket ON readings_5m(bucket);
  `,
  /* 7: alarms re-notified while nobody acknowledges them */ `
  ALTER TABLE alarms ADD COLUMN notified_at INTEGER;
  ALTER TABLE alarms ADD COLUMN notifications INTEGER NOT NULL DEFAULT 1;
  `,
  /* 8: cold-chain thresholds per site and class, over the SPEC defaults */ `
  CREATE TABLE site_rules (
    site_id TEXT NOT NULL,
    temperature_class TEXT NOT NULL,
    rules TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (site_id, temperature_class)
  ) STRICT;
  `,
  /* 9: when the controller's current boot began (its state message), to refuse readings from before it */ `
  ALTER TABLE lockers ADD COLUMN boot_at INTEGER;
  `,
  /* 10: webhooks: subscriptions per integration token, and a durable delivery outbox fed from the ledger */ `
  CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    token_id TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
  ) STRICT;
  CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id),
    event_seq INTEGER NOT NULL,
    parcel_id TEXT NOT NULL,
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER,
    UNIQUE (webhook_id, event_seq)
  ) STRICT;
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE state = 'pending';
  CREATE TABLE cursors (name TEXT PRIMARY KEY, seq INTEGER NOT NULL) STRICT;
  `,
  /* 11: parcels that travel (origin box → destination locker) and the drivers who carry them */ `
  ALTER TABLE parcels ADD COLUMN destination_locker_id TEXT;
  ALTER TABLE parcels ADD COLUMN destination_site_id TEXT;
  ALTER TABLE parcels ADD COLUMN custody TEXT;
  ALTER TABLE parcels ADD COLUMN collect_scanned_at INTEGER;
  ALTER TABLE parcels ADD COLUMN in_transit_at INTEGER;
  ALTER TABLE parcels ADD COLUMN ready_at INTEGER;
  CREATE TABLE drivers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    code_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
  ) STRICT;
  `,
  /* 12: tokens scoped to a person (a producer, a driver), and producers of parcels */ `
  ALTER TABLE api_tokens ADD COLUMN subject TEXT;
  CREATE TABLE producers (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL) STRICT;
  ALTER TABLE parcels ADD COLUMN producer_id TEXT;
  CREATE INDEX parcels_producer ON parcels(producer_id) WHERE producer_id IS NOT NULL;
  `,
  /* 13: the reminder sent before a pickup deadline */ `
  ALTER TABLE parcels ADD COLUMN reminded_at INTEGER;
  `,
  /* 14: where a parcel started, so an uncollected travelling parcel can go back there */ `
  ALTER TABLE parcels ADD COLUMN origin_locker_id TEXT;
  ALTER TABLE parcels ADD COLUMN homebound INTEGER NOT NULL DEFAULT 0;
  UPDATE parcels SET origin_locker_id = locker_id WHERE origin_locker_id IS NULL;
  `,
  /* 15: how a driver's code opens the doors at a site: one after another (default) or all at once */ `
  ALTER TABLE sites ADD COLUMN driver_doors TEXT NOT NULL DEFAULT 'sequential';
  `,
  /* 16: raw readings are pruned in insertion order (retention.ts): one index less per reading */ `
  DROP INDEX readings_ts;
  `,
  /* 17: when each sensor counts as silent (two of its intervals, at least 30 s: a sensor reporting
     every second must not flap with the hub's own batching), indexed: the sweep reads only those */ `
  ALTER TABLE sensor_state ADD COLUMN silent_at INTEGER GENERATED ALWAYS AS (last_seen + max(2 * interval_ms, 30000)) VIRTUAL;
  CREATE INDEX sensor_state_silent ON sensor_state(silent_at) WHERE interval_ms IS NOT NULL;
  `,
  /* 18: one row per telemetry message, its readings a JSON object sensor → °C: a row per reading
     put each sensor's index entry on its own page, so every flush rewrote hundreds of pages. The
     view keeps the one-reading-per-row shape for every query (it searches by locker and time). */ `
  CREATE TABLE telemetry (locker_id TEXT NOT NULL, ts INTEGER NOT NULL, readings TEXT NOT NULL) STRICT;
  INSERT INTO telemetry (locker_id, ts, readings)
    SELECT locker_id, ts, json_group_object(sensor, c) FROM readings GROUP BY locker_id, ts ORDER BY min(rowid);
  DROP TABLE readings;
  CREATE INDEX telemetry_locker ON telemetry(locker_id, ts);
  CREATE VIEW readings (locker_id, sensor, ts, c) AS
    SELECT t.locker_id, r.key, t.ts, r.value FROM telemetry t, json_each(t.readings) r;
  `,
  /* 19: a site's line to the central broker, as its own broker last said (NULL: no site broker
     heard), and since when: kept across restarts, so a retained state repeated at start is no news */ `
  ALTER TABLE sites ADD COLUMN line_up INTEGER;
  ALTER TABLE sites ADD COLUMN line_since INTEGER;
  `,
  /* 20: the driver at each cabinet (scans there are theirs until `until`; the doors still to open
     one after another), in the store: it rolls back with the transaction that changed it, and a
     driver in the middle of a collection is still there after a hub restart */ `
  CREATE TABLE driver_sessions (
    locker_id TEXT PRIMARY KEY,
    driver_id TEXT NOT NULL REFERENCES drivers(id),
    until INTEGER NOT NULL,
    -- [{"id": parcel, "door": n}, …] in the order they open
    queue TEXT NOT NULL DEFAULT '[]'
  ) STRICT, WITHOUT ROWID;
  `,
  /* 21: each keypad's brake (wrong codes in a row, locked until; no row: none counted), in the
     store: it rolls back with the keypad entry's transaction, and a restart gives no fresh guesses */ `
  CREATE TABLE keypad_brakes (
    locker_id TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  `,
  /* 22: the state a quarantined parcel was in (or reached while held): where a release returns it */ `
  ALTER TABLE parcels ADD COLUMN held_from TEXT;
  `,
  /* 23: events applied in each cabinet's order (hub/event-order.ts): an event that arrived after a
     hole is stored and acknowledged but held until the hole fills; each boot, in the order the hub
     first heard of it, with the last event number applied and since when a hole holds it up */ `
  ALTER TABLE device_events ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX device_events_held ON device_events(locker_id, boot_id, seq) WHERE held = 1;
  CREATE TABLE device_boots (
    locker_id TEXT NOT NULL,
    boot_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    applied INTEGER NOT NULL,
    gap_since INTEGER,
    PRIMARY KEY (locker_id, boot_id)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX device_boots_gap ON device_boots(gap_since) WHERE gap_since IS NOT NULL;
  INSERT INTO device_boots (locker_id, boot_id, n, applied)
    SELECT locker_id, boot_id, row_number() OVER (PARTITION BY locker_id ORDER BY min(received_at)), max(seq)
    FROM device_events GROUP BY locker_id, boot_id;
  `,
  /* 24: a parcel held for temperature (or released) changes what its codes open offline: the
     tables of the cabinets its live codes belong to are published again */ `
  CREATE TRIGGER parcels_hold_codes AFTER UPDATE OF state ON parcels
  WHEN (OLD.state = 'quarantined') <> (NEW.state = 'quarantined') BEGIN
    UPDATE lockers SET codes_version = codes_version + 1
    WHERE id IN (SELECT locker_id FROM codes WHERE parcel_id = NEW.id AND state IN ('active', 'pending'));
  END;
  `,
  /* 25: each parcel's temperature record, sealed once the parcel is picked up: kept whatever the
     raw readings' retention (hub/domain/coldchain/record.ts) */ `
  CREATE TABLE parcel_records (
    parcel_id TEXT PRIMARY KEY,
    sealed_at INTEGER NOT NULL,
    record TEXT NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX parcels_picked_up ON parcels(picked_up_at) WHERE picked_up_at IS NOT NULL;
  `,
  /* 26: what a webhook carries: an integration's parcels, or (an operator's) the alarms. A
     delivery's parcel_id holds the subject it is ordered by: the parcel, or the alarm */ `
  ALTER TABLE webhooks ADD COLUMN topic TEXT NOT NULL DEFAULT 'parcels';
  `,
  /* 27: what a parcel holds (devices/profiles/schema.ts PRODUCT_CATEGORIES), for its own limits */ `
  ALTER TABLE parcels ADD COLUMN category TEXT;
  `,
  /* 28: each sensor's calibration against a reference thermometer: the offset added to what it
     reads, and when (hub/domain/coldchain/coldchain.ts applies it as readings come in) */ `
  CREATE TABLE sensor_calibrations (
    locker_id TEXT NOT NULL,
    sensor TEXT NOT NULL,
    offset_c REAL NOT NULL,
    calibrated_at INTEGER NOT NULL,
    reference TEXT,
    PRIMARY KEY (locker_id, sensor)
  ) STRICT, WITHOUT ROWID;
  `,
  /* 29: alarms by e-mail (hub/domain/notify/mail.ts): each site's contacts and their delays, and the
     mails due, sent, dropped (acknowledged before their turn) or given up */ `
  CREATE TABLE site_alarm_contacts (
    site_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    email TEXT NOT NULL,
    after_minutes INTEGER NOT NULL,
    PRIMARY KEY (site_id, n)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE alarm_mails (
    alarm_id TEXT NOT NULL,
    email TEXT NOT NULL,
    after_minutes INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER,
    PRIMARY KEY (alarm_id, email)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX alarm_mails_due ON alarm_mails(next_attempt_at) WHERE state = 'pending';
  `,
  /* 30: the pickups in ledger order, for sealing records (a hub started on a long ledger looks
     through these, not through every event) */ `
  CREATE INDEX events_pickups ON events(seq) WHERE type IN ('parcel.picked_up', 'parcel.returned');
  `,
  /* 31: each cabinet's clock offset as the hub estimated it (hub/domain/clocks.ts), and for which
     boot: kept across hub restarts */ `
  ALTER TABLE lockers ADD COLUMN clock_boot TEXT;
  ALTER TABLE lockers ADD COLUMN clock_offset INTEGER;
  `,
  /* 32: the time out of range an operator vouched for by releasing a parcel: its cumulative budget
     starts again from there */ `
  ALTER TABLE parcels ADD COLUMN excused_ms INTEGER NOT NULL DEFAULT 0;
  `,
  /* 33: cabinet profiles an installer added from a file (hub/domain/profiles.ts) */ `
  CREATE TABLE profiles (
    name TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    added_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  `,
  /* 34: keypad brakes per cabinet ('locker:<id>') and per site ('site:<id>'), their failure score
     decaying with time (devices/throttle.ts): a score as of `at`, fractional */ `
  CREATE TABLE brakes (
    key TEXT PRIMARY KEY,
    failures REAL NOT NULL,
    at INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  INSERT INTO brakes (key, failures, at, blocked_until)
    SELECT 'locker:' || locker_id, failures, blocked_until, blocked_until FROM keypad_brakes;
  DROP TABLE keypad_brakes;
  `,
  /* 35: remote opens counted per token and per site against their budget, and the sites where
     remote opening is suspended (hub/domain/remote-opens.ts) */ `
  CREATE TABLE remote_opens (
    n INTEGER PRIMARY KEY,
    token_id TEXT NOT NULL,
    site_id TEXT NOT NULL,
    at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX remote_opens_token ON remote_opens(token_id, at);
  CREATE INDEX remote_opens_site ON remote_opens(site_id, at);
  CREATE TABLE remote_open_suspensions (
    site_id TEXT PRIMARY KEY,
    since INTEGER NOT NULL,
    token_id TEXT NOT NULL,
    reason TEXT NOT NULL
  ) STRICT, WITHOUT ROWID;
  `,
  /* 36: scopes (hub/domain/access.ts): the sites a token or a driver may act at (JSON array; NULL:
     every site), when it stops working, how many reservations an integration may hold at a site;
     the tenant (an integration's platform) that owns a parcel or a producer. Parcels and producers
     an integration created before are given to its platform. */ `
  ALTER TABLE api_tokens ADD COLUMN sites TEXT;
  ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
  ALTER TABLE api_tokens ADD COLUMN max_reservations INTEGER;
  ALTER TABLE drivers ADD COLUMN sites TEXT;
  ALTER TABLE drivers ADD COLUMN expires_at INTEGER;
  ALTER TABLE parcels ADD COLUMN tenant TEXT;
  ALTER TABLE producers ADD COLUMN tenant TEXT;
  UPDATE api_tokens SET subject = id WHERE role = 'integration' AND subject IS NULL;
  UPDATE parcels SET tenant = (SELECT t.subject FROM api_tokens t
    WHERE t.role = 'integration' AND parcels.created_by = 'token:' || t.id);
  UPDATE producers SET tenant = (SELECT t.subject FROM events e JOIN api_tokens t ON e.actor = 'token:' || t.id
    WHERE e.type = 'producer.created' AND json_extract(e.data, '$.id') = producers.id AND t.role = 'integration');
  CREATE INDEX parcels_tenant ON parcels(tenant, state) WHERE tenant IS NOT NULL;
  `,
  /* 37: requests to open several doors at once, waiting for a second operator (remote-opens.ts) */ `
  CREATE TABLE bulk_opens (
    id TEXT PRIMARY KEY,
    locker_id TEXT NOT NULL,
    doors TEXT NOT NULL,
    reason TEXT NOT NULL,
    retrieve INTEGER NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT,
    decided_at INTEGER
  ) STRICT;
  CREATE INDEX bulk_opens_recent ON bulk_opens(requested_at);
  `,
  /* 38: who created each token (`token:<id>`, `cli`): a token's tokens are listed with it, and can
     be revoked with it; filled from the ledger for the tokens before */ `
  ALTER TABLE api_tokens ADD COLUMN created_by TEXT;
  UPDATE api_tokens SET created_by = (SELECT e.actor FROM events e
    WHERE e.type = 'token.created' AND json_extract(e.data, '$.id') = api_tokens.id);
  CREATE INDEX api_tokens_created_by ON api_tokens(created_by) WHERE created_by IS NOT NULL;
  `,
  /* 39: offline hashes of format 2 (docs/protocol.md §3.2): a code's table hash is scrypt of its
     keyed HMAC, computed after the code is created (hub/offline-hashes.ts) from `offline_mac`, the
     HMAC the table carried until now. Tables go out again once the hashes are ready: the update
     trigger fires on them too. */ `
  ALTER TABLE codes ADD COLUMN offline_mac TEXT;
  UPDATE codes SET offline_mac = offline_hash, offline_hash = NULL WHERE offline_hash IS NOT NULL;
  CREATE INDEX codes_offline_mac ON codes(locker_id, offline_mac) WHERE offline_mac IS NOT NULL;
  CREATE INDEX codes_offline_due ON codes(id)
    WHERE offline_mac IS NOT NULL AND offline_hash IS NULL AND state IN ('pending', 'active');
  DROP TRIGGER codes_changed_update;
  CREATE TRIGGER codes_changed_update AFTER UPDATE OF state, expires_at, not_before, offline_hash ON codes BEGIN
    UPDATE lockers SET codes_version = codes_version + 1 WHERE id = NEW.locker_id;
  END;
  UPDATE lockers SET codes_version = codes_version + 1 WHERE offline_key IS NOT NULL;
  `,
  /* 40: the language a site's keypads speak (devices/i18n.ts); NULL: the hub's (--language) */ `
  ALTER TABLE sites ADD COLUMN language TEXT;
  `,
  /* 41: a code's purpose when its kind does not say it: 'return', the producer's pickup code for a
     parcel back in their box (shown to them as such). Until now only a return code followed a
     parcel's first pickup code. */ `
  ALTER TABLE codes ADD COLUMN purpose TEXT;
  UPDATE codes SET purpose = 'return' WHERE kind = 'pickup'
    AND id > (SELECT min(f.id) FROM codes f WHERE f.parcel_id = codes.parcel_id AND f.kind = 'pickup');
  `,
  /* 42: what each door's item sensor last said (a profile's presence sensors): 1 goods inside, 0 empty */ `
  ALTER TABLE compartments ADD COLUMN present INTEGER;
  `,
  /* 43: a site's time zone (what its people read times in; NULL: the hub's, --time-zone) and its
     pickup policy: how many hours a customer may add to their window each time, and how many times */ `
  ALTER TABLE sites ADD COLUMN time_zone TEXT;
  ALTER TABLE sites ADD COLUMN extend_hours INTEGER NOT NULL DEFAULT 24;
  ALTER TABLE sites ADD COLUMN extend_times INTEGER NOT NULL DEFAULT 1;
  `,
  /* 44: the customer's page (hub/customer-page): the hash of the parcel's link, how many times the
     customer extended their window, and the pickup code sealed (AES-256-GCM under a key derived
     from hub.key) so the page can show it again on request; wiped when the code ends */ `
  ALTER TABLE parcels ADD COLUMN link_hash TEXT;
  CREATE UNIQUE INDEX parcels_link ON parcels(link_hash) WHERE link_hash IS NOT NULL;
  ALTER TABLE parcels ADD COLUMN extensions INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE codes ADD COLUMN sealed TEXT;
  CREATE TRIGGER codes_unseal AFTER UPDATE OF state ON codes
    WHEN NEW.sealed IS NOT NULL AND NEW.state NOT IN ('pending', 'active')
  BEGIN
    UPDATE codes SET sealed = NULL WHERE id = NEW.id;
  END;
  CREATE INDEX codes_sealed ON codes(expires_at) WHERE sealed IS NOT NULL;
  `,
  /* 45: notices to customers (hub/domain/notify/customer.ts): one row per parcel, notice, what it
     is about (the locker it is ready at, the window end it reminds of, the reroute) and channel, so
     a notice is sent once however often its cause is seen; the ledger entry that caused it (its
     details: where it was rerouted to); retried with backoff */ `
  CREATE TABLE customer_notices (
    parcel_id TEXT NOT NULL REFERENCES parcels(id),
    notice TEXT NOT NULL,
    about TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    language TEXT NOT NULL,
    cause_seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    sent_at INTEGER,
    last_error TEXT,
    PRIMARY KEY (parcel_id, notice, about, channel)
  ) STRICT;
  CREATE INDEX customer_notices_due ON customer_notices(next_attempt_at) WHERE state = 'pending';
  `,
];
