/**
 * The link a customer reaches their parcel's page by (hub/customer-page): no account, the link is
 * the key. Its token is an HMAC of the parcel id under a key derived from hub.key, 132 bits: not
 * guessable, and the hub can write it again in every notice without keeping it. The store keeps
 * only its SHA-256 (`parcels.link_hash`), to find the parcel a token names: a stolen database
 * gives no link.
 *
 * Whoever holds the customer's link may see the pickup code and extend the window, as whoever
 * holds their SMS may. What is printed on the box (hub/domain/parcel-label.ts), seen by everyone
 * who handles it, is another link: to follow the parcel only (`/f/<parcel>/<mac>`, an HMAC under
 * another key, checked without the store), whose page shows neither code nor buttons.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { cached, type Db } from '../db/open.ts';

/** 22 base64url characters: 132 bits. */
const TOKEN_LENGTH = 22;
const TOKEN = /^[A-Za-z0-9_-]{22}$/;

export class CustomerLinks {
  readonly #key: Buffer;
  readonly #followKey: Buffer;

  constructor(
    private readonly db: Db,
    hubKey: Buffer,
    /** Where customers reach the hub (`--public-url`), without a trailing slash; set at start. */
    public baseUrl: string,
  ) {
    this.#key = createHmac('sha256', hubKey).update('casier customer link v1').digest();
    this.#followKey = createHmac('sha256', hubKey).update('casier follow link v1').digest();
  }

  #followMac(parcelId: string): string {
    return createHmac('sha256', this.#followKey).update(parcelId).digest('base64url').slice(0, TOKEN_LENGTH);
  }

  /** The link to follow the parcel only, for its label: where it is, never its code. */
  followUrl(parcelId: string): string {
    return `${this.baseUrl}/f/${encodeURIComponent(parcelId)}/${this.#followMac(parcelId)}`;
  }

  /** The parcel a follow link names, if its MAC is right and the parcel exists. */
  followed(parcelId: string, mac: string): string | undefined {
    if (!TOKEN.test(mac) || parcelId.length > 64) return undefined;
    const good = Buffer.from(this.#followMac(parcelId));
    if (!timingSafeEqual(good, Buffer.from(mac))) return undefined;
    return cached(this.db, 'SELECT id FROM parcels WHERE id = ?', 'pluck').get(parcelId) as
      | string
      | undefined;
  }

  #token(parcelId: string): string {
    return createHmac('sha256', this.#key).update(parcelId).digest('base64url').slice(0, TOKEN_LENGTH);
  }

  /**
   * What the store keeps of a parcel's link: written with the parcel itself (hub/domain/parcels.ts),
   * so a link sent out is never one a power cut made the store forget.
   */
  hash(parcelId: string): string {
    return digest(this.#token(parcelId));
  }

  /** The parcel's token (remembered now for a parcel created before links existed). */
  token(parcelId: string): string {
    const token = this.#token(parcelId);
    cached(this.db, 'UPDATE parcels SET link_hash = ? WHERE id = ? AND link_hash IS NULL').run(
      digest(token),
      parcelId,
    );
    return token;
  }

  /** The parcel's page, as a customer opens it. */
  url(parcelId: string): string {
    return `${this.baseUrl}/c/${this.token(parcelId)}`;
  }

  /** The parcel a token names, if any. */
  parcelOf(token: string): string | undefined {
    if (!TOKEN.test(token)) return undefined;
    return cached(this.db, 'SELECT id FROM parcels WHERE link_hash = ?', 'pluck').get(digest(token)) as
      | string
      | undefined;
  }
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');
