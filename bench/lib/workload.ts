/**
 * The benchmark's workload, shared by every engine: seed data, the orders (two mixes), the step list
 * and the check that each saga's data is fully applied or fully undone.
 *
 * Every engine runs the same participant code (`createActivities`) and uses the same idempotency
 * keys as our order saga (`order-<orderId>:<step>`), so one check fits all.
 */
import { randomInt } from 'node:crypto';
import type { Db } from 'mongodb';
import { collections } from '../../store/db';
import { fieldKey } from '../../store/keys';
import { DECLINED_TOKEN } from '../../activities/participants/payments';
import { newCustomerDoc, newProductDoc } from '../../store/views';
import { orderWorkflowId, type OrderSagaInput } from '../../common/order';

export const SERVED_COUNTRIES = ['US', 'IE', 'DE', 'FR', 'GB'];
const CUSTOMERS = 200;
const PRODUCTS = 50;
const BROKE_CUSTOMER = 'bench-broke';
const EMPTY_PRODUCT = 'bench-empty';
const FULL_DATE = '2030-12-31';
const VEHICLE_CAPACITY = 1_000_000_000;

export type Mix = 'success' | 'fail10';
/** The five steps with an effect, and how a failing order makes each one fail. */
export const FAILING_STEPS = [
  'reserveCredit',
  'reserveInventory',
  'processPayment',
  'createShipment',
  'reserveVehicle',
] as const;
export type FailingStep = (typeof FAILING_STEPS)[number];

export interface PlannedOrder {
  input: OrderSagaInput;
  /** The step this order is built to fail at, or null when it must complete. */
  failAt: FailingStep | null;
}

export async function seed(db: Db): Promise<void> {
  await db.dropDatabase();
  const cols = collections(db);
  const customers = Array.from({ length: CUSTOMERS }, (_, i) =>
    newCustomerDoc(`bench-c${i}`, `Customer ${i}`, 1_000_000_000_00),
  );
  customers.push(newCustomerDoc(BROKE_CUSTOMER, 'Broke', 0));
  await cols.customers.insertMany(customers);
  const products = Array.from({ length: PRODUCTS }, (_, i) => newProductDoc(`bench-p${i}`, `Product ${i}`, 1_00, 1e9));
  products.push(newProductDoc(EMPTY_PRODUCT, 'Sold out', 1_00, 0));
  await cols.products.insertMany(products);
  await cols.vehicles.insertOne({
    _id: 'bench-van',
    name: 'Van',
    capacityPerDay: VEHICLE_CAPACITY,
    load: { [FULL_DATE]: VEHICLE_CAPACITY },
    bookings: {},
    createdAt: new Date(),
  });
}

let counter = 0;

/** A new order; in the `fail10` mix one in ten fails at a step chosen at random, and compensates. */
export function planOrder(mix: Mix, runTag: string): PlannedOrder {
  const failAt = mix === 'fail10' && randomInt(10) === 0 ? FAILING_STEPS[randomInt(FAILING_STEPS.length)]! : null;
  return orderFailingAt(failAt, runTag);
}

/** An order built to complete (`failAt` null) or to fail at the given step. */
export function orderFailingAt(failAt: FailingStep | null, runTag: string): PlannedOrder {
  const input: OrderSagaInput = {
    orderId: `${runTag}-${++counter}`,
    customerId: failAt === 'reserveCredit' ? BROKE_CUSTOMER : `bench-c${randomInt(CUSTOMERS)}`,
    items: [{ sku: failAt === 'reserveInventory' ? EMPTY_PRODUCT : `bench-p${randomInt(PRODUCTS)}`, quantity: 1 }],
    payment: { token: failAt === 'processPayment' ? DECLINED_TOKEN : 'tok_visa' },
    shippingAddress: {
      line1: '1 Main Street',
      city: 'Dublin',
      postalCode: 'D01',
      country: failAt === 'createShipment' ? 'XX' : 'IE',
    },
    deliveryDate: failAt === 'reserveVehicle' ? FULL_DATE : `2030-01-${String(1 + randomInt(28)).padStart(2, '0')}`,
  };
  return { input, failAt };
}

export const stepKey = (orderId: string, step: string): string => `${orderWorkflowId(orderId)}:${step}`;

export interface CheckResult {
  checked: number;
  problems: string[];
}

/** Every saga's data is fully applied (it completed) or fully undone (it failed and compensated). */
export async function checkAll(db: Db, orders: PlannedOrder[]): Promise<CheckResult> {
  const cols = collections(db);
  const customers = new Map((await cols.customers.find({}).toArray()).map((d) => [d._id, d]));
  const products = new Map((await cols.products.find({}).toArray()).map((d) => [d._id, d]));
  const payments = new Map((await cols.payments.find({}).toArray()).map((d) => [d._id, d]));
  const shipments = new Map((await cols.shipments.find({}).toArray()).map((d) => [d._id, d]));
  const bookings = new Set<string>();
  for (const v of await cols.vehicles.find({}).toArray()) for (const k of Object.keys(v.bookings)) bookings.add(k);
  const problems: string[] = [];
  for (const { input, failAt } of orders) {
    const k = (step: string) => stepKey(input.orderId, step);
    const effects: Record<string, boolean> = {
      credit: customers.get(input.customerId)?.creditHolds[fieldKey(k('reserveCredit'))] !== undefined,
      stock: products.get(input.items[0]!.sku)?.stockHolds[fieldKey(k('reserveInventory'))] !== undefined,
      payment: payments.get(k('processPayment'))?.status === 'CHARGED',
      shipment: shipments.get(k('createShipment'))?.status === 'CREATED',
      vehicle: bookings.has(fieldKey(k('reserveVehicle'))),
    };
    const want = failAt === null;
    const wrong = Object.entries(effects).filter(([, held]) => held !== want);
    if (wrong.length > 0) {
      problems.push(
        `${input.orderId} (${want ? 'completed' : `failed at ${failAt}`}): ${wrong.map(([n, h]) => `${n} ${h ? 'held' : 'missing'}`).join(', ')}`,
      );
    }
  }
  // Counters match the holds in force: nothing applied twice, nothing lost.
  for (const c of customers.values()) {
    const held = Object.values(c.creditHolds).reduce((a, b) => a + b, 0);
    if (c.creditAvailableCents + held !== c.creditLimitCents)
      problems.push(`customer ${c._id}: credit does not add up`);
  }
  for (const p of products.values()) {
    const held = Object.values(p.stockHolds).reduce((a, b) => a + b, 0);
    const initial = p._id === EMPTY_PRODUCT ? 0 : 1e9;
    if (p.stock + held !== initial) problems.push(`product ${p._id}: stock does not add up`);
  }
  return { checked: orders.length, problems };
}
