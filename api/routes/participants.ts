import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import type { Collections } from '../../store/db';
import { newCustomerDoc, newProductDoc, newVehicleDoc, toCustomer, toProduct, toVehicle } from '../../store/views';
import { toCents } from '../../store/db';
import { AppError } from '../errors';
import { insertOnce } from '../mongo-errors';
import { CreateCustomer, CreateProduct, CreateVehicle, IdParam, SkuParam } from '../schemas';
import { parse } from '../validation';

/** Participant data: customers with credit, products with price and stock, vehicles with capacity. */
export function participantRoutes(cols: Collections): Router {
  const router = Router();

  router.post('/customers', async (req, res) => {
    const body = parse(CreateCustomer, req.body, 'body');
    const doc = newCustomerDoc(body.id ?? randomUUID(), body.name, toCents(body.creditLimit));
    await insertOnce(() => cols.customers.insertOne(doc), `Customer ${doc._id}`);
    res.status(201).location(`/customers/${doc._id}`).json(toCustomer(doc));
  });

  router.get('/customers/:id', async (req, res) => {
    const { id } = parse(IdParam, req.params, 'params');
    const doc = await cols.customers.findOne({ _id: id });
    if (!doc) throw AppError.notFound(`Customer ${id} does not exist`);
    res.json(toCustomer(doc));
  });

  router.post('/products', async (req, res) => {
    const body = parse(CreateProduct, req.body, 'body');
    const doc = newProductDoc(body.sku, body.name, toCents(body.price), body.stock);
    await insertOnce(() => cols.products.insertOne(doc), `Product ${doc._id}`);
    res.status(201).location(`/products/${doc._id}`).json(toProduct(doc));
  });

  router.get('/products/:sku', async (req, res) => {
    const { sku } = parse(SkuParam, req.params, 'params');
    const doc = await cols.products.findOne({ _id: sku });
    if (!doc) throw AppError.notFound(`Product ${sku} does not exist`);
    res.json(toProduct(doc));
  });

  router.post('/vehicles', async (req, res) => {
    const body = parse(CreateVehicle, req.body, 'body');
    const doc = newVehicleDoc(body.id ?? randomUUID(), body.name, body.capacityPerDay);
    await insertOnce(() => cols.vehicles.insertOne(doc), `Vehicle ${doc._id}`);
    res.status(201).location(`/vehicles/${doc._id}`).json(toVehicle(doc));
  });

  router.get('/vehicles/:id', async (req, res) => {
    const { id } = parse(IdParam, req.params, 'params');
    const doc = await cols.vehicles.findOne({ _id: id });
    if (!doc) throw AppError.notFound(`Vehicle ${id} does not exist`);
    res.json(toVehicle(doc));
  });

  return router;
}
