/**
 * What only a restart or a slow sweep needs — a sensor's last reading and rhythm, its 5-minute
 * aggregate, when a cabinet was last heard — is written about this often; a change of alarm state
 * is written at once. In a fleet where each sensor reports every second this spares an upsert per
 * reading, and a page of the log per cabinet in every commit of device events; a silent sensor
 * (30 s at least) and a silent cabinet (5 min) are still seen in time.
 */
export const PERSIST_EVERY_MS = 10_000;

/**
 * Where in the 10-s period a sensor's or a cabinet's writes fall, from its key. A fleet started
 * at once would otherwise write everything in the same second of every ten (30,000 sensor states:
 * transactions of readings five times over their budget, a keypad entry waiting behind them).
 */
export function phaseOf(key: string): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % PERSIST_EVERY_MS;
}

/**
 * Whether what was last written at `since` is due again at `now`: once the key's own 10-s
 * boundary has passed, and never sooner than 5 s after the last write. So writes come about every
 * 10 s, at most 10 s plus one reading's interval apart, spread evenly across a fleet.
 */
export function dueAgain(phase: number, since: number, now: number): boolean {
  return (
    now - since >= PERSIST_EVERY_MS / 2 &&
    Math.floor((now + phase) / PERSIST_EVERY_MS) !== Math.floor((since + phase) / PERSIST_EVERY_MS)
  );
}
