import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.ts';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the hub's store in `dataDir`. WAL lets the command line read and
 * provision while the hub runs; `synchronous=FULL` makes every commit survive a power cut. The
 * running hub switches its own connection to syncing off the event loop (wal-sync.ts).
 */
export function openDb(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'casier.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/**
 * The connection's prepared statement for `sql`, prepared once: for queries that run on every
 * request or message, where preparing costs more than running (tens of microseconds on a keypad
 * entry or a door event). `pluck` gives a statement of its own in that mode; callers never change
 * a cached statement's mode (`pluck()`, `raw()`, `expand()`), which would change it for every user.
 */
export function cached(db: Db, sql: string, mode: 'pluck' | 'default' = 'default'): Database.Statement {
  let mine = statements.get(db);
  if (!mine) {
    mine = new Map();
    statements.set(db, mine);
  }
  const key = mode === 'pluck' ? `pluck:${sql}` : sql;
  let st = mine.get(key);
  if (!st) {
    st = db.prepare(sql);
    if (mode === 'pluck') st.pluck();
    mine.set(key, st);
  }
  return st;
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `store schema version ${current} is newer than this casier (${MIGRATIONS.length}): upgrade casier`,
    );
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
