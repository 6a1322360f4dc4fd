package validation

// Invoice types as SPEC section 4 spells them, stored in lower case.
const (
	TypeSubscription = "subscription"
	TypeOneTime      = "one-time"
	TypeRefund       = "refund"
	TypeCancellation = "cancellation"
)

// InvoiceTypes are the values an invoice's type may take, in the order messages list them.
var InvoiceTypes = []string{TypeSubscription, TypeOneTime, TypeRefund, TypeCancellation}
