/**
 * The link a customer reaches their parcel's page by (hub/customer-page): no account, the link is
 * the key. Its token is an HMAC of the parcel id under a key derived from hub.key, 132 bits: not
 * guessable, and the hub can write it again in every notice without keeping it. The store keeps
 * only its SHA-256 (`parcels.link_hash`), to find the parcel a token names: a stolen database
 * gives no link.
 */
import { createHash, createHmac } from 'node:crypto';
import { cached, type Db } from '../db/open.ts';

/** 22 base64url characters: 132 bits. */
const TOKEN_LENGTH = 22;
const TOKEN = /^[A-Za-z0-9_-]{22}$/;

export class CustomerLinks {
  readonly #key: Buffer;

  constructor(
    private readonly db: Db,
    hubKey: Buffer,
    /** Where customers reach the hub (`--public-url`), without a trailing slash; set at start. */
    public baseUrl: string,
  ) {
    this.#key = createHmac('sha256', hubKey).update('casier customer link v1').digest();
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
