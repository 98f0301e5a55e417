"""The billing engine's tables, one module per concern; all are importable from here."""

from billfold.billing.models.coupons import Coupon as Coupon
from billfold.billing.models.coupons import Discount as Discount
from billfold.billing.models.coupons import PromotionCode as PromotionCode
from billfold.billing.models.invoices import Invoice as Invoice
from billfold.billing.models.invoices import InvoiceItem as InvoiceItem
from billfold.billing.models.invoices import InvoiceLineItem as InvoiceLineItem
from billfold.billing.models.schedules import SubscriptionSchedule as SubscriptionSchedule
from billfold.billing.models.subscriptions import Subscription as Subscription
from billfold.billing.models.subscriptions import SubscriptionItem as SubscriptionItem
from billfold.billing.models.tax_rates import TaxRate as TaxRate
