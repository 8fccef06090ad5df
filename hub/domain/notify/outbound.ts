/**
 * Where the hub may send requests of its own (webhooks): public addresses, and the private ones an
 * operator allowed (`--outbound-allow`). A URL a platform registers could otherwise make the hub
 * post signed requests to itself, to the cloud's metadata service (169.254.169.254) or to any
 * service of the hub's network. The check is made on the address the connection actually uses,
 * after DNS resolution (a name resolving to 127.0.0.1 is refused; so is one that resolves
 * elsewhere at registration and to a private address later), and redirects are never followed
 * (docs/security.md §3).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';

/** Ranges no request of the hub's goes to unless allowed: loopback, private, link-local, and the like. */
const REFUSED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const)
  REFUSED.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  REFUSED.addSubnet(net, bits, 'ipv6');

export class OutboundRefused extends Error {}

/** Addresses (or host names) an operator allowed though private: a platform inside their network. */
export class OutboundPolicy {
  readonly #allowed: Set<string>;

  constructor(allow: readonly string[] = []) {
    this.#allowed = new Set(allow.map((a) => a.toLowerCase()));
  }

  /** Why the hub may not connect to `address` (for `host`), or null if it may. */
  refusal(host: string, address: string): string | null {
    if (this.#allowed.has(host.toLowerCase()) || this.#allowed.has(address)) return null;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const v4 = mapped ?? (isIP(address) === 4 ? address : undefined);
    const blocked = v4 ? REFUSED.check(v4, 'ipv4') : REFUSED.check(address, 'ipv6');
    return blocked
      ? `${host} is ${address}, a private, loopback or link-local address; an operator may allow it (--outbound-allow)`
      : null;
  }

  /** Resolves `url`'s host and refuses it if any of its addresses is refused. */
  async check(url: string): Promise<void> {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    const addresses = isIP(host)
      ? [{ address: host, family: isIP(host) }]
      : await new Promise<LookupAddress[]>((resolve, reject) =>
          dnsLookup(host, { all: true }, (err, addrs) => (err ? reject(err) : resolve(addrs))),
        );
    for (const a of addresses) {
      const why = this.refusal(host, a.address);
      if (why) throw new OutboundRefused(why);
    }
  }

  /**
   * POSTs `body` to `url` and resolves with the status; the address is checked as the socket
   * connects, redirects are answered as they are (a 3xx is a failure), the body of the answer
   * read up to 64 KiB and dropped.
   */
  post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<number> {
    const u = new URL(url);
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const lookup = (
      hostname: string,
      opts: object,
      cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
    ) =>
      dnsLookup(hostname, { ...opts, all: true }, (err, addrs) => {
        if (err) return cb(err, '');
        const ok = addrs.filter((a) => !this.refusal(hostname, a.address));
        if (ok.length === 0)
          return cb(
            new OutboundRefused(this.refusal(hostname, addrs[0]?.address ?? '') ?? `${hostname}: no address`),
            '',
          );
        const all = (opts as { all?: boolean }).all;
        if (all) cb(null, ok);
        else cb(null, (ok[0] as LookupAddress).address, (ok[0] as LookupAddress).family);
      });
    return new Promise((resolve, reject) => {
      const host = u.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host)) {
        const why = this.refusal(host, host);
        if (why) return reject(new OutboundRefused(why));
      }
      const req = send(
        u,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          lookup: lookup as never,
          timeout: timeoutMs,
        },
        (res) => {
          let read = 0;
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read > 65_536) res.destroy();
          });
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('close', () => resolve(res.statusCode ?? 0));
          res.on('error', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}
