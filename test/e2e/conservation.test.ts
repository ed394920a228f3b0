import { orderWorkflowId, type OrderState } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { addVehicle, orderBody, seed, unique, type Seeded } from '../support/fixtures';
import { http, startHarness, waitForSaga, type Harness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('conservation');
});
afterAll(async () => h?.stop());

test('50 concurrent orders with mixed outcomes: participants account exactly for the completed ones', async () => {
  // Scarce resources so that concurrent orders really compete: credit for about half of one
  // customer's orders, stock for about half of one product's, two vehicles with 6 slots a day.
  const customers: Seeded[] = [
    await seed(h, { creditLimit: 100, price: 10, stock: 40 }),
    await seed(h, { creditLimit: 1000, price: 7.5, stock: 12 }),
    await seed(h, { creditLimit: 60, price: 3.33, stock: 1000 }),
  ];
  await addVehicle(h, 4);
  await addVehicle(h, 2);
  const dates = ['2027-03-01', '2027-03-02'];
  const bodies = Array.from({ length: 50 }, (_, i) => {
    const s = customers[i % customers.length]!;
    return orderBody(s, {
      orderId: unique(`mix${i}`),
      quantity: 1 + (i % 3),
      token: i % 11 === 5 ? 'tok_declined' : 'tok_visa',
      country: i % 13 === 7 ? 'AQ' : 'IE',
      deliveryDate: dates[i % dates.length],
    });
  });
  const before = await Promise.all(
    customers.map(async (s) => ({
      credit: (await h.cols.customers.findOne({ _id: s.customerId }))!.creditAvailableCents,
      stock: (await h.cols.products.findOne({ _id: s.sku }))!.stock,
    })),
  );

  const started = await Promise.all(bodies.map((b) => http(h.baseUrl, 'POST', '/orders', b)));
  expect(started.map((r) => r.status)).toEqual(Array(50).fill(202));
  const states = await Promise.all(
    bodies.map((b) =>
      waitForSaga<OrderState>(h.client.workflow.getHandle(orderWorkflowId(b.orderId)), { timeoutMs: 180_000 }),
    ),
  );

  // Every saga is final, and the mix really is mixed.
  expect(states.every((s) => s.status === SagaStatus.COMPLETED || s.status === SagaStatus.COMPENSATED)).toBe(true);
  const completed = states.filter((s) => s.status === SagaStatus.COMPLETED);
  const failureTypes = new Set(states.map((s) => s.failure?.type).filter(Boolean));
  expect(completed.length).toBeGreaterThan(5);
  expect(completed.length).toBeLessThan(50);
  expect(failureTypes.size).toBeGreaterThanOrEqual(3);

  const completedBodies = bodies.filter((_, i) => states[i]!.status === SagaStatus.COMPLETED);
  const centsOf = (s: OrderState) => Math.round(s.total! * 100);

  for (const [i, s] of customers.entries()) {
    const mine = completedBodies.filter((b) => b.customerId === s.customerId);
    const spent = completed.filter((c) => c.customerId === s.customerId).reduce((sum, c) => sum + centsOf(c), 0);
    const sold = mine.reduce((sum, b) => sum + b.items[0]!.quantity, 0);
    const customer = await h.cols.customers.findOne({ _id: s.customerId });
    const product = await h.cols.products.findOne({ _id: s.sku });
    expect(customer!.creditAvailableCents).toBe(before[i]!.credit - spent);
    expect(Object.keys(customer!.creditHolds).sort()).toEqual(
      mine.map((b) => `${orderWorkflowId(b.orderId)}:reserveCredit`).sort(),
    );
    expect(product!.stock).toBe(before[i]!.stock - sold);
  }

  const payments = await h.cols.payments.find({}).toArray();
  const charged = payments.filter((p) => p.status === 'CHARGED');
  expect(charged.map((p) => p.orderId).sort()).toEqual(completedBodies.map((b) => b.orderId).sort());
  expect(charged.reduce((sum, p) => sum + p.amountCents, 0)).toBe(completed.reduce((sum, c) => sum + centsOf(c), 0));

  const shipments = await h.cols.shipments.find({ status: 'CREATED' }).toArray();
  expect(shipments.map((x) => x.orderId).sort()).toEqual(completedBodies.map((b) => b.orderId).sort());

  const vehicles = await h.cols.vehicles.find({}).toArray();
  for (const date of dates) {
    const booked = vehicles.reduce((sum, v) => sum + (v.load[date] ?? 0), 0);
    expect(booked).toBe(completedBodies.filter((b) => b.deliveryDate === date).length);
    for (const v of vehicles) expect(v.load[date] ?? 0).toBeLessThanOrEqual(v.capacityPerDay);
  }
  const bookings = vehicles.flatMap((v) => Object.keys(v.bookings));
  expect(bookings.length).toBe(completed.length);
});
