/** Opens a FIFO for writing without blocking the test's main thread while it waits for its reader. */
import { open } from 'node:fs';

export function openForWriting(path: string): Promise<number> {
  // The callback API hands back a plain descriptor; a FileHandle would be closed by the garbage collector.
  return new Promise((resolve, reject) => open(path, 'w', (err, fd) => (err ? reject(err) : resolve(fd))));
}
