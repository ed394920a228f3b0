import { randomUUID } from 'node:crypto';
import type { Db, MongoClient } from 'mongodb';
import { createActivities } from '../../activities';
import { collections, connectMongo, type Collections } from '../../store/db';
import { newCustomerDoc, newProductDoc, newVehicleDoc } from '../../store/views';
import { requireEnv } from '../support/harness';

/**
 * Every participant call runs at least once. Against the real MongoDB-compatible server: applied
 * twice with the same key, each activity and each compensation has the effect of once; a
 * compensation for an effect that never happened does nothing and stops a late duplicate.
 */
let mongo: MongoClient;
let db: Db;
let cols: Collections;
let p: ReturnType<typeof createActivities>;

beforeAll(async () => {
  const name = `${requireEnv('MONGODB_DB')}_idem_${randomUUID().slice(0, 8)}`;
  ({ client: mongo, db } = await connectMongo(requireEnv('MONGODB_URI'), name));
  cols = collections(db);
  p = createActivities({ db, servedCountries: ['IE'] });
});
afterAll(async () => {
  await db?.dropDatabase();
  await mongo?.close();
});

const key = (step: string) => `order-${randomUUID()}:${step}`;

async function customer(creditCents = 10_000) {
  const doc = newCustomerDoc(randomUUID(), 'Ada', creditCents);
  await cols.customers.insertOne(doc);
  return doc._id;
}
const credit = async (id: string) => (await cols.customers.findOne({ _id: id }))?.creditAvailableCents;

/** Items are reserved in sku order: `label` fixes that order within a test. */
async function product(stock = 10, label = 'a') {
  const doc = newProductDoc(`sku-${label}-${randomUUID()}`, 'Widget', 250, stock);
  await cols.products.insertOne(doc);
  return doc._id;
}
const stockOf = async (sku: string) => (await cols.products.findOne({ _id: sku }))?.stock;

describe('credit', () => {
  test('reserveCredit twice with one key reserves once; releaseCredit twice releases once', async () => {
    const id = await customer();
    const k = key('reserveCredit');
    expect(await p.reserveCredit({ key: k, customerId: id, amountCents: 3000 })).toBe('applied');
    expect(await p.reserveCredit({ key: k, customerId: id, amountCents: 3000 })).toBe('already-applied');
    expect(await credit(id)).toBe(7000);
    expect(await p.releaseCredit({ key: k, customerId: id })).toBe('undone');
    expect(await p.releaseCredit({ key: k, customerId: id })).toBe('already-undone');
    expect(await credit(id)).toBe(10_000);
  });

  test('releasing a reservation that never happened does nothing, and the late reservation cannot land', async () => {
    const id = await customer();
    const k = key('reserveCredit');
    expect(await p.releaseCredit({ key: k, customerId: id })).toBe('nothing-to-undo');
    expect(await p.reserveCredit({ key: k, customerId: id, amountCents: 3000 })).toBe('compensated');
    expect(await credit(id)).toBe(10_000);
  });

  test('concurrent duplicates of one reservation apply once', async () => {
    const id = await customer();
    const k = key('reserveCredit');
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () => p.reserveCredit({ key: k, customerId: id, amountCents: 1000 })),
    );
    expect(outcomes.filter((o) => o === 'applied')).toHaveLength(1);
    expect(await credit(id)).toBe(9000);
  });

  test('concurrent reservations with different keys on one customer all count: no update is lost', async () => {
    const id = await customer(10_000);
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        p.reserveCredit({ key: key(`reserveCredit-${i}`), customerId: id, amountCents: 1000 }),
      ),
    );
    expect(outcomes).toEqual(Array(8).fill('applied'));
    expect(await credit(id)).toBe(2000);
  });

  test('insufficient credit is a non-retryable InsufficientCredit failure and changes nothing', async () => {
    const id = await customer(500);
    await expect(
      p.reserveCredit({ key: key('reserveCredit'), customerId: id, amountCents: 501 }),
    ).rejects.toMatchObject({ type: 'InsufficientCredit', nonRetryable: true });
    expect(await credit(id)).toBe(500);
  });
});

describe('inventory', () => {
  test('reserveInventory twice reserves once; releaseInventory twice releases once', async () => {
    const a = await product(10);
    const b = await product(5);
    const k = key('reserveInventory');
    const items = [
      { sku: a, quantity: 2 },
      { sku: b, quantity: 1 },
      { sku: a, quantity: 1 },
    ];
    expect(await p.reserveInventory({ key: k, items })).toBe('applied');
    expect(await p.reserveInventory({ key: k, items })).toBe('already-applied');
    expect([await stockOf(a), await stockOf(b)]).toEqual([7, 4]);
    expect(await p.releaseInventory({ key: k, items })).toBe('undone');
    expect(await p.releaseInventory({ key: k, items })).toBe('already-undone');
    expect([await stockOf(a), await stockOf(b)]).toEqual([10, 5]);
  });

  test('a partial reservation (second item out of stock) is fully released by its compensation', async () => {
    const a = await product(10, 'a');
    const b = await product(1, 'b');
    const k = key('reserveInventory');
    const items = [
      { sku: a, quantity: 3 },
      { sku: b, quantity: 2 },
    ];
    await expect(p.reserveInventory({ key: k, items })).rejects.toMatchObject({ type: 'OutOfStock' });
    expect(await stockOf(a)).toBe(7);
    expect(await p.releaseInventory({ key: k, items })).toBe('undone');
    expect([await stockOf(a), await stockOf(b)]).toEqual([10, 1]);
  });
});

