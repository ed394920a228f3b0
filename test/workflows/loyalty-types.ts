export {
  CUSTOMER_LOYALTY,
  getLoyaltyQuery,
  loyaltyWorkflowId,
  orderCompletedSignal,
  type LoyaltyState,
} from '../../common/loyalty';
export type { GrantDiscountInput as GrantDiscountArgs } from '../../activities/participants/loyalty';
