import { randomUUID } from 'node:crypto';
import type { Collections } from '../../store/db';
import { newCustomerDoc, newProductDoc, newVehicleDoc, toCustomer, toProduct, toVehicle } from '../../store/views';
import { toCents } from '../../store/db';
import { AppError } from '../errors';
import { insertOnce } from '../mongo-errors';
import type { Handlers } from '../operations';

/** Participant data: customers with credit, products with price and stock, vehicles with capacity. */
export function participantHandlers(
  cols: Collections,
): Pick<Handlers, 'createCustomer' | 'getCustomer' | 'createProduct' | 'getProduct' | 'createVehicle' | 'getVehicle'> {
  const createCustomer: Handlers['createCustomer'] = async (input, req, res) => {
    const body = input.body;
    const doc = newCustomerDoc(body.id ?? randomUUID(), body.name, toCents(body.creditLimit));
    await insertOnce(() => cols.customers.insertOne(doc), `Customer ${doc._id}`);
    res.status(201).location(`/customers/${doc._id}`).json(toCustomer(doc));
  };

  const getCustomer: Handlers['getCustomer'] = async (input, req, res) => {
    const { id } = input.params;
    const doc = await cols.customers.findOne({ _id: id });
    if (!doc) throw AppError.notFound(`Customer ${id} does not exist`);
    res.json(toCustomer(doc));
  };

  const createProduct: Handlers['createProduct'] = async (input, req, res) => {
    const body = input.body;
    const doc = newProductDoc(body.sku, body.name, toCents(body.price), body.stock);
    await insertOnce(() => cols.products.insertOne(doc), `Product ${doc._id}`);
    res.status(201).location(`/products/${doc._id}`).json(toProduct(doc));
  };

  const getProduct: Handlers['getProduct'] = async (input, req, res) => {
    const { sku } = input.params;
    const doc = await cols.products.findOne({ _id: sku });
    if (!doc) throw AppError.notFound(`Product ${sku} does not exist`);
    res.json(toProduct(doc));
  };

  const createVehicle: Handlers['createVehicle'] = async (input, req, res) => {
    const body = input.body;
    const doc = newVehicleDoc(body.id ?? randomUUID(), body.name, body.capacityPerDay);
    await insertOnce(() => cols.vehicles.insertOne(doc), `Vehicle ${doc._id}`);
    res.status(201).location(`/vehicles/${doc._id}`).json(toVehicle(doc));
  };

  const getVehicle: Handlers['getVehicle'] = async (input, req, res) => {
    const { id } = input.params;
    const doc = await cols.vehicles.findOne({ _id: id });
    if (!doc) throw AppError.notFound(`Vehicle ${id} does not exist`);
    res.json(toVehicle(doc));
  };

  return { createCustomer, getCustomer, createProduct, getProduct, createVehicle, getVehicle };
}
