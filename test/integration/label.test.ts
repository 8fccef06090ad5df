/**
 * A parcel's label, printed by the producer and read by the driver and the customer: how to keep
 * the goods, for whom, where to, and a QR code to the customer's page, in the recipient's language.
 * There was none: the texts a person reads on the box were the platform's alone to write.
 */
import QRCode from 'qrcode';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { DEFAULT_RULES } from '../../hub/domain/coldchain/rules.ts';
import { keepRange } from '../../hub/domain/parcel-label.ts';
import { eventually, startTestHub, type TestHub } from '../helpers/hub.ts';
import { orderParcel, useCode } from '../helpers/parcels.ts';

let t: TestHub;
let box: SimLocker;
beforeEach(async () => {
  t = await startTestHub();
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
  await t.locker({ site: 'lyon', locker: 'town-1' }, 'town-locker-16');
});
afterEach(() => t.close());

const label = (id: string, token = t.integration, query = '') =>
  fetch(`http://127.0.0.1:${t.hub.httpPort}/api/v1/parcels/${id}/label${query}`, {
    headers: { authorization: `Bearer ${token}` },
  });

/** The texts of the label, in order, their entities decoded. */
const texts = (svg: string) =>
  [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) =>
    (m[1] as string)
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&'),
  );

describe("a parcel's label", () => {
  it('says how to keep the goods, for whom and where, in the recipient’s language, with a QR code to their page', async () => {
    const producer = (await t.api('POST', '/api/v1/producers', { name: 'Ferme Dupré' }, t.integration)).body;
    const p = await orderParcel(t, {
      recipient: { name: 'Léa & <Tom>', language: 'fr' },
      destinationLockerId: 'town-1',
      reference: 'CMD-42',
      producerId: producer.id,
    });
    const res = await label(p.parcel.id);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    const svg = await res.text();
    expect(svg).toMatch(/^<svg [^>]*width="105mm" height="148mm"/);
    expect(texts(svg)).toEqual([
      'FRAIS',
      'À conserver entre 0 et 4 °C',
      'Pour',
      'Léa & <Tom>',
      'Vers',
      'lyon',
      'Casier town-1',
      'Taille M',
      `Colis ${p.parcel.id}`,
      'Commande CMD-42',
      'Scannez pour suivre ce colis',
    ]);
    expect(svg).not.toContain('<Tom>');
    // The QR code follows the parcel; it is never the customer's own link, which shows the code:
    // everyone who handles the box can scan its label.
    const modules = async (url: string) =>
      (
        /<path stroke="#000000" d="[^"]+"/.exec(
          await QRCode.toString(url, { type: 'svg', margin: 0, errorCorrectionLevel: 'M' }),
        ) as RegExpExecArray
      )[0];
    const follow = t.hub.links.followUrl(p.parcel.id);
    expect(svg).toContain(await modules(follow));
    expect(svg).not.toContain(await modules(t.hub.links.url(p.parcel.id)));

    // The producer prints it at the farm; another platform's token does not find it.
    expect((await label(p.parcel.id, producer.token)).status).toBe(200);
    const rival = t.hub.provisioning.createToken('integration', 'rival', 'test').token;
    expect((await label(p.parcel.id, rival)).status).toBe(404);
  });

  it('leads to a page to follow the parcel, which shows neither its code nor a button', async () => {
    const p = await orderParcel(t, { reference: 'CMD-7', recipient: { name: 'Ada', language: 'fr' } });
    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'stored',
    );
    // The customer's own page offers the code and an extension; the label's shows where it is.
    const own = await (await fetch(t.hub.links.url(p.parcel.id))).text();
    expect(own).toContain('<form');
    const follow = t.hub.links.followUrl(p.parcel.id);
    const page = await fetch(follow);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Commande CMD-7');
    expect(html).toContain(`porte ${p.parcel.door}`);
    for (const secret of ['<form', p.pickupCode, t.hub.links.token(p.parcel.id)])
      expect(html).not.toContain(secret);
    // A MAC one character off, or another parcel's: the one 404 page; nothing can be posted there.
    const wrong = follow.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect((await fetch(wrong)).status).toBe(404);
    const other = await orderParcel(t);
    expect((await fetch(follow.replace(p.parcel.id, other.parcel.id))).status).toBe(404);
    const post = await fetch(follow, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'do=code',
    });
    expect(post.status).toBe(404);
    expect(await post.text()).not.toContain(p.pickupCode);
  });

  it('holds the goods to their category’s limits where they are tighter than their class’s', () => {
    expect(keepRange(DEFAULT_RULES.chilled, null)).toEqual({ min: 0, max: 4 });
    expect(keepRange(DEFAULT_RULES.chilled, 'minced_meat')).toEqual({ min: 0, max: 2 });
    expect(keepRange(DEFAULT_RULES.chilled, 'perishable_dairy')).toEqual({ min: 0, max: 4 });
    expect(keepRange(DEFAULT_RULES.frozen, 'other_frozen')).toEqual({ min: null, max: -18 });
  });

  it('is in the destination site’s language when the recipient has none, or the one asked for', async () => {
    await t.api('PUT', '/api/v1/sites/ferme/settings', { language: 'fr' });
    const p = await orderParcel(t, { temperatureClass: 'frozen', size: 'S' });
    expect(texts(await (await label(p.parcel.id)).text()).slice(0, 2)).toEqual([
      'SURGELÉ',
      'À conserver à -18 °C maximum',
    ]);
    const en = texts(await (await label(p.parcel.id, t.integration, '?language=en')).text());
    expect(en.slice(0, 2)).toEqual(['FROZEN', 'Keep at -18 °C or below']);
    expect(en).toContain('Locker box-1');
    expect((await label(p.parcel.id, t.integration, '?language=de')).status).toBe(400);
  });
});
