import { randomBytes } from 'node:crypto';
import type { Db } from 'mongodb';
import type { SecretBox } from '../../codec/secret-box';
import { secretPurpose, webhookUrlProblem } from '../../common/webhooks';
import {
  deleteSubscription,
  enableSubscription,
  findSubscription,
  insertSubscription,
  listDeliveries,
  listSubscriptions,
  toDelivery,
  toWebhook,
  webhookCollections,
  type WebhookSubscriptionDoc,
} from '../../store/webhooks';
import { AppError } from '../errors';
import type { Handlers } from '../operations';

export interface WebhookDeps {
  db: Db;
  /** WEBHOOK_ALLOWED_HOSTS: the hosts a subscription may target. */
  allowedHosts: readonly string[];
  /** Seals the signing secret for storage (codec/secret-box.ts, with the payload key ring). */
  secrets: SecretBox;
}

/** Webhook subscriptions: create (the secret shown once), list, read, delete, enable, and their deliveries. */
export function webhookHandlers({
  db,
  allowedHosts,
  secrets,
}: WebhookDeps): Pick<
  Handlers,
  'createWebhook' | 'listWebhooks' | 'getWebhook' | 'deleteWebhook' | 'enableWebhook' | 'listWebhookDeliveries'
> {
  const cols = webhookCollections(db);
  const existing = async (id: string): Promise<WebhookSubscriptionDoc> => {
    const doc = await findSubscription(cols, id);
    if (!doc) throw AppError.notFound(`Webhook ${id} does not exist`);
    return doc;
  };

  return {
    async createWebhook({ body }, _req, res) {
      const problem = webhookUrlProblem(body.url, allowedHosts);
      if (problem) {
        throw new AppError(422, 'Unprocessable request', `body.url ${problem}`, {
          errors: [{ path: 'body.url', message: problem }],
        });
      }
      const id = `wh_${randomBytes(8).toString('hex')}`;
      const secret = `whsec_${randomBytes(32).toString('base64url')}`;
      const doc: WebhookSubscriptionDoc = {
        _id: id,
        url: body.url,
        eventTypes: body.eventTypes,
        description: body.description ?? null,
        secret: secrets.seal(secret, secretPurpose(id)),
        status: 'active',
        disabledReason: null,
        disabledAt: null,
        consecutiveFailures: 0,
        createdAt: new Date(),
      };
      await insertSubscription(cols, doc);
      res
        .status(201)
        .location(`/webhooks/${id}`)
        .json({ ...toWebhook(doc), secret });
    },
    async listWebhooks(_input, _req, res) {
      res.json({ items: (await listSubscriptions(cols)).map(toWebhook) });
    },
    async getWebhook({ params }, _req, res) {
      res.json(toWebhook(await existing(params.id)));
    },
    async deleteWebhook({ params }, _req, res) {
      if (!(await deleteSubscription(cols, params.id))) throw AppError.notFound(`Webhook ${params.id} does not exist`);
      res.status(204).end();
    },
    async enableWebhook({ params }, _req, res) {
      const doc = await enableSubscription(cols, params.id);
      if (!doc) throw AppError.notFound(`Webhook ${params.id} does not exist`);
      res.json(toWebhook(doc));
    },
    async listWebhookDeliveries({ params }, _req, res) {
      await existing(params.id);
      res.json({ items: (await listDeliveries(cols, params.id)).map(toDelivery) });
    },
  };
}