describe('payments', () => {
  test('processPayment twice charges once; refundPayment twice refunds once', async () => {
    const k = key('processPayment');
    const input = { key: k, orderId: 'o', customerId: 'c', amountCents: 1234, token: 'tok_visa' };
    expect(await p.processPayment(input)).toBe('applied');
    expect(await p.processPayment(input)).toBe('already-applied');
    expect(await cols.payments.countDocuments({ _id: k, status: 'CHARGED' })).toBe(1);
    expect(await p.refundPayment({ key: k })).toBe('undone');
    expect(await p.refundPayment({ key: k })).toBe('already-undone');
    expect(await cols.payments.findOne({ _id: k })).toMatchObject({ status: 'REFUNDED', amountCents: 1234 });
  });

  test('a refund before the charge voids it: the late charge never happens', async () => {
    const k = key('processPayment');
    expect(await p.refundPayment({ key: k })).toBe('nothing-to-undo');
    const late = await p.processPayment({ key: k, orderId: 'o', customerId: 'c', amountCents: 99, token: 'tok_visa' });
    expect(late).toBe('compensated');
    expect(await cols.payments.findOne({ _id: k })).toMatchObject({ status: 'VOIDED' });
  });

  test('the token is never stored', async () => {
    const k = key('processPayment');
    await p.processPayment({ key: k, orderId: 'o', customerId: 'c', amountCents: 1, token: 'tok_secret_123' });
    expect(JSON.stringify(await cols.payments.findOne({ _id: k }))).not.toContain('tok_secret_123');
  });
});

describe('shipments', () => {
  const address = { line1: '1 Main St', city: 'Dublin', postalCode: 'D01', country: 'IE' };

  test('createShipment twice creates once; cancelShipment twice cancels once', async () => {
    const k = key('createShipment');
    expect(await p.createShipment({ key: k, orderId: 'o', address, deliveryDate: '2027-01-01' })).toBe('applied');
    expect(await p.createShipment({ key: k, orderId: 'o', address, deliveryDate: '2027-01-01' })).toBe(
      'already-applied',
    );
    expect(await cols.shipments.countDocuments({ _id: k })).toBe(1);
    expect(await p.cancelShipment({ key: k })).toBe('undone');
    expect(await p.cancelShipment({ key: k })).toBe('already-undone');
    expect(await cols.shipments.findOne({ _id: k })).toMatchObject({ status: 'CANCELLED' });
  });

  test('a destination outside the served countries is a non-retryable ShipmentRejected', async () => {
    await expect(
      p.createShipment({
        key: key('createShipment'),
        orderId: 'o',
        address: { ...address, country: 'AQ' },
        deliveryDate: '2027-01-01',
      }),
    ).rejects.toMatchObject({ type: 'ShipmentRejected', nonRetryable: true });
  });
});

describe('vehicles', () => {
  test('reserveVehicle twice books once; releaseVehicle twice frees once; a late booking cannot land', async () => {
    const vehicle = newVehicleDoc(`van-${randomUUID()}`, 'Van', 3);
    await cols.vehicles.insertOne(vehicle);
    const date = `2031-0${1 + Math.floor(Math.random() * 9)}-1${Math.floor(Math.random() * 9)}`;
    const load = async () => (await cols.vehicles.find({}).toArray()).reduce((sum, v) => sum + (v.load[date] ?? 0), 0);
    const k = key('reserveVehicle');
    const first = await p.reserveVehicle({ key: k, deliveryDate: date });
    const second = await p.reserveVehicle({ key: k, deliveryDate: date });
    expect(first.outcome).toBe('applied');
    expect(second).toEqual({ outcome: 'already-applied', vehicleId: first.vehicleId });
    expect(await load()).toBe(1);
    expect(await p.releaseVehicle({ key: k, deliveryDate: date })).toBe('undone');
    expect(await p.releaseVehicle({ key: k, deliveryDate: date })).toBe('already-undone');
    expect(await load()).toBe(0);
    expect((await p.reserveVehicle({ key: k, deliveryDate: date })).outcome).toBe('compensated');
    expect(await load()).toBe(0);
  });

  test('concurrent duplicates of one booking leave exactly one booking', async () => {
    const date = '2032-03-03';
    const k = key('reserveVehicle');
    const results = await Promise.all(
      Array.from({ length: 6 }, () => p.reserveVehicle({ key: k, deliveryDate: date })),
    );
    const booked = (await cols.vehicles.find({}).toArray()).reduce((sum, v) => sum + (v.load[date] ?? 0), 0);
    expect(booked).toBe(1);
    expect(new Set(results.map((r) => r.vehicleId)).size).toBe(1);
  });
});
